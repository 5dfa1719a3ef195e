"""CLI commands for operations: ``status``, ``backup``, ``backup verify``, ``restore``.

Exit codes: 0 success; 1 the operation failed (a backup not written, its Drive copy not
made, a snapshot or Drive copy that does not verify, a restore refused); 2 unusable
configuration or arguments.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from syncer.cli.app import app
from syncer.errors import SyncerError
from syncer.ledger import LedgerConfig
from syncer.settings import Settings

backup_app = typer.Typer(
    name="backup",
    help="Back ledgers up now (`syncer backup`), or check the latest backups (`verify`).",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(backup_app, name="backup")

_CONFIG = typer.Option(None, "--config", help="Ledger file or directory.")


def _out() -> Console:
    return Console(width=200 if not sys.stdout.isatty() else None, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _settings(config: Path | None) -> Settings:
    from syncer.runtime import load_settings

    try:
        settings = load_settings(config)
    except SyncerError as exc:
        raise _fail(str(exc), 2) from exc
    from syncer.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    return settings


def _load(settings: Settings, only: str | None) -> list[LedgerConfig]:
    from syncer.config import load_ledgers

    try:
        ledgers = load_ledgers(settings.config_path)
    except SyncerError as exc:
        raise _fail(f"configuration {settings.config_path} is invalid:\n{exc}", 2) from exc
    if only is None:
        return ledgers
    chosen = [lg for lg in ledgers if lg.name == only]
    if not chosen:
        names = ", ".join(lg.name for lg in ledgers) or "(none)"
        raise _fail(f"no ledger named {only!r} in {settings.config_path}; known: {names}", 2)
    return chosen


def _backups(settings: Settings) -> Any:
    from syncer.backup import BackupStore

    try:
        return BackupStore.from_settings(settings)
    except SyncerError as exc:
        raise _fail(str(exc), 2) from exc


def _sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for other databases or in-memory)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # StateStore reports a bad URL itself
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


# --- status ------------------------------------------------------------------------------


@app.command("status")
def status_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
    runs: int = typer.Option(1, "--runs", min=1, max=200, help="Recent runs shown per ledger."),
    config: Path | None = _CONFIG,
) -> None:
    """Show each ledger's last runs, last success and latest backup from the state database.

    An idle or failed run shows the findings of the last cycle that computed them, with
    that cycle's time, e.g. ``12 (as of 10:42)``; ``-`` when no cycle has computed any."""
    from syncer.journal import Journal
    from syncer.state import StateStore

    settings = _settings(config)
    db_file = _sqlite_file(settings.state_url)
    if db_file is not None and not db_file.exists():
        raise _fail(
            f"no state database at {db_file} (SYNCER_STATE_URL={settings.state_url}); it is "
            "created by the first `syncer run` — run one, or point SYNCER_STATE_URL at it"
        )
    try:
        store = StateStore(settings.state_url)
    except SyncerError as exc:
        raise _fail(str(exc)) from exc
    try:
        names = {r.ledger for r in store.runs(ledger, limit=500)}
        if ledger is not None:
            names.add(ledger)
        report = []
        for name in sorted(names):
            recent = store.runs(name, limit=max(runs, 50))
            success = next((r for r in recent if r.outcome in ("ok", "idle")), None)
            report.append((name, recent[:runs], success))
        journal = Journal(store)
        recoveries = {
            name: [e for e in journal.entries(name, limit=50) if e.status != "done"]
            for name in names
        }
    except SyncerError as exc:
        raise _fail(str(exc)) from exc
    finally:
        store.close()
    backups = _latest_backups(settings)
    if as_json:
        data = {
            "state": settings.state_url,
            "ledgers": [
                {
                    "ledger": name,
                    "runs": [_run_json(r) for r in recent],
                    "last_success": _iso(success.finished) if success else None,
                    "latest_backup": backups.get(name),
                    "interrupted": [_journal_json(e) for e in recoveries.get(name, [])],
                }
                for name, recent, success in report
            ],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not report:
        _out().print(f"no runs recorded yet in {settings.state_url}", markup=False)
        return
    table = RichTable(title="syncer status", title_justify="left")
    for column in (
        "ledger", "finished (UTC)", "outcome", "findings", "applied", "dropped",
        "archived", "api calls", "last success", "latest backup", "error",
    ):  # fmt: skip
        table.add_column(column, overflow="fold")
    for name, recent, success in report:
        backup = backups.get(name)
        for i, run in enumerate(recent):
            table.add_row(
                name if i == 0 else "",
                run.finished.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                run.outcome,
                _findings_shown(run),
                str(run.applied),
                str(run.dropped),
                str(run.archived),
                str(run.api_calls),
                (
                    success.finished.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
                    if success
                    else "never"
                )
                if i == 0
                else "",
                (backup["id"] if backup else "none") if i == 0 else "",
                run.error or "",
            )
    _out().print(table)
    lines = [
        f"{name}: cycle {e.cycle_id} started {e.started:%Y-%m-%d %H:%M:%S} UTC was interrupted"
        f" after {e.writes_done} of {e.writes_planned} write call(s); "
        + (
            f"recovered by cycle {e.closed_by} at {e.closed:%Y-%m-%d %H:%M:%S} UTC"
            if e.status == "recovered" and e.closed is not None
            else "NOT YET RECOVERED: the next cycle reconciles the tabs"
        )
        for name in sorted(recoveries)
        for e in recoveries[name]
    ]
    if lines:
        heading = "interrupted cycles (crash-safety journal):"
        _out().print("\n  ".join([heading, *lines]), markup=False)


def _journal_json(entry: Any) -> dict[str, Any]:
    return {
        "cycle_id": entry.cycle_id,
        "started": _iso(entry.started),
        "status": "interrupted" if entry.status == "open" else entry.status,
        "writes_done": entry.writes_done,
        "writes_planned": entry.writes_planned,
        "recovered_by": entry.closed_by,
        "recovered_at": _iso(entry.closed) if entry.closed else None,
    }


def _findings_shown(run: Any) -> str:
    """The run's finding count; with the time it was computed when an earlier cycle
    computed it (an idle or failed run carries it forward), "-" when unknown."""
    at: datetime | None = run.findings_at
    if at is None:
        return "-"
    if at == run.started:
        return str(run.findings)
    same_day = at.astimezone(UTC).date() == run.finished.astimezone(UTC).date()
    shown = at.astimezone(UTC).strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
    return f"{run.findings} (as of {shown})"


def _run_json(run: Any) -> dict[str, Any]:
    return {
        "cycle_id": run.cycle_id,
        "started": _iso(run.started),
        "finished": _iso(run.finished),
        "outcome": run.outcome,
        "findings": run.findings if run.findings_at is not None else None,
        "findings_at": _iso(run.findings_at),
        "applied": run.applied,
        "dropped": run.dropped,
        "archived": run.archived,
        "api_calls": run.api_calls,
        "error": run.error,
    }


def _latest_backups(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each ledger's newest readable backup manifest (empty when there are none)."""
    from syncer.backup import BackupStore

    latest: dict[str, dict[str, Any]] = {}
    for manifest in BackupStore(settings.backup_dir).manifests():
        if manifest.ledger not in latest:
            latest[manifest.ledger] = {
                "id": manifest.id,
                "created": _iso(manifest.created),
                "reason": manifest.reason,
                "encrypted": manifest.encrypted,
            }
    return latest


# --- backup --------------------------------------------------------------------------------


@backup_app.callback()
def backup_command(
    ctx: typer.Context,
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
    config: Path | None = _CONFIG,
) -> None:
    """Back up every tab each ledger uses now (and copy it to SYNCER_BACKUP_DRIVE_FOLDER
    when set), then apply the retention."""
    if ctx.invoked_subcommand is not None:
        return
    from syncer.backup import backup_ledger
    from syncer.connectors import open_connector

    settings = _settings(config)
    ledgers = _load(settings, ledger)
    store = _backups(settings)
    failed = 0
    for lg in ledgers:
        try:
            connector = open_connector(lg, settings)
            try:
                manifest = backup_ledger(lg, connector, store, datetime.now(UTC), reason="manual")
            finally:
                connector.close()
            removed = store.prune(
                lg.name,
                settings.backup_keep_daily,
                settings.backup_keep_weekly,
                settings.backup_keep_last,
            )
        except SyncerError as exc:
            failed += 1
            typer.echo(f"{lg.name}: FAILED — {exc}", err=True)
            continue
        rows = ", ".join(f"{t.name}={t.rows}" for t in manifest.tabs)
        lock = " (encrypted)" if manifest.encrypted else ""
        pruned = sorted(p.stem for p in removed if p.suffix == ".json")
        typer.echo(
            f"{lg.name}: backed up to {manifest.data_path}{lock} — rows {rows};"
            f" {len(pruned)} old snapshot(s) pruned"
            + (f": {', '.join(pruned)}" if pruned else "")
        )
        if manifest.sanitized_cells:
            typer.echo(
                f"{lg.name}: {manifest.sanitized_cells} cell(s) too long or unusual for an "
                "xlsx cell are kept whole in the hidden _syncer_cells sheet"
            )
        if store.drive is None:
            continue
        drive_error = store.drive_failures.get(manifest.id)
        if drive_error is not None:
            failed += 1
            typer.echo(f"{lg.name}: Drive copy FAILED — {drive_error}", err=True)
        else:
            typer.echo(f"{lg.name}: copied to {store.drive.describe()}")
    raise typer.Exit(1 if failed else 0)


@backup_app.command("verify")
def verify_command(
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
    local_only: bool = typer.Option(
        False, "--local-only", help="Skip the Drive copies even when a Drive folder is set."
    ),
) -> None:
    """Decrypt, check sums and open each ledger's latest snapshot (the restore drill);
    with SYNCER_BACKUP_DRIVE_FOLDER set, also download its Drive copy and compare sha256."""
    settings = _settings(None)
    store = _backups(settings)
    results = store.verify_latest(ledger, drive=not local_only)
    if not results:
        where = f" of ledger {ledger}" if ledger else ""
        raise _fail(f"no backups{where} under {settings.backup_dir}; run `syncer backup` first")
    for result in results:
        typer.echo(f"{result.snapshot}: {'OK' if result.ok else 'FAILED'} — {result.message}")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


# --- restore -------------------------------------------------------------------------------


@app.command("restore")
def restore_command(
    snapshot: str = typer.Argument(..., help="Snapshot id, or its .json / workbook path."),
    to_file: Path | None = typer.Option(None, "--to-file", help="Write the workbook here."),
    to_tab: str | None = typer.Option(None, "--to-tab", help="Write into this new tab."),
    tab: str | None = typer.Option(
        None, "--tab", help="With --to-tab: which tab of the snapshot (default: the main tab)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Overwrite an existing file or tab, even the live tab."
    ),
    config: Path | None = _CONFIG,
) -> None:
    """Restore a snapshot to a file, or into a new tab of the ledger's spreadsheet."""
    from syncer.backup import restore_to_file, restore_to_tab

    if (to_file is None) == (to_tab is None):
        raise _fail("give exactly one of --to-file PATH or --to-tab NAME", 2)
    settings = _settings(config)
    store = _backups(settings)
    try:
        manifest = store.resolve(snapshot)
        if to_file is not None:
            out = restore_to_file(store, manifest, to_file, force=force)
            typer.echo(f"restored {manifest.id} to {out}")
            return
        assert to_tab is not None
        [lg] = _load(settings, manifest.ledger)
        from syncer.connectors import open_connector

        connector = open_connector(lg, settings)
        try:
            rows = restore_to_tab(store, manifest, lg, connector, to_tab, tab=tab, force=force)
        finally:
            connector.close()
    except SyncerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"restored {manifest.id} into tab {to_tab!r} ({rows} rows)")
