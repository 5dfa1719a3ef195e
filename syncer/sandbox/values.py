"""Cell values: parsing input (RAW / USER_ENTERED) and rendering output (render options).

A stored value is ``None`` (empty), ``str``, ``bool``, ``int`` or ``float``. Dates are serial
numbers (days since 1899-12-30) carrying a DATE / DATE_TIME number format, as in Sheets.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

Value = str | bool | int | float | None
ValueInputOption = Literal["RAW", "USER_ENTERED"]
ValueRenderOption = Literal["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"]
DateTimeRenderOption = Literal["SERIAL_NUMBER", "FORMATTED_STRING"]

VALUE_INPUT_OPTIONS = ("RAW", "USER_ENTERED")
VALUE_RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_TIME_RENDER_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")

EPOCH = dt.datetime(1899, 12, 30)
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")
_DATE_TYPES = DATE_TYPES

_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?%?")
_DATE_FORMS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"\d{4}-\d{1,2}-\d{1,2}"), "%Y-%m-%d", "yyyy-mm-dd"),
    (re.compile(r"\d{4}/\d{1,2}/\d{1,2}"), "%Y/%m/%d", "yyyy/mm/dd"),
    (re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "%m/%d/%Y", "M/d/yyyy"),
    (
        re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}:\d{2}"),
        "%Y-%m-%d %H:%M:%S",
        "yyyy-mm-dd hh:mm:ss",
    ),
    (re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}"), "%Y-%m-%d %H:%M", "yyyy-mm-dd hh:mm"),
    (
        re.compile(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}"),
        "%Y/%m/%d %H:%M:%S",
        "yyyy/mm/dd hh:mm:ss",
    ),
)


@dataclass(frozen=True)
class Parsed:
    """The result of parsing one input value."""

    value: Value
    formula: str | None = None
    number_format: dict[str, str] | None = None


def normalize_number(number: float | int) -> int | float:
    """Integral numbers become ``int`` (JSON ``1``, not ``1.0``), like Google's output."""
    if isinstance(number, bool):
        return number
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError("non-finite number")
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
    return number


def to_serial(moment: dt.datetime) -> int | float:
    """Serial day number of a naive datetime (1899-12-30 is day 0)."""
    delta = moment - EPOCH
    return normalize_number(delta.days + delta.seconds / 86400 + delta.microseconds / 86.4e9)


def from_serial(serial: float) -> dt.datetime:
    """The naive datetime of a serial day number, to the second."""
    return EPOCH + dt.timedelta(seconds=round(serial * 86400))


def parse_raw(value: Any) -> Parsed:
    """RAW input: stored exactly as given (strings stay text, even ``=1+2``)."""
    if value is None or value == "":
        return Parsed(None)
    if isinstance(value, bool | str):
        return Parsed(value)
    if isinstance(value, int | float):
        return Parsed(normalize_number(value))
    raise ValueError(f"unsupported value {value!r}")


def parse_user_entered(value: Any) -> Parsed:
    """USER_ENTERED input: parsed as if typed into the UI."""
    if not isinstance(value, str):
        return parse_raw(value)
    text = value
    if text == "":
        return Parsed(None)
    if text.startswith("'"):
        return Parsed(text[1:] or None)
    if text.startswith("=") and len(text) > 1:
        return Parsed(None, formula=text)
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return Parsed(stripped.upper() == "TRUE")
    number = _parse_number(stripped)
    if number is not None:
        return number
    for pattern, strptime, fmt_pattern in _DATE_FORMS:
        if pattern.fullmatch(stripped):
            try:
                moment = dt.datetime.strptime(stripped.replace("T", " "), strptime)
            except ValueError:
                break
            kind = "DATE_TIME" if ":" in fmt_pattern else "DATE"
            return Parsed(to_serial(moment), number_format={"type": kind, "pattern": fmt_pattern})
    return Parsed(text)


def _parse_number(text: str) -> Parsed | None:
    if not text or not _NUMBER.fullmatch(text) or not any(ch.isdigit() for ch in text):
        return None
    percent = text.endswith("%")
    body = text.rstrip("%").replace(",", "")
    try:
        number = float(body)
    except ValueError:
        return None
    if percent:
        decimals = len(body.partition(".")[2])
        pattern = "0%" if decimals == 0 else "0." + "0" * decimals + "%"
        return Parsed(
            normalize_number(round(number / 100, 15)),
            number_format={"type": "PERCENT", "pattern": pattern},
        )
    if "," in text:
        fmt = {"type": "NUMBER", "pattern": "#,##0"}
        return Parsed(normalize_number(number), number_format=fmt)
    return Parsed(normalize_number(number))


def typed_to_parsed(
    value: Any, *, formula: bool | None = None, midnight_is_date: bool = False
) -> Parsed:
    """A typed Python value as a stored cell: ``str``, ``int``, ``float``, ``bool``,
    ``date``, ``datetime``, ``time`` or ``None``.

    Dates are serials with a ``yyyy-mm-dd`` DATE format, date-times with a DATE_TIME one
    (an aware datetime keeps its wall-clock time), times a fraction of a day with TIME.
    ``formula`` says whether a string is a formula; None (a person typing it) makes any
    string starting with ``=`` one. ``midnight_is_date`` reads a datetime at midnight as a
    date, which is how an .xlsx file stores dates.
    """
    if value is None or value == "":
        return Parsed(None)
    if isinstance(value, bool):
        return Parsed(value)
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
        if midnight_is_date and moment.time() == dt.time():
            return Parsed(to_serial(moment), number_format=_DATE_FORMAT)
        return Parsed(to_serial(moment), number_format=_DATE_TIME_FORMAT)
    if isinstance(value, dt.date):
        return Parsed(
            to_serial(dt.datetime.combine(value, dt.time())), number_format=_DATE_FORMAT
        )
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return Parsed(normalize_number(seconds / 86400), number_format=_TIME_FORMAT)
    if isinstance(value, int | float):
        return Parsed(normalize_number(value))
    text = str(value)
    is_formula = text.startswith("=") and len(text) > 1 if formula is None else formula
    return Parsed(None, formula=text) if is_formula else Parsed(text)


_DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
_DATE_TIME_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
_TIME_FORMAT = {"type": "TIME", "pattern": "hh:mm:ss"}


def parse_input(value: Any, option: ValueInputOption) -> Parsed:
    """Parse one input value under a value input option."""
    return parse_user_entered(value) if option == "USER_ENTERED" else parse_raw(value)


def format_general(number: int | float) -> str:
    """A number in the default ("General") format."""
    if isinstance(number, int):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    if abs(number) >= 1e15 or (number != 0 and abs(number) < 1e-9):
        mantissa, _, exp = f"{number:.6E}".partition("E")
        return mantissa.rstrip("0").rstrip(".") + "E" + exp
    text = f"{number:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


_DATE_TOKEN = re.compile(r"yyyy|yy|mm|m|dd|d|hh|h|ss|s|M+|am/pm", re.I)


@functools.lru_cache(maxsize=256)
def _date_tokens(pattern: str) -> tuple[tuple[bool, str], ...]:
    """A date pattern split into (is_token, text) parts; ``m`` after an hour is minutes."""
    parts: list[tuple[bool, str]] = []
    last = 0
    after_hour = False
    for m in _DATE_TOKEN.finditer(pattern):
        if m.start() > last:
            parts.append((False, pattern[last : m.start()]))
        token = m.group(0)
        low = token.lower()
        if low in ("hh", "h"):
            after_hour = True
        if token in ("mm", "m") and after_hour:
            token = "MIN" + token
        parts.append((True, token))
        last = m.end()
    if last < len(pattern):
        parts.append((False, pattern[last:]))
    return tuple(parts)


@functools.lru_cache(maxsize=65536)
def format_date(serial: float, pattern: str) -> str:
    """A serial date rendered with a Sheets date pattern (``yyyy-mm-dd hh:mm:ss`` etc.)."""
    moment = from_serial(serial)
    tokens = _date_tokens(pattern)
    twelve = any(is_token and text.lower() == "am/pm" for is_token, text in tokens)
    hour = (moment.hour % 12 or 12) if twelve else moment.hour
    out: list[str] = []
    for is_token, text in tokens:
        if not is_token:
            out.append(text)
            continue
        low = text.lower()
        if low == "yyyy":
            out.append(f"{moment.year:04d}")
        elif low == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif text.startswith("MIN"):
            out.append(f"{moment.minute:02d}" if text == "MINmm" else str(moment.minute))
        elif low in ("mm", "m") or text.startswith("M"):
            out.append(f"{moment.month:02d}" if len(text) == 2 else str(moment.month))
        elif low == "dd":
            out.append(f"{moment.day:02d}")
        elif low == "d":
            out.append(str(moment.day))
        elif low in ("hh", "h"):
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("ss", "s"):
            out.append(f"{moment.second:02d}" if low == "ss" else str(moment.second))
        else:
            out.append("AM" if moment.hour < 12 else "PM")
    return "".join(out)


def date_pattern(number_format: dict[str, Any]) -> str:
    """The pattern of a DATE / TIME / DATE_TIME number format (with Sheets' defaults)."""
    pattern = number_format.get("pattern")
    if pattern:
        return str(pattern)
    kind = number_format.get("type")
    return (
        "hh:mm:ss"
        if kind == "TIME"
        else ("yyyy-mm-dd hh:mm:ss" if kind == "DATE_TIME" else "yyyy-mm-dd")
    )


def format_number(number: int | float, number_format: dict[str, Any] | None) -> str:
    """A number rendered under a cell's number format (or General)."""
    if not number_format:
        return format_general(number)
    kind = number_format.get("type", "NUMBER")
    pattern = str(number_format.get("pattern", ""))
    if kind in _DATE_TYPES:
        return format_date(number, date_pattern(number_format))
    if not pattern:
        return format_general(number)
    percent = "%" in pattern
    shown = number * 100 if percent else number
    decimals = len(pattern.partition(".")[2].rstrip("%").replace("#", ""))
    text = f"{shown:,.{decimals}f}" if "," in pattern else f"{shown:.{decimals}f}"
    return text + ("%" if percent else "")


def render_value(
    value: Value,
    formula: str | None,
    number_format: dict[str, Any] | None,
    render: ValueRenderOption,
    date_render: DateTimeRenderOption,
) -> Any:
    """One cell as the values API returns it."""
    if render == "FORMULA" and formula is not None:
        return formula
    if value is None:
        return ""
    if isinstance(value, bool):
        if render == "FORMATTED_VALUE":
            return "TRUE" if value else "FALSE"
        return value
    if isinstance(value, str):
        return value
    if render == "FORMATTED_VALUE":
        return format_number(value, number_format)
    if (
        date_render == "FORMATTED_STRING"
        and number_format
        and number_format.get("type") in _DATE_TYPES
    ):
        return format_number(value, number_format)
    return value
