"""``syncer notify test LEDGER``: send a test message to every destination of a ledger.

LEDGER is a ledger file, or the name of a ledger under ``SYNCER_CONFIG_PATH`` (or
``--config``). Each destination (the ledger's ``notify`` list and the process-wide
``SYNCER_NOTIFY_OPS``) gets one message, sent at once without retries, and the command
prints one line per destination. Exit codes: 0 every send succeeded; 1 at least one
failed; 2 unusable configuration or no destination.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from syncer.cli.app import app
from syncer.errors import SyncerError
from syncer.ledger import LedgerConfig
from syncer.settings import Settings

notify_app = typer.Typer(
    name="notify",
    help="Notifications: send a test message to a ledger's destinations.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")


def _fail(message: str, code: int) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _ledger(ledger: str, config: Path | None, settings: Settings) -> LedgerConfig:
    from syncer.config import load_ledger, load_ledgers

    path = Path(ledger)
    try:
        if path.suffix in (".yaml", ".yml") or path.is_file():
            return load_ledger(path)
        ledgers = load_ledgers(config or settings.config_path)
    except SyncerError as exc:
        raise _fail(f"configuration is invalid:\n{exc}", 2) from exc
    for found in ledgers:
        if found.name == ledger:
            return found
    names = ", ".join(lg.name for lg in ledgers) or "(none)"
    raise _fail(f"no ledger file or ledger named {ledger!r}; known: {names}", 2)


@notify_app.command("test")
def send_test_command(
    ledger: str = typer.Argument(..., help="A ledger file, or a ledger's name."),
    config: Path | None = typer.Option(None, "--config", help="Ledger file or directory."),
) -> None:
    """Send a test message to every destination of LEDGER and report each result."""
    from syncer.notify.compose import probe
    from syncer.notify.config import destination_id
    from syncer.notify.services import deliver

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: a SYNCER_* variable is invalid
        raise _fail(f"invalid SYNCER_* settings: {exc}", 2) from exc
    chosen = _ledger(ledger, config, settings)
    targets = [(destination_id(d, i), d) for i, d in enumerate(chosen.notify)]
    targets += [(f"ops.{destination_id(d, i)}", d) for i, d in enumerate(settings.notify_ops)]
    if not targets:
        raise _fail(
            f"ledger {chosen.name!r} has no `notify` destinations (and SYNCER_NOTIFY_OPS is "
            "empty); see docs/notifications.md",
            2,
        )
    out = Console(width=200 if not sys.stdout.isatty() else None, highlight=False)
    failed = 0
    for name, destination in targets:
        outcome = deliver(destination, probe(chosen, name))
        mark = "ok" if outcome.ok else "FAILED"
        failed += 0 if outcome.ok else 1
        detail = "" if outcome.ok else f": {outcome.detail}"
        out.print(f"{mark:6} {name} ({destination.kind}){detail}", markup=False)
    out.print(f"{len(targets) - failed} of {len(targets)} destination(s) reached", markup=False)
    if failed:
        raise typer.Exit(1)
