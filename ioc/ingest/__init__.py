"""Dossier events from outside: the ingest API and the import of historical exports.

    parsing     body / export file -> validated events and per-item errors (no network)
    publishing  events -> the dossier topic, in the wire format, acknowledged (kafka-python)
    tokens      source-system bearer tokens, stored as SHA-256, checked in constant time
    api         ``POST /api/v1/dossier-events`` on the web process's Flask server

Both paths end in the same topic through the same publisher, so the stream agents and the
warehouse sink see imported and pushed events exactly as they see the simulator's.
"""
