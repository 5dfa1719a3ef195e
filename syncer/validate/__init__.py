"""Validation: a ledger's column specs become a pandera schema; failures become findings.

:func:`validate` reads the ledger's main tab from a snapshot, checks the header for drift
(configured columns missing, duplicate or blank header cells), builds one
``pandera.DataFrameSchema`` from the column specs and validates every non-blank row
lazily, so all problems are reported at once. Each failure becomes a
:class:`~syncer.model.Finding` with the sheet row, the row's key and a message in the
ledger's locale.

The package, one module per job:

* :mod:`~syncer.validate.messages` — the message catalogue (zh-CN, en) and its wording;
* :mod:`~syncer.validate.header` — header drift;
* :mod:`~syncer.validate.frame` — the frame of non-blank rows that is validated;
* :mod:`~syncer.validate.column_view` — :class:`ColumnView`, each column's facts once;
* :mod:`~syncer.validate.duplicates` — duplicate masks, :class:`DuplicateFinding` and
  :func:`settle_duplicates` (messages quoting the rows after a cycle);
* :mod:`~syncer.validate.schema` — the pandera glue;
* :mod:`~syncer.validate.findings` — pandera's failure cases → findings.
"""

from __future__ import annotations

from pandera.errors import SchemaErrors

from syncer.i18n import Locale, t
from syncer.ledger import LedgerConfig
from syncer.model import Finding, Snapshot
from syncer.validate.column_view import ColumnView
from syncer.validate.duplicates import (
    DuplicateFinding,
    Uniques,
    rows_after,
    settle_duplicates,
)
from syncer.validate.findings import row_findings
from syncer.validate.frame import build_frame, kept_rows
from syncer.validate.header import header_findings
from syncer.validate.schema import build_schema

__all__ = [
    "ColumnView",
    "DuplicateFinding",
    "build_schema",
    "header_findings",
    "rows_after",
    "settle_duplicates",
    "validate",
]


def validate(ledger: LedgerConfig, snapshot: Snapshot) -> list[Finding]:
    """Every finding for the ledger's main tab (lazy: all at once), in the ledger's locale.

    Findings are ordered: ledger-level ones (row None) first, then by sheet row and by
    the order of the configured columns.
    """
    locale: Locale = ledger.locale
    tab = ledger.tabs.main
    table = snapshot.get(tab)
    if table is None:
        return [
            Finding(
                tab,
                None,
                None,
                None,
                None,
                "missing_tab",
                t(locale, "validate.missing_tab", tab=tab),
            )
        ]
    findings = header_findings(ledger, table)
    present = [c for c in ledger.columns if table.index_of(c) is not None]
    keep = kept_rows(table.rows)
    if not present or not table.rows or keep == []:
        return findings
    frame = build_frame(table, present, keep)
    views = {
        c: ColumnView(frame[c], ledger.columns[c], ledger.placeholders_for(c)) for c in present
    }
    uniques = Uniques(views)
    schema = build_schema(ledger, views, uniques)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        findings.extend(row_findings(ledger, table, uniques, errors.failure_cases))
    return findings
