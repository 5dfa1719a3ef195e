"""A notification before it is rendered for a service: title, summary, sections, links.

Every text field holds *raw* text — ledger names, column names, cell values — and is
escaped by the renderer for its format (:mod:`syncer.notify.escape`). Only ``links``
carry URLs we built ourselves (the sheet, the status page) and are rendered as links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from syncer.i18n import Locale

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Section:
    """A titled list of lines (e.g. open findings by column: ``联系方式 12``)."""

    title: str
    lines: tuple[str, ...]
    #: How many more lines were left out to keep the message short (0: none).
    more: int = 0


@dataclass(frozen=True)
class Link:
    """A link we built (never one copied from a cell)."""

    label: str
    url: str


@dataclass(frozen=True)
class Message:
    """One notification of one ledger (or of the process, for ``ledger`` ``*``)."""

    event: str
    ledger: str
    locale: Locale
    title: str
    summary: str
    sections: tuple[Section, ...] = ()
    links: tuple[Link, ...] = ()
    severity: Severity = "info"
    #: Counts shown as a small table in the email and the digest screenshot.
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def plain_lines(self) -> list[str]:
        """The message as unescaped lines (for logs of tests and the CLI preview)."""
        out = [self.title, self.summary]
        for name, value in self.facts:
            out.append(f"{name}: {value}")
        for section in self.sections:
            out.append(section.title)
            out.extend(f"- {line}" for line in section.lines)
        return out
