"""The rule registry: one place lists the kinds; the ledger union, the planner order and the
idle skip's ``time_rule_due`` all come from it."""

from __future__ import annotations

import typing
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from planning_kit import NOW, make_ledger, make_table

from syncer.conditions import parse_duration_days
from syncer.ledger import LedgerConfig
from syncer.ledger_parts import RuleBase
from syncer.planner import build_plan
from syncer.rules import KINDS, RULE_KINDS, rule_models, time_rule_due
from syncer.rules.base import PreviousState, RuleContext, RuleKind, RuleResult

ZONE = ZoneInfo("Asia/Shanghai")


def test_kinds_are_registered_once_in_planner_order() -> None:
    """RULE_KINDS names each kind once, in the documented planner order."""
    assert KINDS == ("normalize", "assign_id", "stamp_on_change", "archive")
    assert [k.model for k in RULE_KINDS] == list(rule_models())


def test_the_ledger_rules_union_is_built_from_the_registry() -> None:
    """LedgerConfig.rules accepts exactly the registered models, told apart by kind."""
    annotation = LedgerConfig.model_fields["rules"].annotation
    (item,) = typing.get_args(annotation)
    union = typing.get_args(item)[0]
    assert set(typing.get_args(union)) == set(rule_models())


def test_a_new_kind_needs_only_its_model_and_function() -> None:
    """A RuleKind takes its name from the model's `kind` literal (nothing else to list)."""

    class Shout(RuleBase):
        kind: Literal["shout"]

    def shout(rule: Any, ctx: RuleContext) -> RuleResult:
        del rule, ctx
        return RuleResult()

    assert RuleKind(Shout, shout).kind == "shout"


def _reference_due(ledger: LedgerConfig, last: datetime | None, now: datetime) -> bool:
    """The idle skip's rule as documented (the engine's former implementation)."""
    durations: list[str] = []

    def walk(node: Any) -> None:
        if hasattr(node, "op") and node.op in ("older_than", "newer_than"):
            durations.append(str(node.value))
        for child in (*getattr(node, "all", ()), *getattr(node, "any", ())):
            walk(child)
        if hasattr(node, "not_"):
            walk(node.not_)

    for rule in ledger.rules:
        if rule.kind == "archive" and rule.enabled:
            walk(rule.when)  # type: ignore[attr-defined]
    if not durations:
        return False
    if last is None:
        return True
    for text in durations:
        days = parse_duration_days(text)
        if days is None or not float(days).is_integer():
            return True
    return last.astimezone(ZONE).date() != now.astimezone(ZONE).date()


DURATIONS = st.sampled_from(["90d", "1d", "2w", "12h", "30m", "1.5d", "0d"])
CONDITION = st.one_of(
    st.builds(lambda d: {"column": "最近跟进时间", "op": "older_than", "value": d}, DURATIONS),
    st.builds(lambda d: {"column": "最近跟进时间", "op": "newer_than", "value": d}, DURATIONS),
    st.just({"column": "合作状态", "op": "equals", "value": "流失客户"}),
)
WHEN = st.one_of(
    CONDITION,
    st.builds(lambda xs: {"any": xs}, st.lists(CONDITION, min_size=1, max_size=3)),
    st.builds(lambda c: {"not": {"all": [c]}}, CONDITION),
)
RULE = st.one_of(
    st.builds(
        lambda when, on: {"kind": "archive", "when": when, "enabled": on}, WHEN, st.booleans()
    ),
    st.just({"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间"}),
    st.just({"kind": "normalize", "columns": ["联系方式"]}),
)


@settings(max_examples=200, deadline=None)
@given(
    rules=st.lists(RULE, max_size=3),
    last_offset=st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 86400)),
    gap=st.integers(min_value=0, max_value=2 * 86400),
)
def test_time_rule_due_matches_the_documented_rule(
    rules: list[dict[str, Any]], last_offset: int | None, gap: int
) -> None:
    """Per-rule due hooks combined give exactly the idle skip's former answer."""
    ledger = make_ledger(rules)
    now = NOW + timedelta(seconds=gap)
    last = None if last_offset is None else NOW - timedelta(seconds=last_offset)
    assert time_rule_due(ledger, last, now) == _reference_due(ledger, last, now)


def test_time_rule_due_follows_the_ledger_calendar_day() -> None:
    """A day duration is due once the ledger's local date changes, not before."""
    ledger = make_ledger(
        [
            {
                "kind": "archive",
                "when": {"column": "最近跟进时间", "op": "older_than", "value": "90d"},
            }
        ]
    )
    late = datetime(2024, 6, 1, 23, 59, 30, tzinfo=ZONE)
    assert not time_rule_due(ledger, late, late + timedelta(seconds=20))
    assert time_rule_due(ledger, late, late + timedelta(minutes=1))
    assert time_rule_due(ledger, None, late)
    disabled = make_ledger(
        [
            {
                "kind": "archive",
                "enabled": False,
                "when": {"column": "最近跟进时间", "op": "older_than", "value": "1h"},
            }
        ]
    )
    assert not time_rule_due(disabled, None, late)


def test_build_plan_gives_each_cycle_a_fresh_cache() -> None:
    """Two plans over two different tables never mix their column reads."""
    ledger = make_ledger([{"kind": "normalize", "columns": ["联系方式"]}])
    first = make_table([["XS1", "甲", "张三", "+86 138-0013-8000", "合作中", None, None]])
    second = make_table([["XS1", "甲", "张三", "13800138000", "合作中", None, None]])
    one = build_plan(ledger, {first.name: first}, [], PreviousState(), NOW)
    two = build_plan(ledger, {second.name: second}, [], PreviousState(), NOW)
    assert any(getattr(op, "column", None) == "联系方式" for op in one.plan)
    assert not any(getattr(op, "column", None) == "联系方式" for op in two.plan)


def test_rule_dumps_keep_their_field_order() -> None:
    """Every kind dumps name, enabled, kind first, as before the models moved: the config
    hash of an existing ledger (idle skip) does not change on upgrade."""
    ledger = make_ledger(
        [
            {"kind": "normalize"},
            {"kind": "assign_id"},
            {"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间"},
            {"kind": "archive", "when": {"column": "合作状态", "op": "empty"}},
        ]
    )
    for rule in ledger.model_dump()["rules"]:
        assert list(rule)[:3] == ["name", "enabled", "kind"]
