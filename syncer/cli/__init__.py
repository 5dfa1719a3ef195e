"""The ``syncer`` command line. Each command group lives in its own module and
registers itself on :data:`app`; this module imports them all."""

from __future__ import annotations

from syncer.cli.app import app


def main() -> None:
    """Entry point of the ``syncer`` console script."""
    from syncer.cli import commands  # noqa: F401  (registers every command)

    app()
