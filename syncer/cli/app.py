"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="syncer",
    help="Keeps team spreadsheets honest: validate ledgers, run automations, annotate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
