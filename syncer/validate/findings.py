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
    out: list[tuple[int, int, Finding]] = []
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
            if name == "unique":
                group, target, check_name = (str(column),), str(column), "unique"
            else:
                group = tuple(ledger.unique_together[int(name.split(":", 1)[1])])
                target, check_name = group[-1], "unique_together"
            twins = tuple(table.sheet_row(i) for i in groups.others(group, row))
            finding = DuplicateFinding(
                table.name,
                sheet_row,
                key,
                target,
                cell(row, target),
                check_name,
                duplicate_message(locale, check_name, group, twins),
                read_row=sheet_row,
                twins=twins,
                columns=group,
                locale=locale,
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
        out.append((row, order.get(target, 0), finding))
    out.sort(key=lambda item: (item[0], item[1]))
    return [f for _r, _c, f in out]
