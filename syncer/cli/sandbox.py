"""CLI command ``syncer sandbox``: run the local Google Sheets sandbox standalone.

An admin can seed it from an .xlsx copy of the team's ledger, point syncer at it and try a
ledger file without touching the real sheet.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
from pathlib import Path
from types import FrameType

import typer

from syncer.cli.app import app

DEFAULT_EMAIL = "syncer@sandbox.iam.gserviceaccount.com"


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
        True, "--quotas/--no-quotas", help="Enforce Google's per-minute read/write quotas."
    ),
    email: str = typer.Option(
        DEFAULT_EMAIL,
        "--service-account",
        help="Email of the service account to issue credentials for.",
    ),
) -> None:
    """Run a local Google Sheets / Drive / OAuth2 sandbox until interrupted (Ctrl-C)."""
    from syncer.sandbox import QuotaConfig, SandboxServer

    server = SandboxServer(host=host, port=port, quotas=QuotaConfig() if quotas else None)
    server.log_limit = 10_000  # a long-running sandbox keeps only recent requests
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
        if seed is not None:
            try:
                sid = server.seed_from_xlsx(seed, owner=owner or email)
            except Exception as exc:  # openpyxl raises many kinds for a bad file
                typer.echo(
                    f"error: cannot load --seed {seed}: {exc}. Give an .xlsx workbook "
                    "(save the sheet from Excel or Google Sheets as .xlsx).",
                    err=True,
                )
                raise typer.Exit(2) from None
            if owner and owner.lower() != email.lower():
                server.share(sid, email, "writer")
            typer.echo(
                f"Seeded spreadsheet {sid} from {seed} (tabs: {', '.join(server.tabs(sid))})"
            )
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
