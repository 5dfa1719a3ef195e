"""Header drift: configured columns missing from the header, duplicate and blank cells."""

from __future__ import annotations

from syncer.a1 import column_letter
from syncer.i18n import Locale, t
from syncer.ledger import LedgerConfig, nearest
from syncer.model import Finding, Table, canonical


def header_findings(ledger: LedgerConfig, table: Table) -> list[Finding]:
    """Schema drift: configured columns missing from the header, duplicate and blank cells."""
    locale: Locale = ledger.locale
    findings: list[Finding] = []
    header = [h if isinstance(h, str) else canonical(h) for h in table.header]
    owned = set(ledger.owned_columns())
    unknown = [h for h in header if h and h not in ledger.columns]
    for column in ledger.columns:
        if column in header or column in owned:
            continue
        near = nearest(column, unknown)
        hint = t(locale, "validate.missing_column_hint", near=near) if near else ""
        message = t(locale, "validate.missing_column", column=column, hint=hint)
        findings.append(Finding(table.name, None, None, column, None, "missing_column", message))
    positions: dict[str, list[int]] = {}
    for pos, name in enumerate(header):
        positions.setdefault(name.strip(), []).append(pos)
    for name, where in positions.items():
        if name and len(where) > 1:
            letters = ", ".join(column_letter(p) for p in where)
            message = t(locale, "validate.duplicate_header", column=name, letters=letters)
            findings.append(
                Finding(table.name, None, None, name, None, "duplicate_header", message, "warning")
            )
    for pos in positions.get("", []):
        message = t(locale, "validate.blank_header", letter=column_letter(pos))
        findings.append(
            Finding(table.name, None, None, None, None, "blank_header", message, "warning")
        )
    return findings
