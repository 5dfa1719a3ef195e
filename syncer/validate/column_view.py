"""One column's values with every derived fact the checks need, computed lazily once.

Checks are vectorised: each column is wrapped once in a :class:`ColumnView` that computes
its text, emptiness and per-type validity with pandas operations (parsing each distinct
value once where a parser is needed), and the pandera checks only look the answers up.
Empty cells — None, blank text, or a placeholder such as 未知/待补充 — fail only the
``required`` check; every other check skips them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from syncer.ledger import ColumnSpec
from syncer.model import canonical
from syncer.values import (
    parse_bool,
    parse_date,
    parse_datetime,
    parse_number,
    phone_canonical,
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
BoolArray = npt.NDArray[np.bool_]
_LIST_SEPARATORS = ("，", "、", "；", ";")
#: Printable ASCII → its full-width form (placeholders are also matched written full width).
_TO_FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}


def _map_distinct(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``values.map(fn)`` calling ``fn`` once per distinct value (values must not be bool)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:-1] = [fn(u) for u in uniques]
    results[-1] = None
    return pd.Series(results[codes], index=values.index, dtype=object)


def _flags(values: Iterable[object], count: int) -> BoolArray:
    """A boolean array of the truth of each value (``bool`` at C speed)."""
    return np.fromiter(map(bool, values), dtype=bool, count=count)


@dataclass
class ColumnView:
    """A column's values with the derived facts every check needs, computed lazily once.

    Internally everything is a numpy array aligned with ``values`` (one entry per kept
    row); the public properties wrap them in Series on the same index for pandera.
    Text work (strip, placeholder lookup, regex, length, case folding) runs once per cell
    through ``map`` over the string cells only, with no per-cell Python frames.
    """

    values: pd.Series
    spec: ColumnSpec
    placeholders: Sequence[str]

    def as_series(self, data: np.ndarray[Any, Any]) -> pd.Series:
        """``data`` (one entry per cell) as a Series on the column's index."""
        series: pd.Series = pd.Series(data, index=self.values.index, dtype=data.dtype, copy=False)
        return series

    @cached_property
    def _array(self) -> np.ndarray[Any, Any]:
        return self.values.to_numpy()

    @cached_property
    def _types(self) -> np.ndarray[Any, Any]:
        return np.fromiter(map(type, self._array), dtype=object, count=len(self._array))

    @cached_property
    def _str_mask(self) -> BoolArray:
        return np.asarray(self._types == str, dtype=bool)  # noqa: E721 (elementwise)

    @cached_property
    def _all_str(self) -> bool:
        return bool(self._str_mask.all())

    @cached_property
    def missing(self) -> BoolArray:
        """True for None and NaN cells (decided from the cell types, without pandas isna)."""
        types = self._types
        flags = np.asarray(types == type(None), dtype=bool)  # noqa: E721 (elementwise)
        floats = np.asarray(types == float, dtype=bool)  # noqa: E721 (elementwise)
        if floats.any():
            values = self._array[floats].astype(float)
            flags[floats] = np.isnan(values)
        return flags

    @cached_property
    def is_str(self) -> pd.Series:
        return self.as_series(self._str_mask)

    @cached_property
    def is_bool(self) -> pd.Series:
        return self.as_series(np.asarray(self._types == bool, dtype=bool))  # noqa: E721

    @cached_property
    def _stripped(self) -> list[str]:
        """The stripped text of the string cells only (in order)."""
        strings = self._array if self._all_str else self._array[self._str_mask]
        return list(map(str.strip, strings))

    @cached_property
    def _texts(self) -> tuple[np.ndarray[Any, Any] | None, list[str]]:
        """(positions, texts) of the non-missing cells: stripped text of string cells,
        the canonical text of the others. Positions are None when every cell is text."""
        if self._all_str:
            return None, self._stripped
        present = ~self.missing
        positions = np.flatnonzero(present)
        texts = np.empty(len(self._array), dtype=object)
        texts[self._str_mask] = self._stripped
        others = present & ~self._str_mask
        if others.any():
            texts[others] = list(map(canonical, self._array[others]))
        return positions, texts[positions].tolist()

    def _spread(self, positions: np.ndarray[Any, Any] | None, data: Any, fill: Any) -> Any:
        """``data`` (one entry per position) spread over every cell, ``fill`` elsewhere."""
        if positions is None:
            return data
        out = np.full(len(self._array), fill, dtype=np.asarray(data).dtype)
        out[positions] = data
        return out

    @cached_property
    def _text_array(self) -> np.ndarray[Any, Any]:
        positions, texts = self._texts
        out = np.empty(len(self._array), dtype=object)
        if positions is None:
            out[:] = texts
        else:
            out[positions] = texts
        return out

    @cached_property
    def str_text(self) -> pd.Series:
        """Stripped text of string cells (None elsewhere)."""
        out = np.full(len(self._array), None, dtype=object)
        out[self._str_mask] = self._stripped
        return self.as_series(out)

    @cached_property
    def text(self) -> pd.Series:
        """Stripped text of string cells; the canonical text of other non-empty cells."""
        return self.as_series(self._text_array)

    def text_matches(self, pattern: re.Pattern[str]) -> BoolArray:
        """True where the cell's text (see :attr:`text`) fully matches ``pattern``."""
        positions, texts = self._texts
        hits = _flags(map(pattern.fullmatch, texts), len(texts))
        return np.asarray(self._spread(positions, hits, False), dtype=bool)

    def text_lengths(self) -> np.ndarray[Any, Any]:
        """The length of each cell's text (0 where the cell is missing)."""
        positions, texts = self._texts
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return np.asarray(self._spread(positions, lengths, 0))

    @cached_property
    def empty_mask(self) -> BoolArray:
        """True for None, NaN, blank text and placeholders (see :attr:`empty`)."""
        variants: set[str] = {""}
        for p in self.placeholders:
            for form in (p.strip(), p.strip().lower(), p.strip().upper()):
                variants |= {form, form.translate(_TO_FULLWIDTH)}
        hits = np.fromiter(
            map(variants.__contains__, self._stripped), dtype=bool, count=len(self._stripped)
        )
        if self._all_str:
            return hits
        flags = self.missing.copy()
        flags[self._str_mask] = hits
        return flags

    @cached_property
    def empty(self) -> pd.Series:
        """None, blank text, or a placeholder (as written, in lower/upper case or full width)."""
        return self.as_series(self.empty_mask)

    @cached_property
    def filled(self) -> pd.Series:
        return self.as_series(~self.empty_mask)

    def _parsed(self, parse: Callable[[Any], Any]) -> pd.Series:
        """``parse`` of each filled, non-bool cell (None elsewhere), once per distinct value."""
        usable = self.filled & ~self.is_bool
        out = pd.Series(np.full(len(self.values), None, dtype=object), index=self.values.index)
        if usable.any():
            out[usable] = _map_distinct(self.values[usable], parse)
        return out

    def _when_valid(self, parse: Callable[[Any], Any]) -> BoolArray:
        """Where ``parse`` of a filled, non-bool cell gives a value; cells already holding
        a date or date-time (which the date parsers always accept) skip the parsing."""
        usable = ~self.empty_mask & ~self.is_bool.to_numpy()
        timely = (self._types == date) | (self._types == datetime)
        ok = np.asarray(usable & timely, dtype=bool)
        rest = usable & ~timely
        if rest.any():
            subset = self.values[rest]
            ok[rest] = _map_distinct(subset, parse).notna().to_numpy()
        return ok

    @cached_property
    def numbers(self) -> pd.Series:
        """The cell as a float (NaN when empty or not a number)."""
        usable = self.filled & ~self.is_bool
        fast = pd.to_numeric(self.values.where(usable & ~self.is_str), errors="coerce")
        slow = usable & self.is_str
        if slow.any():
            fast = fast.astype(float)
            fast[slow] = _map_distinct(self.values[slow], parse_number).astype(float)
        return fast.astype(float)

    def valid_type(self) -> pd.Series:
        """True where the cell is empty or holds a value of the column's type."""
        kind = self.spec.type
        ok: pd.Series | BoolArray
        if kind == "text":
            return pd.Series(True, index=self.values.index)
        if kind == "integer":
            numbers = self.numbers
            ok = numbers.notna() & (numbers % 1 == 0)
        elif kind == "number":
            ok = self.numbers.notna()
        elif kind == "date":
            ok = self._when_valid(parse_date)
        elif kind == "datetime":
            ok = self._when_valid(parse_datetime)
        elif kind == "phone":
            ok = self.phones.notna()
        elif kind == "email":
            ok = self.text_matches(_EMAIL) & self._str_mask
        elif kind == "choice":
            ok = self.allowed
        elif kind == "multi_choice":
            ok = self._parsed(self._multi_ok).eq(True)
        else:
            ok = self._parsed(parse_bool).notna() | self.is_bool
        flags = np.asarray(ok, dtype=bool) | self.empty_mask
        return self.as_series(flags)

    def _multi_ok(self, value: Any) -> bool:
        allowed = set(self.spec.values or ())
        return all(item in allowed for item in self.items(value))

    def items(self, value: Any) -> list[str]:
        """The items of a multi-choice cell, split on the separator (and 、，；)."""
        text = canonical(value)
        for sep in _LIST_SEPARATORS:
            text = text.replace(sep, self.spec.separator)
        return [item.strip() for item in text.split(self.spec.separator) if item.strip()]

    @cached_property
    def allowed(self) -> pd.Series:
        """True where the cell is exactly one of the column's ``values``."""
        return self.values.isin(self.spec.values or ())

    @cached_property
    def spaced(self) -> pd.Series:
        """True where a choice cell is an allowed value only once surrounding spaces go."""
        out = pd.Series(False, index=self.values.index)
        suspects = ~self.allowed & self.is_str
        if suspects.any():
            stripped = self.values[suspects].map(str.strip)
            out[suspects] = stripped.isin(self.spec.values or ()).to_numpy()
        return out

    @cached_property
    def phones(self) -> pd.Series:
        """Canonical phone numbers (None where empty or invalid)."""
        return phone_canonical(self.values.where(self.filled), self.spec.region)

    @cached_property
    def identity(self) -> pd.Series:
        """The value compared by unique checks: canonical phone/date, else folded text."""
        if self.spec.type == "phone":
            parsed = self.phones
            out = parsed.where(parsed.notna(), self.text)
        elif self.spec.type == "date":
            parsed = self._parsed(parse_date)
            out = parsed.where(parsed.notna(), self.text).map(str)
        else:
            positions, texts = self._texts
            folded = np.full(len(self._array), None, dtype=object)
            if positions is None:
                folded[:] = list(map(str.casefold, texts))
            else:
                folded[positions] = list(map(str.casefold, texts))
            folded[self.empty_mask] = None
            return self.as_series(folded)
        return out.where(self.filled)
