"""Imports every command module so their commands register on the app."""

from __future__ import annotations

from syncer.cli import core, lint, sandbox  # noqa: F401
