"""From a :class:`~syncer.infer.grid.SourceBook` to a :class:`~syncer.infer.guess.LedgerGuess`.

Finds the main and history tabs, the header row, the columns (leaving out blank and
repeated headers and the robot's own annotation column), the locale and placeholders,
each column's spec, the key, and the rules the sheet implies. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncer.a1 import column_letter
from syncer.connectors.tabular import header_text
from syncer.infer.columns import Profile, infer_column, profile
from syncer.infer.grid import SourceBook, TabGrid, Validation
from syncer.infer.guess import ColumnGuess, LedgerGuess, Note
from syncer.infer.header import HeaderGuess, find_header
from syncer.infer.hints import is_chinese, is_history_tab, is_main_tab, is_other_tab, plain
from syncer.infer.keys import KeyChoice, choose_key
from syncer.infer.proposals import Facts, propose_groups, propose_rules
from syncer.ledger import DEFAULT_PLACEHOLDERS
from syncer.model import CellValue, is_blank
from syncer.values import is_placeholder

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "zh-CN": DEFAULT_PLACEHOLDERS,
    "en": ("unknown", "TBD", "N/A", "-"),
}
#: Placeholder-like texts added to the ledger's list when the sheet uses them.
EXTRA_PLACEHOLDERS = ("待定", "暂无", "不详", "待确认", "TBC", "n.a.", "?", "？", "—")
ANNOTATION = {"zh-CN": "校验提示", "en": "Problems"}
ERRORS_TAB = {"zh-CN": "校验错误", "en": "Validation errors"}
#: ("History" itself is reserved by Excel.)
HISTORY_TAB = {"zh-CN": "客户历史库", "en": "Customer history"}
DEFAULT_ZONE = "Asia/Shanghai"
_ANNOTATION_NAMES = frozenset({"校验提示", "problems", "校验结果"})


class InferenceError(ValueError):
    """The spreadsheet holds nothing a ledger can be inferred from (no tab with a header)."""


@dataclass(frozen=True)
class Layout:
    """Where the ledger lives in the book: tabs, header row, named columns."""

    main: TabGrid
    history: str | None
    errors: str | None
    header: HeaderGuess
    tab_note: Note
    #: (position, name) of each column to infer.
    named: tuple[tuple[int, str], ...]
    annotation: str | None
    remarks: tuple[str, ...]
    rows: tuple[tuple[CellValue, ...], ...]


def _data_rows(tab: TabGrid, header_row: int) -> list[tuple[CellValue, ...]]:
    return [r for r in tab.rows[header_row:] if any(not is_blank(v) for v in r)]


def _choose_main(book: SourceBook, forced: str | None) -> tuple[TabGrid, Note]:
    if forced is not None:
        tab = book.tab(forced)
        if tab is None:
            known = ", ".join(t.title for t in book.tabs)
            raise InferenceError(f"no tab named {forced!r}; the tabs are: {known}")
        return tab, Note("main: chosen with --tab")
    shown = [t for t in book.tabs if not t.hidden] or list(book.tabs)
    usable = [t for t in shown if find_header(t) is not None]
    if not usable:
        raise InferenceError(f"{book.title}: no tab has a header row and data")
    named = [t for t in usable if is_main_tab(t.title) and not is_history_tab(t.title)]
    if named:
        return named[0], Note(
            f"main: the tab's name reads as the customers' tab ({named[0].title})"
        )
    plain_tabs = [t for t in usable if not is_history_tab(t.title) and not is_other_tab(t.title)]
    pool = plain_tabs or usable
    best = max(pool, key=lambda t: (len(t.rows), -book.tabs.index(t)))
    review = len(pool) > 1
    return best, Note(f"main: the tab with the most rows ({len(best.rows):,} rows)", review)


def find_layout(book: SourceBook, main_tab: str | None, header_row: int | None) -> Layout:
    """Tabs, header and columns of the ledger in ``book``."""
    main, tab_note = _choose_main(book, main_tab)
    if header_row is not None:
        header = HeaderGuess(header_row, "chosen with --header-row")
    else:
        found = find_header(main)
        if found is None:
            raise InferenceError(f"tab {main.title!r} is empty")
        header = found
    history = next((t.title for t in book.tabs if t is not main and is_history_tab(t.title)), None)
    errors = next(
        (
            t.title
            for t in book.tabs
            if t is not main and plain(t.title) in ("校验错误", "validation errors", "errors")
        ),
        None,
    )
    cells = main.rows[header.row - 1] if len(main.rows) >= header.row else ()
    named: list[tuple[int, str]] = []
    remarks: list[str] = []
    seen: dict[str, int] = {}
    annotation = None
    last = max((i for i, v in enumerate(cells) if not is_blank(v)), default=-1)
    data = _data_rows(main, header.row)
    for position, cell in enumerate(cells[: last + 1]):
        name = header_text(cell)
        letter = column_letter(position)
        if not name:
            filled = sum(1 for r in data if position < len(r) and not is_blank(r[position]))
            remarks.append(
                f"column {letter} has no header ({filled} filled cells): left out; "
                "syncer reports it as blank_header"
            )
            continue
        if name in seen:
            remarks.append(
                f"column {letter} repeats the header {name!r} of column "
                f"{column_letter(seen[name])}: left out (only the first is validated)"
            )
            continue
        seen[name] = position
        if plain(name) in _ANNOTATION_NAMES:
            annotation = name
            remarks.append(f"column {letter} ({name}) is the robot's annotation column")
            continue
        named.append((position, name))
    return Layout(
        main,
        history,
        errors,
        header,
        tab_note,
        tuple(named),
        annotation,
        tuple(remarks),
        tuple(data),
    )


def _column_values(layout: Layout, position: int) -> list[CellValue]:
    return [r[position] if position < len(r) else None for r in layout.rows]


def _validation_for(tab: TabGrid, position: int, header_row: int) -> Validation | None:
    """The rule covering most of the column's data rows in the sample."""
    counts: Counter[Validation] = Counter()
    for ranged in tab.validations:
        block = ranged.block
        if not block.covers_col(position):
            continue
        end = block.end_row if block.end_row is not None else header_row + 1_000_000
        rows = end - max(block.start_row, header_row)
        if rows > 0:
            counts[ranged.validation] += rows
    return counts.most_common(1)[0][0] if counts else None


def _formats_for(tab: TabGrid, position: int, header_row: int) -> Counter[str]:
    return Counter(f.kind for f in tab.formats if f.col == position and f.row >= header_row)


def _placeholders(locale: str, profiles: Mapping[str, Profile]) -> tuple[tuple[str, ...], Note]:
    """The locale's placeholders plus the extra ones the sheet uses (profiles were taken
    with every candidate, so an extra that is seen is exactly one that is added)."""
    base = PLACEHOLDERS[locale]
    used: Counter[str] = Counter()
    for prof in profiles.values():
        used.update(prof.placeholders)
    extra = [p for p in EXTRA_PLACEHOLDERS if any(is_placeholder(u, (p,)) for u in used)]
    text = f"placeholders: the {locale} defaults"
    if used:
        text += "; seen here: " + ", ".join(f"{k} ({n})" for k, n in used.most_common(6))
    return (*base, *extra), Note(text)


def _key_spec(column: ColumnGuess, key: KeyChoice, prof: Profile) -> ColumnGuess:
    """The key column's spec: text, unique, its pattern; not required when assign_id
    fills it."""
    spec: dict[str, Any] = {"type": "text"}
    notes: dict[str, Note] = {"type": key.note}
    if key.pattern is None and column.spec.get("required"):
        spec["required"] = True
        notes["required"] = column.notes["required"]
    repeated = prof.n - len(prof.counts)
    spec["unique"] = True
    notes["unique"] = Note(
        "unique: the key" + (f"; {repeated} repeated value(s) will be reported" if repeated else "")
    )
    if key.pattern is not None:
        spec["pattern"] = key.pattern.regex
        empty = prof.rows - prof.n
        text = f"pattern: every key matches {key.pattern.template}"
        if empty:
            text += f"; {empty} empty key(s) will be filled by assign_id"
        notes["pattern"] = Note(text)
    return ColumnGuess(column.name, column.position, spec, notes, column.observed)


def infer_ledger(
    book: SourceBook,
    *,
    name: str,
    source: Mapping[str, Any],
    main_tab: str | None = None,
    header_row: int | None = None,
) -> LedgerGuess:
    """Infer a ledger file for ``book``; ``source`` is the ledger's ``source:`` mapping."""
    layout = find_layout(book, main_tab, header_row)
    names = [n for _, n in layout.named]
    if not names:
        raise InferenceError(f"tab {layout.main.title!r}: the header names no columns")
    locale = "zh-CN" if is_chinese(names) else "en"
    values = {n: _column_values(layout, p) for p, n in layout.named}
    candidates = (*PLACEHOLDERS[locale], *EXTRA_PLACEHOLDERS)
    profiles = {n: profile(values[n], candidates) for n in names}
    placeholders, placeholder_note = _placeholders(locale, profiles)
    hr = layout.header.row
    columns = [
        infer_column(
            n,
            p,
            values[n],
            placeholders,
            _validation_for(layout.main, p, hr),
            _formats_for(layout.main, p, hr),
            profiles[n],
        )
        for p, n in layout.named
    ]
    key = choose_key([(n, p, profiles[n]) for p, n in layout.named])
    assert key is not None
    columns = [_key_spec(c, key, profiles[c.name]) if c.name == key.name else c for c in columns]
    facts = Facts(columns, values, key, locale, layout.history)
    rules = propose_rules(facts)
    groups = propose_groups(facts)
    settings, notes = _settings(book, layout, name, source, locale, key, placeholders)
    notes["placeholders"] = placeholder_note
    provenance = (
        f"{book.title} ({book.kind}: {book.ref}), tab {layout.main.title}: "
        f"{len(layout.rows):,} data rows, {len(names)} columns"
    )
    return LedgerGuess(
        settings=settings,
        notes=notes,
        columns=tuple(columns),
        unique_together=tuple(groups),
        rules=tuple(rules),
        remarks=layout.remarks,
        provenance=provenance,
    )


def _zone(book: SourceBook) -> tuple[str, Note]:
    if book.time_zone:
        try:
            ZoneInfo(book.time_zone)
            return book.time_zone, Note("timezone: the spreadsheet's own setting")
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_ZONE, Note("timezone: the default; the workbook does not say", True)


def _settings(
    book: SourceBook,
    layout: Layout,
    name: str,
    source: Mapping[str, Any],
    locale: str,
    key: KeyChoice,
    placeholders: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Note]]:
    main = layout.main.title
    history = layout.history or HISTORY_TAB[locale]
    errors = layout.errors or ERRORS_TAB[locale]
    if history == main:
        history = f"{main[:22]} history"
    if errors in (main, history):
        errors = f"{main[:23]} errors"
    tab_text = layout.tab_note.text
    tab_text += (
        f"; history: tab {history} exists"
        if layout.history
        else f"; no history tab: {history} is created by the first archive"
    )
    zone, zone_note = _zone(book)
    settings: dict[str, Any] = {
        "name": name,
        "description": f"{book.title} (written by syncer init)",
        "source": dict(source),
        "tabs": {"main": main, "history": history, "errors": errors},
        "header_row": layout.header.row,
        "key": key.name,
        "locale": locale,
        "timezone": zone,
        "schedule": {"every": "5m"},
        "placeholders": list(placeholders),
        "annotation_column": layout.annotation or ANNOTATION[locale],
    }
    header_note = layout.header.reason
    notes = {
        "source": Note(f"read {_calls(book.calls)}"),
        "tabs": Note(tab_text, layout.tab_note.review),
        "header_row": Note(header_note.removeprefix("REVIEW: "), layout.header.review),
        "key": key.note,
        "locale": Note(f"locale: the header is {'Chinese' if locale == 'zh-CN' else 'English'}"),
        "timezone": zone_note,
        "annotation_column": Note("the robot's own column; created when missing"),
        "schedule": Note("schedule: the default; set how often the daemon runs it"),
    }
    return settings, notes


def _calls(calls: Mapping[str, int]) -> str:
    total = sum(calls.values())
    parts = ", ".join(f"{n} {k}" for k, n in sorted(calls.items()))
    return f"{total} call(s): {parts}" if calls else "the file"
