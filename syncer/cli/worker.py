"""CLI command ``syncer worker``: one replica of a fleet on a PostgreSQL state database.

Exit codes: 0 after SIGTERM/SIGINT (running cycles finished); 1 it cannot start (not
PostgreSQL, schema behind — run ``syncer db upgrade`` — database unreachable, port in
use); 2 unusable ledger configuration.
"""

from __future__ import annotations

from pathlib import Path

import typer

from syncer.cli.app import app
from syncer.settings import Settings


@app.command("worker")
def worker_command(
    config: Path | None = typer.Option(None, "--config", help="Ledger file or directory."),
) -> None:
    """Run a replica: procrastinate worker + dispatcher on the PostgreSQL state database."""
    from syncer.distributed.worker import run_worker
    from syncer.logs import configure_logging

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: a SYNCER_* variable is invalid
        typer.echo(f"error: invalid SYNCER_* settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    if config is not None:
        settings = settings.model_copy(update={"config_path": config})
    configure_logging(settings.log_format, settings.log_level)
    raise typer.Exit(run_worker(settings))
