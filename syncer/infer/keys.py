"""The key column and its id pattern (pure).

An id such as ``XS2024001`` is a literal prefix, a four-digit year and a zero-padded
sequence: :func:`infer_key_pattern` turns a set of keys into the ``assign_id`` pattern
(``XS{year}{seq:03}``, the language of :mod:`syncer.rules.assign_id`) and a column
``pattern`` regular expression (``^XS\\d{7,}$``), both guaranteed to match every key —
or gives None when the keys do not share one form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from syncer.infer.columns import Profile
from syncer.infer.guess import Note
from syncer.infer.hints import has_hint

_ID = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z_-]{0,7})?(?P<digits>\d{3,})")
_YEARS = range(1990, 2100)
#: Share of rows a key column must fill, and of its filled values that must differ.
KEY_FILLED = 0.9
KEY_DISTINCT = 0.98


@dataclass(frozen=True)
class KeyPattern:
    """``template`` for assign_id, ``regex`` for the column's ``pattern``."""

    template: str
    regex: str
    has_year: bool


def infer_key_pattern(keys: Sequence[str]) -> KeyPattern | None:
    """The common form of ``keys`` (trimmed texts), or None when they have none."""
    parts = [_ID.fullmatch(k.strip()) for k in keys]
    if not parts or any(p is None for p in parts):
        return None
    found = [p for p in parts if p is not None]
    prefixes = {p.group("prefix") or "" for p in found}
    if len(prefixes) != 1:
        return None
    prefix = prefixes.pop()
    digits = [p.group("digits") for p in found]
    shortest = min(len(d) for d in digits)
    escaped = re.escape(prefix)
    if shortest >= 6 and all(int(d[:4]) in _YEARS for d in digits):
        width = shortest - 4
        seq = f"{{seq:0{width}}}" if width > 1 else "{seq}"
        return KeyPattern(f"{prefix}{{year}}{seq}", rf"^{escaped}\d{{{shortest},}}$", True)
    seq = f"{{seq:0{shortest}}}"
    return KeyPattern(f"{prefix}{seq}", rf"^{escaped}\d{{{shortest},}}$", False)


@dataclass(frozen=True)
class KeyChoice:
    """The chosen key column, its id pattern (if any) and why."""

    name: str
    pattern: KeyPattern | None
    note: Note


def _score(name: str, position: int, prof: Profile) -> tuple[int, KeyPattern | None] | None:
    """How much a column looks like the key (None: it cannot be one)."""
    if prof.rows == 0 or prof.n < KEY_FILLED * prof.rows:
        return None
    if len(prof.counts) < KEY_DISTINCT * prof.n:
        return None
    if any(not isinstance(v, str | int) or isinstance(v, bool) for v in prof.filled):
        return None
    pattern = infer_key_pattern(prof.texts)
    score = (3 if pattern else 0) + (2 if has_hint(name, "key") else 0) + (position == 0)
    return score, pattern


def choose_key(columns: Sequence[tuple[str, int, Profile]]) -> KeyChoice | None:
    """The key among ``columns`` (name, position, profile); None when there are none."""
    if not columns:
        return None
    best: tuple[int, int, str, KeyPattern | None, Profile] | None = None
    for name, position, prof in columns:
        scored = _score(name, position, prof)
        if scored is None:
            continue
        score, pattern = scored
        if best is None or (score, -position) > (best[0], -best[1]):
            best = (score, position, name, pattern, prof)
    if best is None:
        name = columns[0][0]
        note = Note("key: no column is filled and unique in 90% of rows; using the first", True)
        return KeyChoice(name, None, note)
    score, _position, name, pattern, prof = best
    text = f"key: {len(prof.counts):,} distinct values in {prof.rows:,} rows"
    if pattern is not None:
        text += f", all of the form {pattern.template}"
    return KeyChoice(name, pattern, Note(text, score < 2))
