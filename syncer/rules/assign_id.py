"""``assign_id``: fill empty key cells from a pattern such as ``XS{year}{seq:03}``.

Fields: ``{prefix}`` (the rule's ``prefix``, empty when it has none), ``{year}`` (four
digits: the year of the row's ``year_from`` date, else the current year) and ``{seq}``
with an optional width (``{seq:03}`` → ``001``; longer numbers simply grow). The next
sequence number for a year is one more than the largest already used by an id of the
same pattern and year in the main **and** history tabs, so an archived customer's id is
never reused; a generated id that still collides with any existing key is skipped.

Rows qualify when their key is empty (blank or a placeholder), the row is not blank
(ignoring robot-owned columns) and every ``requires`` column is filled in. Ids are
handed out top to bottom. Since the row has no key yet, its operation is addressed by
sheet row (``RowRef.key`` is None).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from syncer.ledger_parts import FilePath, RuleBase
from syncer.model import SetCell, Table
from syncer.rules.base import (
    RuleContext,
    RuleKind,
    RuleResult,
    cell_text,
    column,
    column_texts,
    empty_test,
    row_ref,
    rule_label,
)
from syncer.table_cache import TableCache
from syncer.values import parse_date


@dataclass(frozen=True)
class IdPattern:
    """A parsed id pattern: renders ids and recognises existing ones."""

    pattern: str
    prefix: str
    regex: re.Pattern[str]
    has_year: bool
    #: ``regex`` anchored per line, for :meth:`highest`.
    lines: re.Pattern[str]

    def render(self, year: int, seq: int) -> str:
        """The id for ``year`` and sequence number ``seq``."""
        return self.pattern.format(prefix=self.prefix, year=year, seq=seq)

    def highest(self, keys: Iterable[str]) -> dict[int, int]:
        """Year (0 without ``{year}``) → the largest sequence number among ``keys``.

        One regex pass over all keys joined by newlines, so 100,000 keys cost little.
        """
        listed = list(keys)
        joined = "\n".join(listed)
        if joined.count("\n") != max(len(listed) - 1, 0):  # a key holds a line break
            joined = "\n".join(k for k in listed if "\n" not in k)
        hits = self.lines.findall(joined)
        if not hits:
            return {}
        if not self.has_year:
            return {0: max(map(int, hits))}
        year_at = self.lines.groupindex["year"] - 1
        seq_at = self.lines.groupindex["seq"] - 1
        years = set(map(itemgetter(year_at), hits))
        if len(years) == 1:  # the common case, at C speed
            return {int(years.pop()): max(map(int, map(itemgetter(seq_at), hits)))}
        return {
            int(year): max(int(hit[seq_at]) for hit in hits if hit[year_at] == year)
            for year in years
        }

    def match(self, text: str) -> tuple[int, int] | None:
        """``(year, seq)`` of an id written in this pattern (year 0 without ``{year}``)."""
        found = self.regex.fullmatch(text)
        if found is None:
            return None
        year = int(found.group("year")) if self.has_year else 0
        return year, int(found.group("seq"))


def parse_pattern(pattern: str, prefix: str = "") -> IdPattern:
    """Parse ``pattern``; raises ValueError naming the problem when it is unusable."""
    parts: list[str] = []
    seen: set[str] = set()
    try:
        pieces = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"id pattern {pattern!r} is malformed: {exc}") from exc
    for literal, name, spec, conversion in pieces:
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name in seen or conversion:
            raise ValueError(f"id pattern {pattern!r}: field {{{name}}} is repeated or converted")
        seen.add(name)
        if name == "prefix" and not spec:
            parts.append(re.escape(prefix))
        elif name == "year" and not spec:
            parts.append(r"(?P<year>\d{4})")
        elif name == "seq" and re.fullmatch(r"(?:0\d+)?", spec or ""):
            width = int(spec) if spec else 1
            parts.append(rf"(?P<seq>\d{{{max(width, 1)},}})")
        else:
            raise ValueError(
                f"id pattern {pattern!r}: unsupported field {{{name}:{spec}}}; "
                "use {prefix}, {year} and {seq} or {seq:03}"
            )
    if "seq" not in seen:
        raise ValueError(f"id pattern {pattern!r} needs a {{seq}} field, e.g. XS{{year}}{{seq:03}}")
    body = "".join(parts)
    return IdPattern(
        pattern, prefix, re.compile(body), "year" in seen, re.compile(f"^(?:{body})$", re.M)
    )


class AssignId(RuleBase):
    """Fill empty key cells from ``pattern``: ``{prefix}``, ``{year}``, ``{seq:03}``."""

    kind: Literal["assign_id"]
    pattern: str = "XS{year}{seq:03}"
    #: Column whose date gives ``{year}`` (falls back to the current year when empty).
    year_from: str | None = None
    #: Fill only rows that have at least these columns filled (avoids ids on blank rows).
    requires: list[str] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _pattern_parses(cls, value: str) -> str:
        fields = set(re.findall(r"\{(\w+)[^}]*\}", value))
        if "seq" not in fields:
            raise ValueError("`pattern` needs a `{seq}` field, e.g. XS{year}{seq:03}")
        unknown = fields - {"prefix", "year", "seq"}
        if unknown:
            raise ValueError(
                f"`pattern` uses unknown field(s) {sorted(unknown)}; "
                "use {prefix}, {year} and {seq}"
            )
        parse_pattern(value)  # what the rule runs with: widths, repeats, braces
        return value

    def named_columns(self) -> list[tuple[FilePath, str]]:
        """``year_from`` and the ``requires`` columns."""
        found: list[tuple[FilePath, str]] = []
        if self.year_from is not None:
            found.append((("year_from",), self.year_from))
        return found + [(("requires", j), c) for j, c in enumerate(self.requires)]


def existing_keys(
    tables: list[Table], key_column: str, cache: TableCache | None = None
) -> set[str]:
    """Every non-empty key text in ``tables``."""
    found: set[str] = set()
    for table in tables:
        found.update(column_texts(table, key_column, cache))
    found.discard("")
    return found


def assign_id(rule: AssignId, ctx: RuleContext) -> RuleResult:
    """Propose a SetCell of the key column for each qualifying row."""
    result = RuleResult()
    ledger = ctx.ledger
    table = ctx.snapshot.get(ledger.tabs.main)
    if table is None or table.index_of(ledger.key) is None:
        return result
    if rule.year_from is not None and table.index_of(rule.year_from) is None:
        return result
    if any(table.index_of(c) is None for c in rule.requires):
        return result
    key_empty = empty_test(ledger.placeholders_for(ledger.key))
    longest = max((len(p.strip()) for p in ledger.placeholders_for(ledger.key)), default=0)
    required = [(c, empty_test(ledger.placeholders_for(c))) for c in rule.requires]
    owned = set(ledger.owned_columns())
    content = [p for p, name in enumerate(table.header) if name not in owned]
    keys = column(table, ledger.key, ctx.cache)
    texts = column_texts(table, ledger.key, ctx.cache)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    maybe: list[int] = np.flatnonzero(lengths <= longest).tolist()
    candidates: list[int] = []
    for index in maybe:
        if not key_empty(keys[index]):
            continue
        row = table.rows[index]
        if all(cell_text(row[p]) == "" for p in content if p < len(row)):
            continue
        if any(empty(table.cell(index, c)) for c, empty in required):
            continue
        candidates.append(index)
    if not candidates:
        return result
    pattern = parse_pattern(rule.pattern, str(getattr(rule, "prefix", "") or ""))
    tables = [table]
    history = ctx.snapshot.get(ledger.tabs.history)
    if history is not None:
        tables.append(history)
    taken = existing_keys(tables, ledger.key, ctx.cache)
    highest = pattern.highest(taken)
    label = rule_label(rule)
    for index in candidates:
        year = ctx.now.year
        if rule.year_from is not None:
            day = parse_date(table.cell(index, rule.year_from))
            year = day.year if day is not None else year
        slot = year if pattern.has_year else 0
        seq = highest.get(slot, 0) + 1
        new_id = pattern.render(year, seq)
        while new_id in taken:
            seq += 1
            new_id = pattern.render(year, seq)
        highest[slot] = seq
        taken.add(new_id)
        result.ops.append(
            SetCell(
                tab=ledger.tabs.main,
                target=row_ref(table, index, None),
                column=ledger.key,
                value=new_id,
                before=table.cell(index, ledger.key),
                rule=label,
            )
        )
    return result


KIND = RuleKind(AssignId, assign_id)
