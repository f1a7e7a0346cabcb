"""Offline tooling: the mock harness, the offline preview, schema checks."""
