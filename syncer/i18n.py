"""Text written *into sheets* (error tab, annotations, finding messages) per locale.

Code, logs and CLI text are English; sheet text follows the ledger's ``locale``.
Modules register their own message tables with :func:`register` at import time, so each
keeps its wording next to its logic. ``t(locale, key, **fields)`` formats one message.
"""

from __future__ import annotations

from typing import Literal

Locale = Literal["zh-CN", "en"]
LOCALES: tuple[Locale, ...] = ("zh-CN", "en")

_MESSAGES: dict[str, dict[Locale, str]] = {}


def register(messages: dict[str, dict[Locale, str]]) -> None:
    """Add message templates; every key must have every locale and be new."""
    for key, texts in messages.items():
        missing = [loc for loc in LOCALES if loc not in texts]
        if missing:
            raise ValueError(f"message {key!r} lacks locale(s) {missing}")
        if key in _MESSAGES and _MESSAGES[key] != texts:
            raise ValueError(f"message {key!r} registered twice with different texts")
        _MESSAGES[key] = texts


def t(locale: Locale, key: str, **fields: object) -> str:
    """The message ``key`` in ``locale``, formatted with ``fields``."""
    return _MESSAGES[key][locale].format(**fields)


def keys() -> list[str]:
    """Every registered message key (tests check each formats in every locale)."""
    return sorted(_MESSAGES)
