"""The web surfaces (Dash on Flask): the wall, and the monitoring routes."""
