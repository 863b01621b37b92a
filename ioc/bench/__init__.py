"""Benchmarks: each measures its baseline in the same run (contracts.md §1 `ioc bench`)."""
