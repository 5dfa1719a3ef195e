"""Automation rules, one module per kind, and the one place rule kinds are registered.

Each rule module (``syncer/rules/<kind>.py``) holds everything about its kind: the
pydantic model of its ledger-file entry (a :class:`~syncer.ledger_parts.RuleBase` with
``kind: Literal["<kind>"]`` and the hooks it needs: columns it names, columns it owns,
whether time alone makes it due), the pure function that proposes operations from
(snapshot, findings, previous state, now), and ``KIND = RuleKind(Model, function)``.

:data:`RULE_KINDS` lists those ``KIND`` objects; listing a kind there is all it takes:
:mod:`syncer.ledger` builds the ``rules:`` union from it, :mod:`syncer.config` reports
its errors, the planner runs the kinds in this order and :func:`time_rule_due` asks
every rule's ``due`` hook.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncer.ledger_parts import LedgerView, RuleBase
from syncer.rules import archive, assign_id, normalize, stamp_on_change
from syncer.rules.base import RuleContext, RuleKind, RuleResult

#: Every rule kind, in the order the planner applies them. Register a new kind here.
RULE_KINDS: tuple[RuleKind, ...] = (
    normalize.KIND,
    assign_id.KIND,
    stamp_on_change.KIND,
    archive.KIND,
)

#: Rule kind names in the order the planner applies them.
KINDS: tuple[str, ...] = tuple(k.kind for k in RULE_KINDS)

_BY_KIND: dict[str, RuleKind] = {k.kind: k for k in RULE_KINDS}
if len(_BY_KIND) != len(RULE_KINDS):  # pragma: no cover - a registration mistake
    raise RuntimeError(f"two rule kinds share a name: {KINDS}")


def rule_models() -> tuple[type[RuleBase], ...]:
    """The ledger-file model of every registered kind, in :data:`KINDS` order."""
    return tuple(k.model for k in RULE_KINDS)


def run_rule(rule: RuleBase, ctx: RuleContext) -> RuleResult:
    """Run one configured rule over ``ctx`` (a disabled rule proposes nothing)."""
    if not rule.enabled:
        return RuleResult()
    return _BY_KIND[rule.kind].run(rule, ctx)


def ledger_zone(ledger: LedgerView) -> ZoneInfo:
    """The ledger's time zone (UTC if the name is unknown to this machine)."""
    try:
        return ZoneInfo(ledger.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def time_rule_due(ledger: LedgerView, last_cycle: datetime | None, now: datetime) -> bool:
    """True when a time-based rule may match rows it did not match at ``last_cycle``.

    Asks the ``due`` hook of every enabled rule (e.g. an archive condition with
    ``older_than: 90d`` becomes due on a new calendar day in the ledger's zone; a
    sub-day duration at any moment); False when no rule depends on time.
    """
    zone = ledger_zone(ledger)
    return any(rule.due(last_cycle, now, zone) for rule in ledger.rules if rule.enabled)
