"""CLI command ``syncer sandbox``: run the local Google Sheets sandbox standalone.

An admin can seed it from an .xlsx copy of the team's ledger, point syncer at it and try a
ledger file without touching the real sheet. It can also stage a team — extra users, each
a service account of its own with its own key file and quota bucket, sharing the seeded
spreadsheet — inject faults at a rate, and write every request to a JSON-lines file.
"""

from __future__ import annotations

import contextlib
import re
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from syncer.cli.app import app

if TYPE_CHECKING:
    from syncer.sandbox import SandboxServer

DEFAULT_EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
ROLES = ("writer", "reader")


def _user(text: str) -> tuple[str, str]:
    """``EMAIL`` or ``EMAIL:ROLE`` → (email, role)."""
    email, _, role = text.strip().partition(":")
    role = role or "writer"
    if "@" not in email or role not in ROLES:
        raise typer.BadParameter(
            f"{text!r}: give an email, optionally with :writer or :reader "
            "(e.g. alice@sandbox.iam.gserviceaccount.com:reader)"
        )
    return email.lower(), role


def _key_file(directory: Path, email: str) -> Path:
    return directory / f"{email.split('@', 1)[0]}.json"


@app.command("sandbox")
def sandbox_command(
    port: int = typer.Option(
        8765, "--port", min=0, max=65535, help="Port to listen on (0 picks a free one)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    seed: Path | None = typer.Option(
        None,
        "--seed",
        exists=True,
        dir_okay=False,
        help="An .xlsx workbook to load as a spreadsheet.",
    ),
    spreadsheet_id: str | None = typer.Option(
        None,
        "--spreadsheet-id",
        help="Id to give the seeded spreadsheet, so a ledger file can name it in advance "
        "(config/examples/sales-google.yaml uses 1SyncerSandboxSalesLedger2024). "
        "Default: a random id.",
    ),
    credentials_out: Path | None = typer.Option(
        None,
        "--credentials-out",
        help="Where to write the service-account JSON (default: a temporary file).",
    ),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="Email owning the seeded spreadsheet; it is shared with the service account "
        "as writer. Default: the service account owns it.",
    ),
    quotas: bool = typer.Option(
        True,
        "--quotas/--no-quotas",
        help="Enforce Google's per-minute read/write quotas (per user and per project).",
    ),
    email: str = typer.Option(
        DEFAULT_EMAIL,
        "--service-account",
        help="Email of the service account to issue credentials for.",
    ),
    users: list[str] = typer.Option(
        [],
        "--user",
        help="Issue a key for another user: EMAIL or EMAIL:reader (default role writer). "
        "Each is its own identity with its own quota bucket; the seeded spreadsheet is "
        "shared with it. Repeat for a team.",
    ),
    keys_dir: Path | None = typer.Option(
        None,
        "--keys-dir",
        file_okay=False,
        help="Directory for the --user key files, named after the email's local part "
        "(default: beside the service-account credentials).",
    ),
    faults: list[str] = typer.Option(
        [],
        "--fault",
        help="Inject a fault into a share of requests: KIND@RATE[:API] with KIND an HTTP "
        "status (429, 500, 503 …), 'drop' (close the connection) or 'latency=SECONDS'; "
        "RATE from 0 to 1; API sheets, drive or oauth. E.g. --fault 429@0.05 "
        "--fault drop@0.01:sheets. Repeatable.",
    ),
    fault_seed: int = typer.Option(
        0, "--fault-seed", help="Seed of the faults' random draws (same seed, same hits)."
    ),
    request_log: Path | None = typer.Option(
        None,
        "--request-log",
        dir_okay=False,
        help="Append every request to this file as JSON lines (time, method, path, query, "
        "kind, api, user, spreadsheet_id, bytes_in, bytes_out, status; status 0: dropped).",
    ),
) -> None:
    """Run a local Google Sheets / Drive / OAuth2 sandbox until interrupted (Ctrl-C)."""
    from syncer.sandbox import QuotaConfig, SandboxServer
    from syncer.sandbox.faults import FaultSpec
    from syncer.sandbox.requestlog import JsonLinesLog

    team = [_user(text) for text in users]
    if spreadsheet_id is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", spreadsheet_id):
        raise typer.BadParameter(
            f"{spreadsheet_id!r}: use letters, digits, '-' and '_' like Google's ids",
            param_hint="--spreadsheet-id",
        )
    try:
        specs = [FaultSpec.parse(text) for text in faults]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    server = SandboxServer(host=host, port=port, quotas=QuotaConfig() if quotas else None)
    server.log_limit = 10_000  # a long-running sandbox keeps only recent requests
    for index, spec in enumerate(specs):
        spec.inject(server.faults, fault_seed + index)
    log_file = JsonLinesLog(request_log, server.now) if request_log is not None else None
    if log_file is not None:
        server.add_hook(log_file)
    try:
        server.start()
    except OSError as exc:
        typer.echo(
            f"error: cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Pick another --port (0 picks a free one).",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        if credentials_out is None:
            credentials_out = Path(tempfile.mkdtemp(prefix="syncer-sandbox-")) / "sa.json"
        path = server.write_credentials(credentials_out, email=email)
        typer.echo(f"Sandbox listening on {server.url}")
        typer.echo(f"Service-account credentials: {path}")
        sid = _seed(server, seed, owner or email, email, spreadsheet_id) if seed else None
        for user, role in team:
            key = server.write_credentials(_key_file(keys_dir or path.parent, user), user)
            if sid is not None:
                server.share(sid, user, "writer" if role == "writer" else "reader")
            shared = f", {role} of {sid}" if sid is not None else ""
            typer.echo(f"User {user}: {key}{shared}")
        for text in faults:
            typer.echo(f"Fault: {text} (seed {fault_seed})")
        if log_file is not None:
            typer.echo(f"Request log (JSON lines): {log_file.path}")
        typer.echo("Point syncer at it with:")
        typer.echo(f"  export SYNCER_GOOGLE_API_BASE={server.url}")
        typer.echo(f"  export SYNCER_CREDENTIALS_PATH={path}")
        typer.echo("Press Ctrl-C to stop.")

        def _stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            signal.signal(signal.SIGTERM, _stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("Sandbox stopped.")
    finally:
        server.stop()
        if log_file is not None:
            log_file.close()


def _seed(
    server: SandboxServer, seed: Path, owner: str, email: str, spreadsheet_id: str | None
) -> str:
    """Load ``seed`` as a spreadsheet shared with the service account; its id."""
    try:
        sid = server.seed_from_xlsx(seed, owner=owner, spreadsheet_id=spreadsheet_id)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        typer.echo(
            f"error: cannot load --seed {seed}: {exc}. Give an .xlsx workbook "
            "(save the sheet from Excel or Google Sheets as .xlsx).",
            err=True,
        )
        raise typer.Exit(2) from None
    if owner.lower() != email.lower():
        server.share(sid, email, "writer")
    typer.echo(f"Seeded spreadsheet {sid} from {seed} (tabs: {', '.join(server.tabs(sid))})")
    return sid
