"""Tests of syncer.validate: column specs → pandera checks → findings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.i18n import keys, t
from syncer.ledger import LedgerConfig
from syncer.model import CellValue, Finding, Snapshot, Table
from syncer.validate import validate

COLUMNS: dict[str, Any] = {
    "ID": {"type": "text", "unique": True, "pattern": r"^C\d{3}$"},
    "Name": {"type": "text", "required": True, "max_length": 10},
    "Phone": {"type": "phone", "required": True},
    "Email": {"type": "email"},
    "Since": {"type": "date"},
    "Seen": {"type": "datetime"},
    "Seats": {"type": "integer", "min": 1, "max": 100},
    "Amount": {"type": "number", "min": 0},
    "Status": {"type": "choice", "values": ["open", "won", "lost"], "required": True},
    "Tags": {"type": "multi_choice", "values": ["vip", "new", "old"], "separator": ","},
    "Active": {"type": "boolean"},
}
HEADER = tuple(COLUMNS)
GOOD: dict[str, CellValue] = {
    "ID": "C001",
    "Name": "Ann",
    "Phone": "13800138000",
    "Email": "ann@example.com",
    "Since": date(2024, 3, 1),
    "Seen": datetime(2024, 3, 1, 9, 30),
    "Seats": 5,
    "Amount": 12.5,
    "Status": "open",
    "Tags": "vip,new",
    "Active": True,
}


def ledger(locale: str = "en", **extra: Any) -> LedgerConfig:
    data: dict[str, Any] = {
        "name": "t",
        "source": {"connector": "memory"},
        "tabs": {"main": "Main", "history": "History", "errors": "Errors"},
        "key": "ID",
        "locale": locale,
        "columns": COLUMNS,
        "annotation_column": "Problems",
    }
    data.update(extra)
    return LedgerConfig.model_validate(data)


def row(**changes: CellValue) -> tuple[CellValue, ...]:
    values = {**GOOD, **changes}
    return tuple(values[c] for c in HEADER)


def run(
    rows: list[tuple[CellValue, ...]],
    header: tuple[str, ...] = HEADER,
    header_row: int = 1,
    **extra: Any,
) -> list[Finding]:
    table = Table("Main", header_row, header, tuple(rows))
    return validate(ledger(**extra), Snapshot({"Main": table}))


def brief(findings: list[Finding]) -> list[tuple[int | None, str | None, str]]:
    return [(f.row, f.column, f.check) for f in findings]


def test_a_clean_table_has_no_findings() -> None:
    """Rows that meet every spec produce no finding."""
    rows = [row(), row(ID="C002", Phone="+86 139-0013-9000", Tags="", Active="否")]
    assert run(rows) == []


@pytest.mark.parametrize(
    ("column", "bad", "check"),
    [
        ("Name", None, "required"),
        ("Name", "   ", "required"),
        ("Name", "未知", "required"),
        ("Name", "N/A", "required"),
        ("Name", "x" * 11, "max_length"),
        ("Phone", "12345", "phone"),
        ("Phone", True, "phone"),
        ("Email", "ann@", "email"),
        ("Since", "03/04/2024", "date"),
        ("Since", "soon", "date"),
        ("Seen", "yesterday", "datetime"),
        ("Seats", 2.5, "integer"),
        ("Seats", "many", "integer"),
        ("Seats", 0, "min"),
        ("Seats", 101, "max"),
        ("Amount", "abc", "number"),
        ("Amount", -1, "min"),
        ("Status", "closed", "choice"),
        ("Status", "open ", "choice"),
        ("Tags", "vip,gold", "multi_choice"),
        ("Active", "maybe", "boolean"),
        ("ID", "X1", "pattern"),
    ],
)
def test_each_spec_reports_its_check(column: str, bad: CellValue, check: str) -> None:
    """A single bad cell yields exactly one finding with the right check name."""
    findings = run([row(**{column: bad})])
    assert brief(findings) == [(2, column, check)]
    assert findings[0].value == bad
    assert findings[0].key == ("C001" if column != "ID" else "X1")
    assert findings[0].tab == "Main"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Phone", 13800138000.0),
        ("Phone", "1.3800138E10"),
        ("Phone", "８６-１３８００１３８０００"),
        ("Phone", "010-12345678"),
        ("Since", "2024/3/1"),
        ("Since", "2024年3月1日"),
        ("Since", 45352),
        ("Seen", "2024-03-01 14:30"),
        ("Seats", "7"),
        ("Seats", 7.0),
        ("Amount", "¥1,200"),
        ("Tags", "vip、old"),
        ("Active", "yes"),
        ("Email", None),
        ("Since", "待补充"),
    ],
)
def test_accepted_spellings_are_not_findings(column: str, value: CellValue) -> None:
    """Values in a form the parsers accept (or empty optional cells) pass validation."""
    assert run([row(**{column: value})]) == []


def test_placeholders_in_optional_typed_columns_count_as_empty() -> None:
    """A placeholder in an optional date column is not a type error."""
    assert run([row(Since="未知", Amount="-")]) == []


def test_blank_rows_are_skipped_and_row_numbers_follow_the_sheet() -> None:
    """Blank rows produce nothing; findings use sheet rows below a header on row 2."""
    blank: tuple[CellValue, ...] = (None, " ", None, "", None, None, None, None, None, None, None)
    rows = [row(), blank, row(ID="C003", Status="zzz")]
    assert brief(run(rows, header_row=2)) == [(5, "Status", "choice")]


def test_short_rows_read_missing_cells_as_empty() -> None:
    """Rows shorter than the header (trimmed trailing cells) read as empty cells."""
    short = row()[:9]  # Status is the 9th column; Tags and Active are trimmed
    assert run([short]) == []


def test_unique_reports_every_row_of_the_group_with_the_others() -> None:
    """Duplicate keys are reported on each row, naming the other rows."""
    findings = run([row(), row(Phone="13900139000"), row(ID="C002", Phone="13700137000")])
    assert brief(findings) == [(2, "ID", "unique"), (3, "ID", "unique")]
    assert findings[0].message == t("en", "validate.unique", rows="3")


def test_unique_together_matches_phones_in_any_form() -> None:
    """Same name + same phone written differently is one duplicate group, all rows reported."""
    extra = {"unique_together": [["Name", "Phone"]]}
    rows = [
        row(ID="C001", Phone="13800138000"),
        row(ID="C002", Phone="+86 138-0013-8000"),
        row(ID="C003", Phone=13800138000.0),
        row(ID="C004", Name="Bob"),
    ]
    findings = run(rows, **extra)
    assert brief(findings) == [(r, "Phone", "unique_together") for r in (2, 3, 4)]
    assert findings[0].message == t(
        "en", "validate.unique_together", columns="Name+Phone", rows="3, 4"
    )


def test_unique_together_ignores_rows_with_an_empty_member() -> None:
    """Rows missing one of the grouped values are not duplicates of each other."""
    extra = {"unique_together": [["Name", "Email"]]}
    assert run([row(Email=None), row(ID="C002", Email=None)], **extra) == []


def test_missing_main_tab_is_one_finding() -> None:
    """A snapshot without the main tab gives a single tab-level finding."""
    findings = validate(ledger(), Snapshot({}))
    assert brief(findings) == [(None, None, "missing_tab")]
    assert findings[0].message == "tab 'Main' not found"


def test_missing_column_is_ledger_level_and_the_rest_still_validates() -> None:
    """A renamed header is one finding with the nearest header; other columns still check."""
    header = tuple("Phnoe" if c == "Phone" else c for c in HEADER)
    findings = run([row(Status="bad")], header=header)
    assert brief(findings) == [(None, "Phone", "missing_column"), (2, "Status", "choice")]
    assert findings[0].message == "header has no column 'Phone' (did you mean 'Phnoe'?)"


def test_duplicate_and_blank_headers_are_warnings() -> None:
    """Duplicate and blank header cells are reported with their column letters."""
    header = (*HEADER, "", "Name")
    findings = run([(*row(), "x", "y")], header=header)
    assert brief(findings) == [(None, "Name", "duplicate_header"), (None, None, "blank_header")]
    assert all(f.severity == "warning" for f in findings)
    assert "B, M" in findings[0].message
    assert "L" in findings[1].message


def test_robot_owned_columns_may_be_absent_from_the_header() -> None:
    """The annotation column and stamp targets are added by the robot, not drift."""
    columns = {**COLUMNS, "Problems": {"type": "text"}, "Changed": {"type": "datetime"}}
    rules = [{"kind": "stamp_on_change", "watch": ["Status"], "target": "Changed"}]
    table = Table("Main", 1, HEADER, (row(),))
    assert validate(ledger(columns=columns, rules=rules), Snapshot({"Main": table})) == []


def test_messages_follow_the_ledger_locale() -> None:
    """The same problem is worded in Chinese for a zh-CN ledger."""
    findings = run([row(Name=None)], locale="zh-CN")
    assert findings[0].message == "必填项为空"


def test_every_validation_message_formats_in_every_locale() -> None:
    """Each registered validate.* message exists in zh-CN and en."""
    fields = {
        "tab": "T",
        "column": "C",
        "hint": "",
        "near": "N",
        "letters": "A, B",
        "letter": "A",
        "allowed": "a/b",
        "pattern": "p",
        "limit": 1,
        "rows": "3",
        "columns": "A+B",
    }
    for key in (k for k in keys() if k.startswith("validate.")):
        assert t("zh-CN", key, **fields)
        assert t("en", key, **fields)


def test_header_only_and_empty_tables_have_no_row_findings() -> None:
    """A header with no data rows, or only blank rows, yields no row findings."""
    assert run([]) == []
    assert run([(None,) * len(HEADER)]) == []


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["open", "won", "lost", "Open", "nope", "", None]), max_size=12))
def test_choice_findings_are_exactly_the_cells_outside_the_list(
    statuses: list[str | None],
) -> None:
    """For random Status columns, findings are exactly the rows holding a disallowed value."""
    rows = [row(ID=f"C{i:03d}", Status=s) for i, s in enumerate(statuses)]
    findings = run(rows)
    expected = []
    for i, s in enumerate(statuses):
        if s in (None, ""):
            expected.append((i + 2, "Status", "required"))
        elif s not in ("open", "won", "lost"):
            expected.append((i + 2, "Status", "choice"))
    assert brief(findings) == expected


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=15))
def test_unique_findings_are_exactly_the_repeated_ids(ids: list[int]) -> None:
    """For random ID columns, every row whose ID occurs more than once is reported."""
    rows = [row(ID=f"C{n:03d}") for n in ids]
    findings = run(rows)
    expected = [(i + 2, "ID", "unique") for i, n in enumerate(ids) if ids.count(n) > 1]
    assert brief(findings) == expected
