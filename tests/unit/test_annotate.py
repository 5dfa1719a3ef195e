"""Annotations: the annotation column text and writes, and the errors tab content."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planning_kit import (
    ERRORS,
    HEADER,
    MAIN,
    NOW,
    apply_plan,
    make_ledger,
    make_table,
    record,
    snap,
)

from syncer.annotate import (
    annotation_ops,
    annotation_text,
    errors_header,
    errors_rows,
    errors_tab_op,
    first_seen,
    recover_first_seen,
)
from syncer.ledger import LedgerConfig
from syncer.model import AddColumn, Finding, Operation, ReplaceTab, SetCell, Snapshot
from syncer.planner import Planned, build_plan
from syncer.rules.base import PreviousState
from syncer.validate import settle_duplicates, validate

LEDGER = make_ledger()
ANN_HEADER = (*HEADER, "校验提示")


def finding(
    row: int, column: str | None, check: str, message: str, value: object = None
) -> Finding:
    """A main-tab finding keyed XS<row>."""
    return Finding(MAIN, row, f"XS{row}", column, value, check, message)  # type: ignore[arg-type]


def test_annotation_text_orders_by_header_and_joins_parts() -> None:
    """Parts are `column: message` in header order; ledger-level messages stand alone."""
    found = [
        finding(2, "合作状态", "choice", "不在下拉选项中"),
        finding(2, "联系方式", "phone", "号码无效"),
        finding(2, None, "blank_header", "表头有空列"),
        finding(2, "联系方式", "phone", "号码无效"),
    ]
    assert annotation_text(found, ANN_HEADER, "zh-CN") == (
        "联系方式: 号码无效; 合作状态: 不在下拉选项中; 表头有空列"
    )
    assert annotation_text([], ANN_HEADER, "zh-CN") is None


def test_annotation_ops_write_new_clear_fixed_and_keep_equal() -> None:
    """Rows with new text are written, fixed rows cleared, unchanged rows left alone."""
    table = make_table(
        [
            ["XS2", *[None] * 6, None],
            ["XS3", *[None] * 6, "联系方式: 号码无效"],
            ["XS4", *[None] * 6, "联系方式: 号码无效"],
        ],
        header=ANN_HEADER,
    )
    found = [
        finding(2, "联系方式", "phone", "号码无效"),
        finding(3, "联系方式", "phone", "号码无效"),
    ]
    ops = annotation_ops(LEDGER, table, found)
    assert [(op.target.row, op.value, op.before) for op in ops if isinstance(op, SetCell)] == [
        (2, "联系方式: 号码无效", None),
        (4, None, "联系方式: 号码无效"),
    ]
    assert all(isinstance(op, SetCell) for op in ops)


def test_annotation_column_is_added_when_missing_and_skip_rows_are_ignored() -> None:
    """A missing annotation column gets an AddColumn; skipped (archived) rows get nothing."""
    table = make_table([["XS2"], ["XS3"]])
    found = [
        finding(2, "联系方式", "phone", "号码无效"),
        finding(3, "联系方式", "required", "必填"),
    ]
    ops = annotation_ops(LEDGER, table, found, skip_rows={3})
    assert ops[0] == AddColumn(tab=MAIN, column="校验提示", rule="annotate")
    assert [op.target.row for op in ops if isinstance(op, SetCell)] == [2]


def test_errors_rows_mask_phones_and_summarise() -> None:
    """Lines carry tab/row/key/column/masked value/problem/check/first seen, then a summary."""
    found = [
        finding(3, "联系方式", "phone", "号码无效", "13800138000"),
        finding(2, "合作状态", "choice", "不在下拉选项中", "bogus"),
        Finding(MAIN, None, None, "客户来源", None, "missing_column", "缺少列"),
    ]
    seen = {found[0].identity: NOW - timedelta(days=2)}
    rows = errors_rows(LEDGER, found, seen, NOW, NOW)
    assert rows[0] == errors_header(LEDGER)
    assert rows[0][2] == "客户编号"
    assert rows[1] == (
        MAIN,
        None,
        None,
        "客户来源",
        None,
        "缺少列",
        "missing_column",
        "2024-06-01 10:30",
    )
    assert rows[2][4] == "bogus"
    assert rows[3] == (
        MAIN,
        3,
        "XS3",
        "联系方式",
        "138****8000",
        "号码无效",
        "phone",
        "2024-05-30 10:30",
    )
    assert rows[-1] == (
        "汇总",
        "共 3 条问题",
        "choice: 1, missing_column: 1, phone: 1",
        "最后变更",
        "2024-06-01 10:30",
    )


def test_errors_tab_not_rewritten_when_content_is_equal_after_round_trip() -> None:
    """A tab holding the same content (numbers as floats, times as datetimes) is left alone,
    whatever its summary's last-changed time."""
    found = [finding(3, "联系方式", "phone", "号码无效", "13800138000")]
    seen = {found[0].identity: datetime(2024, 5, 1, 9, 0, tzinfo=NOW.tzinfo)}
    written = errors_rows(LEDGER, found, seen, NOW - timedelta(days=3), NOW)
    as_read = [list(r) for r in written]
    as_read[1][1] = 3.0
    as_read[1][7] = datetime(2024, 5, 1, 9, 0)
    table = make_table(as_read[1:], header=[str(c) for c in as_read[0]], name=ERRORS)
    assert errors_tab_op(LEDGER, snap(table), found, seen, NOW) is None


def test_errors_tab_rewritten_with_now_when_content_changes_or_tab_missing() -> None:
    """A changed finding set, or a missing tab, gives a ReplaceTab stamped with now."""
    found = [finding(3, "联系方式", "phone", "号码无效", "1")]
    op = errors_tab_op(LEDGER, snap(), found, {}, NOW)
    assert isinstance(op, ReplaceTab)
    assert op.tab == ERRORS
    assert op.rows[-1][-1] == "2024-06-01 10:30"
    stale = make_table([], header=errors_header(LEDGER), name=ERRORS)
    assert errors_tab_op(LEDGER, snap(stale), found, {}, NOW) is not None


def test_errors_tab_lines_move_with_their_row_number_and_problem() -> None:
    """The errors tab's shifting columns, which a line may change when rows above it
    leave and still be the same line, are the row number and the problem text."""
    op = errors_tab_op(LEDGER, snap(), [finding(3, "联系方式", "phone", "号码无效", "1")], {}, NOW)
    assert op is not None
    assert [op.rows[0][c] for c in op.shifting] == ["行号", "问题"]


def test_first_seen_prefers_state_then_the_tab_then_now() -> None:
    """first_seen takes the state's record, else what the errors tab shows, else now."""
    a, b, c = (finding(r, "联系方式", "phone", "x") for r in (2, 3, 4))
    earlier = NOW - timedelta(days=5)
    shown = NOW - timedelta(days=1)
    seen = first_seen(
        [a, b, c], PreviousState(first_seen={a.identity: earlier}), NOW, {b.identity: shown}
    )
    assert seen == {a.identity: earlier, b.identity: shown, c.identity: NOW}


def test_recover_first_seen_reads_back_what_errors_rows_wrote() -> None:
    """Identities and minutes written to the errors tab are recovered from it."""
    found = [
        finding(3, "联系方式", "phone", "号码无效"),
        Finding(MAIN, 7, None, "x", None, "c", "m"),
    ]
    when = datetime(2024, 5, 1, 9, 0, tzinfo=NOW.tzinfo)
    rows = errors_rows(LEDGER, found, {f.identity: when for f in found}, NOW, NOW)
    table = make_table(rows[1:], header=[str(c) for c in rows[0]], name=ERRORS)
    assert recover_first_seen(LEDGER, table) == {f.identity: when for f in found}


def test_recover_first_seen_gives_only_the_identities_wanted() -> None:
    """Asked for some identities, the errors tab recovery gives exactly those it lists,
    and a line whose time cannot be read does not hide a later line of the same finding."""
    found = [finding(r, "联系方式", "phone", "号码无效") for r in (3, 4, 5)]
    when = datetime(2024, 5, 1, 9, 0, tzinfo=NOW.tzinfo)
    rows = [
        list(r) for r in errors_rows(LEDGER, found, {f.identity: when for f in found}, NOW, NOW)
    ]
    rows.insert(1, [*rows[1][:7], "not a time"])  # the first finding listed twice
    table = make_table(rows[1:], header=[str(c) for c in rows[0]], name=ERRORS)
    wanted = {found[0].identity, found[2].identity, finding(99, "联系方式", "phone", "x").identity}
    assert recover_first_seen(LEDGER, table, wanted) == {
        found[0].identity: when,
        found[2].identity: when,
    }


def test_english_ledger_writes_english_sheet_text() -> None:
    """Sheet text follows the ledger locale."""
    ledger = make_ledger(locale="en")
    rows = errors_rows(ledger, [], {}, NOW, NOW)
    assert rows[0][0] == "Tab"
    assert rows[-1][:2] == ("Summary", "0 problem(s)")


def test_every_sheet_text_of_the_planning_core_exists_in_both_locales() -> None:
    """Each message registered by annotate/archive/conditions formats in zh-CN and en."""
    import syncer.rules.archive  # noqa: F401  (registers its messages)
    from syncer.i18n import keys, t

    fields = {"count": 3, "column": "合作状态", "value": "流失客户", "inner": "x"}
    ours = [k for k in keys() if k.split(".")[0] in ("annotate", "archive", "condition")]
    assert len(ours) >= 25
    for key in ours:
        assert t("zh-CN", key, **fields).strip()
        assert t("en", key, **fields).strip()


# --- duplicates after archiving (issue 10 item 9) -----------------------------------------

ARCHIVE_LOST = {
    "kind": "archive",
    "when": {"column": "合作状态", "op": "equals", "value": "流失客户"},
}


def _cycle(ledger: LedgerConfig, snapshot: Snapshot, previous: PreviousState) -> Planned:
    return build_plan(ledger, snapshot, validate(ledger, snapshot), previous, NOW)


def _texts(plan_ops: Sequence[Operation]) -> tuple[dict[int, object], list[tuple[object, ...]]]:
    """(read row → annotation written, errors-tab lines as (row, key, problem))."""
    notes = {
        op.target.row: op.value
        for op in plan_ops
        if isinstance(op, SetCell) and op.rule == "annotate"
    }
    (errors,) = [op for op in plan_ops if isinstance(op, ReplaceTab)]
    lines = [(r[1], r[2], r[5]) for r in errors.rows[1:-1] if r[6] == "unique"]
    return notes, lines


def test_duplicate_messages_name_the_rows_after_the_archive_and_stay_true() -> None:
    """Archiving rows above two duplicate keys renumbers the rows their messages quote, in the
    annotation and the errors tab; the next cycle on the result plans nothing."""
    ledger = make_ledger([ARCHIVE_LOST])
    rows = [
        ["XS1", "甲", "张", "13800138000", "流失客户"],
        ["XS2", "乙", "李", "13800138001", "合作中"],
        ["XS9", "丙", "王", "13800138002", "流失客户"],
        ["XS2", "丁", "赵", "13800138003", "合作中"],
    ]
    snapshot = snap(make_table(rows, header=HEADER[:5]))
    planned = _cycle(ledger, snapshot, PreviousState())
    notes, lines = _texts(planned.plan.ops)
    # read on rows 3 and 5; rows 2 and 4 are archived, so they end on rows 2 and 3
    assert lines == [(2, "XS2", "与第 3 行重复"), (3, "XS2", "与第 2 行重复")]
    assert notes == {3: "客户编号: 与第 3 行重复", 5: "客户编号: 与第 2 行重复"}
    after = apply_plan(snapshot, planned.plan)
    main = after.tables[MAIN]
    assert [r[0] for r in main.rows] == ["XS2", "XS2"]
    assert [r[-1] for r in main.rows] == ["客户编号: 与第 3 行重复", "客户编号: 与第 2 行重复"]
    again = _cycle(ledger, after, record(PreviousState(), planned))
    assert list(again.plan.ops) == []


def test_duplicate_whose_twin_is_archived_is_no_longer_reported() -> None:
    """When the only twin of a duplicate phone is archived, the row left behind gets no
    duplicate text and the errors tab does not list it; the next cycle plans nothing."""
    columns = dict(make_ledger().columns)
    ledger = make_ledger(
        [ARCHIVE_LOST],
        columns={
            name: {**spec.model_dump(exclude_none=True), "unique": name in ("客户编号", "联系方式")}
            for name, spec in columns.items()
        },
    )
    rows = [
        ["XS1", "甲", "张", "13800138000", "流失客户"],
        ["XS2", "乙", "李", "13800138000", "合作中"],
    ]
    snapshot = snap(make_table(rows, header=HEADER[:5]))
    found = validate(ledger, snapshot)
    assert [(f.row, f.check) for f in found if f.row is not None] == [(2, "unique"), (3, "unique")]
    planned = _cycle(ledger, snapshot, PreviousState())
    notes, lines = _texts(planned.plan.ops)
    assert lines == []
    assert all("重复" not in str(text) for text in notes.values())
    after = apply_plan(snapshot, planned.plan)
    again = _cycle(ledger, after, record(PreviousState(), planned))
    assert list(again.plan.ops) == []


def test_settle_duplicates_keeps_other_findings_and_words_moved_twins() -> None:
    """settle_duplicates leaves non-duplicate findings alone and re-words duplicates from
    the rows their twins moved to; without moves it returns the same findings."""
    table = make_table(
        [["XS1", "甲", "张", "13800138000", "合作中"], ["XS1", "乙", "李", "1", "合作中"]],
        header=HEADER[:5],
    )
    found = validate(make_ledger(), snap(table))
    assert settle_duplicates(found, lambda row: row) == found
    moved = settle_duplicates(found, lambda row: row + 10)
    quoted = {f.row: f.message for f in moved if f.check == "unique"}
    assert quoted == {2: "与第 13 行重复", 3: "与第 12 行重复"}
    assert [f.check for f in moved if f.check != "unique"] == [
        f.check for f in found if f.check != "unique"
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["XS1", "XS2", "XS3", "XS4", "XS5", "XS6"]),
            st.sampled_from(["13800138000", "13800138001", "13800138002", "13800138003"]),
            st.sampled_from(["合作中", "流失客户"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_duplicate_texts_after_a_cycle_are_what_the_next_read_finds(
    rows: list[tuple[str, str, str]],
) -> None:
    """Whatever rows are archived among duplicate keys and phones, the errors tab and the
    annotations a cycle writes are exactly what validating its result gives: the next
    cycle plans nothing."""
    columns = dict(make_ledger().columns)
    ledger = make_ledger(
        [ARCHIVE_LOST],
        columns={
            name: {**spec.model_dump(exclude_none=True), "unique": name in ("客户编号", "联系方式")}
            for name, spec in columns.items()
        },
    )
    table = make_table(
        [[key, "甲", "张", phone, status] for key, phone, status in rows], header=HEADER[:5]
    )
    snapshot = snap(table)
    planned = _cycle(ledger, snapshot, PreviousState())
    after = apply_plan(snapshot, planned.plan)
    again = _cycle(ledger, after, record(PreviousState(), planned))
    assert list(again.plan.ops) == []


_cells = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "a", " a", "a ", "b", "号码无效", "校验汇总"]),
    st.integers(0, 3),
    st.sampled_from([datetime(2024, 5, 1, 9, 0), datetime(2024, 5, 1, 9, 0, 30)]),
)
_rows = st.lists(st.lists(_cells, max_size=6), max_size=6)


def _whole_comparison(have: Sequence[Sequence[object]], wanted: Sequence[Sequence[object]]) -> bool:
    """The errors-tab comparison done on every line of both sides (the reference)."""
    from syncer.table_cache import cell_text

    def comparable(rows: Sequence[Sequence[object]]) -> list[tuple[str, ...]]:
        out = []
        for row in rows:
            texts = [
                v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else cell_text(v)  # type: ignore[arg-type]
                for v in row
            ]
            while texts and not texts[-1]:
                texts.pop()
            out.append(tuple(texts))
        while out and not out[-1]:
            out.pop()
        if out and out[-1] and out[-1][0] == "校验汇总":
            out[-1] = out[-1][:4]
        return out

    return comparable(have) == comparable(wanted)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(have=_rows, wanted=_rows)
def test_the_errors_tab_comparison_stops_early_but_agrees_with_the_whole(
    have: list[list[object]], wanted: list[list[object]]
) -> None:
    """Comparing the errors tab line by line, stopping at the first difference, answers
    as comparing every line of both sides would (blank tails and the summary time aside)."""
    from syncer.annotate import _shows

    assert _shows(have, wanted, "校验汇总") == _whole_comparison(have, wanted)  # type: ignore[arg-type]
    assert _shows(have, have, "校验汇总")


def test_first_seen_parses_the_errors_tab_only_for_findings_the_state_lacks() -> None:
    """Given as a function, the errors tab's times are read only when some finding has no
    record in the state, then once, and only for the findings that have none."""
    a, b, c = (finding(r, "联系方式", "phone", "x") for r in (2, 3, 4))
    earlier = NOW - timedelta(days=5)
    asked: list[set[str]] = []

    def shown(wanted: set[str]) -> dict[str, datetime]:
        asked.append(wanted)
        return {c.identity: NOW - timedelta(days=1)}

    state = PreviousState(first_seen={a.identity: earlier, b.identity: earlier})
    assert first_seen([a, b], state, NOW, shown) == {a.identity: earlier, b.identity: earlier}
    assert asked == []
    seen = first_seen([a, b, c, c], state, NOW, shown)
    assert seen[c.identity] == NOW - timedelta(days=1)
    assert asked == [{c.identity}]
