"""Pure inference of the key's id pattern and of the header row (unit and property tests)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from syncer.infer.columns import profile
from syncer.infer.grid import Block, TabGrid
from syncer.infer.header import find_header
from syncer.infer.keys import choose_key, infer_key_pattern
from syncer.rules.assign_id import parse_pattern

prefixes = st.text(alphabet="ABCDEFGHKXSVabc", min_size=0, max_size=4).filter(
    lambda p: not p or p[0].isalpha()
)


@given(
    prefix=prefixes,
    years=st.lists(st.integers(1995, 2090), min_size=1, max_size=4),
    width=st.integers(2, 5),
    seqs=st.lists(st.integers(1, 99_999), min_size=1, max_size=40),
)
def test_year_keys_give_a_pattern_matching_every_key(
    prefix: str, years: list[int], width: int, seqs: list[int]
) -> None:
    """Keys PREFIX+year+zero-padded seq: the inferred regex and assign_id pattern match all."""
    keys = [f"{prefix}{years[i % len(years)]}{seq:0{width}d}" for i, seq in enumerate(seqs)]
    found = infer_key_pattern(keys)
    assert found is not None
    assert found.has_year
    ids = parse_pattern(found.template)
    for key in keys:
        assert re.fullmatch(found.regex, key), (found, key)
        assert ids.match(key) is not None, (found, key)


@given(st.lists(st.text(alphabet="AB-_019xyz", min_size=1, max_size=9), min_size=1, max_size=30))
def test_any_inferred_pattern_matches_every_key(keys: list[str]) -> None:
    """Whatever the keys, a pattern is only inferred when it matches every one of them."""
    found = infer_key_pattern(keys)
    if found is not None:
        ids = parse_pattern(found.template)
        for key in keys:
            assert re.fullmatch(found.regex, key.strip())
            assert ids.match(key.strip()) is not None


def test_key_patterns_of_common_forms() -> None:
    """XS2024001 → XS{year}{seq:03}; C000123 → C{seq:06}; mixed prefixes → no pattern."""
    year = infer_key_pattern(["XS2024001", "XS2024012", "XS2023100"])
    assert year is not None
    assert (year.template, year.regex) == ("XS{year}{seq:03}", r"^XS\d{7,}$")
    plain = infer_key_pattern(["C000123", "C000124"])
    assert plain is not None
    assert (plain.template, plain.regex) == ("C{seq:06}", r"^C\d{6,}$")
    assert infer_key_pattern(["XS2024001", "KF2024002"]) is None
    assert infer_key_pattern(["张三", "XS2024001"]) is None
    assert infer_key_pattern([]) is None


def test_key_is_the_unique_id_like_column() -> None:
    """The unique, filled, ID-like column wins over an earlier unique column."""
    names = profile([f"name {i}" for i in range(30)], ())
    ids = profile([f"KH{i:05d}" for i in range(30)], ())
    status = profile(["a", "b"] * 15, ())
    choice = choose_key([("Customer", 0, names), ("Status", 1, status), ("客户编号", 2, ids)])
    assert choice is not None
    assert choice.name == "客户编号"
    assert choice.pattern is not None
    assert not choice.note.review


def test_no_unique_column_falls_back_to_the_first_for_review() -> None:
    """No column is filled and unique: the first is used and marked for review."""
    status = profile(["a", "b"] * 15, ())
    choice = choose_key([("Status", 0, status), ("Other", 1, status)])
    assert choice is not None
    assert choice.name == "Status"
    assert choice.note.review


def _tab(rows: list[list[object]], merges: tuple[Block, ...] = ()) -> TabGrid:
    return TabGrid("t", tuple(tuple(r) for r in rows), merges=merges)


header_names = st.lists(
    st.text(alphabet="客户名称编号状态abcxyz", min_size=1, max_size=6),
    min_size=2,
    max_size=12,
    unique=True,
).filter(lambda names: all(not n.isdigit() for n in names))


@given(
    names=header_names,
    titles=st.lists(st.sampled_from(["title", "blank", "merged"]), max_size=4),
    data=st.integers(1, 20),
)
def test_header_is_found_below_title_rows(names: list[str], titles: list[str], data: int) -> None:
    """Single-cell titles, blank rows and merged titles above the header are skipped."""
    rows: list[list[object]] = []
    merges: list[Block] = []
    for i, kind in enumerate(titles):
        if kind == "blank":
            rows.append([])
        elif kind == "title":
            rows.append([f"客户信息管理_{i}"])
        else:  # a title merged over A:C, and a second text beside it
            rows.append([f"客户信息管理_{i}", None, None, "2024年"])
            merges.append(Block(i, i + 1, 0, 3))
    rows.append(list(names))
    rows += [[j * 10 + k for k in range(len(names))] for j in range(data)]
    found = find_header(_tab(rows, tuple(merges)))
    assert found is not None
    assert found.row == len(titles) + 1
    assert not found.review


def test_header_reasons_name_the_skipped_rows() -> None:
    """The evidence says which rows were titles and which merged range covered them."""
    rows: list[list[object]] = [["客户信息管理_销售部_2024"], [], ["编号", "名称", "状态"]]
    rows.append([1, 2, 3])
    found = find_header(_tab(rows, (Block(0, 1, 0, 3),)))
    assert found is not None
    assert found.row == 3
    assert found.reason == (
        "row 1 is a merged title (A1:C1: 客户信息管理_销售部_2024); row 2 is blank"
    )
    assert find_header(_tab([[None], []])) is None


def test_a_sheet_of_numbers_has_no_header_and_asks_for_review() -> None:
    """When no row reads as a header, the first non-blank row is used, marked REVIEW."""
    found = find_header(_tab([[], [1, 2, 3], [4, 5, 6]]))
    assert found is not None
    assert (found.row, found.review) == (2, True)
