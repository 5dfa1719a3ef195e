"""What every rule receives and returns, and how a rule kind is described.

The column helpers (:func:`column`, :func:`column_texts`, :func:`row_keys` …) live in
:mod:`syncer.table_cache` and are re-exported here for the rules; a rule passes
``ctx.cache`` so that the columns it reads are shared with the other rules of the cycle.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncer.ledger_parts import LedgerView, RuleBase
from syncer.model import Finding, Operation, RowRef, Snapshot, Table
from syncer.table_cache import (
    TableCache,
    cell_text,
    column,
    column_texts,
    empty_test,
    is_empty,
    placeholder_test,
    row_keys,
)

__all__ = [
    "PreviousState",
    "RuleContext",
    "RuleKind",
    "RuleResult",
    "TableCache",
    "cell_text",
    "column",
    "column_texts",
    "empty_test",
    "is_empty",
    "ledger_row_keys",
    "local_naive",
    "placeholder_test",
    "row_keys",
    "row_ref",
    "rule_label",
]


@dataclass(frozen=True)
class PreviousState:
    """What the last cycles recorded for a ledger.

    ``watched``: row key → column → canonical value seen at the last cycle (for
    ``stamp_on_change``). ``first_seen``: finding identity → when it first appeared.
    """

    watched: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    first_seen: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at. ``now`` is timezone-aware, in the ledger's zone."""

    ledger: LedgerView
    snapshot: Snapshot
    findings: Sequence[Finding]
    previous: PreviousState
    now: datetime
    #: Column reads shared by the rules (and annotations) of this cycle only.
    cache: TableCache = field(default_factory=TableCache, compare=False, repr=False)


@dataclass
class RuleResult:
    """Operations a rule proposes, and values it observed (recorded after the apply).

    ``observed``: row key → column → canonical value, for rows whose watched values
    should be remembered. The engine does not record a row whose operations the guard
    dropped, so the change is seen again next cycle.
    """

    ops: list[Operation] = field(default_factory=list)
    observed: dict[str, dict[str, str]] = field(default_factory=dict)


# --- helpers shared by the rules, the annotations and the planner -----------------------


def ledger_row_keys(
    ledger: LedgerView, table: Table, cache: TableCache | None = None
) -> list[str | None]:
    """:func:`row_keys` of ``table`` with the ledger's key column and its placeholders."""
    return row_keys(table, ledger.key, ledger.placeholders_for(ledger.key), cache)


def row_ref(table: Table, index: int, key: str | None) -> RowRef:
    """A :class:`RowRef` for data row ``index``: its key and sheet row."""
    return RowRef(key=key, row=table.sheet_row(index))


def rule_label(rule: RuleBase) -> str:
    """The name an operation carries for the rule that proposed it (its ``name`` or kind)."""
    kind = getattr(rule, "kind", type(rule).__name__)
    return rule.name or str(kind)


def local_naive(now: datetime) -> datetime:
    """``now`` as a naive wall-clock time in its own zone, to the second.

    Spreadsheets have no time zones: the robot writes times as the ledger's local time.
    """
    return now.replace(tzinfo=None, microsecond=0)


RuleFunction = Callable[[Any, RuleContext], RuleResult]


@dataclass(frozen=True)
class RuleKind:
    """One rule kind: its ledger-file model and the function that runs it.

    Each rule module defines ``KIND = RuleKind(Model, function)``; listing that in
    :data:`syncer.rules.RULE_KINDS` registers the kind everywhere (ledger files, the
    JSON schema, ``syncer check``, the planner and the idle skip).
    """

    model: type[RuleBase]
    run: RuleFunction

    @property
    def kind(self) -> str:
        """The ``kind:`` value of this rule in ledger files."""
        annotation = self.model.model_fields["kind"].annotation
        (name,) = typing.get_args(annotation)
        return str(name)
