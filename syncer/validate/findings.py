"""Failures → findings: pandera's failure cases become :class:`~syncer.model.Finding`\\ s.

Each finding carries the sheet row, the row's key and a message in the ledger's locale;
duplicates become :class:`~syncer.validate.duplicates.DuplicateFinding`\\ s that keep the
rows their message quotes.
"""

from __future__ import annotations

import pandas as pd

from syncer.i18n import Locale
from syncer.ledger import LedgerConfig
from syncer.model import CellValue, Finding, Table, canonical, is_blank
from syncer.validate.duplicates import DuplicateFinding, Groups, Uniques
from syncer.validate.messages import check_message, duplicate_message

#: Order of a row's findings on one column: the column's own checks, then its ``unique``
#: check, then the ``unique_together`` groups it closes (by group). Explicit, so findings
#: merged from several sources (see :mod:`syncer.validate.incremental`) sort the same.
_CHECK_RANK = {
    "required": 0,
    "choice_spaces": 1,
    "choice": 1,
    "pattern": 4,
    "max_length": 5,
    "min": 6,
    "max": 7,
    "unique": 8,
}


def check_rank(check: str) -> int:
    """Where a failed check (pandera's name) sorts among one row's findings on one column:
    ``required``, the type (or ``choice``), ``pattern``, ``max_length``, ``min``, ``max``,
    ``unique``, then ``unique_together:<g>`` by group."""
    if check.startswith("unique_together:"):
        return 10 + int(check.split(":", 1)[1])
    return _CHECK_RANK.get(check, 3)


def duplicate_finding(
    ledger: LedgerConfig,
    table: Table,
    row: int,
    check: str,
    column: str,
    twins: list[int],
    key: str | None,
    value: CellValue,
) -> tuple[str, DuplicateFinding]:
    """(target column, finding) of a failed ``unique`` (on ``column``) or
    ``unique_together:<g>`` check of data row ``row``; ``twins`` are the other data rows
    with the same identity, ``value`` the target cell of the row."""
    group: tuple[str, ...]
    if check == "unique":
        group, target, check_name = (column,), column, "unique"
    else:
        group = tuple(ledger.unique_together[int(check.split(":", 1)[1])])
        target, check_name = group[-1], "unique_together"
    sheet_row = table.sheet_row(row)
    quoted = tuple(table.sheet_row(i) for i in twins)
    return target, DuplicateFinding(
        table.name,
        sheet_row,
        key,
        target,
        value,
        check_name,
        duplicate_message(ledger.locale, check_name, group, quoted),
        read_row=sheet_row,
        twins=quoted,
        columns=group,
        locale=ledger.locale,
    )


def row_findings(
    ledger: LedgerConfig,
    table: Table,
    uniques: Uniques,
    cases: pd.DataFrame,
) -> list[Finding]:
    """One finding per failed check and row, ordered by sheet row and configured column."""
    locale: Locale = ledger.locale
    views = uniques.views
    rows = table.rows
    positions = {c: table.index_of(c) for c in views}

    def cell(row: int, column: str) -> CellValue:
        pos = positions.get(column)
        data = rows[row]
        return data[pos] if pos is not None and pos < len(data) else None

    key_column = ledger.key if ledger.key in views else None
    order = {c: i for i, c in enumerate(ledger.columns)}
    groups = Groups(uniques)
    out: list[tuple[int, int, int, Finding]] = []
    broken = cases[cases["index"].isna() & cases["check"].notna()]
    if not broken.empty:  # a check raised: a bug in syncer, never a finding about the sheet
        raise RuntimeError(f"validation check failed to run: {broken.to_dict('records')}")
    cases = cases[cases["index"].notna()]
    # a frame-level check (unique_together) is reported once per column: keep one per row
    frame_level = cases["check"].astype(str).str.startswith("unique_together:")
    cases = pd.concat(
        [cases[~frame_level], cases[frame_level].drop_duplicates(subset=["check", "index"])]
    )
    messages: dict[tuple[str, str], str] = {}
    columns_of_cases = (cases[c].tolist() for c in ("check", "column", "index"))
    for check, column, index in zip(*columns_of_cases, strict=True):
        row = int(index)
        sheet_row = table.sheet_row(row)
        key_value = cell(row, key_column) if key_column else None
        key = None if is_blank(key_value) else canonical(key_value)
        name = str(check)
        finding: Finding
        group: tuple[str, ...]
        if name == "unique" or name.startswith("unique_together:"):
            group = (
                (str(column),)
                if name == "unique"
                else tuple(ledger.unique_together[int(name.split(":", 1)[1])])
            )
            target, finding = duplicate_finding(
                ledger,
                table,
                row,
                name,
                str(column),
                groups.others(group, row),
                key,
                cell(row, group[-1]),
            )
        else:
            target = str(column)
            if (name, target) not in messages:
                messages[(name, target)] = check_message(locale, name, views[target].spec)
            check_name = "choice" if name == "choice_spaces" else name
            finding = Finding(
                table.name,
                sheet_row,
                key,
                target,
                cell(row, target),
                check_name,
                messages[(name, target)],
            )
        out.append((row, order.get(target, 0), check_rank(name), finding))
    out.sort(key=lambda item: (item[0], item[1], item[2]))
    return [f for _r, _c, _k, f in out]
