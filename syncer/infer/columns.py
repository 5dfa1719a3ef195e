"""Inferring one column's spec from its values, its dropdown and its formats (pure).

The sheet's own data validation decides first (a dropdown is a ``choice`` with exactly
its values; number and text-length rules give ``min``/``max``/``max_length``); then
the values: booleans, dates and times, phones, emails, URLs, numbers, and finally small
closed sets of repeated short values (``choice``). Placeholders (未知, 待补充 …) count as
empty everywhere. Every field comes with a :class:`~syncer.infer.guess.Note`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property

from syncer.infer import parsing
from syncer.infer.grid import Validation
from syncer.infer.guess import ColumnGuess, Note
from syncer.infer.hints import TEMPLATE_MAX_LENGTH, has_hint, marked_required
from syncer.model import CellValue, canonical
from syncer.values import (
    is_placeholder,
    mask_phone,
    parse_bool,
    parse_datetime,
    to_halfwidth,
)

#: Share of filled cells that must read as a type for the column to get it.
TYPE_SHARE = 0.8
NUMBER_SHARE = 0.9
#: Share of rows that must be filled for ``required`` (without a ``*`` in the header).
REQUIRED_SHARE = 0.95
#: Values looked at first, before a whole column is parsed as a candidate type.
SAMPLE = 1000
#: Fewer rows than this and every inference from values is marked for review.
FEW_ROWS = 20
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_URL = re.compile(r"(?:https?://|www\.)\S+")
URL_PATTERN = r"^(?:https?://|www\.)\S+$"
_MOBILE = re.compile(r"1[3-9]\d{9}")
_NOT_DIGITS = re.compile(r"[^\d+]")
_SEPARATORS = ("，", "、", "；", ";", ",")
_SPLIT = re.compile(r"\s*[,，、;；]\s*")
#: The order of a column spec's fields in the written file.
SPEC_ORDER = (
    "type",
    "required",
    "unique",
    "values",
    "separator",
    "pattern",
    "min",
    "max",
    "max_length",
    "region",
    "description",
)
_PHONE_REGIONS = ("CN", "HK", "TW", "SG", "US", "GB", "JP", "AU")


@dataclass(frozen=True)
class Profile:
    """A column's values: ``rows`` looked at, the ``filled`` ones (not empty, not a
    placeholder) and their trimmed texts; ``placeholders`` counts placeholder cells."""

    rows: int
    filled: tuple[CellValue, ...]
    texts: tuple[str, ...]
    placeholders: Counter[str]

    @property
    def n(self) -> int:
        """Filled cells."""
        return len(self.filled)

    @cached_property
    def counts(self) -> Counter[str]:
        """How often each text occurs."""
        return Counter(self.texts)


def profile(values: Sequence[CellValue], placeholders: Sequence[str]) -> Profile:
    """The profile of a column's values (one per data row)."""
    filled: list[CellValue] = []
    seen: Counter[str] = Counter()
    longest = max((len(p) for p in placeholders), default=0) + 2
    holder: dict[str, bool] = {}
    for value in values:
        if value is None:
            continue
        if isinstance(value, str):
            text = value.strip()
            if not text:
                continue
            if len(text) <= longest:
                hit = holder.get(text)
                if hit is None:
                    hit = holder[text] = is_placeholder(text, placeholders)
                if hit:
                    seen[text] += 1
                    continue
        filled.append(value)
    texts = tuple(v.strip() if v.__class__ is str else canonical(v).strip() for v in filled)
    return Profile(len(values), tuple(filled), texts, seen)


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage that says 100% only when it is all."""
    if whole <= 0:
        return "0%"
    if part == whole:
        return "100%"
    return f"{min(99, round(100 * part / whole))}%"


def _examples(items: Sequence[str], limit: int = 2) -> str:
    shown = [i if len(i) <= 24 else i[:23] + "…" for i in list(dict.fromkeys(items))[:limit]]
    more = len(set(items)) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _failing(prof: Profile, ok: Sequence[bool], mask: bool = False) -> list[str]:
    bad = [v for v, good in zip(prof.filled, ok, strict=True) if not good]
    return [mask_phone(v) if mask else canonical(v).strip() for v in bad]


def _share_note(kind: str, what: str, good: int, prof: Profile, bad: list[str]) -> str:
    text = f"{kind}: {percent(good, prof.n)} {what} ({prof.n:,} values)"
    if bad:
        text += f"; {len(bad)} will be reported: {_examples(bad)}"
    return text


# --- the type --------------------------------------------------------------------------


class _Parses:
    """A column's filled values parsed each way, lazily, once per distinct value."""

    def __init__(self, prof: Profile) -> None:
        self.prof = prof
        self._phones: dict[str, list[str | None]] = {}

    @cached_property
    def temporal(self) -> list[bool]:
        """Date cells, and text that reads as a date."""
        days = parsing.dates([v if isinstance(v, str) else None for v in self.prof.filled])
        return [
            isinstance(v, date) or day is not None
            for v, day in zip(self.prof.filled, days, strict=True)
        ]

    @cached_property
    def timed(self) -> int:
        """Values that carry a time of day."""

        def has_time(value: CellValue) -> bool:
            if isinstance(value, datetime):
                return value.time() != time(0)
            return isinstance(value, str) and ":" in value and parse_datetime(value) is not None

        return sum(parsing.each_distinct(self.prof.filled, has_time))

    @cached_property
    def numbers(self) -> list[float | None]:
        """:func:`~syncer.values.parse_number` of each value."""
        return parsing.numbers(self.prof.filled)

    def sampled(self) -> _Parses:
        """The same over at most :data:`SAMPLE` evenly spaced values: a cheap first look
        before a whole column is parsed a way it will probably not fit."""
        prof = self.prof
        if prof.n <= SAMPLE:
            return self
        step = prof.n // SAMPLE + 1
        small = Profile(prof.rows, prof.filled[::step], prof.texts[::step], prof.placeholders)
        return _Parses(small)

    @cached_property
    def bools(self) -> int:
        """Boolean cells and yes/no words (not numbers)."""
        return sum(
            1
            for v, x in zip(self.prof.filled, self.numbers, strict=True)
            if isinstance(v, bool)
            or (isinstance(v, str) and x is None and parse_bool(v) is not None)
        )

    def phones(self, region: str) -> list[str | None]:
        """The canonical phone of each value in ``region`` (None where invalid)."""
        if region not in self._phones:
            self._phones[region] = parsing.phones(self.prof.filled, region)
        return self._phones[region]


def _typical_cn(value: CellValue) -> bool:
    """Written like a mainland number: a mobile, a landline with its leading 0, or with a
    country code (not digits libphonenumber merely accepts as some mainland number)."""
    digits = _NOT_DIGITS.sub("", to_halfwidth(canonical(value)))
    return digits[:1] in ("1", "0", "+")


def _phone_region(parses: _Parses, hinted: bool) -> str:
    """The region most filled cells parse as phones in (CN unless the header says phone
    and another region fits better). Regions are compared on the first 500 values; CN
    counts only typical mainland numbers there."""
    if not hinted:
        return "CN"
    sample = parses.prof.filled[:500]
    best, score = "CN", -1
    for region in _PHONE_REGIONS:
        parsed = parsing.phones(sample, region)
        good = sum(
            1
            for v, p in zip(sample, parsed, strict=True)
            if p is not None and (region != "CN" or _typical_cn(v))
        )
        if good > score:
            best, score = region, good
    return best


@dataclass
class _Draft:
    """A column spec being built, with its notes."""

    spec: dict[str, object]
    notes: dict[str, Note]

    def put(self, key: str, value: object, note: Note | None = None) -> None:
        self.spec[key] = value
        if note is not None:
            self.notes[key] = note


def _from_validation(rule: Validation, prof: Profile, draft: _Draft) -> bool:
    """Apply what the sheet's own rule says; True when it decided the type."""
    if rule.kind in ("list", "range"):
        where = "list rule" if rule.kind == "list" else f"range {rule.source}"
        text = f"choice: from the sheet's dropdown ({where})"
        outside = [t for t in prof.texts if t not in rule.values]
        if outside:
            text += f"; {len(outside)} value(s) outside it will be reported: {_examples(outside)}"
        draft.put("type", "choice", Note(text))
        draft.put("values", list(rule.values), Note(f"{len(rule.values)} values in the dropdown"))
        return True
    if rule.kind == "boolean":
        draft.put("type", "boolean", Note("boolean: the sheet shows checkboxes"))
        return True
    if rule.kind == "date":
        draft.put("type", "date", Note("date: the sheet's rule accepts dates only"))
        return True
    if rule.kind == "email":
        draft.put("type", "email", Note("email: the sheet's rule accepts email addresses"))
        return True
    if rule.kind == "url":
        draft.put(
            "type",
            "text",
            Note(
                "url: the sheet's rule accepts URLs (syncer has no url "
                "type: text with a URL pattern)"
            ),
        )
        draft.put("pattern", URL_PATTERN, Note("pattern: links only"))
        return True
    if rule.kind in ("number", "integer"):
        draft.put("type", rule.kind, Note(f"{rule.kind}: the sheet's rule accepts numbers"))
        if rule.minimum is not None and rule.maximum is not None and rule.minimum > rule.maximum:
            rule = Validation(rule.kind, minimum=rule.maximum, maximum=rule.minimum)
        if rule.minimum is not None:
            draft.put("min", _tidy(rule.minimum), Note("min: from the sheet's rule"))
        if rule.maximum is not None:
            draft.put("max", _tidy(rule.maximum), Note("max: from the sheet's rule"))
        return True
    return False


def _tidy(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _choice_from_values(name: str, prof: Profile, draft: _Draft, few: bool) -> bool:
    """A small closed set of repeated short values is a choice (marked for review
    unless the header reads as one and there are enough rows)."""
    if has_hint(name, "free_text") or prof.n < 8:
        return False
    if any(not isinstance(v, str) for v in prof.filled):
        return False
    counts = prof.counts
    distinct = len(counts)
    if any(len(t) > 30 for t in counts):
        return False
    hinted = has_hint(name, "choice")
    limit, repeat = (20, 2) if hinted else (8, 4)
    if distinct > limit or distinct * repeat > prof.n:
        return False
    values = [v for v, _ in counts.most_common()]
    review = few or not hinted
    text = f"choice: {distinct} values seen in {prof.n:,} rows, no dropdown in the sheet"
    if review:
        text += "; add allowed values not used yet"
    draft.put("type", "choice", Note(text, review))
    draft.put("values", values, Note("the values seen, most used first", review))
    return True


def _multi_choice(prof: Profile, draft: _Draft) -> bool:
    if prof.n < 8 or any(not isinstance(v, str) for v in prof.filled):
        return False
    if sum(1 for t in prof.texts[:SAMPLE] if _SPLIT.search(t)) * 5 < min(prof.n, SAMPLE):
        return False
    multi = [t for t in prof.texts if len(_SPLIT.split(t)) > 1]
    if len(multi) * 5 < prof.n:
        return False
    items = Counter(i for t in prof.texts for i in _SPLIT.split(t) if i)
    if len(items) > 12 or any(len(i) > 20 for i in items):
        return False
    used = Counter(ch for t in multi for ch in t if ch in _SEPARATORS)
    separator = used.most_common(1)[0][0] if used else ","
    draft.put(
        "type",
        "multi_choice",
        Note(
            f"multi_choice: {len(items)} items joined by '{separator}' in {len(multi)} cells", True
        ),
    )
    draft.put("values", [i for i, _ in items.most_common()], Note("items seen, most used first"))
    draft.put("separator", separator, Note("the separator used most"))
    return True


def _type_from_values(
    name: str, prof: Profile, formats: Counter[str], draft: _Draft, few: bool
) -> None:
    n = prof.n
    if n == 0:
        draft.put("type", "text", Note("text: no values yet", True))
        return
    parses = _Parses(prof)
    quick = parses.sampled()
    few_values = len(prof.counts) <= 4
    if (
        few_values
        and quick.bools >= NUMBER_SHARE * quick.prof.n
        and parses.bools >= NUMBER_SHARE * n
    ):
        text = f"boolean: {percent(parses.bools, n)} yes/no values"
        draft.put("type", "boolean", Note(text, few))
        return
    dated = formats.get("DATE", 0) + formats.get("DATE_TIME", 0)
    temporal = sum(parses.temporal) if sum(quick.temporal) * 2 >= quick.prof.n else 0
    if temporal and (temporal >= TYPE_SHARE * n or (dated and temporal >= n / 2)):
        kind = "datetime" if parses.timed * 5 >= temporal else "date"
        bad = _failing(prof, parses.temporal)
        what = "parse as dates" + (" with a time" if kind == "datetime" else "")
        draft.put("type", kind, Note(_share_note(kind, what, temporal, prof, bad), few))
        return
    if _phone(name, parses, quick, draft, few):
        return
    emails = [bool(_EMAIL.fullmatch(t)) for t in prof.texts]
    if sum(emails) >= TYPE_SHARE * n:
        bad = _failing(prof, emails)
        note = _share_note("email", "look like email addresses", sum(emails), prof, bad)
        draft.put("type", "email", Note(note, few))
        return
    urls = sum(1 for t in prof.texts if _URL.fullmatch(t))
    if urls >= TYPE_SHARE * n:
        note = f"url: {percent(urls, n)} are links; syncer has no url type: text with a pattern"
        draft.put("type", "text", Note(note, few))
        draft.put("pattern", URL_PATTERN, Note("pattern: links only"))
        return
    quick_numbers = sum(1 for x in quick.numbers if x is not None)
    good_numbers = (
        [x for x in parses.numbers if x is not None]
        if quick_numbers >= TYPE_SHARE * quick.prof.n
        else []
    )
    if good_numbers and len(good_numbers) >= NUMBER_SHARE * n:
        ok = [x is not None for x in parses.numbers]
        _numeric(name, prof, good_numbers, ok, formats, draft, few)
        return
    if _multi_choice(prof, draft) or _choice_from_values(name, prof, draft, few):
        return
    distinct = len(prof.counts)
    draft.put("type", "text", Note(f"text: {n:,} values, {distinct:,} distinct", few and n < 3))


def _phone(name: str, parses: _Parses, quick: _Parses, draft: _Draft, few: bool) -> bool:
    """A phone column: most values are valid numbers, and mostly mobiles or the header
    says phone."""
    prof, n = parses.prof, parses.prof.n
    hinted = has_hint(name, "phone")
    region = _phone_region(quick, hinted)
    valid = sum(1 for p in quick.phones(region) if p is not None)
    if valid < 0.7 * quick.prof.n:
        return False
    parsed = parses.phones(region)
    good = sum(1 for p in parsed if p is not None)
    mobiles = sum(1 for p in parsed if p is not None and _MOBILE.fullmatch(p))
    if good < TYPE_SHARE * n or not (hinted or mobiles * 2 >= good):
        return False
    bad = _failing(prof, [p is not None for p in parsed], mask=True)
    if region == "CN" and mobiles:
        what, shown = f"parse as CN mobile, {percent(good, n)} as valid numbers", mobiles
    else:
        what, shown = f"parse as valid {region} numbers", good
    draft.put("type", "phone", Note(_share_note("phone", what, shown, prof, bad), few))
    draft.put("region", region, Note(f"region: numbers without a country code are {region}"))
    return True


def _numeric(
    name: str,
    prof: Profile,
    numbers: list[float],
    ok: list[bool],
    formats: Counter[str],
    draft: _Draft,
    few: bool,
) -> None:
    amount = has_hint(name, "amount") or formats.get("CURRENCY", 0) > 0
    whole = all(x.is_integer() for x in numbers)
    kind = "integer" if whole and not amount else "number"
    bad = _failing(prof, ok)
    what = "whole numbers" if kind == "integer" else "numbers"
    if formats.get("CURRENCY"):
        what += " (currency format)"
    draft.put("type", kind, Note(_share_note(kind, what, len(numbers), prof, bad), few))
    if not amount:
        return
    negative = [x for x in numbers if x < 0]
    if len(negative) * 20 <= len(numbers):
        text = f"min: amounts are not negative ({len(numbers) - len(negative):,} values ≥ 0)"
        if negative:
            shown = _examples([canonical(_tidy(x)) for x in negative])
            text += f"; {len(negative)} negative will be reported: {shown}"
        draft.put("min", 0, Note(text, few))


# --- required, unique, lengths --------------------------------------------------------


def _required(name: str, prof: Profile, draft: _Draft, few: bool) -> None:
    empty = prof.rows - prof.n
    holders = ", ".join(sorted(prof.placeholders))
    if marked_required(name):
        text = "required: header marked *"
        if empty:
            text += f"; {empty} empty will be reported"
        draft.put("required", True, Note(text))
        return
    if prof.rows == 0 or prof.n < REQUIRED_SHARE * prof.rows:
        return
    text = f"required: {percent(prof.n, prof.rows)} filled in {prof.rows:,} rows"
    if empty:
        text += f"; {empty} empty will be reported"
    if holders:
        text += f" (placeholders {holders} count as empty)"
    draft.put("required", True, Note(text, few))


def _max_length(name: str, prof: Profile, rule: Validation | None, draft: _Draft) -> None:
    longest = max(map(len, prof.texts), default=0)
    if rule is not None and rule.kind == "text_length" and rule.maximum:
        limit = int(rule.maximum)
        draft.put(
            "max_length",
            limit,
            Note(f"max_length: the sheet's text-length rule (longest here: {longest})"),
        )
        return
    limit_of = TEMPLATE_MAX_LENGTH.get(name.strip(" *＊"))
    if limit_of is not None and longest <= limit_of:
        note = Note(f"max_length: the common template's limit (longest here: {longest})")
        draft.put("max_length", limit_of, note)


def infer_column(
    name: str,
    position: int,
    values: Sequence[CellValue],
    placeholders: Sequence[str],
    rule: Validation | None = None,
    formats: Counter[str] | None = None,
    prof: Profile | None = None,
) -> ColumnGuess:
    """The spec of column ``name`` from its data-row ``values`` (one per row);
    ``prof`` is their :func:`profile` when the caller has it already."""
    prof = prof if prof is not None else profile(values, placeholders)
    few = prof.rows < FEW_ROWS
    draft = _Draft({}, {})
    formats = formats or Counter()
    if rule is None or not _from_validation(rule, prof, draft):
        _type_from_values(name, prof, formats, draft, few)
    _required(name, prof, draft, few)
    if draft.spec["type"] in ("email", "phone") and prof.n >= FEW_ROWS:
        region = str(draft.spec.get("region", "CN"))
        if draft.spec["type"] == "phone":
            parsed = parsing.phones(prof.filled, region)
            ids = [p or t for p, t in zip(parsed, prof.texts, strict=True)]
        else:
            ids = [t.casefold() for t in prof.texts]
        if len(set(ids)) == len(ids):
            draft.put("unique", True, Note(f"unique: all {len(ids):,} values differ", True))
    _max_length(name, prof, rule, draft)
    observed = tuple(t for t, _ in prof.counts.most_common(50))
    spec = {k: draft.spec[k] for k in SPEC_ORDER if k in draft.spec}
    return ColumnGuess(name, position, spec, dict(draft.notes), observed)
