"""What the robot writes about findings: the annotation column and the errors tab.

* **Annotation column** (``LedgerConfig.annotation_column`` in the main tab, added when
  missing): a short summary of each row's findings in the ledger's locale, e.g.
  ``联系方式: 号码无效; 合作状态: 不在下拉选项中``; cleared (None) once the row is fixed.
  A cell is written only when its text differs.
* **Errors tab** (``tabs.errors``): a localised header, one line per finding (tab, row,
  key, column, value with phones masked, problem, check, first seen) and a summary line
  (count, counts by check, when the content last changed). It is replaced only when its
  content differs from what the read found — compared as trimmed canonical text, so a
  round trip through a sheet causes no rewrite. The summary's time is the moment the
  content last changed, not the run time, so an unchanged ledger plans nothing.

Both describe the sheet *after* the cycle: a duplicate's message names the rows its twins
are on once archived rows are gone (see :func:`~syncer.validate.settle_duplicates`), so
an idle cycle that follows leaves nothing stale behind.

Pure: no I/O, ``now`` is passed in.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from syncer.i18n import Locale, register, t
from syncer.ledger import LedgerConfig
from syncer.model import (
    AddColumn,
    CellValue,
    Finding,
    Operation,
    ReplaceTab,
    SetCell,
    Snapshot,
    Table,
    finding_identity,
    is_blank,
)
from syncer.rules.base import (
    PreviousState,
    cell_text,
    column_texts,
    ledger_row_keys,
    row_ref,
)
from syncer.rules.base import column as column_cells
from syncer.table_cache import TableCache
from syncer.validate import rows_after, settle_duplicates
from syncer.values import mask_phone, parse_datetime

RULE = "annotate"
ERRORS_RULE = "errors_tab"
#: Longest value shown in the errors tab and longest annotation (characters).
MAX_VALUE = 200
MAX_ANNOTATION = 500

register(
    {
        "annotate.header.tab": {"zh-CN": "工作表", "en": "Tab"},
        "annotate.header.row": {"zh-CN": "行号", "en": "Row"},
        "annotate.header.column": {"zh-CN": "列", "en": "Column"},
        "annotate.header.value": {"zh-CN": "当前值", "en": "Value"},
        "annotate.header.problem": {"zh-CN": "问题", "en": "Problem"},
        "annotate.header.check": {"zh-CN": "检查项", "en": "Check"},
        "annotate.header.first_seen": {"zh-CN": "首次发现", "en": "First seen"},
        "annotate.summary": {"zh-CN": "汇总", "en": "Summary"},
        "annotate.total": {"zh-CN": "共 {count} 条问题", "en": "{count} problem(s)"},
        "annotate.last_changed": {"zh-CN": "最后变更", "en": "Last changed"},
        "annotate.separator": {"zh-CN": "; ", "en": "; "},
    }
)


# --- the annotation column ---------------------------------------------------------------


def annotation_text(
    findings: Iterable[Finding], header: Sequence[str], locale: Locale
) -> str | None:
    """The annotation for one row's findings (None when there are none).

    Parts are ``column: message`` (just the message for a finding without a column),
    ordered by the column's place in the header, without repeats.
    """
    order = _column_order(tuple(header))
    ranked = sorted(
        findings,
        key=lambda f: (order.get(f.column or "", len(header)), f.column or "", f.check, f.message),
    )
    parts = list(
        dict.fromkeys(f"{f.column}: {f.message}" if f.column else f.message for f in ranked)
    )
    if not parts:
        return None
    text = t(locale, "annotate.separator").join(parts)
    return text if len(text) <= MAX_ANNOTATION else text[: MAX_ANNOTATION - 1] + "…"


@lru_cache(maxsize=16)
def _column_order(header: tuple[str, ...]) -> dict[str, int]:
    """Each column name's first position in ``header`` (built once per header, not once
    per annotated row)."""
    return {name: pos for pos, name in reversed(list(enumerate(header)))}


def annotation_ops(
    ledger: LedgerConfig,
    table: Table,
    findings: Sequence[Finding],
    *,
    skip_rows: Collection[int] = (),
    cache: TableCache | None = None,
) -> list[Operation]:
    """AddColumn (when missing) and SetCells bringing the annotation column up to date.

    ``findings`` are those of ``table``'s tab with a row, as read; ``skip_rows`` are the
    sheet rows being archived: they get no annotation, the rows below them move up, and a
    duplicate's text names the rows its twins are on after the move. ``cache`` shares
    column reads with the rules of the cycle.
    """
    column = ledger.annotation_column
    ops: list[Operation] = []
    if table.index_of(column) is None:
        ops.append(AddColumn(tab=table.name, column=column, rule=RULE))
    by_row: dict[int, list[Finding]] = defaultdict(list)
    for finding in settle_duplicates(findings, _row_after(skip_rows)):
        if finding.tab == table.name and finding.row is not None:
            by_row[finding.row].append(finding)
    current = column_cells(table, column, cache)
    rows = set(_filled_rows(table, column, cache))
    rows.update(by_row)
    keys: list[str | None] | None = None
    for sheet_row in sorted(rows):
        index = sheet_row - table.header_row - 1
        if sheet_row in skip_rows or not 0 <= index < len(table.rows):
            continue
        wanted = annotation_text(by_row.get(sheet_row, ()), table.header, ledger.locale)
        before = current[index]
        if cell_text(before) == (wanted or ""):
            continue
        if keys is None:
            keys = ledger_row_keys(ledger, table, cache)
        ops.append(
            SetCell(
                tab=table.name,
                target=row_ref(table, index, keys[index]),
                column=column,
                value=wanted,
                before=before,
                rule=RULE,
            )
        )
    return ops


def _row_after(archived: Collection[int]) -> Callable[[int], int | None]:
    """Sheet row as read → its row once the ``archived`` rows are gone (None: archived)."""
    gone = sorted(set(archived))
    if not gone:
        return lambda row: row
    leaving = set(gone)

    def moved(row: int) -> int | None:
        return None if row in leaving else row - bisect_left(gone, row)

    return moved


def _filled_rows(table: Table, column: str, cache: TableCache | None = None) -> list[int]:
    """Sheet rows whose ``column`` cell is not blank (none when the column is absent).

    A cell's trimmed text (:func:`~syncer.rules.base.column_texts`, shared with the
    rules) is empty exactly when the cell is blank, so one C-level pass finds them.
    """
    if table.index_of(column) is None:
        return []
    texts = column_texts(table, column, cache)
    filled = np.flatnonzero(np.fromiter(map(bool, texts), dtype=bool, count=len(texts)))
    first = table.header_row + 1
    return [first + i for i in filled.tolist()]


# --- the errors tab ----------------------------------------------------------------------


def errors_header(ledger: LedgerConfig) -> tuple[str, ...]:
    """The errors tab's header row in the ledger's locale (the key column keeps its name)."""
    loc = ledger.locale
    return (
        t(loc, "annotate.header.tab"),
        t(loc, "annotate.header.row"),
        ledger.key,
        t(loc, "annotate.header.column"),
        t(loc, "annotate.header.value"),
        t(loc, "annotate.header.problem"),
        t(loc, "annotate.header.check"),
        t(loc, "annotate.header.first_seen"),
    )


def format_moment(moment: datetime, now: datetime) -> str:
    """``YYYY-MM-DD HH:MM`` in ``now``'s zone (how times appear in the errors tab)."""
    if moment.tzinfo is not None and now.tzinfo is not None:
        moment = moment.astimezone(now.tzinfo)
    return moment.strftime("%Y-%m-%d %H:%M")


def shown_value(ledger: LedgerConfig, finding: Finding) -> str | None:
    """The finding's value as the errors tab shows it: phones masked, long text cut."""
    if is_blank(finding.value):
        return None
    spec = ledger.columns.get(finding.column or "")
    if spec is not None and spec.type == "phone" and finding.tab == ledger.tabs.main:
        return mask_phone(finding.value)
    text = cell_text(finding.value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in errors-tab order: tab, row (ledger-level first), column, check."""
    return sorted(
        findings,
        key=lambda f: (f.tab, f.row or 0, f.column or "", f.check, cell_text(f.value), f.message),
    )


def first_seen(
    findings: Iterable[Finding],
    previous: PreviousState,
    now: datetime,
    recovered: Mapping[str, datetime] | Callable[[set[str]], Mapping[str, datetime]] | None = None,
) -> dict[str, datetime]:
    """Finding identity → when it was first seen: the state's record, else the errors
    tab's (``recovered``; given as a function, it is called only when some finding has
    no record, once, with the identities that have none), else ``now`` for a new
    finding."""
    found: dict[str, datetime] = {}
    known = previous.first_seen
    missing: set[str] = set()
    for finding in findings:
        identity = finding.identity
        if identity in found:
            continue
        moment = known.get(identity)
        if moment is None:
            missing.add(identity)
        found[identity] = moment or now
    if missing and recovered is not None:
        shown = recovered(missing) if callable(recovered) else recovered
        for identity in missing:
            found[identity] = shown.get(identity) or now
    return found


def recover_first_seen(
    ledger: LedgerConfig, table: Table | None, wanted: Collection[str] | None = None
) -> dict[str, datetime]:
    """Finding identity → first seen, as written in an existing errors tab (only the
    identities ``wanted``, when given: their times alone are parsed).

    Lets the tab stay unchanged even when the state database lost its records. Times
    are read as wall-clock times in the ledger's zone.
    """
    if table is None or tuple(table.header[:8]) != errors_header(ledger):
        return {}
    zone = ZoneInfo(ledger.timezone)
    found: dict[str, datetime] = {}
    for line in table.rows:
        cells = [line[p] if p < len(line) else None for p in range(8)]
        tab, row, key, column, _value, _problem, check, seen = cells
        if is_blank(tab) or is_blank(check):
            continue
        row_text = cell_text(row)
        identity = finding_identity(
            cell_text(tab),
            int(row_text) if row_text.isdigit() else None,
            cell_text(key) or None,
            cell_text(column) or None,
            cell_text(check),
        )
        if identity in found or (wanted is not None and identity not in wanted):
            continue
        moment = parse_datetime(seen)
        if moment is None:
            continue
        found[identity] = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    return found


def listed_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings the errors tab lists, from every finding as it reads after the cycle:
    each duplicate worded for its twins' rows, a duplicate whose twins all left dropped.
    The one count of findings (run summary, status, metric, errors tab) is its length."""
    listed = list(findings)
    return settle_duplicates(listed, rows_after(listed).get)


def errors_rows(
    ledger: LedgerConfig,
    findings: Iterable[Finding],
    seen: Mapping[str, datetime],
    changed_at: datetime,
    now: datetime,
) -> tuple[tuple[CellValue, ...], ...]:
    """The errors tab's full content: header, one line per finding, summary line.

    ``findings`` are every finding of the cycle as they read after it (planning moved
    the rows below archived ones up and dropped the archived rows' findings); each
    duplicate's message is worded for the rows its twins are on then, and a duplicate
    whose twins were all archived is left out.
    """
    loc = ledger.locale
    lines: list[tuple[CellValue, ...]] = [errors_header(ledger)]
    counts: Counter[str] = Counter()
    moments: dict[datetime, str] = {}  # a few distinct times over thousands of lines
    for finding in ordered(listed_findings(findings)):
        counts[finding.check] += 1
        when = seen.get(finding.identity, now)
        shown = moments.get(when)
        if shown is None:
            shown = moments[when] = format_moment(when, now)
        lines.append(
            (
                finding.tab,
                finding.row,
                finding.key,
                finding.column,
                shown_value(ledger, finding),
                finding.message,
                finding.check,
                shown,
            )
        )
    by_check = ", ".join(f"{check}: {n}" for check, n in sorted(counts.items())) or None
    lines.append(
        (
            t(loc, "annotate.summary"),
            t(loc, "annotate.total", count=sum(counts.values())),
            by_check,
            t(loc, "annotate.last_changed"),
            format_moment(changed_at, now),
        )
    )
    return tuple(lines)


def _shown(row: Sequence[CellValue]) -> tuple[str, ...]:
    """A row as trimmed text without trailing empty cells; dates as shown."""
    texts = [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else cell_text(v) for v in row]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


def _lines(rows: Sequence[Sequence[CellValue]]) -> int:
    """How many of ``rows`` are left once trailing blank rows are dropped."""
    n = len(rows)
    while n and all(is_blank(v) for v in rows[n - 1]):
        n -= 1
    return n


def _shows(
    have: Sequence[Sequence[CellValue]], wanted: Sequence[Sequence[CellValue]], label: str
) -> bool:
    """True when a tab read as ``have`` already shows ``wanted`` as text (trailing blanks
    aside), the summary line's last-changed time aside. Stops at the first difference:
    a tab that lost or gained lines costs no comparison at all."""
    n = _lines(have)
    if n != _lines(wanted):
        return False
    for i in range(n):
        a, b = _shown(have[i]), _shown(wanted[i])
        if i == n - 1:  # the summary line: its time changes with every change
            a, b = (a[:4] if a and a[0] == label else a), (b[:4] if b and b[0] == label else b)
        if a != b:
            return False
    return True


def errors_tab_op(
    ledger: LedgerConfig,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    seen: Mapping[str, datetime],
    now: datetime,
) -> ReplaceTab | None:
    """A ReplaceTab of the errors tab, or None when the read content is already right."""
    wanted = errors_rows(ledger, findings, seen, now, now)
    existing = snapshot.get(ledger.tabs.errors)
    if existing is not None:
        label = t(ledger.locale, "annotate.summary")
        if _shows([existing.header, *existing.rows], wanted, label):
            return None
    # the row number (1) and the problem (5: a duplicate names its twins' rows)
    return ReplaceTab(tab=ledger.tabs.errors, rows=wanted, rule=ERRORS_RULE, shifting=(1, 5))
