"""Property: whatever the sheet holds, the inferred ledger is valid as written."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.config import load_ledger
from syncer.infer import InferenceError, infer_ledger, render
from syncer.infer.grid import Block, RuleRange, SourceBook, TabGrid, Validation
from syncer.model import CellValue

NAMES = [
    "编号",
    "客户名称",
    "联系方式",
    "合作状态",
    "最近跟进时间",
    "金额",
    "备注",
    "Status",
    "Email",
    "Opened",
    "跟进内容",
    "状态变更时间",
    "",
    "id",
]
cells = st.one_of(
    st.none(),
    st.sampled_from(["未知", "待补充", "-", "合作中", "流失客户", "closed", "a@b.cn", "是"]),
    st.integers(-5, 10**11),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
    st.text(max_size=12),
    st.from_regex(r"XS20(1|2)\d\d{3}", fullmatch=True),
    st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
)


@settings(max_examples=60, deadline=None)
@given(
    header=st.lists(st.sampled_from(NAMES), min_size=1, max_size=8),
    rows=st.lists(st.lists(cells, max_size=8), max_size=30),
    title=st.booleans(),
    dropdown=st.booleans(),
)
def test_inferred_ledger_always_passes_check(
    header: list[str], rows: list[list[CellValue]], title: bool, dropdown: bool
) -> None:
    """Any header and values: the written file loads like `syncer check` loads it."""
    grid: list[tuple[CellValue, ...]] = [("客户信息管理_2024",)] if title else []
    grid += [tuple(header), *(tuple(r) for r in rows)]
    rules = (
        (RuleRange(Validation("list", values=("合作中", "流失客户")), Block(1, None, 0, 1)),)
        if dropdown
        else ()
    )
    book = SourceBook("xlsx", "b.xlsx", "b", (TabGrid("基础信息", tuple(grid), validations=rules),))
    try:
        guess = infer_ledger(book, name="t", source={"connector": "xlsx", "path": "b.xlsx"})
    except InferenceError:
        assert not any(h.strip() for h in header) or not any(grid)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.yaml"
        path.write_text(render(guess), encoding="utf-8")
        ledger = load_ledger(path)
    assert ledger.key in ledger.columns
    assert set(ledger.columns) == {c.name for c in guess.columns}
