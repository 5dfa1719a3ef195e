"""When a cycle may work incrementally, and what it keeps between cycles.

A cycle validates only the rows whose content changed since the last successful cycle
(:mod:`syncer.validate.incremental`; the uniqueness checks still see whole columns) and
keeps a :class:`CycleMemo` in the state store's per-ledger memory
(:meth:`syncer.state.StateStore.keep_memo`), never in the database. A **full pass**
(every row checked, the memo rebuilt) runs when:

* there is no memo: the process just started, or the ledger never had a successful
  cycle here (``no_memo``);
* the state has no mark for the ledger — a new or emptied database (``state_missing``);
* the ledger file changed (``config_changed``);
* the state's mark is not the one this process saved with the memo: another replica
  ran a cycle of the ledger, or the state database was restored or copied
  (``state_changed``);
* the memo was made by another version of the incremental code (``version``);
* the last full pass is older than ``SYNCER_FULL_PASS_HOURS`` (``scheduled``; 0 makes
  every cycle a full pass).

``syncer plan`` (a dry run) always takes the full pass and keeps nothing. The result of
an incremental cycle equals the full pass's on the same snapshot and state; the property
tests in ``tests/unit/test_incremental.py`` check it on random edit sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from syncer.state import LedgerMark
from syncer.validate.incremental import VERSION, ValidationMemo

#: How often a full pass runs at the latest when ``SYNCER_FULL_PASS_HOURS`` is not set.
DEFAULT_FULL_PASS_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class CycleMemo:
    """What a successful cycle leaves for the next one of its ledger, in memory."""

    validation: ValidationMemo | None
    #: when the last full pass ran (carried by the incremental cycles after it)
    full_at: datetime
    #: the ledger mark the cycle saved: (config hash, last cycle time)
    saved: tuple[str | None, datetime | None]
    version: int = VERSION


def full_pass_reason(
    memo: object | None,
    mark: LedgerMark | None,
    config_hash: str,
    now: datetime,
    every: timedelta,
) -> str | None:
    """Why this cycle must check every row (see the module doc), or None when the memo
    may be used."""
    if not isinstance(memo, CycleMemo):
        return "no_memo"
    if mark is None:
        return "state_missing"
    if mark.config_hash != config_hash:
        return "config_changed"
    if memo.saved != (mark.config_hash, mark.last_cycle):
        return "state_changed"
    if memo.version != VERSION or memo.validation is None:
        return "version" if memo.version != VERSION else "no_memo"
    if every <= timedelta(0) or now - memo.full_at >= every:
        return "scheduled"
    return None
