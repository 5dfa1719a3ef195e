"""CLI commands that work offline on ledger files: ``check``, ``schema`` and ``example``.

``syncer check FILE...`` lints ledger files (exit 1 and one ``file:line:col: problem``
line per problem); ``syncer schema`` prints the JSON Schema of a ledger file for editor
autocompletion; ``syncer example [PATH]`` writes the messy example workbook.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from syncer.cli.app import app
from syncer.config import ledger_json_schema, load_ledgers
from syncer.errors import ConfigError
from syncer.examples import MIN_ROWS, write_messy_workbook
from syncer.ledger import LedgerConfig

DEFAULT_EXAMPLE_PATH = Path("var/客户信息管理_销售部_2024.xlsx")


def _summary(ledger: LedgerConfig) -> str:
    rules = sum(1 for r in ledger.rules if r.enabled)
    return (
        f"{ledger.name}: {len(ledger.columns)} columns, {rules} rule(s), "
        f"main tab {ledger.tabs.main!r}, {ledger.source.connector} source"
    )


def _first_line(exc: Exception) -> str:
    """The first bad SYNCER_* variable of a settings error, in words."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        for err in errors():
            name = "SYNCER_" + "_".join(str(p) for p in err.get("loc", ())).upper()
            said = str(err.get("msg", "")).replace("Input should be", "should be")
            return f"{name}={err.get('input')!r}: {said}"
    return str(exc).splitlines()[0] if str(exc) else repr(exc)


@app.command()
def check(
    files: list[Path] = typer.Argument(
        None,
        help="Ledger files or directories of them (default: SYNCER_CONFIG_PATH).",
        show_default=False,
    ),
) -> None:
    """Lint ledger files offline: every check that needs no spreadsheet.

    YAML syntax and safety (size, aliases, tags), unknown keys, value types, regular
    expressions, phone regions, durations, schedules, time zones, tab names and every
    column a rule or key names.
    """
    if not files:
        from syncer.settings import Settings

        try:
            files = [Settings().config_path]
        except Exception as exc:  # pydantic ValidationError: a SYNCER_* variable is invalid
            typer.echo(
                f"error: invalid setting {_first_line(exc)}; fix the variable or give the "
                "ledger files as arguments: syncer check FILE...",
                err=True,
            )
            raise typer.Exit(2) from None
    problems: list[str] = []
    ledgers: list[LedgerConfig] = []
    for path in files:
        try:
            ledgers.extend(load_ledgers(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        for line in problems:
            typer.echo(line)
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    for ledger in ledgers:
        typer.echo(f"ok  {_summary(ledger)}")
    typer.echo(f"ok: {len(ledgers)} ledger(s) checked, no problems")


@app.command()
def schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the schema to this file instead of stdout."
    ),
) -> None:
    """Print the JSON Schema of ledger files (point your editor's YAML plugin at it)."""
    text = json.dumps(ledger_json_schema(), ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def example(
    path: Path = typer.Argument(
        DEFAULT_EXAMPLE_PATH, help="Where to write the example workbook (.xlsx)."
    ),
    rows: int = typer.Option(40, "--rows", min=MIN_ROWS, help="Number of data rows."),
    seed: int = typer.Option(7, "--seed", help="Seed of the random clean rows."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing workbook."),
    today: str | None = typer.Option(
        None,
        "--today",
        help="Reference date (YYYY-MM-DD) the follow-up dates are relative to; default today.",
    ),
) -> None:
    """Write the messy example ledger workbook used by config/ledgers/sales.yaml."""
    try:
        reference = date.fromisoformat(today) if today else date.today()
    except ValueError:
        typer.echo(f"--today {today!r} is not a date; use YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    if path.suffix.lower() != ".xlsx":
        typer.echo(f"{path}: the example workbook must be an .xlsx file", err=True)
        raise typer.Exit(2)
    if path.exists() and not force:
        typer.echo(
            f"{path} already exists; it may hold your edits. "
            "Pass --force to overwrite it, or give another PATH.",
            err=True,
        )
        raise typer.Exit(1)
    written = write_messy_workbook(path, n=rows, seed=seed, today=reference)
    typer.echo(f"wrote {written} ({rows} rows; try: syncer plan)")
