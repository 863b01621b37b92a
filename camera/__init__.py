"""Camera analytics: motion, people, zones, line crossings, queues and camera health.

Laid out like Frigate's camera pipeline, one capability per module:

    config    the YAML tree (``cameras: {ID: {...}}``), strict pydantic models
    sources   video files, RTSP, HTTP(S) MJPEG (OpenCV's FFmpeg backend), ``synthetic:`` scenes
    analysis  motion (background subtraction plugins), blobs, people, zones, lines, queues
    health    per-frame checks and the debouncer behind offline/frozen/dark/bright/blurred/tampered
    worker    one camera: capture thread -> bounded queue -> processing thread -> intervals
    publish   intervals, health changes and thumbnails to Kafka
    bench     ``ioc bench camera``

Nothing here does I/O at import time; OpenCV is imported by the modules that need it.
"""
