"""JSON for the megabytes a cycle sends, receives and journals: orjson, with ``json`` for
what orjson refuses.

orjson is several times faster than ``json`` on these bodies, but it takes only valid
UTF-8 and 64-bit integers. A text holding a lone surrogate (a person may paste one) or an
integer beyond 64 bits must not fail a whole body: those go through ``json``, whose
encoding here is ASCII (the surrogate escaped as ``\\ud800``, valid JSON that Google and
any database take). orjson writes NaN and the infinities as null, and decodes an integer
beyond 64 bits as a float (Google's numbers are doubles); callers that must keep either
handle it themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson


def dumps(
    value: Any, default: Callable[[Any], Any] | None = None, *, dates_to_default: bool = False
) -> bytes:
    """``value`` as compact JSON bytes (UTF-8, or ASCII when orjson refuses it).
    ``default`` converts what JSON has no type for; with ``dates_to_default`` it also
    receives dates and date-times (otherwise orjson writes them as RFC 3339 text)."""
    option = orjson.OPT_PASSTHROUGH_DATETIME if dates_to_default else None
    try:
        return orjson.dumps(value, default=default, option=option)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=default, separators=(",", ":")).encode("ascii")


def loads(content: bytes | str) -> Any:
    """``content`` decoded; ``json`` takes the lone surrogate escapes orjson refuses."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)
