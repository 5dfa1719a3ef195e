"""The planner: stage order, precedence on one cell, archived rows, post-plan findings,
describe(), and idempotence (apply the plan, re-plan: nothing left to do)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planning_kit import (
    ERRORS,
    HEADER,
    HISTORY,
    MAIN,
    NOW,
    apply_plan,
    make_ledger,
    make_table,
    record,
    reference_findings,
    snap,
)

from syncer.ledger import LedgerConfig
from syncer.model import (
    AddColumn,
    EnsureTab,
    Finding,
    MoveRow,
    Plan,
    ReplaceTab,
    RowRef,
    SetCell,
    Snapshot,
)
from syncer.planner import build_plan, describe
from syncer.rules.base import PreviousState

MESSY = [
    ["XS2024001", "甲公司", "张三", "+86 138-0013-8000", "合作中", "2024/5/20", "回访"],
    [None, "乙公司", "李四", "13900139000", "潜在客户", "2024-05-28", None],
    ["XS2024002", "丙公司", "王五", "13700137000", "流失客户", "2024-05-01", None],
    ["XS2024003", "丁公司", None, "123", "意向客户 ", "2024-05-30", None],
    [None, None, None, None, None, None, None],
    ["XS2024004", "戊公司", "赵六", "13600136000", "合作中", "2023-12-01", None],
]
PREVIOUS = PreviousState(
    watched={"XS2024001": {"合作状态": "意向客户"}, "XS2024003": {"合作状态": "意向客户"}}
)


def cycle(
    ledger: LedgerConfig, snapshot: Snapshot, previous: PreviousState
) -> tuple[Snapshot, PreviousState, Plan]:
    """One full cycle with the reference validator: (result, recorded state, plan)."""
    planned = build_plan(ledger, snapshot, reference_findings(ledger, snapshot), previous, NOW)
    return apply_plan(snapshot, planned.plan), record(previous, planned), planned.plan


def stage(op: object) -> int:
    """The documented stage of an operation in a plan of the sales ledger."""
    if isinstance(op, EnsureTab | AddColumn):
        return 0
    if isinstance(op, SetCell):
        return {"normalize": 1, "assign_id": 2, "stamp_on_change": 3, "annotate": 4}[op.rule]
    return 5 if isinstance(op, MoveRow) else 6


def test_plan_order_follows_the_stages(sales_ledger: LedgerConfig) -> None:
    """Structure, normalize, assign_id, stamps, annotations, moves, errors tab — in order."""
    snapshot = snap(make_table(MESSY))
    planned = build_plan(
        sales_ledger, snapshot, reference_findings(sales_ledger, snapshot), PREVIOUS, NOW
    )
    stages = [stage(op) for op in planned.plan]
    assert stages == sorted(stages)
    assert set(stages) == {0, 1, 2, 3, 4, 5, 6}
    assert planned.plan.key_column == "客户编号"
    assert planned.plan.ledger == "sales"


def test_messy_ledger_plan_contents(sales_ledger: LedgerConfig) -> None:
    """The messy example yields the expected writes, moves and structure."""
    snapshot = snap(make_table(MESSY))
    planned = build_plan(
        sales_ledger, snapshot, reference_findings(sales_ledger, snapshot), PREVIOUS, NOW
    )
    ops = list(planned.plan)
    structure = [op for op in ops if isinstance(op, EnsureTab | AddColumn)]
    assert [type(op).__name__ for op in structure] == ["AddColumn", "EnsureTab", "AddColumn"]
    cells = {(op.rule, op.target.row, op.column): op.value for op in ops if isinstance(op, SetCell)}
    assert cells == {
        ("normalize", 2, "联系方式"): "13800138000",
        ("normalize", 2, "最近跟进时间"): date(2024, 5, 20),
        ("normalize", 5, "合作状态"): "意向客户",
        ("assign_id", 3, "客户编号"): "XS2024005",
        ("stamp_on_change", 2, "状态变更时间"): datetime(2024, 6, 1, 10, 30),
        ("annotate", 5, "校验提示"): "联系人姓名: 必填; 联系方式: 号码无效",
    }
    moves = [op for op in ops if isinstance(op, MoveRow)]
    assert [(m.target.key, m.reason) for m in moves] == [
        ("XS2024002", "流失客户"),
        ("XS2024004", "stale"),
    ]
    (errors,) = [op for op in ops if isinstance(op, ReplaceTab)]
    # XS2024003 was read on sheet row 5; XS2024002 above it is archived, so row 4.
    assert [(r[1], r[2]) for r in errors.rows[1:-1]] == [(4, "XS2024003"), (4, "XS2024003")]


def test_archived_rows_get_no_cell_writes_and_errors_rows_move_up() -> None:
    """A row being archived gets no stamp or annotation; findings below it are renumbered."""
    ledger = make_ledger(
        [
            {"kind": "stamp_on_change", "watch": ["合作状态"], "target": "状态变更时间"},
            {
                "kind": "archive",
                "when": {"column": "合作状态", "op": "equals", "value": "流失客户"},
            },
        ]
    )
    rows = [
        ["XS1", "甲", None, "13800138000", "流失客户"],
        ["XS2", "乙", None, "13800138000", "合作中"],
    ]
    snapshot = snap(make_table(rows, header=HEADER[:5]))
    previous = PreviousState(watched={"XS1": {"合作状态": "合作中"}, "XS2": {"合作状态": "合作中"}})
    planned = build_plan(ledger, snapshot, reference_findings(ledger, snapshot), previous, NOW)
    writes = [op for op in planned.plan if isinstance(op, SetCell)]
    assert [(op.target.key, op.column) for op in writes] == [("XS2", "校验提示")]
    (errors,) = [op for op in planned.plan if isinstance(op, ReplaceTab)]
    assert [(r[1], r[2]) for r in errors.rows[1:-1]] == [(2, "XS2")]
    assert "XS1" not in planned.observed
    assert all(not identity.startswith(f"{MAIN}|XS1|") for identity in planned.first_seen)


def test_later_stage_wins_on_the_same_cell() -> None:
    """assign_id replaces normalize's write of a whitespace key; the first rule of a stage wins."""
    ledger = make_ledger(
        [
            {"kind": "normalize", "columns": ["客户编号"]},
            {"kind": "assign_id", "pattern": "A{seq:02}"},
            {"kind": "assign_id", "pattern": "B{seq:02}"},
        ]
    )
    snapshot = snap(make_table([["  ", "甲"]], header=HEADER[:2]))
    planned = build_plan(ledger, snapshot, [], PreviousState(), NOW)
    writes = [op for op in planned.plan if isinstance(op, SetCell)]
    assert [(op.rule, op.value) for op in writes] == [("assign_id", "A01")]


def test_new_ids_appear_in_errors_tab_and_first_seen() -> None:
    """A finding on a row given an id this cycle is recorded under that id."""
    ledger = make_ledger([{"kind": "assign_id"}])
    snapshot = snap(make_table([[None, "甲", None, "13800138000", "合作中"]], header=HEADER[:5]))
    findings = reference_findings(ledger, snapshot)
    planned = build_plan(ledger, snapshot, findings, PreviousState(), NOW)
    assert list(planned.first_seen) == [f"{MAIN}|XS2024001|联系人姓名|required"]


def test_observed_records_normalized_watched_values() -> None:
    """When a watched cell is normalized the recorded value is the normalized one."""
    ledger = make_ledger(
        [
            {"kind": "normalize", "columns": ["客户名称"]},
            {"kind": "stamp_on_change", "watch": ["客户名称"], "target": "状态变更时间"},
        ]
    )
    snapshot = snap(make_table([["XS1", "ＡＢ公司"]], header=HEADER[:2]))
    planned = build_plan(ledger, snapshot, [], PreviousState(), NOW)
    assert planned.observed == {"XS1": {"客户名称": "AB公司"}}


def test_describe_every_operation_kind() -> None:
    """describe() gives one readable English line per operation, masking phone values."""
    ref = RowRef("XS1", 5)
    assert (
        describe(
            SetCell(MAIN, ref, "联系方式", "13800138000", "+86 138-0013-8000", "normalize"),
            phone_columns=["联系方式"],
        )
        == "[normalize] set 基础信息!联系方式 of row XS1 (sheet row 5): "
        "'138****8000' -> '138****8000'"
    )
    assert describe(SetCell(MAIN, RowRef(None, 7), "客户编号", "XS9", None, "assign_id")) == (
        "[assign_id] set 基础信息!客户编号 of sheet row 7: (empty) -> 'XS9'"
    )
    assert describe(AddColumn(MAIN, "校验提示", "annotate")) == (
        "[annotate] add column '校验提示' to tab 基础信息"
    )
    assert describe(EnsureTab(HISTORY, ("a", "b"), "archive")) == (
        "[archive] create tab 客户历史库 (if missing) with 2 columns"
    )
    assert describe(MoveRow(MAIN, ref, HISTORY, (), "流失客户", "lost")) == (
        "[lost] move row XS1 (sheet row 5) from 基础信息 to 客户历史库: 流失客户"
    )
    assert describe(ReplaceTab(ERRORS, (("h",), ("x",), ("s",)), "errors_tab")) == (
        "[errors_tab] rewrite tab 校验错误 (1 finding line(s) plus header and summary)"
    )


def test_second_cycle_on_the_result_plans_nothing(sales_ledger: LedgerConfig) -> None:
    """Applying the messy example's plan and planning again gives an empty plan."""
    first, state, plan = cycle(sales_ledger, snap(make_table(MESSY)), PREVIOUS)
    assert len(plan) > 0
    second, _, again = cycle(sales_ledger, first, state)
    assert len(again) == 0
    main, history = second.tables[MAIN], second.tables[HISTORY]
    assert {str(v) for v in history.column_values("客户编号")} == {"XS2024002", "XS2024004"}
    assert "XS2024005" in main.column_values("客户编号")


def test_missing_main_tab_only_writes_the_errors_tab(sales_ledger: LedgerConfig) -> None:
    """Without the main tab no rule proposes anything; the errors tab reports findings."""
    found = [Finding(MAIN, None, None, None, None, "missing_tab", "缺少工作表")]
    planned = build_plan(sales_ledger, snap(), found, PreviousState(), NOW)
    assert [type(op).__name__ for op in planned.plan] == ["ReplaceTab"]


# --- property: plan idempotence -----------------------------------------------------------

KEYS = st.sampled_from(["XS2024001", "XS2024002", "XS2023010", "XS2024077", "", None, "未知"])
NAMES = st.sampled_from(["甲公司", " 乙公司 ", "ＡＢ公司", "", None])
PEOPLE = st.sampled_from(["张三", "", None])
PHONES = st.sampled_from(
    ["13800138000", "+86 138-0013-8000", "１３９００１３９０００", 13700137000.0, "123", None]
)
STATUS = st.sampled_from(["潜在客户", "合作中", " 合作中", "流失客户", "bogus", None])
DATES = st.sampled_from(
    ["2024-05-30", "2024/3/1", "2024年5月30日", date(2023, 1, 1), "03/04/2024", None]
)
ROWS = st.lists(st.tuples(KEYS, NAMES, PEOPLE, PHONES, STATUS, DATES, PEOPLE), max_size=8)
RULES: list[dict[str, Any]] = [
    {"kind": "normalize", "columns": ["客户名称", "联系方式", "合作状态", "最近跟进时间"]},
    {"kind": "assign_id", "requires": ["客户名称"]},
    {"kind": "stamp_on_change", "watch": ["合作状态", "跟进内容"], "target": "状态变更时间"},
    {
        "kind": "archive",
        "when": {
            "any": [
                {"column": "合作状态", "op": "equals", "value": "流失客户"},
                {"column": "最近跟进时间", "op": "older_than", "value": "90d"},
            ]
        },
    },
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    rule_mask=st.lists(st.booleans(), min_size=4, max_size=4),
    seen=st.dictionaries(KEYS.filter(bool), STATUS.map(lambda s: (s or "").strip()), max_size=3),
    with_history=st.booleans(),
    locale=st.sampled_from(["zh-CN", "en"]),
)
def test_plan_is_idempotent(
    rows: list[tuple[Any, ...]],
    rule_mask: list[bool],
    seen: dict[str, str],
    with_history: bool,
    locale: str,
) -> None:
    """For random messy ledgers and rule sets: apply the plan, re-plan → zero operations.

    One documented exception: a row given its id this cycle has no identity to archive
    by until the next cycle, so with assign_id and archive together the second plan may
    move exactly those rows (and then refresh the errors tab); the third plan is empty.
    """
    ledger = make_ledger([r for r, on in zip(RULES, rule_mask, strict=True) if on], locale=locale)
    tables = [make_table(rows)]
    if with_history:
        tables.append(make_table([["XS2024077"]], header=HEADER, name=HISTORY))
    previous = PreviousState(watched={k: {"合作状态": v, "跟进内容": ""} for k, v in seen.items()})
    first, state, plan = cycle(ledger, snap(*tables), previous)
    second, state, again = cycle(ledger, first, state)
    if rule_mask[1] and rule_mask[3]:
        assigned = {op.value for op in plan if isinstance(op, SetCell) and op.rule == "assign_id"}
        for op in again:
            assert isinstance(op, MoveRow | EnsureTab | AddColumn | ReplaceTab), op
            assert not isinstance(op, MoveRow) or op.target.key in assigned
        _, _, again = cycle(ledger, second, state)
    assert len(again) == 0
