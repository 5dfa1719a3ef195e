"""Incremental validation: check only the rows whose content changed since the last cycle.

A row's own findings (type, placeholder, pattern, length, phone, required, min/max …)
depend on nothing but the row's values, and so does its *identity* over the unique
columns (the folded text, canonical phone or date a ``unique`` check compares). Both are
kept per row content in a :class:`ValidationMemo` (position independent: a row that moved,
or a sorted tab, finds its entry again). A cycle then

1. looks every non-blank row up by a digest of its exact content (the row tuple; with
   the cells' types too when the tab holds a boolean, since ``True == 1``);
2. validates only the rows not found, with the same pandera schema minus the
   uniqueness checks (:func:`~syncer.validate.schema.build_schema` ``uniqueness=False``);
3. decides ``unique`` and ``unique_together`` over whole columns from the kept
   identities, so a row whose twin changed is reported (or cleared) even though it did
   not change. Each identity is kept as an integer code (:class:`IdentityCodes`: every
   distinct identity a column has shown gets one, when the row holding it is checked),
   so the whole-column comparison runs on integer arrays
   (:func:`~syncer.validate.duplicates.codes_duplicated`);
4. fills in each finding's sheet row and value at the row's current position and
   orders everything as :func:`~syncer.validate.validate` does.

The result equals :func:`~syncer.validate.validate` on the same snapshot (the property
tests in ``tests/unit/test_incremental.py`` check it on random edit sequences). The memo
describes the rows of the last snapshot only (it is rebuilt every cycle), by a digest of
each row's content: it keeps none of that snapshot's rows alive. The digest is the row
tuple's ``hash``, 64 bits: a changed row is taken for a known one only when its hash
equals one of the memo's keys, about n/2^64 for n rows (1e5 rows: 5e-15 per changed
row). The cells' text hashes are keyed per process, and the memo never leaves it.
Numbers hash by value modulo 2^61-1, and -1 as -2: a cell changed between two numbers
with the same hash (-1 to -2, 1 to 2^61) is not taken for a change, and its finding
waits for the next full pass (``SYNCER_FULL_PASS_HOURS``).

The memo is valid for one ledger configuration, header and :data:`VERSION` of this code;
any difference and every row is checked again (a full pass).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from pandera.errors import SchemaErrors

from syncer.ledger import LedgerConfig
from syncer.model import CellValue, Finding, Snapshot, Table, canonical, is_blank
from syncer.validate.column_view import ColumnView
from syncer.validate.duplicates import Uniques, codes_duplicated
from syncer.validate.findings import check_rank, duplicate_finding, row_findings
from syncer.validate.frame import build_frame, kept_rows
from syncer.validate.header import header_findings
from syncer.validate.schema import build_schema

#: Bumped whenever what a memo entry means changes: an older memo is never used.
VERSION = 2

#: A memo whose identity codes of one column outnumber this many per data row (plus
#: :data:`CODES_SLACK`) is dropped and every row checked again: the codes of identities
#: no row holds any more are only forgotten that way (or at the scheduled full pass).
CODES_PER_ROW = 2
CODES_SLACK = 10_000

#: What the memo keeps per row content: the row's own findings (rows and values are
#: filled in at the row's current position), its identity's code over each unique column
#: (see :class:`IdentityCodes`), and the rules (by their place in the ledger's rules) that
#: flagged it at the last cycle (see :class:`syncer.incremental.RuleRunner`; set after
#: the plan).
RowEntry = tuple[tuple[Finding, ...], tuple[int, ...], frozenset[int]]


class IdentityCodes:
    """Each distinct identity a unique column has shown, as an integer: two rows' identities
    are equal exactly when their codes are, and -1 stands for no identity (an empty or
    unreadable cell). Kept with the memo, so the codes of rows checked in earlier cycles
    stay comparable with new ones."""

    def __init__(self) -> None:
        self._codes: dict[str, dict[Any, int]] = {}

    @property
    def most(self) -> int:
        """How many codes the column with the most has given out."""
        return max(map(len, self._codes.values()), default=0)

    def encode(self, column: str, identity: pd.Series) -> list[int]:
        """The codes of ``column``'s ``identity`` values (new identities get new codes)."""
        codes = self._codes.setdefault(column, {})
        missing = identity.isna().to_numpy().tolist()
        return [
            -1 if none else codes.setdefault(value, len(codes))
            for value, none in zip(identity.to_numpy().tolist(), missing, strict=True)
        ]


@dataclass(frozen=True)
class ValidationMemo:
    """Per row content, the row's own findings and identities (see the module doc)."""

    signature: tuple[object, ...]
    rows: dict[object, RowEntry]
    #: rows validated by the cycle that built this memo (the others were found in it)
    checked: int = 0
    #: the content digest of each data row of the read this memo was built from (blank
    #: rows included)
    keys: Sequence[object] = ()
    #: data rows of that read whose content the previous memo did not hold (every row on
    #: a full pass), and blank rows: the rows whose per-row decisions are new
    unknown: tuple[int, ...] = ()
    #: rule number → data rows of that read whose content the rule flagged last cycle
    flagged: dict[int, list[int]] = field(default_factory=dict)
    #: the codes the entries' identities are given in
    codes: IdentityCodes = field(default_factory=IdentityCodes)

    def flag(self, rule: int, rows: set[int], keys: Sequence[object], *, only: bool = True) -> None:
        """Record that ``rule`` flags data rows ``rows`` of this memo's read, and (with
        ``only``) no other row: the memo's entries say so for the next cycle."""
        for index in rows.union(self.flagged.get(rule, ()) if only else ()):
            entry = self.rows.get(keys[index])
            if entry is None:  # a blank row: never in the memo, always looked at
                continue
            flags = entry[2] | {rule} if index in rows else entry[2] - {rule}
            if flags != entry[2]:
                self.rows[keys[index]] = (entry[0], entry[1], flags)


def ledger_signature(ledger: LedgerConfig) -> str:
    """A hash of everything of the ledger file that validation reads (the whole file)."""
    return hashlib.sha256(ledger.model_dump_json().encode()).hexdigest()[:32]


def _typed(rows: Sequence[tuple[CellValue, ...]]) -> bool:
    """True when some cell is a boolean: ``True == 1 == 1.0`` would let a row look up
    another's entry, so the cells' types become part of each row's key. (An int and a
    float that compare equal validate alike; their findings take the current value.)"""
    return bool in set(map(type, chain.from_iterable(rows)))


def _typed_key(row: tuple[CellValue, ...]) -> tuple[object, ...]:
    return (row, tuple(map(type, row)))


def unique_columns(ledger: LedgerConfig, present: Sequence[str]) -> list[str]:
    """The present columns a ``unique`` or complete ``unique_together`` check compares."""
    wanted = [c for c in present if ledger.columns[c].unique]
    for group in ledger.unique_together:
        if all(c in present for c in group):
            wanted.extend(group)
    return list(dict.fromkeys(wanted))


def validate_incremental(
    ledger: LedgerConfig, snapshot: Snapshot, memo: ValidationMemo | None
) -> tuple[list[Finding], ValidationMemo | None]:
    """Every finding of the main tab — the same list :func:`~syncer.validate.validate`
    gives — checking only the rows ``memo`` does not know; and the memo for the next
    cycle (None when the tab has nothing to validate)."""
    from syncer.validate import validate

    table = snapshot.get(ledger.tabs.main)
    if table is None:
        return validate(ledger, snapshot), None
    findings = header_findings(ledger, table)
    present = [c for c in ledger.columns if table.index_of(c) is not None]
    keep = kept_rows(table.rows)
    if not present or not table.rows or keep == []:
        return findings, None
    rows = table.rows
    kept: list[int] = list(range(len(rows))) if keep is None else keep
    typed = _typed(rows) if table.booleans is None else table.booleans
    contents: Sequence[tuple[object, ...]] = list(map(_typed_key, rows)) if typed else rows
    keys: Sequence[object] = list(map(hash, contents))  # the digests (see the module doc)
    signature = (VERSION, ledger_signature(ledger), table.header, typed)
    if memo is not None and (
        memo.signature != signature or memo.codes.most > CODES_PER_ROW * len(rows) + CODES_SLACK
    ):
        memo = None  # made for another ledger file or header, or holding too many codes
    known = memo.rows if memo is not None else {}
    codes = memo.codes if memo is not None else IdentityCodes()
    kept_keys = list(map(keys.__getitem__, kept))
    found: list[RowEntry | None] = list(map(known.get, kept_keys))
    uniques = unique_columns(ledger, present)
    dirty = [p for p, entry in enumerate(found) if entry is None]
    if dirty:
        checked = _check_rows(ledger, table, present, [kept[p] for p in dirty], uniques, codes)
        fresh = iter(checked)
        for p in dirty:
            found[p] = next(fresh)
    entries: list[RowEntry] = found  # type: ignore[assignment]  # every gap is filled
    out = _own_findings(ledger, table, kept, entries)
    out.extend(_duplicate_findings(ledger, table, present, kept, entries, uniques))
    out.sort(key=itemgetter(0, 1, 2))
    findings.extend(f for *_order, f in out)
    memo_rows = dict(zip(kept_keys, entries, strict=True))
    flagged: dict[int, list[int]] = {}
    marked = np.fromiter(map(len, map(itemgetter(2), entries)), dtype=np.int64)
    for p in np.flatnonzero(marked).tolist():
        for rule in entries[p][2]:
            flagged.setdefault(rule, []).append(kept[p])
    unknown = [kept[p] for p in dirty]
    if keep is not None:
        blank = set(range(len(rows))).difference(kept)
        unknown = sorted(blank.union(unknown))
    built = ValidationMemo(signature, memo_rows, len(dirty), keys, tuple(unknown), flagged, codes)
    return findings, built


def _check_rows(
    ledger: LedgerConfig,
    table: Table,
    present: list[str],
    indexes: list[int],
    uniques: list[str],
    codes: IdentityCodes,
) -> list[RowEntry]:
    """The memo entries of data rows ``indexes`` (none of them blank), computed with the
    schema minus its uniqueness checks on a tab holding just those rows; their identities
    as ``codes``."""
    sub = table.part(indexes)
    frame = build_frame(sub, present, None)
    views = {
        c: ColumnView(frame[c], ledger.columns[c], ledger.placeholders_for(c)) for c in present
    }
    shared = Uniques(views)
    schema = build_schema(ledger, views, shared, uniqueness=False)
    own: list[list[Finding]] = [[] for _ in indexes]
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        at = {table.sheet_row(i): j for j, i in enumerate(indexes)}
        for finding in row_findings(ledger, sub, shared, errors.failure_cases):
            assert finding.row is not None
            own[at[finding.row]].append(finding)
    identities = [codes.encode(c, views[c].identity) for c in uniques]
    return [
        (tuple(own[j]), tuple(values[j] for values in identities), frozenset())
        for j in range(len(indexes))
    ]


def _cell(table: Table, index: int, column: str | None) -> CellValue:
    return table.cell(index, column) if column is not None else None


def _own_findings(
    ledger: LedgerConfig, table: Table, kept: list[int], entries: list[RowEntry]
) -> list[tuple[int, int, int, Finding]]:
    """The rows' own findings at the rows' current positions, with sort keys."""
    order = {c: i for i, c in enumerate(ledger.columns)}
    out: list[tuple[int, int, int, Finding]] = []
    for p in np.flatnonzero(np.fromiter(map(len, map(itemgetter(0), entries)), dtype=np.int64)):
        index = kept[int(p)]
        sheet_row = table.sheet_row(index)
        for finding in entries[int(p)][0]:
            target = finding.column or ""
            value = _cell(table, index, finding.column)
            out.append(
                (
                    index,
                    order.get(target, 0),
                    check_rank(finding.check),
                    Finding(  # dataclasses.replace, without its per-call overhead
                        finding.tab,
                        sheet_row,
                        finding.key,
                        finding.column,
                        value,
                        finding.check,
                        finding.message,
                        finding.severity,
                    ),
                )
            )
    return out


def _duplicate_findings(
    ledger: LedgerConfig,
    table: Table,
    present: list[str],
    kept: list[int],
    entries: list[RowEntry],
    uniques: list[str],
) -> list[tuple[int, int, int, Finding]]:
    """``unique`` and ``unique_together`` findings over whole columns, from the rows'
    identities (the same rows, twins and messages the full validation gives)."""
    if not uniques:
        return []
    n = len(entries)
    flat = chain.from_iterable(map(itemgetter(1), entries))
    codes = np.fromiter(flat, dtype=np.int64, count=n * len(uniques)).reshape(n, len(uniques))
    column = {c: codes[:, j] for j, c in enumerate(uniques)}
    checks: list[tuple[str, tuple[str, ...]]] = [
        ("unique", (c,)) for c in present if ledger.columns[c].unique
    ]
    checks.extend(
        (f"unique_together:{g}", tuple(group))
        for g, group in enumerate(ledger.unique_together)
        if all(c in present for c in group)
    )
    key_column = ledger.key if ledger.key in present else None
    order = {c: i for i, c in enumerate(ledger.columns)}
    out: list[tuple[int, int, int, Finding]] = []
    for check, group in checks:
        arrays = [column[c] for c in group]
        positions = np.flatnonzero(codes_duplicated(arrays)).tolist()
        if not positions:
            continue
        identities = list(zip(*(a[positions].tolist() for a in arrays), strict=True))
        members: dict[tuple[int, ...], list[int]] = {}
        for p, identity in zip(positions, identities, strict=True):
            members.setdefault(identity, []).append(kept[p])
        rank = check_rank(check)
        for p, identity in zip(positions, identities, strict=True):
            row = kept[p]
            same = members[identity]
            key_value = _cell(table, row, key_column)
            key = None if is_blank(key_value) else canonical(key_value)
            target, finding = duplicate_finding(
                ledger,
                table,
                row,
                check,
                group[0],
                [i for i in same if i != row],
                key,
                table.cell(row, group[-1]),
            )
            out.append((row, order.get(target, 0), rank, finding))
    return out
