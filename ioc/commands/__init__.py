"""Command implementations kept out of the argument parsing."""
