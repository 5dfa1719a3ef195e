"""CLI commands (lint)."""

from __future__ import annotations

from syncer.cli.app import app  # noqa: F401
