"""The web process (Flask, with Dash for the wall and the console): see README "Layout"."""

from pathlib import Path

# The Dash assets (CSS, scripts) of both Dash apps, the wall and the console.
ASSETS_DIR = Path(__file__).parent / "assets"
