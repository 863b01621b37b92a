"""KPI logic: pure functions over dossier states (no I/O)."""
