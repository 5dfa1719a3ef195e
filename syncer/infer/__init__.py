"""``syncer init``: infer a ledger file from an existing spreadsheet.

Readers turn an .xlsx file (:mod:`~syncer.infer.xlsx_source`) or a Google spreadsheet
(:mod:`~syncer.infer.google_source`) into a :class:`~syncer.infer.grid.SourceBook`;
:func:`~syncer.infer.build.infer_ledger` infers a
:class:`~syncer.infer.guess.LedgerGuess` from it (pure); :func:`~syncer.infer.render.render`
writes it as YAML where every inferred line carries its evidence as a comment.
"""

from __future__ import annotations

from syncer.infer.build import InferenceError, infer_ledger
from syncer.infer.guess import ColumnGuess, LedgerGuess, Note, RuleGuess
from syncer.infer.render import render

__all__ = [
    "ColumnGuess",
    "InferenceError",
    "LedgerGuess",
    "Note",
    "RuleGuess",
    "infer_ledger",
    "render",
]
