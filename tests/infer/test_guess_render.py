"""The inferred ledger as data and as commented YAML: review edits keep it valid, and
every inferred line of the written file carries its evidence."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from ruamel.yaml import YAML

from syncer.infer import infer_ledger, render
from syncer.infer.grid import Block, RuleRange, SourceBook, TabGrid, Validation
from syncer.infer.guess import ColumnGuess, LedgerGuess
from syncer.ledger import LedgerConfig


def _book() -> SourceBook:
    header = (
        *("客户编号", "联系人姓名", "联系方式", "合作状态"),
        *("跟进内容", "最近跟进时间", "状态变更时间"),
    )
    rows: list[tuple[object, ...]] = [("客户台账",), header]
    for i in range(1, 31):
        rows.append(
            (
                f"XS2024{i:03d}",
                f"客户{i}",
                f"1390000{i % 29:04d}",
                ["合作中", "意向客户", "流失客户"][i % 3],
                f"电话{i}",
                date(2024, 6, 1) - timedelta(days=i),
                None,
            )
        )
    rule = RuleRange(
        Validation("list", values=("潜在客户", "意向客户", "合作中", "流失客户")),
        Block(2, 500, 3, 4),
    )
    main = TabGrid("客户信息", tuple(rows), merges=(Block(0, 1, 0, 7),), validations=(rule,))
    history = TabGrid("客户历史库", (header,))
    return SourceBook("xlsx", "book.xlsx", "book", (main, history))


def _guess() -> LedgerGuess:
    return infer_ledger(_book(), name="t", source={"connector": "xlsx", "path": "book.xlsx"})


def _column(guess: LedgerGuess, name: str) -> ColumnGuess:
    found = guess.column(name)
    assert found is not None, name
    return found


def _valid(guess: LedgerGuess) -> LedgerConfig:
    ledger = LedgerConfig.model_validate(guess.data())
    assert ledger.check_references() == []
    return ledger


def test_inferred_rules_and_tabs() -> None:
    """Status + status-changed + last follow-up columns and a history tab imply every rule."""
    ledger = _valid(_guess())
    assert ledger.tabs.history == "客户历史库"
    assert ledger.header_row == 2
    stamps = {(tuple(r.watch), r.target) for r in ledger.rules if r.kind == "stamp_on_change"}
    assert stamps == {(("合作状态",), "状态变更时间"), (("跟进内容",), "最近跟进时间")}
    archive = next(r for r in ledger.rules if r.kind == "archive")
    assert archive.model_dump(exclude_none=True)["when"]["any"][0]["value"] == "流失客户"
    assert ledger.unique_together == [["联系人姓名", "联系方式"]]


def test_skipping_a_column_drops_what_names_it() -> None:
    """Skipping a column drops the rules and groups naming it; the key cannot be skipped."""
    guess = _guess().without_column("合作状态").without_column("联系方式")
    ledger = _valid(guess)
    kinds = [r.kind for r in ledger.rules]
    assert "archive" not in kinds
    normalize = next(r for r in ledger.rules if r.kind == "normalize")
    assert normalize.columns == ["最近跟进时间"]
    assert ledger.unique_together == []
    with pytest.raises(ValueError, match="key column"):
        guess.without_column("客户编号")


def test_retyping_keeps_only_fields_that_apply() -> None:
    """Retyping drops fields that do not apply and refuses a choice without values."""
    guess = _guess()
    as_text = guess.retyped("合作状态", "text")
    assert "values" not in _column(as_text, "合作状态").spec
    as_choice = guess.retyped("跟进内容", "choice")
    assert len(_column(as_choice, "跟进内容").spec["values"]) == 30
    as_phone = guess.retyped("联系人姓名", "phone")
    assert _column(as_phone, "联系人姓名").spec["region"] == "CN"
    _valid(as_text)
    _valid(as_choice)
    with pytest.raises(ValueError, match="needs values"):
        guess.retyped("状态变更时间", "choice")


def test_rendered_file_loads_and_comments_every_inferred_line() -> None:
    """The YAML loads to the same data, and each column field has an end-of-line comment."""
    guess = _guess()
    text = render(guess)
    tree = YAML(typ="rt").load(io.StringIO(text))
    assert LedgerConfig.model_validate(tree).model_dump() == _valid(guess).model_dump()
    commented = 0
    for name, spec in tree["columns"].items():
        for field in spec:
            column = guess.column(name)
            assert column is not None
            if field in column.notes:
                assert spec.ca.items.get(field), (name, field)
                commented += 1
    assert commented >= len(guess.columns)
    assert text.startswith("# Written by `syncer init` from\n")
    assert f"{guess.reviews()} line(s) marked REVIEW" in text
    for rule in guess.rules:
        assert f"# {rule.note.render()}" in text
