"""The IT services' adapters: I/O around the pure logic of ioc/services (scraping, the
simulator's runner, the push API's publisher)."""
