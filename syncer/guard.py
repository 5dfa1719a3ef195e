"""The guard: decide, from a fresh read, which planned operations may still be applied."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncer.model import Dropped, Operation, Plan, Snapshot


@dataclass(frozen=True)
class Resolved:
    """An operation that passed the guard and where its row is *now* (0-based data-row
    index into the fresh table; None for operations not addressed to a row)."""

    op: Operation
    index: int | None


@dataclass
class GuardResult:
    """Operations kept (resolved against the fresh read) and those dropped, with why."""

    kept: list[Resolved] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def guard(plan: Plan, snapshot: Snapshot, fresh: Snapshot) -> GuardResult:
    """Pure: keep the operations whose target is unchanged between ``snapshot`` and ``fresh``."""
    raise NotImplementedError  # being built (issue 2)
