"""The connector interface: every backend (memory, xlsx, Google Sheets) implements it.

A connector reads one consistent snapshot of the tabs a ledger uses, and applies a
:class:`~syncer.model.Plan`: it re-reads what the plan touches, drops operations whose
target changed since ``snapshot`` (see :mod:`syncer.guard`), and writes the rest with as
few calls as it can. The same contract tests run against every implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from syncer.model import ApplyReport, Plan, Snapshot


@dataclass(frozen=True)
class TabRequest:
    """A tab to read and the 1-based row its header is on."""

    name: str
    header_row: int = 1


class Connector(ABC):
    """A ledger's source. Implementations own all I/O against it."""

    #: Short name used in config (``source.connector``) and logs.
    kind: str = ""

    @abstractmethod
    def change_token(self) -> str | None:
        """A cheap token that changes whenever the source changes (None if unknown).

        Used to skip idle cycles: an equal token means nothing changed since last read.
        """

    @abstractmethod
    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        """Read the requested tabs in one consistent snapshot.

        Tabs that do not exist are simply absent from the snapshot; the caller decides
        whether that is an error. Raises ``SourceNotFound`` / ``PermissionDenied`` when
        the source itself cannot be opened.
        """

    @abstractmethod
    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        """Guard, then write ``plan`` computed from ``snapshot``; report what happened."""

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release resources held by the connector."""
