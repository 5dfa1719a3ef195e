"""Automation rules, one module per kind. Each is a pure function of
(snapshot, findings, previous state, now) that proposes operations.

:func:`run_rule` dispatches a configured rule to its module by ``kind``; :data:`KINDS`
lists the kinds in the order the planner runs them. The rule modules are imported on
first use, so :mod:`syncer.conditions` (which the rules use) can import
:mod:`syncer.rules.base` without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncer.ledger import Rule
from syncer.rules.base import RuleContext, RuleResult

#: Rule kinds in the order the planner applies them.
KINDS: tuple[str, ...] = ("normalize", "assign_id", "stamp_on_change", "archive")

RuleFunction = Callable[[Any, RuleContext], RuleResult]


def registry() -> dict[str, RuleFunction]:
    """Rule kind → the function implementing it."""
    from syncer.rules.archive import archive
    from syncer.rules.assign_id import assign_id
    from syncer.rules.normalize import normalize
    from syncer.rules.stamp_on_change import stamp_on_change

    return {
        "normalize": normalize,
        "assign_id": assign_id,
        "stamp_on_change": stamp_on_change,
        "archive": archive,
    }


def run_rule(rule: Rule, ctx: RuleContext) -> RuleResult:
    """Run one configured rule over ``ctx`` (a disabled rule proposes nothing)."""
    if not rule.enabled:
        return RuleResult()
    return registry()[rule.kind](rule, ctx)
