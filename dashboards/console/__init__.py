"""The operator console (``/console/``) and the alerts' side of the web process.

See README "Layout" for the modules; :mod:`dashboards.console.app` mounts the Dash app.
"""
