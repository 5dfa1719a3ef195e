"""CLI command ``syncer init SOURCE --out FILE``: write a ledger file inferred from a sheet.

SOURCE is an .xlsx file or a Google spreadsheet URL or id (read through the normal
credentials, ``SYNCER_CREDENTIALS_PATH`` and ``SYNCER_GOOGLE_API_BASE``). In a terminal
each column and rule is shown with its evidence and confirmed (accept / change type /
skip); ``--yes`` accepts everything, for scripts. The file is checked like
``syncer check`` before it is written and never overwrites a file without ``--force``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table as RichTable

from syncer.cli.app import app
from syncer.errors import ConfigError, SyncerError
from syncer.ledger import ColumnType, LedgerConfig

if TYPE_CHECKING:
    from syncer.infer.grid import SourceBook
    from syncer.infer.guess import LedgerGuess

_XLSX = (".xlsx", ".xlsm")
TYPES: tuple[str, ...] = get_args(ColumnType)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _safe_name(text: str) -> str:
    """A ledger name (``^[\\w.-]+$``) from a file stem or a spreadsheet title."""
    name = re.sub(r"[^\w.-]+", "-", text.strip()).strip("-.")
    return name or "ledger"


def _is_xlsx(source: str) -> bool:
    return Path(source).suffix.lower() in _XLSX or Path(source).is_file()


def _read(source: str) -> SourceBook:
    """The SourceBook of ``source``; exits 1 with the reason when it cannot be read."""
    try:
        if _is_xlsx(source):
            from syncer.infer.xlsx_source import read_xlsx

            return read_xlsx(Path(source))
        from syncer.infer.google_source import read_google
        from syncer.settings import Settings

        return read_google(source, Settings())
    except SyncerError as exc:
        _err(f"error: cannot read {source}: {exc}")
        raise typer.Exit(1) from exc


def _source_mapping(source: str, out: Path) -> dict[str, str]:
    if _is_xlsx(source):
        relative = os.path.relpath(Path(source).resolve(), out.resolve().parent)
        return {"connector": "xlsx", "path": Path(relative).as_posix()}
    return {"connector": "google", "spreadsheet": source}


@app.command("init")
def init_command(
    source: str = typer.Argument(..., help="An .xlsx file, or a Google spreadsheet URL or id."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Ledger file to write (default: config/ledgers/NAME.yaml)."
    ),
    name: str | None = typer.Option(None, "--name", help="Ledger name (default: from --out)."),
    tab: str | None = typer.Option(None, "--tab", help="The main tab (default: inferred)."),
    header_row: int | None = typer.Option(
        None, "--header-row", min=1, help="Row of the header (default: inferred)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Accept every inference, ask nothing."),
    interactive: bool = typer.Option(
        False, "--interactive", help="Ask even when input is not a terminal."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --out when it exists."),
) -> None:
    """Write a ledger file inferred from an existing sheet (.xlsx or Google)."""
    from syncer.infer import InferenceError, infer_ledger, render

    if out is not None and out.exists() and not force:
        _err(f"{out} already exists; pass --force to overwrite it, or give another --out")
        raise typer.Exit(1)
    book = _read(source)
    ledger_name = _safe_name(name or (out.stem if out is not None else book.title))
    target = out if out is not None else Path("config/ledgers") / f"{ledger_name}.yaml"
    if target.exists() and not force:
        _err(f"{target} already exists; pass --force to overwrite it, or give --out")
        raise typer.Exit(1)
    try:
        guess = infer_ledger(
            book,
            name=ledger_name,
            source=_source_mapping(source, target),
            main_tab=tab,
            header_row=header_row,
        )
    except InferenceError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(1) from exc
    console = Console(highlight=False, soft_wrap=True)
    if not yes and (interactive or sys.stdin.isatty()):
        guess = review(guess, console)
    problems = _problems(guess.data())
    if problems:
        _err("error: the inferred ledger does not pass `syncer check`:\n" + "\n".join(problems))
        raise typer.Exit(2)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(guess), encoding="utf-8")
    _confirm_written(target)
    reviews = guess.reviews()
    console.print(
        f"wrote {target}: {len(guess.columns)} columns, {len(guess.rules)} rule(s), "
        f"{reviews} line(s) marked REVIEW\n"
        f"next: syncer check {target}  ·  syncer plan --config {target}",
        markup=False,
    )


def _problems(data: dict[str, Any]) -> list[str]:
    """What ``syncer check`` would say about the ledger (before it is written)."""
    from pydantic import ValidationError

    try:
        ledger = LedgerConfig.model_validate(data)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return [r.message for r in ledger.check_references()]


def _confirm_written(target: Path) -> None:
    """Load the written file like ``syncer check`` does; exit 2 if it does not pass."""
    from syncer.config import load_ledger

    try:
        load_ledger(target)
    except ConfigError as exc:
        _err(f"error: {target} was written but does not pass `syncer check`:\n{exc}")
        raise typer.Exit(2) from exc


# --- interactive review ---------------------------------------------------------------


def _summary(console: Console, guess: LedgerGuess) -> None:
    table = RichTable(title="inferred columns", title_justify="left")
    for heading in ("#", "column", "type", "required", "why"):
        table.add_column(heading, overflow="fold")
    for i, column in enumerate(guess.columns, start=1):
        note = column.notes.get("type")
        why = note.render() if note is not None else ""
        flag = "yes" if column.spec.get("required") else ""
        table.add_row(str(i), column.name, column.type, flag, why)
    console.print(table)


def review(guess: LedgerGuess, console: Console) -> LedgerGuess:
    """Confirm each column (accept / change type / skip) and each rule (accept / skip)."""
    _summary(console, guess)
    console.print("a = accept, t = change type, s = skip, all = accept the rest", markup=False)
    for column in list(guess.columns):
        current = guess.column(column.name)
        if current is None:  # pragma: no cover - columns are only removed below
            continue
        label = f"{current.name}: {current.type}" + (" (key)" if current.name == guess.key else "")
        while True:
            answer = Prompt.ask(label, choices=["a", "t", "s", "all"], default="a", console=console)
            if answer == "all":
                return _review_rules(guess, console)
            if answer == "a":
                break
            if answer == "s":
                try:
                    guess = guess.without_column(current.name)
                except ValueError as exc:
                    console.print(str(exc), markup=False)
                    continue
                break
            new_type = Prompt.ask(
                f"type of {current.name}",
                choices=list(TYPES),
                default=current.type,
                console=console,
            )
            values: tuple[str, ...] = ()
            if new_type in ("choice", "multi_choice") and not current.observed:
                listed = Prompt.ask("allowed values, separated by commas", console=console)
                values = tuple(v.strip() for v in re.split(r"[,，]", listed) if v.strip())
            try:
                guess = guess.retyped(current.name, new_type, values)
            except ValueError as exc:
                console.print(str(exc), markup=False)
                continue
            break
    return _review_rules(guess, console)


def _review_rules(guess: LedgerGuess, console: Console) -> LedgerGuess:
    drop: list[int] = []
    for i, rule in enumerate(guess.rules):
        answer = Prompt.ask(
            f"rule {rule.kind} — {rule.note.render()}",
            choices=["a", "s"],
            default="a",
            console=console,
        )
        if answer == "s":
            drop.append(i)
    for i in reversed(drop):
        guess = guess.without_rule(i)
    return guess
