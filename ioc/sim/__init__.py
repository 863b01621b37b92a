"""Simulators of the province's sources (dossier lifecycles for now)."""
