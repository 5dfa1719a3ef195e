"""Parsing of the values people type into ledgers: phones, dates, numbers, booleans.

Pure functions, no I/O. Each ``parse_*`` returns a canonical value, or ``None`` when
the input is empty, invalid or ambiguous — they never guess. Callers decide what ``None``
means (a validation finding, or "leave the cell as it is" for the normalize rule).

Canonical forms
---------------
* **Phones** (:func:`parse_phone`): a mainland mobile is its 11 digits, ``13800138000``;
  a mainland landline is ``0`` + area code + ``-`` + subscriber number, ``010-12345678``
  or ``0755-12345678``; other mainland numbers (``400`` service lines …) are their
  national digits, ``4001234567``; numbers of other countries are E.164, ``+14155550123``.
* **Dates** (:func:`parse_date`): ``datetime.date``; written back as ``YYYY-MM-DD``.
  Year-first forms only (``2024-03-01``, ``2024/3/1``, ``2024.3.1``, ``2024年3月1日``,
  ``20240301``) and Excel serial numbers; ``03/04/2024`` is ambiguous and gives None.
* **Numbers** (:func:`parse_number`): ``float``; currency signs, thousands separators,
  a trailing ``元`` and full-width digits are accepted.

The vectorised :func:`phone_validity` checks a whole column at pandas speed and falls
back to :func:`parse_phone` only for the cells the fast path does not recognise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import phonenumbers

from syncer.model import CellValue

if TYPE_CHECKING:  # imported where used: pandas costs ~1 s, and `syncer check` needs none
    import pandas as pd

# --- full-width → half-width ------------------------------------------------------------

#: U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the
#: ideographic space. A few other look-alikes people type in Chinese input methods.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH.update({0x3000: 0x20, 0x2014: 0x2D, 0x2212: 0x2D, 0xFFE5: 0xA5})


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters, punctuation and spaces become their ASCII forms.

    ``"１３８　ＡＢ－"`` → ``"138 AB-"``. The em dash and minus sign become ``-``; the
    full-width yen sign becomes ``¥``. Other characters (Chinese text) are unchanged.
    """
    return text.translate(_HALFWIDTH)


# --- placeholders -----------------------------------------------------------------------


@lru_cache(maxsize=64)
def _placeholder_set(placeholders: tuple[str, ...]) -> frozenset[str]:
    return frozenset(to_halfwidth(p).strip().casefold() for p in placeholders)


def is_placeholder(value: CellValue, placeholders: Iterable[str]) -> bool:
    """True when ``value`` is text equal to one of ``placeholders`` (e.g. 未知, 待补充).

    Comparison ignores surrounding spaces, letter case and full-width forms, so ``" n/a "``
    and ``"－"`` match ``N/A`` and ``-``. Non-text values are never placeholders.
    """
    if not isinstance(value, str):
        return False
    return to_halfwidth(value).strip().casefold() in _placeholder_set(tuple(placeholders))


# --- phones -----------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）./]")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+]?\d+")
_INTEGRAL_FLOAT = re.compile(r"(\d+)\.0+")
_CN_PREFIX = re.compile(r"(?:\+86|0086|86)(1[3-9]\d{9})")
#: Mainland landlines: 010 and 02x have 2-digit area codes and 8-digit numbers; other
#: area codes are 0 + 3 digits with 7- or 8-digit numbers.
_CN_LANDLINE = re.compile(r"(?:\+86|0086)?0?(?:(10|2\d)([2-9]\d{7})|([3-9]\d{2})([2-9]\d{6,7}))")
_LANDLINE_SEPARATORS = re.compile(r"[\s\-()（）]")


def _phone_text(value: CellValue) -> str | None:
    """The digits-and-plus text of a phone cell, or None when it cannot be one."""
    if value is None or isinstance(value, bool | date):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer() or value <= 0:
            return None
        return str(int(value))
    text = to_halfwidth(value).strip()
    if _SCIENTIFIC.fullmatch(text):
        number = float(text)
        return str(int(number)) if number.is_integer() and number > 0 else None
    integral = _INTEGRAL_FLOAT.fullmatch(text)
    if integral:
        text = integral.group(1)
    return _PHONE_SEPARATORS.sub("", text) or None


def _landline(text: str) -> str | None:
    """``0AA-NNNNNNNN`` for a mainland landline written with its leading 0 or +86."""
    if not (text.startswith("0") or text.startswith("+86")):
        return None
    found = _CN_LANDLINE.fullmatch(text)
    if found is None:
        return None
    area, number = (found.group(1), found.group(2)) if found.group(1) else found.group(3, 4)
    return f"0{area}-{number}"


def parse_phone(value: CellValue, region: str = "CN") -> str | None:
    """The canonical form of a phone number (see the module docstring), or None if invalid.

    Accepts ``"+86 138-0013-8000"``, full-width digits, ``13800138000.0`` and
    ``"1.3800138E10"`` (numbers stored as floats), spaces and dashes.
    """
    text = _phone_text(value)
    if text is None:
        return None
    if _MOBILE.fullmatch(text):
        return text
    prefixed = _CN_PREFIX.fullmatch(text)
    if prefixed:
        return prefixed.group(1)
    landline = _landline(text) if region == "CN" else None
    if landline is not None:
        return landline
    if not re.fullmatch(r"\+?\d{3,20}", text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    national = str(phonenumbers.national_significant_number(number))
    if number.country_code != 86:
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if _MOBILE.fullmatch(national):
        return national
    area = int(phonenumbers.length_of_geographical_area_code(number))
    if area > 0:
        return f"0{national[:area]}-{national[area:]}"
    return national


def phone_canonical(values: pd.Series, region: str = "CN") -> pd.Series:
    """:func:`parse_phone` of every cell (None where empty or invalid), vectorised.

    The common case is decided in bulk: text that already is an 11-digit mainland mobile
    (one C-level regex pass over the text cells), numbers that are one (stored as floats),
    then text needing clean-up (``+86``, spaces, dashes, full-width digits) with pandas
    string operations on the remaining cells only. Only what is still left is parsed one
    by one, once per distinct value.
    """
    import pandas as pd

    size = len(values)
    result = np.full(size, None, dtype=object)
    if size == 0:
        return pd.Series(result, index=values.index, dtype=object)
    array = values.to_numpy(dtype=object)
    types = np.fromiter(map(type, array), dtype=object, count=size)
    is_str = np.asarray(types == str, dtype=bool)  # noqa: E721 (elementwise)
    is_num = np.asarray((types == float) | (types == int), dtype=bool)  # noqa: E721
    at_str = np.flatnonzero(is_str)
    strings = array[at_str]
    direct = np.fromiter(map(bool, map(_MOBILE.fullmatch, strings)), dtype=bool, count=len(strings))
    result[at_str[direct]] = strings[direct]
    at_num = np.flatnonzero(is_num)
    if len(at_num):
        converted = pd.to_numeric(pd.Series(array[at_num], dtype=object), errors="coerce")
        numbers = converted.astype(float).to_numpy()
        with np.errstate(invalid="ignore"):
            mobile = (numbers >= 1.3e10) & (numbers < 2e10) & (numbers % 1 == 0)
        if mobile.any():
            result[at_num[mobile]] = numbers[mobile].astype("int64").astype(str).astype(object)
    present = ~pd.isna(array)
    rest = np.flatnonzero(pd.isna(result) & present & (is_str | is_num))
    if len(rest) == 0:
        return pd.Series(result, index=values.index, dtype=object)
    text = pd.Series(array[rest], dtype=object).astype(str).astype(object)
    text = text.str.translate(_HALFWIDTH).str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)
    text = text.str.replace(r"[\s\-()（）]", "", regex=True)
    text = text.str.replace(r"^(?:\+86|0086|86)(?=1[3-9]\d{9}$)", "", regex=True)
    cleaned = text.str.fullmatch(r"1[3-9]\d{9}").fillna(False).astype(bool).to_numpy()
    result[rest[cleaned]] = text.to_numpy()[cleaned]
    slow = ~cleaned & text.ne("").to_numpy()
    if slow.any():
        cache: dict[tuple[type, CellValue], str | None] = {}

        def parse(value: CellValue) -> str | None:
            key = (type(value), value)
            if key not in cache:
                cache[key] = parse_phone(value, region)
            return cache[key]

        parsed = np.empty(int(slow.sum()), dtype=object)
        parsed[:] = [parse(v) for v in array[rest[slow]]]
        result[rest[slow]] = parsed
    return pd.Series(result, index=values.index, dtype=object)


def phone_validity(values: pd.Series, region: str = "CN") -> pd.Series:
    """A boolean Series: True where the cell holds a valid phone number.

    Empty cells (None, blank text) are False; callers treat emptiness separately. See
    :func:`phone_canonical` for the vectorised fast path.
    """
    return phone_canonical(values, region).notna().astype(bool)


def mask_phone(value: CellValue) -> str:
    """A phone number with its middle digits hidden: ``13800138000`` → ``138****8000``.

    The number is canonicalised first when it parses; otherwise the text's digits are
    masked as they stand. All but the first three and last four digits become ``*``;
    numbers of eight digits or fewer keep only their last two digits.
    """
    canonical_form = parse_phone(value)
    text = canonical_form if canonical_form is not None else _phone_text(value) or ""
    digit_positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not digit_positions:
        return text
    hidden = set(digit_positions[3:-4] if len(digit_positions) > 8 else digit_positions[:-2])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


# --- dates and times --------------------------------------------------------------------

_EXCEL_EPOCH = datetime(1899, 12, 30)
#: Excel serial numbers accepted as dates: 1927-05-18 .. 2173-10-14.
_SERIAL_MIN, _SERIAL_MAX = 10_000, 100_000

_DATE_PART = (
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日?"
    r"|(?P<m3>\d{2})(?P<d3>\d{2}))"
)
_TIME_PART = (
    r"(?:[T\s]+(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
)
_DATETIME_TEXT = re.compile(_DATE_PART + _TIME_PART)


def _from_serial(number: float) -> datetime | None:
    if not math.isfinite(number) or not _SERIAL_MIN <= number < _SERIAL_MAX:
        return None
    return _EXCEL_EPOCH + timedelta(days=number)


def _from_text(text: str) -> tuple[date, time | None] | None:
    match = _DATETIME_TEXT.fullmatch(to_halfwidth(text).strip())
    if match is None:
        return None
    parts = match.groupdict()
    month = parts["m"] or parts["m2"] or parts["m3"]
    day = parts["d"] or parts["d2"] or parts["d3"]
    try:
        found = date(int(parts["y"]), int(month), int(day))
    except ValueError:
        return None
    if parts["H"] is None:
        return found, None
    try:
        moment = time(
            int(parts["H"]),
            int(parts["M"]),
            int(parts["S"] or 0),
            int((parts["f"] or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    return found, moment


def parse_date(value: CellValue) -> date | None:
    """A calendar date, or None when the value is empty, invalid or ambiguous.

    Accepts date/datetime objects, year-first text (``2024-03-01``, ``2024/3/1``,
    ``2024.3.1``, ``2024年3月1日``, ``20240301``, full-width digits, an optional time of
    day) and Excel serial numbers between 10000 and 100000. Day/month order is never
    guessed: ``03/04/2024`` gives None.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        moment = _from_serial(float(value))
        return moment.date() if moment is not None else None
    parsed = _from_text(value)
    return parsed[0] if parsed is not None else None


def parse_datetime(value: CellValue) -> datetime | None:
    """A naive date and time (in the ledger's zone), or None when invalid or ambiguous.

    Accepts what :func:`parse_date` accepts (a date alone means midnight) plus a time of
    day: ``2024-03-01 14:30``, ``2024/3/1 14:30:05``, ``2024-03-01T14:30``; fractional
    Excel serial numbers carry the time. Timezone-aware datetimes are returned as given.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, int | float):
        moment = _from_serial(float(value))
        return moment.replace(microsecond=0) if moment is not None else None
    parsed = _from_text(value)
    if parsed is None:
        return None
    found, clock = parsed
    return datetime.combine(found, clock or time())


def format_date(value: date) -> str:
    """``YYYY-MM-DD``, the form dates are written back in."""
    return value.strftime("%Y-%m-%d")


# --- numbers and booleans ---------------------------------------------------------------

_NUMBER_NOISE = re.compile(r"[\s,¥$]|元$|RMB|CNY", re.IGNORECASE)
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(value: CellValue) -> float | None:
    """A finite number, or None. Text may carry ``¥``/``￥``, ``,``, a trailing ``元`` and
    full-width digits: ``"￥１２,３４５.５元"`` → ``12345.5``. Booleans are not numbers."""
    if value is None or isinstance(value, bool | date):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    text = _NUMBER_NOISE.sub("", to_halfwidth(value).strip())
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


_TRUE = frozenset({"true", "yes", "y", "1", "是", "对", "有", "✓", "√", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "错", "无", "✗", "×", "f"})


def parse_bool(value: CellValue) -> bool | None:
    """True/False from booleans, 0/1 and words (true/false, yes/no, 是/否, ✓/✗), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        word = to_halfwidth(value).strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None
