"""Duplicates: which rows share an identity over a unique column or a unique_together group,
and the findings that say so.

A duplicate's message quotes the sheet rows of its twins. Those numbers are only true of
the sheet as read: when a cycle archives rows, rows below move up, and a twin that is
archived leaves the tab. :class:`DuplicateFinding` keeps the rows it quotes as data so
:func:`settle_duplicates` can word the message for the sheet *after* the cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from syncer.i18n import Locale
from syncer.model import Finding
from syncer.validate.column_view import BoolArray, ColumnView
from syncer.validate.messages import duplicate_message


def duplicate_mask(identities: Sequence[pd.Series]) -> BoolArray:
    """True on rows whose identities are all present and equal another such row's.

    The same answer as ``frame.duplicated(keep=False) & frame.notna().all(axis=1)`` over
    the identities, from integer codes: each column is factorized once
    (:func:`codes_duplicated` does the rest).
    """
    return codes_duplicated(
        [pd.factorize(identity.to_numpy(), use_na_sentinel=True)[0] for identity in identities]
    )


def codes_duplicated(columns: Sequence[np.ndarray[Any, Any]]) -> BoolArray:
    """True on rows whose codes are all present (not negative) and equal another such
    row's, given one integer array per column standing for its values (equal values, equal
    codes; -1 for none). The columns' codes are combined pairwise, re-factorized after each
    step so they never overflow."""
    codes: np.ndarray[Any, Any] | None = None
    complete: BoolArray | None = None
    for column_codes in columns:
        if codes is None or complete is None:
            codes, complete = column_codes, column_codes >= 0
            continue
        complete = complete & (column_codes >= 0)
        span = int(column_codes.max(initial=0)) + 2  # every code of the column, and -1
        codes, _ = pd.factorize(codes.astype(np.int64) * span + column_codes)
    if codes is None or complete is None or not complete.any():
        return np.zeros(0 if codes is None else len(codes), dtype=bool)
    counts = np.bincount(codes[complete])
    return complete & (counts[np.where(complete, codes, 0)] > 1)


class Uniques:
    """Duplicate masks per unique column or unique_together group, each computed once."""

    def __init__(self, views: dict[str, ColumnView]) -> None:
        self.views = views
        self._masks: dict[tuple[str, ...], BoolArray] = {}

    def duplicated(self, columns: tuple[str, ...]) -> BoolArray:
        """True on rows sharing their identity over ``columns`` with another row."""
        if columns not in self._masks:
            self._masks[columns] = duplicate_mask([self.views[c].identity for c in columns])
        return self._masks[columns]

    def ok(self, columns: tuple[str, ...]) -> pd.Series:
        """The check's answer: True where the row has no duplicate over ``columns``."""
        index = self.views[columns[0]].values.index
        return pd.Series(~self.duplicated(columns), index=index)


class Groups:
    """Rows sharing an identity, per unique column or unique_together group, built once.

    Only rows whose identity is duplicated are grouped, so the cost follows the number of
    duplicates, not the number of rows.
    """

    def __init__(self, uniques: Uniques) -> None:
        self._uniques = uniques
        self._cache: dict[tuple[str, ...], tuple[dict[int, Any], dict[Any, list[int]]]] = {}

    def others(self, columns: tuple[str, ...], row: int) -> list[int]:
        """Other data rows with the same identity as ``row`` over ``columns``."""
        if columns not in self._cache:
            views = self._uniques.views
            mask = self._uniques.duplicated(columns)
            frame = pd.DataFrame({c: views[c].identity[mask] for c in columns})
            key_of: dict[int, Any] = {}
            members: dict[Any, list[int]] = {}
            for index, *key in frame.itertuples(index=True, name=None):
                key_of[int(index)] = tuple(key)
                members.setdefault(tuple(key), []).append(int(index))
            self._cache[columns] = (key_of, members)
        key_of, members = self._cache[columns]
        if row not in key_of:
            return []
        return [i for i in members[key_of[row]] if i != row]


@dataclass(frozen=True, eq=False)
class DuplicateFinding(Finding):
    """A ``unique`` / ``unique_together`` finding that keeps the rows its message quotes.

    ``read_row`` is the finding's own sheet row as read and ``twins`` the sheet rows (as
    read) of the other rows with the same identity over ``columns``. Planning may move
    ``row`` (rows above archived); ``read_row`` and ``twins`` stay as read, so the rows of
    every duplicate finding of a cycle map read rows to rows after the cycle.
    Two duplicate findings compare (and hash) by their :class:`Finding` fields only; the
    extra fields are bookkeeping.
    """

    read_row: int = 0
    twins: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()
    locale: Locale = "en"

    def quoting(self, rows: Sequence[int]) -> DuplicateFinding:
        """The same finding with its message naming ``rows`` as the twins' rows."""
        message = duplicate_message(self.locale, self.check, self.columns, rows)
        return self if message == self.message else replace(self, message=message)


def settle_duplicates(
    findings: Iterable[Finding], moved: Callable[[int], int | None]
) -> list[Finding]:
    """``findings`` with each duplicate's message quoting the rows its twins are on now.

    ``moved`` maps a sheet row as read to the row it is on now (None: it left the tab,
    e.g. archived). A duplicate whose twins all left is dropped: the tab no longer holds
    the duplicate, and the next read will not find it either.
    """
    out: list[Finding] = []
    for finding in findings:
        if not isinstance(finding, DuplicateFinding):
            out.append(finding)
            continue
        rows = sorted(r for r in map(moved, finding.twins) if r is not None)
        if rows:
            out.append(finding.quoting(rows))
    return out


def rows_after(findings: Iterable[Finding]) -> dict[int, int]:
    """Read sheet row → row now, for every row holding a duplicate finding.

    Every twin of a duplicate has a duplicate finding of its own, so after planning has
    moved the findings (and dropped those of archived rows) this maps every twin still
    in the tab; a twin missing from it has left the tab.
    """
    return {
        f.read_row: f.row for f in findings if isinstance(f, DuplicateFinding) and f.row is not None
    }
