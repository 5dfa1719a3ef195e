"""The connector interface: every backend (memory, xlsx, Google Sheets) implements it.

A connector does I/O only. It reads one consistent snapshot of the tabs a ledger uses,
re-reads what a plan touches (the guard read), writes the operations the engine's guard
kept, reads key columns back for the verify stage, reports a change token and describes
itself. Deciding what may be written is the engine's job (:mod:`syncer.engine`,
:mod:`syncer.guard`, :mod:`syncer.verify`). The same contract tests run against every
implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from syncer.guard import Resolved
from syncer.model import Dropped, Plan, Snapshot, Written, canonical

#: Called after each write call a connector makes: (calls done, calls planned).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TabRequest:
    """A tab to read and the 1-based row its header is on."""

    name: str
    header_row: int = 1


@dataclass(frozen=True)
class KeyColumn:
    """Where a tab's key column is, for a key read: header row, column name, and its
    0-based position when known."""

    header_row: int
    name: str
    position: int | None = None


class Connector(ABC):
    """A ledger's source. Implementations own all I/O against it."""

    #: Short name used in config (``source.connector``) and logs.
    kind: str = ""
    #: True when a write either lands whole at the guard read's positions or raises
    #: :class:`~syncer.errors.SourceChanged` (a local file replaced atomically, an
    #: in-memory workbook): the verify stage has nothing to check. Google Sheets has no
    #: compare-and-set, so its writes are verified.
    atomic_writes: bool = False

    @abstractmethod
    def describe(self) -> str:
        """The source in words for messages, e.g. ``xlsx workbook /srv/ledger.xlsx``."""

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
    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        """The guard read: what ``plan`` (computed from ``snapshot``) touches, as it is now.

        At least every touched row (found by key where rows have one), each tab's header
        and key column, for every tab of ``snapshot`` and every tab the plan names. A
        source that needs tabs to exist before a write creates the plan's new tabs first.
        """

    @abstractmethod
    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        """Write the guard's ``kept`` operations at the positions of ``fresh``.

        Tabs and columns first, then cells, history appends, and row removals last, so
        every prefix of the writes is safe. ``progress`` is called after each write call.
        """

    def over_limits(self, plan: Plan, snapshot: Snapshot) -> list[Dropped]:
        """Operations of ``plan`` the source would refuse for its hard limits (size of a
        sheet, of a cell), each with the limit in words; the engine drops them before any
        write so the rest of the plan goes through. None by default."""
        return []

    def read_keys(self, tabs: Mapping[str, KeyColumn]) -> dict[str, list[str] | None]:
        """Each tab's key column as canonical text (None for a tab that is gone).

        The verify stage's cheap read after a write. The default reads the tabs whole."""
        snapshot = self.read([TabRequest(tab, k.header_row) for tab, k in tabs.items()])
        out: dict[str, list[str] | None] = dict.fromkeys(tabs)
        for tab, key in tabs.items():
            table = snapshot.get(tab)
            if table is not None and table.index_of(key.name) is not None:
                out[tab] = [canonical(v).strip() for v in table.column_values(key.name)]
        return out

    def read_keys_at(
        self, tabs: Mapping[str, KeyColumn], rows: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, str] | None]:
        """The key text at each of ``rows`` (1-based sheet rows) of each tab, found by
        the key column's name in the header as it is now (None for a tab that is gone or
        lost that column). The verify stage's read after a write that only set cells:
        it needs no more than the rows written. The default reads the key columns."""
        columns = self.read_keys(tabs)
        out: dict[str, dict[int, str] | None] = dict.fromkeys(tabs)
        for tab, where in tabs.items():
            keys = columns.get(tab)
            if keys is not None:
                first = where.header_row + 1
                out[tab] = {
                    r: keys[r - first] if 0 <= r - first < len(keys) else ""
                    for r in rows.get(tab, ())
                }
        return out

    def write_calls(self) -> int:
        """Write calls made so far (each bumps the change token once)."""
        return 0

    def calls_made(self) -> int:
        """API calls (or file loads and saves) made so far; a cycle reports the difference."""
        return 0

    def settle_token(self, read_token: str | None, writes: int) -> str | None:
        """The token to record after a cycle that read at ``read_token`` and made
        ``writes`` write calls: the source's token now if nothing but those writes
        changed it, else ``read_token`` — so an edit made while the cycle wrote makes
        the next cycle read instead of idling.

        The default suits counters that every write bumps by one (Drive's ``version``,
        the in-memory revision)."""
        now = self.change_token()
        if read_token is None or now is None:
            return None
        if not writes:
            return now if now == read_token else read_token
        try:
            if int(now) == int(read_token) + writes:
                return now
        except ValueError:
            return None
        return read_token

    #: True when :meth:`reread` locks the tabs the write changes until :meth:`write`
    #: (see :mod:`syncer.connectors.google.write_lock`); the engine journals the cycle
    #: before the lock so a crash that leaves it held is found.
    locks_writes: bool = False

    def release_locks(self) -> None:  # noqa: B027 - optional hook, most connectors lock nothing
        """Release a write lock still held (a write that failed or was not sent)."""

    def after_interruption(self) -> None:  # noqa: B027 - optional hook
        """A cycle was interrupted (a crash): forget cached state, and have the next read
        release anything the interrupted cycle left held."""

    def close(self) -> None:  # noqa: B027 - optional hook, most connectors hold nothing
        """Release resources held by the connector."""
