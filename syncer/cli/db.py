"""CLI commands for the state database: ``syncer db upgrade``, ``current`` and ``copy``.

``upgrade`` applies the Alembic migrations (SQLite and PostgreSQL; on PostgreSQL also
procrastinate's queue schema) — run it once before starting workers of a new version.
``current`` prints the database's revision and the newest one this syncer knows (exit 1
when behind). ``copy --to URL`` copies the whole state (e.g. a SQLite file) into an empty
database (e.g. PostgreSQL). Exit codes: 0 done; 1 the database refused; 2 bad arguments.
"""

from __future__ import annotations

import typer

from syncer.cli.app import app
from syncer.errors import SyncerError
from syncer.settings import Settings

db_app = typer.Typer(
    name="db",
    help="The state database: apply migrations (`upgrade`), show the revision "
    "(`current`), copy it elsewhere (`copy --to URL`).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

_URL = typer.Option(None, "--url", help="State database URL (default: SYNCER_STATE_URL).")


def _url(given: str | None) -> str:
    if given:
        return given
    try:
        return Settings().state_url
    except Exception as exc:  # pydantic ValidationError: a SYNCER_* variable is invalid
        typer.echo(f"error: invalid SYNCER_* settings: {exc}", err=True)
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def upgrade_command(url: str | None = _URL) -> None:
    """Migrate the state database to the newest schema revision."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from syncer import migrations
    from syncer.state import display_url

    target = _url(url)
    engine = create_engine(target)
    try:
        before, after = migrations.upgrade(engine)
    except (SQLAlchemyError, SyncerError) as exc:
        typer.echo(f"error: {display_url(target)} could not be migrated: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"{display_url(target)}: already at {after}")
    else:
        typer.echo(f"{display_url(target)}: {before or '(empty)'} -> {after}")


@db_app.command("current")
def current_command(url: str | None = _URL) -> None:
    """Print the database's schema revision and the newest known; exit 1 when behind."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from syncer import migrations
    from syncer.state import display_url

    target = _url(url)
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            found = migrations.current(conn)
    except SQLAlchemyError as exc:
        typer.echo(f"error: {display_url(target)} cannot be read: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    head = migrations.head()
    typer.echo(f"current: {found or '(none)'}")
    typer.echo(f"head:    {head}")
    if found != head:
        typer.echo("the schema is behind: run `syncer db upgrade`", err=True)
        raise typer.Exit(1)


@db_app.command("copy")
def copy_command(
    to: str = typer.Option(..., "--to", help="Target database URL (must be empty)."),
    url: str | None = typer.Option(
        None, "--from", help="Source database URL (default: SYNCER_STATE_URL)."
    ),
) -> None:
    """Copy the whole state into an empty database (e.g. SQLite -> PostgreSQL)."""
    from syncer.state import display_url
    from syncer.state_copy import copy_state

    source = _url(url)
    if source == to:
        typer.echo("error: --to is the source database itself", err=True)
        raise typer.Exit(2)
    try:
        report = copy_state(source, to, lambda table, n: typer.echo(f"  {table}: {n} rows"))
    except SyncerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    total = sum(report.rows.values())
    typer.echo(f"copied {total} rows from {display_url(source)} to {display_url(to)}")
    typer.echo("next: point every replica's SYNCER_STATE_URL at the target")
