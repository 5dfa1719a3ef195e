"""Structured logs with structlog: JSON in production, readable in a terminal.

Every event passes through two privacy processors before it is rendered: phone numbers
inside any string value are masked (``138****8000``, via :func:`syncer.values.mask_phone`)
and values under secret-looking keys (``password``, ``private_key``, ``credentials``,
``authorization``, ``access_token`` …) are replaced by ``"[redacted]"``. Cycle context
(``ledger``, ``cycle_id``) is bound with :func:`structlog.contextvars.bound_contextvars`
by the engine and merged into every event.

Third-party libraries log through the standard library (gspread, google-auth, urllib3,
APScheduler, Werkzeug). :func:`configure_logging` installs the one bridge: a root handler
whose :class:`structlog.stdlib.ProcessorFormatter` runs their records through the same
processors and renderer, so with JSON logs on every line on stderr is JSON carrying the
cycle's ``ledger`` and ``cycle_id`` and is scrubbed like syncer's own events. This module
is the only place in ``syncer/`` that touches :mod:`logging`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO, cast

import structlog

from syncer.values import mask_phone

LogFormat = Literal["json", "console", "auto"]

#: Mainland mobiles (optionally +86 / separators) and landlines with an area code.
_PHONE = re.compile(
    r"(?<![\d*])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|(?<![\d*])0\d{2,3}-\d{7,8}(?!\d)"
)
_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|private_key|credential|authorization|access_token|refresh_token"
    r"|api_key|backup_key|bearer|cookie)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def mask_text(text: str) -> str:
    """``text`` with every phone number in it masked."""
    if not any(ch.isdigit() for ch in text):
        return text
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if depth > 3:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEYS.search(k) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, depth + 1) for v in value)
    return value


def scrub_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask phones in values, redact secret-looking keys."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def shared_processors() -> list[Any]:
    """Processors every renderer shares (context, level, time, privacy)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub_processor,
    ]


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write.

    Binding the stream object at configure time breaks when it is later replaced and
    closed (test runners capturing output, daemons re-opening stderr).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    format: LogFormat = "auto",
    level: str = "INFO",
    *,
    stream: Any = None,
) -> None:
    """Configure structlog for the process: events to ``stream`` (stderr by default).

    ``auto`` renders for a terminal when ``stream`` is one, JSON otherwise.
    """
    out = stream if stream is not None else _CurrentStderr()
    if format == "auto":
        format = "console" if getattr(out, "isatty", lambda: False)() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, out)),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(out, renderer, numeric)


#: Third-party loggers that are chatty at INFO: kept at WARNING unless DEBUG is asked for.
QUIET_LIBRARIES = (
    "urllib3",
    "google.auth",
    "gspread",
    "apscheduler",
    "werkzeug",
    "alembic",
    "procrastinate",
)


def _route_stdlib(out: Any, renderer: Any, level: int) -> None:
    """Send every standard-library log record through structlog's processors."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            *shared_processors(),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(cast(TextIO, out))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)


def get_logger(name: str = "syncer") -> Any:
    """A structlog logger (bound to ``logger=name``)."""
    return structlog.get_logger(name)
