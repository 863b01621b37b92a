"""The dossier domain: events, state, calendar and on-time rules (pure, no I/O)."""
