"""One cycle of one ledger: read → validate → rules → plan → guard → apply → record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syncer.connectors.base import Connector
from syncer.ledger import LedgerConfig
from syncer.model import ApplyReport, Finding, Plan
from syncer.state import StateStore


@dataclass
class CycleResult:
    """What one cycle saw and did."""

    ledger: str
    cycle_id: str
    started: datetime
    finished: datetime
    outcome: str  # "ok" | "idle" | "failed" | "dry_run"
    findings: list[Finding] = field(default_factory=list)
    plan: Plan | None = None
    report: ApplyReport | None = None
    error: str | None = None


def run_cycle(
    ledger: LedgerConfig,
    connector: Connector,
    store: StateStore,
    now: datetime,
    *,
    dry_run: bool = False,
) -> CycleResult:
    """Run one cycle. Never raises for a broken sheet: failures are in the result."""
    raise NotImplementedError  # being built (issue 2)
