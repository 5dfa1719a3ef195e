"""Connectors: the only code that reads and writes ledgers' sources."""
