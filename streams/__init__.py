"""The Faust stream application: thin agents around the pure core in ``ioc``."""
