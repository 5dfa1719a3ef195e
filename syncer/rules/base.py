"""What every rule receives and returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from syncer.ledger import LedgerConfig
from syncer.model import Finding, Operation, Snapshot


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

    ledger: LedgerConfig
    snapshot: Snapshot
    findings: Sequence[Finding]
    previous: PreviousState
    now: datetime


@dataclass
class RuleResult:
    """Operations a rule proposes, and values it observed (recorded after the apply).

    ``observed``: row key → column → canonical value, for rows whose watched values
    should be remembered. The engine does not record a row whose operations the guard
    dropped, so the change is seen again next cycle.
    """

    ops: list[Operation] = field(default_factory=list)
    observed: dict[str, dict[str, str]] = field(default_factory=dict)
