"""Incremental cycles equal full passes: validation of only the changed rows
(syncer.validate.incremental) and the engine's memo (syncer.incremental), on random
edit sequences over the messy example ledger."""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.config import load_ledger
from syncer.connectors.memory import MemoryConnector
from syncer.engine import CycleResult, run_cycle
from syncer.examples import HEADER, HEADER_ROW, MIN_ROWS, messy_rows
from syncer.incremental import CycleMemo, RuleRunner, full_pass_reason
from syncer.ledger import LedgerConfig
from syncer.model import CellValue, Finding, MoveRow, Snapshot, Table, canonical
from syncer.planner import build_plan
from syncer.rules.base import PreviousState
from syncer.state import LedgerMark, StateStore
from syncer.validate import incremental as incremental_validation
from syncer.validate import validate
from syncer.validate.duplicates import codes_duplicated
from syncer.validate.incremental import (
    CODES_PER_ROW,
    CODES_SLACK,
    IdentityCodes,
    ValidationMemo,
    validate_incremental,
)
from tests.staged import Staged

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 1, 10, 30, tzinfo=ZONE)
TODAY = NOW.date()
DAYS_40 = timedelta(days=40)
COLUMN = {name: i for i, name in enumerate(HEADER)}


def sales() -> LedgerConfig:
    """The sales ledger of config/ledgers/sales.yaml, read from an in-memory workbook."""
    ledger = load_ledger(ROOT / "config/ledgers/sales.yaml")
    data = ledger.model_dump(mode="json", exclude_unset=True)
    data["source"] = {"connector": "memory"}
    return LedgerConfig.model_validate(data)


LEDGER = sales()
BASE = messy_rows(n=MIN_ROWS + 6, today=TODAY)[2]

#: Values a person might type into any cell (besides values taken from other rows).
ODD_VALUES: list[CellValue] = [
    None,
    "",
    "  ",
    "未知",
    "待补充",
    "12345",
    "１３８００１３８０００",
    "+86 138-0013-8000",
    "13800138000",
    "流失客户",
    "合作中",
    "谈判中",
    "XS2024001",
    "XS2024999",
    "2024/3/1",
    True,
    False,
    1,
    1.0,
    0,
    -500,
    38000.5,
    date(2024, 5, 20),
    TODAY - timedelta(days=89),
    TODAY - timedelta(days=91),
    datetime(2024, 5, 20, 9, 0),
    "li.na@",
    "x" * 120,
]


# --- edits: each is a pure function on the data rows (a list of lists) ------------------

Edit = Callable[[list[list[CellValue]]], None]


@st.composite
def edits(draw: st.DrawFn) -> Edit:
    """One person's edit: a cell change, an inserted/deleted/moved row, a sort, a new
    customer without an id, a duplicate made or removed, a status or date change."""
    kind = draw(
        st.sampled_from(
            ["cell", "cell", "cell", "insert", "delete", "move", "sort", "new", "dup", "status"]
        )
    )
    a = draw(st.integers(0, 10_000))
    b = draw(st.integers(0, 10_000))
    column = draw(st.sampled_from(HEADER))
    odd = draw(st.sampled_from(ODD_VALUES))
    from_row = draw(st.booleans())
    status = draw(st.sampled_from(["流失客户", "合作中", "意向客户", "暂停合作"]))
    days = draw(st.sampled_from([1, 60, 89, 90, 91, 200]))

    def apply(rows: list[list[CellValue]]) -> None:
        if not rows and kind not in ("insert", "new"):
            return
        n = len(rows)
        if kind == "cell":
            row = rows[a % n]
            pos = COLUMN[column]
            row.extend([None] * (pos + 1 - len(row)))
            source = rows[b % n]
            row[pos] = source[pos] if from_row and pos < len(source) else odd
        elif kind == "insert":
            template = list(BASE[b % len(BASE)])
            rows.insert(a % (n + 1), template)
        elif kind == "delete":
            del rows[a % n]
        elif kind == "move":
            row = rows.pop(a % n)
            rows.insert(b % (n + 1) if n else 0, row)
        elif kind == "sort":
            pos = COLUMN[column]
            rows.sort(key=lambda r: canonical(r[pos] if pos < len(r) else None))
        elif kind == "new":
            template = list(BASE[b % len(BASE)])
            template[COLUMN["客户编号"]] = None
            rows.insert(a % (n + 1), template)
        elif kind == "dup":
            source = rows[b % n]
            row = rows[a % n]
            for name in ("联系人姓名", "联系方式") if from_row else ("客户编号",):
                pos = COLUMN[name]
                row.extend([None] * (pos + 1 - len(row)))
                row[pos] = source[pos] if pos < len(source) else None
        elif kind == "status":
            row = rows[a % n]
            target = "合作状态" if from_row else "最近跟进时间"
            row[COLUMN[target]] = status if from_row else TODAY - timedelta(days=days)

    return apply


def table_of(rows: list[list[CellValue]], header: tuple[str, ...] = HEADER) -> Table:
    """The main tab holding ``rows`` under the example's header."""
    return Table(LEDGER.tabs.main, HEADER_ROW, header, tuple(map(tuple, rows)))


def shown(findings: list[Finding]) -> list[str]:
    """Findings as compared: every field, duplicates' quoted rows included (repr)."""
    return [repr(f) for f in findings]


# --- validation alone -------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.lists(edits(), min_size=1, max_size=6), min_size=1, max_size=5))
def test_incremental_validation_equals_full_validation(steps: list[list[Edit]]) -> None:
    """After every batch of random edits, validating only the changed rows against the
    memo gives exactly the findings (rows, values, duplicate messages) of a full pass."""
    rows = [list(r) for r in BASE]
    memo: ValidationMemo | None = None
    for batch in steps:
        for edit in batch:
            edit(rows)
        snapshot = Snapshot(tables={LEDGER.tabs.main: table_of(rows)})
        got, memo = validate_incremental(LEDGER, snapshot, memo)
        assert shown(got) == shown(validate(LEDGER, snapshot))


def test_only_changed_rows_are_validated() -> None:
    """A cycle after two cell edits validates two rows; a moved or sorted tab none."""
    rows = [list(r) for r in BASE]
    _first, memo = validate_incremental(LEDGER, Snapshot({LEDGER.tabs.main: table_of(rows)}), None)
    assert memo is not None
    assert memo.checked == len([r for r in rows if any(r)])
    rows[3][COLUMN["联系方式"]] = "12345"
    rows[9][COLUMN["客户名称"]] = "x" * 120
    _, memo = validate_incremental(LEDGER, Snapshot({LEDGER.tabs.main: table_of(rows)}), memo)
    assert memo is not None
    assert memo.checked == 2
    rows.reverse()
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    again, memo = validate_incremental(LEDGER, snapshot, memo)
    assert memo is not None
    assert memo.checked == 0
    assert shown(again) == shown(validate(LEDGER, snapshot))


def test_booleans_do_not_pass_for_numbers() -> None:
    """A cell changed from 1 to True (equal in Python) is validated again."""
    rows = [list(r) for r in BASE]
    rows[5][COLUMN["合同金额(元)"]] = 1
    _, memo = validate_incremental(LEDGER, Snapshot({LEDGER.tabs.main: table_of(rows)}), None)
    rows[5][COLUMN["合同金额(元)"]] = True
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    got, _ = validate_incremental(LEDGER, snapshot, memo)
    assert shown(got) == shown(validate(LEDGER, snapshot))
    assert any(f.check == "number" and f.value is True for f in got)


def test_a_changed_header_or_ledger_discards_the_memo() -> None:
    """The memo is valid for one header and ledger file: otherwise every row is checked."""
    rows = [list(r) for r in BASE]
    _, memo = validate_incremental(LEDGER, Snapshot({LEDGER.tabs.main: table_of(rows)}), None)
    swapped = list(HEADER)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows, tuple(swapped))})
    got, again = validate_incremental(LEDGER, snapshot, memo)
    assert again is not None
    assert again.checked == len([r for r in rows if any(r)])
    assert shown(got) == shown(validate(LEDGER, snapshot))
    other = LEDGER.model_copy(update={"locale": "en"})
    snapshot = Snapshot({other.tabs.main: table_of(rows)})
    got, again = validate_incremental(other, snapshot, memo)
    assert again is not None
    assert again.checked == len([r for r in rows if any(r)])
    assert shown(got) == shown(validate(other, snapshot))


@given(
    st.lists(
        st.tuples(st.integers(-1, 3), st.integers(-1, 2), st.integers(-1, 1000)),
        max_size=40,
    ),
    st.integers(1, 3),
)
def test_codes_duplicated_equals_duplicated_rows_of_a_frame(
    rows: list[tuple[int, int, int]], width: int
) -> None:
    """Rows of integer codes (-1: none) are duplicates exactly when pandas' duplicated
    (keep=False) says so among the rows with every code present, whatever their size."""
    frame = pd.DataFrame([r[:width] for r in rows], columns=list(range(width)), dtype=np.int64)
    columns = [frame[c].to_numpy() for c in range(width)]
    complete = (frame >= 0).all(axis=1)
    expected = frame.duplicated(keep=False) & complete
    assert codes_duplicated(columns).tolist() == expected.tolist()


def test_identity_codes_are_equal_for_equal_identities_across_calls() -> None:
    """An identity keeps its code from one call to the next; missing ones are -1."""
    codes = IdentityCodes()
    first = codes.encode("联系方式", pd.Series(["138", None, "139", "138"], dtype=object))
    later = codes.encode("联系方式", pd.Series([math.nan, "139", "140"], dtype=object))
    other = codes.encode("客户编号", pd.Series(["139"], dtype=object))
    assert first[0] == first[3] != first[2]
    assert first[1] == -1
    assert later == [-1, first[2], max(first) + 1]
    assert other == [0]
    assert codes.most == 3


def test_a_memo_with_too_many_identity_codes_is_dropped() -> None:
    """Codes of identities no row holds any more are forgotten: past the bound, the memo
    is dropped and every row checked again, with the findings of a full pass."""
    rows = [list(r) for r in BASE]
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    _, memo = validate_incremental(LEDGER, snapshot, None)
    assert memo is not None
    _, kept = validate_incremental(LEDGER, snapshot, memo)
    assert kept is not None
    assert kept.checked == 0
    assert kept.codes is memo.codes
    bound = CODES_PER_ROW * len(rows) + CODES_SLACK
    memo.codes.encode("联系方式", pd.Series([f"old {i}" for i in range(bound)], dtype=object))
    got, again = validate_incremental(LEDGER, snapshot, memo)
    assert again is not None
    assert again.checked == len([r for r in rows if any(r)])
    assert again.codes is not memo.codes
    assert again.codes.most < bound
    assert shown(got) == shown(validate(LEDGER, snapshot))


def test_the_codes_bound_is_per_column_so_distinct_unique_columns_keep_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Several unique columns whose every identity differs give out more codes than rows
    in all; the memo is still kept (each column's codes are within the bound)."""
    monkeypatch.setattr(incremental_validation, "CODES_SLACK", 0)
    rows = [list(r) for r in BASE]
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    _, memo = validate_incremental(LEDGER, snapshot, None)
    assert memo is not None
    columns = memo.codes._codes
    assert len(columns) >= 2
    assert sum(map(len, columns.values())) > CODES_PER_ROW * len(rows)
    _, kept = validate_incremental(LEDGER, snapshot, memo)
    assert kept is not None
    assert kept.checked == 0


# --- planning on incremental findings ---------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.lists(edits(), min_size=1, max_size=5), min_size=1, max_size=4))
def test_plans_from_incremental_findings_equal_full_plans(steps: list[list[Edit]]) -> None:
    """The plan (operations, first-seen, listed findings, and the state it records) built
    on the incremental findings, with normalize, archive and the stamps run on the
    changed, flagged and (archive) time-changed rows only, equals the full pass's, cycle
    after cycle, as days pass (the plans are not applied, so proposed writes and moves
    stay due)."""
    rows = [list(r) for r in BASE]
    memo: ValidationMemo | None = None
    tracked: frozenset[int] = frozenset()
    since: datetime | None = None
    previous = PreviousState()
    now = NOW
    for number, batch in enumerate(steps):
        for edit in batch:
            edit(rows)
        snapshot = Snapshot(tables={LEDGER.tabs.main: table_of(rows)})
        got, memo = validate_incremental(LEDGER, snapshot, memo)
        runner = RuleRunner(memo, tracked, since)
        planned = build_plan(LEDGER, snapshot, got, previous, now, runner=runner)
        tracked, since = frozenset(runner.tracked_now), now
        full = build_plan(LEDGER, snapshot, validate(LEDGER, snapshot), previous, now)
        assert repr(planned.plan) == repr(full.plan)
        assert recorded(previous, planned.observed) == recorded(previous, full.observed)
        assert planned.first_seen == full.first_seen
        assert shown(list(planned.findings)) == shown(list(full.findings))
        previous = PreviousState(
            watched={**previous.watched, **full.observed}, first_seen=full.first_seen
        )
        now += timedelta(days=(0, 1, 20, 45)[number % 4])


def recorded(
    previous: PreviousState, observed: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The watched values a state holds once ``observed`` is saved over ``previous``."""
    state = {key: dict(values) for key, values in previous.watched.items()}
    for key, values in observed.items():
        state.setdefault(key, {}).update(values)
    return state


# --- the engine: an incremental store against a full-pass store ------------------------


def workbook(rows: list[list[CellValue]]) -> dict[str, list[list[CellValue]]]:
    """The example's main tab (title row, header, rows)."""
    return {LEDGER.tabs.main: [["客户信息管理"], list(HEADER), *copy.deepcopy(rows)]}


def person(connector: MemoryConnector, edit: Edit) -> None:
    """``edit`` made by a person in the connector's main tab (the change token moves)."""
    tab = connector.workbook[LEDGER.tabs.main]
    data = tab[HEADER_ROW:]
    edit(data)
    tab[HEADER_ROW:] = data
    connector.revision += 1


def outcome(result: CycleResult) -> tuple[Any, ...]:
    """What two cycles must agree on: outcome, findings, plan, what was applied."""
    report = result.report
    return (
        result.outcome,
        result.error,
        shown(result.findings),
        repr(result.plan),
        repr(report.applied) if report else None,
        repr(report.dropped) if report else None,
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.lists(edits(), min_size=0, max_size=5),
            st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=1), DAYS_40]),
            st.lists(edits(), min_size=0, max_size=2),
            st.sampled_from(["reread", "write"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_incremental_cycles_equal_full_pass_cycles(
    steps: list[tuple[list[Edit], timedelta, list[Edit], str]],
) -> None:
    """Two daemons on the same sheet history, one incremental and one making a full pass
    every cycle, find, plan, write and record exactly the same (archives by status and by
    date crossing older_than, new ids, stamps, duplicates, the errors tab included, and
    people editing between the read and the guard read (operations dropped) or between
    the guard read and the write (the whole plan dropped, nothing recorded for it))."""
    with tempfile.TemporaryDirectory() as folder:
        stores = [
            StateStore(f"sqlite:///{Path(folder) / 'incremental.db'}"),
            StateStore(f"sqlite:///{Path(folder) / 'full.db'}"),
        ]
        every = [timedelta(days=3650), timedelta(0)]
        books = [MemoryConnector(workbook([list(r) for r in BASE])) for _ in stores]
        now = NOW
        try:
            for number, (batch, wait, race, stage) in enumerate(
                [([], timedelta(0), [], "read"), *steps]
            ):
                for edit in batch:
                    for book in books:
                        person(book, edit)
                now += wait
                results = []
                for book, store, gap in zip(books, stores, every, strict=True):
                    staged = Staged(book)
                    if race:
                        staged.on(stage, lambda b=book, r=race: [person(b, e) for e in r])
                    results.append(run_cycle(LEDGER, staged, store, now, full_pass_every=gap))
                incremental, full = results
                assert outcome(incremental) == outcome(full)
                if full.outcome == "ok":
                    assert full.full_pass is not None
                    assert (incremental.full_pass is None) == bool(number)
                assert books[0].workbook == books[1].workbook
                states = [store.load(LEDGER.name) for store in stores]
                assert dict(states[0].watched) == dict(states[1].watched)
                assert states[0].first_seen == states[1].first_seen
        finally:
            for store in stores:
                store.close()


# --- when a full pass runs ----------------------------------------------------------------


def test_full_pass_reasons() -> None:
    """No memo, no state, a changed ledger file, a state written elsewhere and the
    schedule each force a full pass; otherwise the memo is used."""
    memo = CycleMemo(ValidationMemo((), {}), NOW, ("h", NOW))
    mark = LedgerMark("token", "h", NOW)
    day = timedelta(hours=24)
    assert full_pass_reason(None, mark, "h", NOW, day) == "no_memo"
    assert full_pass_reason(memo, None, "h", NOW, day) == "state_missing"
    assert full_pass_reason(memo, mark, "other", NOW, day) == "config_changed"
    later = LedgerMark("token", "h", NOW + timedelta(minutes=5))
    assert full_pass_reason(memo, later, "h", NOW, day) == "state_changed"
    assert full_pass_reason(memo, mark, "h", NOW + day, day) == "scheduled"
    assert full_pass_reason(memo, mark, "h", NOW, timedelta(0)) == "scheduled"
    assert full_pass_reason(memo, mark, "h", NOW + timedelta(hours=23), day) is None


def test_engine_validates_only_edited_rows(tmp_path: Path) -> None:
    """Through the engine: the first cycle is a full pass; once the tab's header is
    settled (the first cycle added columns), a cycle after two edits validates two rows,
    and a dry run (`syncer plan`) takes the full pass and finds the same."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    book = MemoryConnector(workbook([list(r) for r in BASE]))
    try:
        first = run_cycle(LEDGER, book, store, NOW)
        assert first.full_pass == "no_memo"
        assert first.outcome == "ok"
        book.revision += 1  # a person touched the sheet: the next cycle reads it
        settled = run_cycle(LEDGER, book, store, NOW + timedelta(minutes=5))
        assert settled.full_pass is None
        assert settled.outcome == "ok"
        assert settled.plan is not None
        assert len(settled.plan) == 0

        def two(rows: list[list[CellValue]]) -> None:
            rows[10][COLUMN["客户名称"]] = "新名字有限公司"
            rows[12][COLUMN["联系方式"]] = "12345"

        person(book, two)
        edited = run_cycle(LEDGER, book, store, NOW + timedelta(minutes=15))
        assert edited.full_pass is None
        assert edited.rows_checked == 2
        dry = run_cycle(LEDGER, book, store, NOW + timedelta(minutes=16), dry_run=True)
        assert dry.full_pass == "dry_run"
        assert shown(dry.findings) == shown(edited.findings)
    finally:
        store.close()


def test_normalize_runs_on_new_blank_and_flagged_rows_only() -> None:
    """After one edit, normalize runs on the edited row, the blank rows and the rows it
    proposed a write for last time, and its plan is the full run's."""
    rows = [list(r) for r in BASE]
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    got, memo = validate_incremental(LEDGER, snapshot, None)
    runner = RuleRunner(memo)
    build_plan(LEDGER, snapshot, got, PreviousState(), NOW, runner=runner)
    assert runner.rows_run[0] == len(rows)
    rows[-1][COLUMN["联系方式"]] = "１３６００１３６０００"  # a clean row until now
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    got, memo = validate_incremental(LEDGER, snapshot, memo)
    assert memo is not None
    flagged = memo.flagged[0]
    assert flagged, "the messy rows have phones and dates to normalize"
    assert len(rows) - 1 not in flagged
    runner = RuleRunner(memo, frozenset({0}), NOW)
    planned = build_plan(LEDGER, snapshot, got, PreviousState(), NOW, runner=runner)
    blank = len(rows) - len([r for r in rows if any(r)])
    assert runner.rows_run[0] == 1 + blank + len(flagged)
    full = build_plan(LEDGER, snapshot, validate(LEDGER, snapshot), PreviousState(), NOW)
    assert repr(planned.plan) == repr(full.plan)
    assert memo.rows[memo.keys[len(rows) - 1]][2] == {0}  # flagged for the next cycle


def test_archive_reaches_rows_only_through_time_or_change() -> None:
    """With no edit, a day later archive runs on the blank rows, the rows it matched and
    the rows whose follow-up date crossed 90 days overnight, and moves the same rows as
    the full run."""
    rows = [list(r) for r in BASE]
    crossing = TODAY - timedelta(days=89)  # under 90 days old now, over it tomorrow
    rows[-1][COLUMN["最近跟进时间"]] = crossing
    snapshot = Snapshot({LEDGER.tabs.main: table_of(rows)})
    got, memo = validate_incremental(LEDGER, snapshot, None)
    runner = RuleRunner(memo)
    first = build_plan(LEDGER, snapshot, got, PreviousState(), NOW, runner=runner)
    archive = next(i for i, r in enumerate(LEDGER.rules) if r.kind == "archive")
    moved_before = {op.target.row for op in first.plan if isinstance(op, MoveRow)}
    tomorrow = NOW + timedelta(days=1)
    got, memo = validate_incremental(LEDGER, Snapshot({LEDGER.tabs.main: table_of(rows)}), memo)
    assert memo is not None
    matched = memo.flagged[archive]
    assert matched
    assert len(rows) - 1 not in matched
    runner = RuleRunner(memo, frozenset(runner.tracked_now), NOW)
    planned = build_plan(LEDGER, snapshot, got, PreviousState(), tomorrow, runner=runner)
    blank = len(rows) - len([r for r in rows if any(r)])
    assert runner.rows_run[archive] == blank + len(matched) + 1
    moved = {op.target.row for op in planned.plan if isinstance(op, MoveRow)}
    assert moved == moved_before | {table_of(rows).sheet_row(len(rows) - 1)}
    full = build_plan(LEDGER, snapshot, validate(LEDGER, snapshot), PreviousState(), tomorrow)
    assert repr(planned.plan) == repr(full.plan)


def test_a_plan_dropped_whole_is_planned_again_incrementally(tmp_path: Path) -> None:
    """A stamp planned for a row is lost with the whole plan (a person saved the sheet
    between the guard read and the write); the next cycle, although that row did not
    change since, stamps it — as the full pass does — because nothing was recorded."""
    stores = [StateStore(f"sqlite:///{tmp_path / name}") for name in ("inc.db", "full.db")]
    books = [MemoryConnector(workbook([list(r) for r in BASE])) for _ in stores]
    every = [timedelta(days=3650), timedelta(0)]

    def follow(rows: list[list[CellValue]]) -> None:
        rows[20][COLUMN["跟进内容"]] = "新的跟进"

    def elsewhere(rows: list[list[CellValue]]) -> None:
        rows[5][COLUMN["客户名称"]] = "抢先改名"

    try:
        now = NOW
        for step in range(3):
            now += timedelta(minutes=5)
            results = []
            for book, store, gap in zip(books, stores, every, strict=True):
                staged = Staged(book)
                if step == 1:
                    person(book, follow)
                    staged.on("write", lambda b=book: person(b, elsewhere))
                results.append(run_cycle(LEDGER, staged, store, now, full_pass_every=gap))
            assert outcome(results[0]) == outcome(results[1])
            if step == 1:
                assert results[0].report is not None
                assert results[0].report.dropped
                assert not results[0].report.applied
            if step == 2:
                assert results[0].full_pass is None
                assert results[0].rows_checked == 1  # the row edited during the write
                assert results[0].plan is not None
                assert any(op.rule == "记录状态变更时间" or op.rule == "更新最近跟进时间"
                           for op in results[0].plan)
        assert books[0].workbook == books[1].workbook
    finally:
        for store in stores:
            store.close()
