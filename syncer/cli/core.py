"""CLI commands (core): ``syncer plan`` and ``syncer run``.

``plan`` prints what a cycle would change without writing; ``run --once`` applies one
cycle per ledger and prints a summary (exit 0 when every ledger ran — findings are not
failures — 1 when any ledger failed, 2 for unusable configuration); ``run`` without
``--once`` starts the daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table as RichTable

from syncer.cli.app import app
from syncer.errors import SyncerError
from syncer.ledger import LedgerConfig
from syncer.model import (
    AddColumn,
    AppendRow,
    CellValue,
    EnsureTab,
    MoveRow,
    Operation,
    RemoveRow,
    ReplaceTab,
    SetCell,
    canonical,
)
from syncer.settings import Settings

if TYPE_CHECKING:
    from syncer.runtime import Runtime

_SHOWN = 40


def _console() -> Console:
    return Console(width=200 if not sys.stdout.isatty() else None, highlight=False, soft_wrap=True)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _settings(config: Path | None) -> Settings:
    """Settings (exit 2 naming the bad SYNCER_* value), with logging configured."""
    from syncer.logs import configure_logging
    from syncer.runtime import load_settings

    try:
        settings = load_settings(config)
    except SyncerError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _ledgers(settings: Settings, only: str | None) -> list[LedgerConfig]:
    """Load and select ledgers; exit 2 with the problems when the config is unusable."""
    from syncer.runtime import select_ledgers

    try:
        return select_ledgers(settings, only)
    except SyncerError as exc:
        _err(f"error: configuration {settings.config_path} is invalid:\n{exc}")
        raise typer.Exit(2) from exc


def _runtime(settings: Settings, *, backups: bool = True) -> Runtime:
    """The process runtime; exit 2 with the reason when its stores cannot be opened."""
    from syncer.runtime import Runtime

    try:
        return Runtime(settings, backups=backups)
    except SyncerError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from exc


def _now(text: str | None, settings: Settings) -> datetime:
    """``--now`` (ISO 8601; a naive time is in the settings' zone) or the clock."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        _err(f"error: --now {text!r} is not an ISO 8601 time (e.g. 2024-06-01T09:00+08:00)")
        raise typer.Exit(2) from exc
    if value.tzinfo is None:
        try:
            value = value.replace(tzinfo=ZoneInfo(settings.timezone))
        except ZoneInfoNotFoundError as exc:
            _err(f"error: unknown timezone {settings.timezone!r} (SYNCER_TIMEZONE)")
            raise typer.Exit(2) from exc
    return value


def _shown(value: CellValue) -> str:
    text = canonical(value).replace("\n", " ")
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _op_row(op: Operation) -> tuple[str, str, str, str, str, str]:
    """(op, tab, row/key, column, old → new, rule) for one operation."""
    if isinstance(op, SetCell):
        where = op.target.key or f"row {op.target.row}"
        change = f"{_shown(op.before)} → {_shown(op.value)}"
        return ("set", op.tab, where, op.column, change, op.rule)
    if isinstance(op, MoveRow):
        where = op.target.key or f"row {op.target.row}"
        return ("move", op.tab, where, "", f"→ {op.history_tab} ({op.reason})", op.rule)
    if isinstance(op, AddColumn):
        return ("add column", op.tab, "", op.column, "", op.rule)
    if isinstance(op, EnsureTab):
        return ("create tab", op.tab, "", "", f"{len(op.header)} columns", op.rule)
    if isinstance(op, ReplaceTab):
        return ("rewrite tab", op.tab, "", "", f"{len(op.rows)} rows", op.rule)
    if isinstance(op, RemoveRow):
        where = op.target.key or f"row {op.target.row}"
        return ("remove row", op.tab, where, "", op.reason, op.rule)
    if isinstance(op, AppendRow):
        return ("append row", op.tab, op.key or "", "", op.reason, op.rule)
    raise TypeError(f"unknown operation {op!r}")


def _print_plan(console: Console, ledger: LedgerConfig, ops: Sequence[Operation]) -> None:
    table = RichTable(title=f"plan for ledger {ledger.name}", title_justify="left")
    for name in ("op", "tab", "row/key", "column", "old → new", "rule"):
        table.add_column(name, overflow="fold")
    for op in ops:
        table.add_row(*_op_row(op))
    console.print(table)


@app.command("plan")
def plan_command(
    config: Path | None = typer.Option(None, "--config", help="Ledger file or directory."),
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO 8601 time."),
) -> None:
    """Show what one cycle would change in each ledger, without writing anything."""
    settings = _settings(config)
    ledgers = _ledgers(settings, ledger)
    moment = _now(now, settings)
    console = _console()
    failed = False
    with _runtime(settings, backups=False) as runtime:
        for lg in ledgers:
            result = runtime.cycle(lg, moment, dry_run=True)
            if result.outcome == "failed":
                failed = True
                console.print(f"{lg.name}: FAILED — {result.error}", markup=False)
                continue
            ops = list(result.plan or ())
            if ops:
                _print_plan(console, lg, ops)
            console.print(
                f"{lg.name}: {len(ops)} operation(s) planned, {len(result.findings)} finding(s);"
                " nothing written (use `syncer run --once` to apply)",
                markup=False,
            )
    if failed:
        raise typer.Exit(1)


@app.command("run")
def run_command(
    once: bool = typer.Option(False, "--once", help="Run one cycle per ledger, then exit."),
    config: Path | None = typer.Option(None, "--config", help="Ledger file or directory."),
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
    now: str | None = typer.Option(
        None, "--now", help="With --once: pretend it is this ISO 8601 time."
    ),
) -> None:
    """Apply one cycle per ledger (--once), or run the daemon on the ledgers' schedules."""
    settings = _settings(config)
    ledgers = _ledgers(settings, ledger)
    if not once:
        from syncer.daemon import serve

        raise typer.Exit(serve(settings, ledgers))
    clock = (lambda: datetime.now(UTC)) if now is None else None
    raise typer.Exit(_run_once(settings, ledgers, _now(now, settings), clock))


def _run_once(
    settings: Settings,
    ledgers: Sequence[LedgerConfig],
    moment: datetime,
    clock: Callable[[], datetime] | None,
) -> int:
    console = _console()
    failed = 0
    with _runtime(settings) as runtime:
        for lg in ledgers:
            result = runtime.cycle(lg, moment, clock=clock)
            if result.outcome == "failed":
                failed += 1
                console.print(f"{lg.name}: FAILED — {result.error}", markup=False)
                continue
            report = result.report
            if result.outcome == "idle":
                known = (
                    f"; {result.finding_count} finding(s) as of"
                    f" {result.findings_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                    if result.findings_at is not None
                    else ""
                )
                console.print(
                    f"{lg.name}: idle — unchanged since the last cycle, nothing to do{known}",
                    markup=False,
                )
                continue
            incidents = len(report.incidents) if report else 0
            console.print(
                f"{lg.name}: {result.outcome} — {result.finding_count} finding(s),"
                f" {len(report.applied) if report else 0} change(s) applied,"
                f" {len(report.dropped) if report else 0} dropped (re-planned next cycle),"
                f" {result.archived} archived"
                + (f", {incidents} incident(s) repaired (see the log)" if incidents else ""),
                markup=False,
            )
    return 1 if failed else 0
