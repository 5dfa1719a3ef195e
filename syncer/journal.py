"""The crash-safety journal: a cycle that moves, creates or deletes rows writes down its
intent in the state store before its first write.

One row per such cycle in the ``journal`` table: the ledger, the cycle id, how many write
calls it planned and how many completed, and its status; beside it, in
``journal_intents``, what the cycle meant to do (keys appended to history with their full
rows, keys removed from the main tab, keys it created) and the appended keys alone (all
that a finished entry is read for). The status is:

``open``       written before the first write; still open after a crash or kill
``done``       the cycle wrote, verified and recorded
``recovered``  a later cycle found it open, reconciled the tabs and closed it

A cycle starts by reading the ledger's open entries of *other* cycles: each one is an
interrupted cycle. Its rows let the reconciliation (:mod:`syncer.reconcile`) put back a
customer that is in neither tab, and the entry is closed as ``recovered`` once a cycle
has reconciled without a dropped repair. The journal lives in the same database as the
rest of the state, so any replica can recover any other's cycle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Select, Table, and_, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from syncer import jsoncodec
from syncer.errors import StateError
from syncer.gc_pause import gc_paused
from syncer.model import AppendRow, CellValue, MoveRow, Operation, RemoveRow, SetCell
from syncer.state import StateStore
from syncer.state_tables import journal_intents_table, journal_table

#: Journal rows with the keys each one's intent moves (not the intent itself; NULL for
#: an entry written by a replica from before revision 0006, whose intent is in
#: ``journal.intent``).
_ROWS = select(
    *(c for c in journal_table.c if c.name != "intent"), journal_intents_table.c.moved
).select_from(
    journal_table.outerjoin(
        journal_intents_table, journal_intents_table.c.cycle_id == journal_table.c.cycle_id
    )
)
#: Entries deleted per statement when the journal is pruned.
_PRUNE_CHUNK = 500
#: What a cycle of this version leaves in ``journal.intent`` (see :mod:`syncer.state_tables`).
_NO_LEGACY_INTENT = "{}"


@dataclass(frozen=True)
class MovingRow:
    """A row a cycle meant to put into ``tab`` (the history tab, or a re-append)."""

    key: str
    tab: str
    values: tuple[tuple[str, CellValue], ...]


@dataclass(frozen=True)
class Intent:
    """What one cycle meant to change in which rows a ledger's tabs hold."""

    appended: tuple[MovingRow, ...] = ()
    removed: tuple[str, ...] = ()
    created: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.appended or self.removed or self.created)

    @cached_property
    def stored(self) -> dict[str, str]:
        """The ``journal_intents`` columns: the moved keys and the whole intent as JSON
        (megabytes for an archive), serialized once."""
        return {"moved": json.dumps([m.key for m in self.appended]), "intent": _dump(self)}


@dataclass(frozen=True)
class JournalEntry:
    """One journaled cycle."""

    cycle_id: str
    ledger: str
    started: datetime
    status: str
    writes_planned: int
    writes_done: int
    intent: Intent = field(default_factory=Intent)
    closed: datetime | None = None
    closed_by: str | None = None
    #: The keys of the rows the cycle meant to append (move); from ``intent`` unless given.
    moved: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.moved and self.intent.appended:
            object.__setattr__(self, "moved", frozenset(m.key for m in self.intent.appended))


def intent_of(ops: Sequence[Operation], key_column: str | None) -> Intent:
    """The intent of the operations a cycle is about to write."""
    appended: list[MovingRow] = []
    removed: list[str] = []
    created: list[str] = []
    for op in ops:
        if isinstance(op, MoveRow) and op.target.key:
            appended.append(MovingRow(op.target.key, op.history_tab, op.values))
            removed.append(op.target.key)
        elif isinstance(op, AppendRow) and op.key:
            appended.append(MovingRow(op.key, op.tab, op.values))
        elif isinstance(op, RemoveRow) and op.target.key:
            removed.append(op.target.key)
        elif (
            isinstance(op, SetCell)
            and key_column is not None
            and op.column == key_column
            and op.value not in (None, "")
        ):
            created.append(str(op.value))
    return Intent(tuple(appended), tuple(removed), tuple(created))


def _encode(value: Any) -> Any:
    """A date or date-time as the journal stores it (the encoders' ``default``)."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    raise TypeError(f"a journal cannot hold {value.__class__.__name__} values")


def _decode(value: Any) -> CellValue:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        raise ValueError(f"unknown journal value {value!r}")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"unknown journal value {value!r}")


def _dump(intent: Intent) -> str:
    """``intent`` as JSON (an archive's: every moved row's values, megabytes)."""
    payload = {
        "appended": [{"key": m.key, "tab": m.tab, "values": m.values} for m in intent.appended],
        "removed": intent.removed,
        "created": intent.created,
    }
    # Dates and date-times go through _encode (tagged), not the codec's own format.
    return jsoncodec.dumps(payload, _encode, dates_to_default=True).decode()


def _load(text: str) -> Intent:
    with gc_paused():  # an archive's intent holds every moved row's values
        raw = json.loads(text)
    return Intent(
        appended=tuple(
            MovingRow(m["key"], m["tab"], tuple((c, _decode(v)) for c, v in m["values"]))
            for m in raw.get("appended", [])
        ),
        removed=tuple(raw.get("removed", [])),
        created=tuple(raw.get("created", [])),
    )


def _intents(table: Table, cycle_ids: set[str]) -> Select[tuple[str, str]]:
    """The whole intents of ``cycle_ids`` in ``table`` (``journal_intents``, or
    ``journal`` for the legacy column): (cycle id, intent) rows."""
    return select(table.c.cycle_id, table.c.intent).where(table.c.cycle_id.in_(sorted(cycle_ids)))


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _entry(row: Any, intent: Intent, moved: frozenset[str]) -> JournalEntry:
    """A journal row as an entry."""
    return JournalEntry(
        cycle_id=row["cycle_id"],
        ledger=row["ledger"],
        started=_aware(row["started"]) or datetime.now(UTC),
        status=row["status"],
        writes_planned=row["writes_planned"],
        writes_done=row["writes_done"],
        intent=intent,
        closed=_aware(row["closed"]),
        closed_by=row["closed_by"],
        moved=moved,
    )


class Journal:
    """The journal of one state store (its table comes with the state schema)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def begin(
        self, ledger: str, cycle_id: str, now: datetime, intent: Intent, writes_planned: int
    ) -> None:
        """Record ``intent`` before the cycle's first write."""
        self._run(
            insert(journal_table).values(
                cycle_id=cycle_id,
                ledger=ledger,
                started=now.astimezone(UTC),
                status="open",
                writes_planned=writes_planned,
                writes_done=0,
                intent=_NO_LEGACY_INTENT,
            ),
            ledger,
            insert(journal_intents_table).values(cycle_id=cycle_id, **intent.stored),
        )

    def revise(self, ledger: str, cycle_id: str, intent: Intent) -> None:
        """Replace the intent of a cycle that guards its write again before the write
        (its first attempt was refused before anything was applied)."""
        self._run(
            update(journal_intents_table)
            .where(journal_intents_table.c.cycle_id == cycle_id)
            .values(**intent.stored),
            ledger,
        )

    def progress(self, ledger: str, cycle_id: str, done: int, planned: int) -> None:
        """Record that ``done`` of ``planned`` write calls completed."""
        self._run(
            update(journal_table)
            .where(journal_table.c.cycle_id == cycle_id)
            .values(writes_done=done, writes_planned=planned),
            ledger,
        )

    def finish(self, ledger: str, cycle_id: str, now: datetime) -> None:
        """Close the cycle's own entry: it wrote, verified and recorded."""
        self._close(ledger, [cycle_id], "done", cycle_id, now)

    def recovered(self, ledger: str, cycle_ids: Sequence[str], by: str, now: datetime) -> None:
        """Close interrupted entries that cycle ``by`` reconciled."""
        self._close(ledger, cycle_ids, "recovered", by, now)

    def interrupted(self, ledger: str, *, current: str | None = None) -> list[JournalEntry]:
        """The ledger's open entries other than ``current``, oldest first."""
        query = _ROWS.where(
            and_(journal_table.c.ledger == ledger, journal_table.c.status == "open")
        ).order_by(journal_table.c.started)
        return [e for e in self._entries(query, ledger) if e.cycle_id != current]

    def entries(
        self, ledger: str | None = None, limit: int = 20, *, full_intents: bool = True
    ) -> list[JournalEntry]:
        """Most recent entries first, optionally for one ledger (for ``syncer status``).

        With ``full_intents`` off, only open entries carry their intent; the others carry
        just the keys they moved (``moved``), which is all reconciliation needs of them."""
        query = _ROWS.order_by(journal_table.c.started.desc()).limit(limit)
        if ledger is not None:
            query = query.where(journal_table.c.ledger == ledger)
        return self._entries(query, ledger or "*", full_intents)

    def prune(self, ledger: str, before: datetime, keep: int) -> int:
        """Delete the ledger's closed entries (with their intents: the values of the rows
        they moved) that started before ``before``, but its ``keep`` newest, whose moved
        keys reconciliation reads; open (interrupted) entries are never deleted. Returns
        how many went."""
        of_ledger = journal_table.c.ledger == ledger
        newest = (
            select(journal_table.c.cycle_id)
            .where(of_ledger)
            .order_by(journal_table.c.started.desc())
            .limit(keep)
        )
        old = select(journal_table.c.cycle_id).where(
            of_ledger,
            journal_table.c.status != "open",
            journal_table.c.started < before.astimezone(UTC),
            journal_table.c.cycle_id.not_in(newest),
        )
        try:
            with self.store.engine.begin() as conn:
                ids = list(conn.execute(old).scalars())
                for i in range(0, len(ids), _PRUNE_CHUNK):
                    chunk = ids[i : i + _PRUNE_CHUNK]
                    for table in (journal_intents_table, journal_table):
                        conn.execute(delete(table).where(table.c.cycle_id.in_(chunk)))
        except SQLAlchemyError as exc:
            raise self._failed("prune", ledger, exc) from exc
        return len(ids)

    def _entries(self, query: Any, ledger: str, full_intents: bool = True) -> list[JournalEntry]:
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
                legacy = {r["cycle_id"] for r in rows if r["moved"] is None}
                whole = {r["cycle_id"] for r in rows if full_intents or r["status"] == "open"}
                texts: dict[str, str] = {}
                for table, ids in (
                    (journal_intents_table, whole - legacy),
                    (journal_table, legacy),
                ):
                    if ids:
                        texts.update(
                            (r.cycle_id, r.intent) for r in conn.execute(_intents(table, ids))
                        )
        except SQLAlchemyError as exc:
            raise self._failed("read", ledger, exc) from exc
        entries = []
        for row in rows:
            cycle_id = row["cycle_id"]
            text = texts.get(cycle_id)
            intent = _load(text) if text is not None else Intent()
            if cycle_id in legacy:  # its moved keys are in its intent
                moved = frozenset(m.key for m in intent.appended)
                intent = intent if cycle_id in whole else Intent()
            else:
                moved = frozenset(json.loads(row["moved"]))
            entries.append(_entry(row, intent, moved))
        return entries

    def _close(
        self, ledger: str, cycle_ids: Sequence[str], status: str, by: str, now: datetime
    ) -> None:
        if not cycle_ids:
            return
        self._run(
            update(journal_table)
            .where(
                and_(
                    journal_table.c.cycle_id.in_(list(cycle_ids)),
                    journal_table.c.status == "open",
                )
            )
            .values(status=status, closed=now.astimezone(UTC), closed_by=by),
            ledger,
        )

    def _run(self, statement: Any, ledger: str, *more: Any) -> None:
        """Execute ``statement`` (and ``more``) in one transaction."""
        try:
            with self.store.engine.begin() as conn:
                for each in (statement, *more):
                    conn.execute(each)
        except SQLAlchemyError as exc:
            raise self._failed(
                "update", ledger, exc, "; nothing was written to the sheet, the next cycle retries"
            ) from exc

    def _failed(self, doing: str, ledger: str, exc: SQLAlchemyError, then: str = "") -> StateError:
        """The error for a journal statement that failed; the database URL as the state
        store shows it (password masked)."""
        return StateError(
            f"state database {self.store.shown} could not {doing} the journal of ledger"
            f" {ledger!r} ({exc.__class__.__name__}: {exc}){then}"
        )
