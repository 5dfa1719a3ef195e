# Reference copy (tests only): the pre-optimisation implementation, see __init__.py.
# ruff: noqa
# mypy: ignore-errors
"""Reference phone_canonical."""
from __future__ import annotations

import numpy as np
import pandas as pd

from syncer.model import CellValue
from syncer.values import _HALFWIDTH, parse_phone


def phone_canonical(values: pd.Series, region: str = "CN") -> pd.Series:
    """:func:`parse_phone` of every cell (None where empty or invalid), vectorised.

    The common case is decided in bulk: text that already is an 11-digit mainland mobile,
    numbers that are one (stored as floats), then text needing clean-up (``+86``, spaces,
    dashes, full-width digits) with pandas string operations. Only the remaining cells
    are parsed one by one, once per distinct value.
    """
    out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)
    if len(values) == 0:
        return out
    obj = values.astype(object)
    array = obj.to_numpy()
    types = np.fromiter(map(type, array), dtype=object, count=len(array))
    is_str = pd.Series(types == str, index=obj.index)  # noqa: E721 (elementwise)
    is_num = pd.Series((types == float) | (types == int), index=obj.index)  # noqa: E721
    strings = obj[is_str]
    direct = strings.str.fullmatch(r"1[3-9]\d{9}").fillna(False).astype(bool)
    out[direct[direct].index] = strings[direct]
    numbers = pd.to_numeric(obj[is_num], errors="coerce").astype(float)
    mobile = (numbers >= 1.3e10) & (numbers < 2e10) & (numbers % 1 == 0)
    if mobile.any():
        out[mobile[mobile].index] = numbers[mobile].astype("int64").astype(str).astype(object)
    rest = out.isna() & obj.notna() & (is_str | is_num)
    if not rest.any():
        return out
    text = obj[rest].astype(str).astype(object)
    text = text.str.translate(_HALFWIDTH).str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)
    text = text.str.replace(r"[\s\-()（）]", "", regex=True)
    text = text.str.replace(r"^(?:\+86|0086|86)(?=1[3-9]\d{9}$)", "", regex=True)
    cleaned = text.str.fullmatch(r"1[3-9]\d{9}").fillna(False).astype(bool)
    out[cleaned[cleaned].index] = text[cleaned]
    slow = text[~cleaned & text.ne("")]
    if not slow.empty:
        cache: dict[tuple[type, CellValue], str | None] = {}

        def parse(value: CellValue) -> str | None:
            key = (type(value), value)
            if key not in cache:
                cache[key] = parse_phone(value, region)
            return cache[key]

        parsed = np.empty(len(slow), dtype=object)
        parsed[:] = [parse(v) for v in obj[slow.index]]
        out[slow.index] = parsed
    return out


