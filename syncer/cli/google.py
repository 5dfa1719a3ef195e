"""CLI commands for Google ledgers: ``syncer sheet setup`` and ``syncer demo``.

``sheet setup`` adds dropdowns, highlights, a frozen header and warning-only protection to
each Google ledger's spreadsheet (idempotent). ``demo`` runs the whole product on a local
Sheets sandbox: it seeds the messy example ledger, runs real cycles through gspread,
prints what it found and did, and exports the result to an .xlsx file under ``./var``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table as RichTable

from syncer.a1 import column_letter
from syncer.cli.app import app
from syncer.errors import SyncerError
from syncer.settings import Settings

sheet_app = typer.Typer(help="Sheet-native setup of Google ledgers.", no_args_is_help=True)
app.add_typer(sheet_app, name="sheet")


@sheet_app.command("setup")
def setup_command(
    config: Path | None = typer.Option(None, "--config", help="Ledger file or directory."),
    ledger: str | None = typer.Option(None, "--ledger", help="Only this ledger (by name)."),
) -> None:
    """Add dropdowns, highlights, a frozen header and warning-only protection (idempotent)."""
    from syncer.config import load_ledgers
    from syncer.connectors.google import GoogleSheetsConnector
    from syncer.connectors.google.sheet_setup import run_setup
    from syncer.runtime import Runtime, load_settings

    console = Console()
    try:
        settings = load_settings(config)
        ledgers = [
            lg
            for lg in load_ledgers(settings.config_path)
            if lg.source.connector == "google" and (ledger is None or lg.name == ledger)
        ]
    except SyncerError as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from exc
    if not ledgers:
        console.print(
            f"no Google ledger found in {settings.config_path}"
            + (f" named {ledger!r}" if ledger else "")
            + " (a ledger needs `source: {connector: google, spreadsheet: <id or URL>}`)",
            markup=False,
        )
        raise typer.Exit(2)
    failed = 0
    with Runtime(settings, backups=False) as runtime:
        for lg in ledgers:
            try:
                with runtime.connector(lg) as connector:
                    assert isinstance(connector, GoogleSheetsConnector)
                    report = run_setup(connector, lg)
            except SyncerError as exc:
                failed += 1
                console.print(f"{lg.name}: FAILED — {exc}", markup=False)
                continue
            done = ", ".join(report.created) or "nothing to add"
            console.print(
                f"{lg.name}: {done} ({len(report.skipped)} already in place)", markup=False
            )
    raise typer.Exit(1 if failed else 0)


def _demo_ledger(spreadsheet: str) -> Any:
    """The example sales ledger, pointed at the sandbox spreadsheet."""
    from syncer.config import load_ledger
    from syncer.ledger import GoogleSource

    base = Path(__file__).resolve().parents[2] / "config" / "ledgers" / "sales.yaml"
    ledger = load_ledger(base)
    return ledger.model_copy(
        update={"source": GoogleSource(connector="google", spreadsheet=spreadsheet)}
    )


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("var/demo"), "--out", help="Where the demo writes its files."),
) -> None:
    """Run syncer end to end on a local Sheets sandbox and export the result to .xlsx."""
    from syncer.connectors.base import TabRequest
    from syncer.connectors.google import GoogleSheetsConnector
    from syncer.connectors.google.sheet_setup import run_setup
    from syncer.connectors.ratelimit import RateLimiter
    from syncer.engine import run_cycle
    from syncer.examples import DEFAULT_TODAY, write_messy_workbook
    from syncer.sandbox import SandboxServer
    from syncer.state import StateStore

    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    seed = out / "客户信息管理_销售部_2024.xlsx"
    write_messy_workbook(seed)
    state_db = out / "demo-state.db"
    state_db.unlink(missing_ok=True)
    with SandboxServer() as server:
        creds = server.write_credentials(out / "service-account.json")
        email = str(server.service_account()["client_email"])
        sheet_id = server.seed_from_xlsx(seed, "owner@example.com", title=seed.stem)
        server.share(sheet_id, email, "writer")
        ledger = _demo_ledger(sheet_id)
        settings = Settings(credentials_path=creds, google_api_base=server.url)
        console.print(f"sandbox at {server.url}; spreadsheet {sheet_id}", markup=False)
        # The local sandbox has no quota: pace at 10/s instead of Google's 1/s.
        connector = GoogleSheetsConnector.for_ledger(
            ledger, settings, limiter=RateLimiter(600, 600)
        )
        store = StateStore(f"sqlite:///{state_db}")
        try:
            zone = ZoneInfo(ledger.timezone)
            now = datetime.combine(DEFAULT_TODAY, time(9, 0), tzinfo=zone)
            first = run_cycle(ledger, connector, store, now)
            _print_cycle(console, "cycle 1 (first look)", first, connector)
            # `syncer sheet setup`: dropdowns, highlights, frozen header, protection.
            setup = run_setup(connector, ledger)
            console.print(f"sheet setup: {', '.join(setup.created)}", markup=False)
            # A person changes a customer's status in the browser …
            snap = connector.read([TabRequest(ledger.tabs.main, ledger.header_row)])
            main = snap.get(ledger.tabs.main)
            edited = _simulate_status_edit(server, sheet_id, ledger, main)
            if edited:
                console.print(f"a person edits the sheet: {edited}", markup=False)
            second = run_cycle(ledger, connector, store, now + timedelta(minutes=5))
            _print_cycle(console, "cycle 2 (after the edit)", second, connector)
            third = run_cycle(ledger, connector, store, now + timedelta(minutes=10))
            _print_cycle(console, "cycle 3 (nothing changed)", third, connector)
            export = out / "demo-result.xlsx"
            export.write_bytes(connector.export_xlsx())
        finally:
            store.close()
            connector.close()
    console.print(f"\nOpen the result: {export.resolve()}", markup=False)


def _simulate_status_edit(server: Any, sheet_id: str, ledger: Any, main: Any) -> str | None:
    """Change one customer's 合作状态 the way a person would; describe it."""
    if main is None:
        return None
    watched = next(
        (r.watch[0] for r in ledger.rules if getattr(r, "kind", "") == "stamp_on_change"),
        None,
    )
    if watched is None or main.index_of(watched) is None:
        return None
    col = main.index_of(watched)
    for i in range(len(main.rows)):
        value = main.cell(i, watched)
        if value and value not in ("流失客户", "合作中"):
            row = main.sheet_row(i)
            a1 = f"{column_letter(col)}{row}"
            server.set_values(sheet_id, ledger.tabs.main, a1, [["合作中"]])
            return f"{ledger.tabs.main}!row {row} {watched}: {value} → 合作中"
    return None


def _print_cycle(console: Console, title: str, result: Any, connector: Any) -> None:
    table = RichTable(title=title, show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    report = result.report
    applied = report.applied if report else []
    kinds: dict[str, int] = {}
    for op in applied:
        kinds[op.kind] = kinds.get(op.kind, 0) + 1
    table.add_row("outcome", result.outcome)
    # An idle cycle reads nothing, so it has no findings to count (not "0 problems").
    idle = result.outcome == "idle"
    table.add_row("findings", "not re-checked" if idle else str(len(result.findings)))
    for kind, n in sorted(kinds.items()):
        table.add_row(f"applied {kind}", str(n))
    table.add_row("dropped (re-planned)", str(len(report.dropped) if report else 0))
    table.add_row("archived", str(result.archived))
    table.add_row("API calls so far", str(sum(connector.calls.values())))
    console.print(table)
    if result.error:
        console.print(f"error: {result.error}", markup=False)
    for finding in result.findings[:8]:
        console.print(
            f"  {finding.tab} row {finding.row} {finding.column or ''}: {finding.message}",
            markup=False,
        )
    if len(result.findings) > 8:
        console.print(f"  … and {len(result.findings) - 8} more", markup=False)
