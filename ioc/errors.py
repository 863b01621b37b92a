"""Errors the user can act on.

    IocError                 base: one clear line, never a traceback, exit status 1
    ├── UserInputError       bad flag, bad file, bad settings key: exit status 2
    │   └── ConfigError      settings file or IOC_* variable rejected (names file/key)
    └── DependencyError      a port in use, a missing binary, an unreachable server
"""


class IocError(Exception):
    """An error with a message meant for the person at the terminal."""

    exit_status = 1


class UserInputError(IocError):
    exit_status = 2


class ConfigError(UserInputError):
    pass


class DependencyError(IocError):
    pass
