"""IT service monitoring: metric samples, the catalogue of the province's systems, Prometheus
parsing, a simulator, SLO burn-rate alerting and live figures. Pure: no I/O here."""
