"""The wall (``/``): the signed-in big screen of the operations room, its scenes and their sources.

See README "Layout" for the modules; :mod:`dashboards.wall.app` is the Dash app.
"""
