"""Planning: run the rules and the annotations over a snapshot and order the operations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from syncer.ledger import LedgerConfig
from syncer.model import Finding, Plan, Snapshot
from syncer.rules.base import PreviousState


@dataclass(frozen=True)
class Planned:
    """A plan plus what to record once it is applied."""

    plan: Plan
    #: row key → column → canonical value (see RuleResult.observed)
    observed: dict[str, dict[str, str]] = field(default_factory=dict)
    #: finding identity → first seen (for every current finding)
    first_seen: dict[str, datetime] = field(default_factory=dict)


def build_plan(
    ledger: LedgerConfig,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    previous: PreviousState,
    now: datetime,
) -> Planned:
    """Pure: the ordered operations for one cycle. Touches nothing."""
    raise NotImplementedError  # being built (issue 2)
