"""Rules and ``unique_together`` groups the sheet implies (pure).

* ``assign_id`` when every key shares an id pattern (``{year}`` from the date column
  whose year matches the keys');
* ``normalize`` for phone and date columns;
* ``stamp_on_change`` when there is a status column and a "status changed at" or a
  "last follow-up" column;
* ``archive`` when there is a history tab or a lost-customer status;
* ``unique_together`` of a contact-name column and a phone column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncer.infer import parsing
from syncer.infer.guess import ColumnGuess, GroupGuess, Note, RuleGuess
from syncer.infer.hints import has_hint, hint_rank, is_lost_value
from syncer.infer.keys import KeyChoice
from syncer.model import CellValue, canonical, is_blank

_NAMES: dict[str, dict[str, str]] = {
    "normalize": {"zh-CN": "规范联系方式与日期", "en": "Tidy phones and dates"},
    "assign_id": {"zh-CN": "分配客户编号", "en": "Assign ids"},
    "stamp_status": {"zh-CN": "记录状态变更时间", "en": "Stamp status changes"},
    "stamp_follow_up": {"zh-CN": "更新最近跟进时间", "en": "Stamp the last follow-up"},
    "archive": {"zh-CN": "归档流失与久未跟进客户", "en": "Archive lost and stale customers"},
}
_REASONS = {
    (True, True): {
        "zh-CN": "流失客户或超过90天未跟进",
        "en": "lost, or not followed up for 90 days",
    },
    (True, False): {"zh-CN": "流失客户", "en": "lost"},
    (False, True): {"zh-CN": "超过90天未跟进", "en": "not followed up for 90 days"},
}
_KEY_DIGITS = re.compile(r"\d{6,}")
#: The house rule: customers not followed up for three months move to history.
STALE_AFTER = "90d"


@dataclass(frozen=True)
class Facts:
    """What the proposals look at: the columns, their data-row values, the key."""

    columns: Sequence[ColumnGuess]
    values: Mapping[str, Sequence[CellValue]]
    key: KeyChoice
    locale: str
    history_tab: str | None

    def first(self, kind: str, types: tuple[str, ...] | None = None) -> ColumnGuess | None:
        """The first column whose header holds a hint of ``kind`` (and has a type)."""
        for column in self.columns:
            if column.name == self.key.name:
                continue
            if has_hint(column.name, kind) and (types is None or column.type in types):
                return column
        return None

    def of_type(self, *types: str) -> list[ColumnGuess]:
        """Columns of the given types, in sheet order."""
        return [c for c in self.columns if c.type in types]


def _named(kind: str, locale: str) -> str:
    return _NAMES[kind][locale]


def propose_rules(facts: Facts) -> list[RuleGuess]:
    """The rules the sheet implies, in the order a cycle should run them."""
    rules: list[RuleGuess] = []
    for make in (_normalize, _assign_id, _stamps, _archive):
        rules.extend(make(facts))
    return rules


def _normalize(facts: Facts) -> list[RuleGuess]:
    phones, dates = facts.of_type("phone"), facts.of_type("date")
    if not phones and not dates:
        return []
    untidy_phones = 0
    for column in phones:
        region = str(column.spec.get("region", "CN"))
        cells = facts.values[column.name]
        for value, found in zip(cells, parsing.phones(cells, region), strict=True):
            if found is not None and canonical(value).strip() != found:
                untidy_phones += 1
    untidy_dates = 0
    for column in dates:
        texts = [v if isinstance(v, str) else None for v in facts.values[column.name]]
        untidy_dates += sum(1 for day in parsing.dates(texts) if day is not None)
    names = [c.name for c in phones + dates]
    text = (
        f"normalize: {untidy_phones} phone(s) and {untidy_dates} date(s) written "
        "in other forms (canonical: 13800138000, YYYY-MM-DD date cells)"
    )
    rule = {"kind": "normalize", "name": _named("normalize", facts.locale), "columns": names}
    return [RuleGuess(rule, Note(text))]


def _year_column(facts: Facts) -> tuple[str, int, int] | None:
    """The date column whose year is the key's year in most rows: (name, agree, rows)."""
    years = [_key_year(canonical(k)) for k in facts.values[facts.key.name]]
    best: tuple[str, int, int] | None = None
    for column in facts.of_type("date", "datetime"):
        agree = rows = 0
        days = parsing.dates(facts.values[column.name])
        for year, day in zip(years, days, strict=True):
            if day is None or year is None:
                continue
            rows += 1
            agree += year == day.year
        if rows and agree >= 0.9 * rows and (best is None or agree > best[1]):
            best = (column.name, agree, rows)
    return best


def _key_year(key: str) -> int | None:
    found = _KEY_DIGITS.search(key)
    return int(found.group(0)[:4]) if found else None


def _assign_id(facts: Facts) -> list[RuleGuess]:
    pattern = facts.key.pattern
    if pattern is None:
        return []
    rule: dict[str, Any] = {
        "kind": "assign_id",
        "name": _named("assign_id", facts.locale),
        "pattern": pattern.template,
    }
    text = f"assign_id: every key has the form {pattern.template}"
    if pattern.has_year:
        year = _year_column(facts)
        if year is not None:
            rule["year_from"] = year[0]
            text += f"; the year is {year[0]}'s in {year[1]:,} of {year[2]:,} rows"
    requires = facts.first("person_name", ("text",))
    if requires is not None and requires.spec.get("required"):
        rule["requires"] = [requires.name]
    return [RuleGuess(rule, Note(text))]


def _status(facts: Facts) -> ColumnGuess | None:
    return facts.first("status", ("choice",))


def _stamps(facts: Facts) -> list[RuleGuess]:
    status = _status(facts)
    if status is None:
        return []
    rules: list[RuleGuess] = []
    changed = facts.first("status_changed", ("date", "datetime", "text"))
    if changed is not None:
        rule = {
            "kind": "stamp_on_change",
            "name": _named("stamp_status", facts.locale),
            "watch": [status.name],
            "target": changed.name,
            "format": "date" if changed.type == "date" else "datetime",
        }
        text = f"stamp_on_change: {status.name} is a status column, {changed.name} its time"
        rules.append(RuleGuess(rule, Note(text)))
    last = facts.first("last_follow_up", ("date", "datetime"))
    if last is not None and last is not changed:
        notes = facts.first("follow_up_notes")
        watch = notes if notes is not None and notes is not last else status
        rule = {
            "kind": "stamp_on_change",
            "name": _named("stamp_follow_up", facts.locale),
            "watch": [watch.name],
            "target": last.name,
            "format": "date" if last.type == "date" else "datetime",
        }
        text = f"stamp_on_change: {last.name} is the last follow-up, moved by {watch.name}"
        rules.append(RuleGuess(rule, Note(text, watch is status)))
    return rules


def _archive(facts: Facts) -> list[RuleGuess]:
    status = _status(facts)
    lost = None
    if status is not None:
        lost = next((v for v in status.spec.get("values", ()) if is_lost_value(str(v))), None)
    last = facts.first("last_follow_up", ("date", "datetime"))
    if lost is None and facts.history_tab is None:
        return []
    conditions: list[dict[str, Any]] = []
    why: list[str] = []
    if status is not None and lost is not None:
        conditions.append({"column": status.name, "op": "equals", "value": lost})
        why.append(f"{status.name} has {lost}")
    if last is not None:
        conditions.append({"column": last.name, "op": "older_than", "value": STALE_AFTER})
        why.append(f"house rule: no follow-up in 90 days ({last.name})")
    if not conditions:
        return []
    if facts.history_tab is not None:
        why.insert(0, f"tab {facts.history_tab} exists")
    when = conditions[0] if len(conditions) == 1 else {"any": conditions}
    reason = _REASONS[(lost is not None, last is not None)][facts.locale]
    rule = {
        "kind": "archive",
        "name": _named("archive", facts.locale),
        "reason": reason,
        "when": when,
    }
    return [RuleGuess(rule, Note("archive: " + "; ".join(why), lost is None))]


def propose_groups(facts: Facts) -> list[GroupGuess]:
    """``[contact name, phone]`` when both exist and the phone is not unique itself."""
    phone = next((c for c in facts.of_type("phone") if not c.spec.get("unique")), None)
    ranked = [
        (rank, c.position, c)
        for c in facts.columns
        if c.type == "text"
        and c.name != facts.key.name
        and (rank := hint_rank(c.name, "person_name")) is not None
    ]
    person = min(ranked, key=lambda t: (t[0], t[1]))[2] if ranked else None
    if phone is None or person is None:
        return []
    pairs: dict[tuple[str, str], int] = {}
    region = str(phone.spec.get("region", "CN"))
    numbers = facts.values[phone.name]
    canons = parsing.phones(numbers, region)
    for name, number, found in zip(facts.values[person.name], numbers, canons, strict=True):
        if is_blank(name) or is_blank(number):
            continue
        canon = found or canonical(number).strip()
        key = (canonical(name).strip().casefold(), canon)
        pairs[key] = pairs.get(key, 0) + 1
    twice = sum(1 for n in pairs.values() if n > 1)
    text = (
        f"unique_together: same contact and phone = the same customer entered twice "
        f"({twice} such pair(s) here)"
    )
    return [GroupGuess((person.name, phone.name), Note(text))]
