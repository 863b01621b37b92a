"""The IOC core: domain model, configuration, broker and warehouse wiring.

Dependencies point inward: ``streams``, ``camera`` and ``dashboards`` import from here;
nothing here imports them (only the CLI / composition root starts them, by process).
"""

__version__ = "0.1.0"
