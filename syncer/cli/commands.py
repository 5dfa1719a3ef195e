"""Imports every command module so their commands register on the app."""

from __future__ import annotations

from syncer.cli import core, google, init, lint, ops, sandbox  # noqa: F401
