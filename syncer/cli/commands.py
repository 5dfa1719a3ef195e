"""Imports every command module so their commands register on the app."""

from __future__ import annotations

from syncer.cli import core, db, google, init, lint, notify, ops, sandbox, worker  # noqa: F401
