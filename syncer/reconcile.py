"""Reconciliation: every customer in exactly one of the main and history tabs.

Run at the start of every cycle on the snapshot the cycle already read (no extra API
call), it finds what an interrupted or raced cycle can leave behind and proposes
repairs as ordinary, guarded operations:

* **A key in both tabs** (an archive appended the history copy, then stopped before
  removing the main row). When the two copies agree on every column a person edits
  (all shared columns but the robot's own, :meth:`LedgerConfig.owned_columns`), the move
  is completed: the main row is removed. When they differ and a recent journaled cycle
  was moving that key, a person worked on the main row since: the main row is kept and
  the history copy removed (the archive rule moves the customer again if it still
  applies). Differing copies of a key no cycle moved (a returning customer entered again
  under an old id) are left for people, with an incident.
* **A key in neither tab** that an interrupted cycle's journal says was moving: the row
  is appended to the history tab from the journal.
* **A history row appended twice** (identical copies of one key): the extra copies are
  removed.

Everything is deterministic and lossless: the only copy of a customer is never removed,
and a removal is guarded like any write (the row must still be the row read). Each
repair is an incident. A key that appears more than once in the main tab is left alone
(that is a validation finding for people to resolve).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from syncer.journal import JournalEntry
from syncer.ledger import LedgerConfig
from syncer.model import AppendRow, CellValue, Operation, RemoveRow, Table, canonical
from syncer.rules.base import row_ref
from syncer.table_cache import TableCache, column_texts

RULE = "reconcile"


@dataclass
class Reconciliation:
    """Repairs to plan, and what was found, in words."""

    ops: list[Operation] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


def _positions(texts: Sequence[str], wanted: set[str]) -> dict[str, list[int]]:
    """The rows holding each key of ``wanted`` (``texts``: a tab's key texts by row)."""
    where: dict[str, list[int]] = {k: [] for k in wanted}
    if wanted:
        for i, text in enumerate(texts):
            if text in wanted:
                where[text].append(i)
    return where


def _repeated(texts: Sequence[str], present: set[str]) -> set[str]:
    """The keys of ``present`` that ``texts`` holds more than once."""
    if len(present) + texts.count("") == len(texts):
        return set()
    return {k for k, n in Counter(texts).items() if n > 1 and k}


def _same(a: Table, i: int, b: Table, j: int, columns: Sequence[str]) -> bool:
    return all(canonical(a.cell(i, c)).strip() == canonical(b.cell(j, c)).strip() for c in columns)


def reconcile(
    ledger: LedgerConfig,
    tables: Mapping[str, Table],
    journal: Sequence[JournalEntry] = (),
    cache: TableCache | None = None,
) -> Reconciliation:
    """Pure: the repairs that put every key in exactly one of main and history.

    ``journal``: the ledger's recent journal entries; the ``open`` ones are interrupted
    cycles (of the others only the keys they ``moved`` are used). ``cache``: the cycle's
    column reads (the rules read the same key columns)."""
    out = Reconciliation()
    moved_by_syncer = set().union(*(entry.moved for entry in journal))
    interrupted = [entry for entry in journal if entry.status == "open"]
    key = ledger.key
    main = tables.get(ledger.tabs.main)
    history = tables.get(ledger.tabs.history)
    if main is None or main.index_of(key) is None:
        return out
    # Every key is in one tab once, almost always: the sets and counts are C-level passes
    # over the key columns; row positions are listed only for the keys that need them.
    main_texts = column_texts(main, key, cache)
    has_history = history is not None and history.index_of(key) is not None
    history_texts = column_texts(history, key, cache) if history is not None and has_history else []
    main_keys, history_keys = set(main_texts) - {""}, set(history_texts) - {""}
    both = main_keys & history_keys
    in_main = _positions(main_texts, both)
    in_history = _positions(history_texts, both | _repeated(history_texts, history_keys))
    owned = set(ledger.owned_columns())
    shared = (
        [c for c in main.header if c and c not in owned and history.index_of(c) is not None]
        if history is not None
        else []
    )
    cleared: set[str] = set()  # keys whose history copies are all removed already
    for k in sorted(in_main.keys() & in_history.keys()):
        assert history is not None
        rows, copies = in_main[k], in_history[k]
        if len(rows) != 1:
            continue
        mine = rows[0]
        if any(_same(main, mine, history, j, shared) for j in copies):
            out.ops.append(RemoveRow(main.name, row_ref(main, mine, k), "archive completed", RULE))
            out.incidents.append(
                f"customer {k!r} was in both {main.name!r} and {history.name!r} with the same"
                f" values (an archive was interrupted); removed the {main.name!r} copy"
            )
        elif k not in moved_by_syncer:
            out.incidents.append(
                f"customer {k!r} is in both {main.name!r} and {history.name!r} with different"
                " values and no cycle of syncer moved it; check both rows by hand"
            )
        else:
            cleared.add(k)
            for j in copies:
                out.ops.append(
                    RemoveRow(history.name, row_ref(history, j, None), "kept main row", RULE)
                )
            out.incidents.append(
                f"customer {k!r} was in both {main.name!r} and {history.name!r} and the"
                f" {main.name!r} row has newer edits; kept it and removed the"
                f" {history.name!r} copy"
            )
    if history is not None:
        for k, copies in sorted(in_history.items()):
            if len(copies) < 2 or k in cleared:
                continue
            kept: list[int] = []
            extra: list[int] = []
            for j in copies:
                if any(_same(history, i, history, j, history.header) for i in kept):
                    extra.append(j)
                else:
                    kept.append(j)
            for j in extra:
                out.ops.append(
                    RemoveRow(history.name, row_ref(history, j, None), "appended twice", RULE)
                )
            if extra:
                out.incidents.append(
                    f"customer {k!r} was in {history.name!r} {len(copies)} times; removed"
                    f" {len(extra)} identical extra cop{'y' if len(extra) == 1 else 'ies'}"
                )
    seen: set[str] = set()
    for entry in interrupted:
        for moving in entry.intent.appended:
            k = moving.key
            if k in seen or k in main_keys or k in history_keys:
                continue
            seen.add(k)
            values: tuple[tuple[str, CellValue], ...] = moving.values
            out.ops.append(AppendRow(moving.tab, k, values, "found in neither tab", RULE))
            out.incidents.append(
                f"customer {k!r} was in neither {main.name!r} nor {moving.tab!r} after the"
                f" interrupted cycle {entry.cycle_id}; appended it to {moving.tab!r} from"
                " the journal"
            )
    return out
