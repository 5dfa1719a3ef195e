"""Automation rules, one module per kind. Each is a pure function of
(snapshot, findings, previous state, now) that proposes operations."""
