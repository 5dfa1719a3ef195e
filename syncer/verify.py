"""The verify stage: after a write, check where it landed and repair only syncer's own
provable mistakes.

Sheets has no compare-and-set. A person who inserts, deletes or sorts rows between the
guard read and the write can make a cell write land on another customer's row or a row
removal take the wrong row. Connectors whose writes are atomic and guarded at write time
(``Connector.atomic_writes``: xlsx, memory) need no check.

The check needs the key columns of the tabs written, as the write left them. The Google
connector has its last write call return them (:attr:`Written.keys_after`: no extra
call, and nothing a person does after the write can be in them); otherwise they are
read (:meth:`read_keys`) — after a write that only set cells, just the keys of the rows
written (:meth:`read_keys_at`: a cell landed on its customer exactly when its row still
holds that customer's key). When each tab's keys are exactly what the guard read plus
syncer's own changes, every write landed on its row, whatever happens afterwards:
nothing more is done. Otherwise rows moved and the tabs are read again whole, then:

* a cell syncer wrote for customer K is checked on K's row *now*: holding syncer's value
  it landed; holding the value the guard read, the write missed, and K is re-planned
  (its observed values are not recorded and the next cycle writes it again); holding
  anything else, a person edited it since, and it is left alone;
* a cell of another customer J that holds exactly syncer's value, that syncer did not
  mean to write, and that held something else at the guard read (so the guard read
  knows J's value from *after* any earlier edit) is put back to that value; when the
  guard read did not cover J's row, nothing is changed and an incident says which cell
  to check;
* a customer missing from both tabs while one syncer meant to remove is still in the
  main tab lost its row to a misplaced removal: it is appended again from the freshest
  read that holds it.

Nothing here can overwrite a person's edit made after the write: every repair is
guarded against the read taken after it. Every finding is an incident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

from syncer.connectors.base import Connector, KeyColumn, TabRequest
from syncer.model import (
    AppendRow,
    CellValue,
    Operation,
    RowRef,
    SetCell,
    Snapshot,
    Table,
    Written,
    WrittenCell,
)
from syncer.table_cache import TableCache, cell_text, column_texts

RULE = "verify"


@dataclass
class Verified:
    """What the verify stage found and the repairs it proposes (guarded against ``now``)."""

    incidents: list[str] = field(default_factory=list)
    #: Keys whose write did not land: re-planned next cycle.
    misplaced: set[str] = field(default_factory=set)
    repairs: list[Operation] = field(default_factory=list)
    #: The whole-tab read the repairs are addressed against (None when all landed).
    now: Snapshot | None = None


def _keys(table: Table, key: str, cache: TableCache | None = None) -> list[str]:
    """The texts of ``table``'s key column (a new list: callers change it)."""
    return list(column_texts(table, key, cache))


def _trimmed(keys: Sequence[str]) -> list[str]:
    out = list(keys)
    while out and not out[-1]:
        out.pop()
    return out


def expected_keys(
    table: Table, tab: str, key: str, written: Written, cache: TableCache | None = None
) -> list[str]:
    """The key column of ``tab`` as syncer's own write should have left it: the guard
    read's keys, with the keys syncer assigned, less the rows it removed, plus the rows
    it appended."""
    keys = _keys(table, key, cache)
    for cell in written.cells:
        index = cell.row - table.header_row - 1
        if cell.tab == tab and cell.op.column == key and 0 <= index < len(keys):
            keys[index] = cell_text(cell.op.value)
    removed = written.removed.get(tab, set())
    kept = [k for i, k in enumerate(keys) if i not in removed]
    return [*_trimmed(kept), *written.appended.get(tab, [])]


def _intended_key(cell: WrittenCell, written: Written, key: str) -> str | None:
    """The customer a cell write was for: its row's key, or the key syncer assigned to
    that row in the same write."""
    if cell.op.target.key:
        return cell.op.target.key
    for other in written.cells:
        if other.tab == cell.tab and other.row == cell.row and other.op.column == key:
            return cell_text(other.op.value) or None
    return None


def verify(
    connector: Connector,
    written: Written,
    fresh: Snapshot,
    snapshot: Snapshot,
    key: str | None,
    cache: TableCache | None = None,
) -> Verified:
    """Check a write against the sheet as it is now; see the module doc. ``cache``: the
    cycle's column reads, the guard's key texts of ``fresh`` among them."""
    out = Verified()
    tabs = {c.tab for c in written.cells} | set(written.removed) | set(written.appended)
    if connector.atomic_writes or key is None or not tabs:
        return out
    where = {
        tab: KeyColumn(t.header_row, key, t.index_of(key))
        for tab in sorted(tabs)
        if (t := fresh.get(tab)) is not None
    }
    atomic = written.keys_after
    keys: Mapping[str, list[str] | None] = {}
    if atomic is not None and all(atomic.get(tab) is not None for tab in where):
        keys = atomic  # returned by the write call itself: no call, no later edit in it
        moved = _moved(keys, where, fresh, written, key, cache)
    elif written.removed or written.appended:
        keys = connector.read_keys(where)
        moved = _moved(keys, where, fresh, written, key, cache)
    else:  # cell writes alone: the keys of the rows written tell where each landed
        rows = {tab: {c.row for c in written.cells if c.tab == tab} for tab in where}
        found = connector.read_keys_at(where, rows)
        moved = _moved_at(found, where, fresh, written, key, cache)
    if not moved:
        return out
    out.incidents.append(
        f"rows of {', '.join(repr(t) for t in moved)} moved while syncer was writing (a person"
        " inserted, deleted or sorted rows); checked every write"
    )
    now = connector.read([TabRequest(tab, k.header_row) for tab, k in where.items()])
    out.now = now
    for tab in moved:
        table, current = fresh.get(tab), now.get(tab)
        if table is None or current is None or current.index_of(key) is None:
            continue
        _check_cells(out, tab, table, current, written, key)
    _check_removals(out, fresh, snapshot, now, written, key, keys)
    return out


def _moved(
    keys: Mapping[str, list[str] | None],
    where: Mapping[str, KeyColumn],
    fresh: Snapshot,
    written: Written,
    key: str,
    cache: TableCache | None,
) -> list[str]:
    """The tabs whose key column is not what syncer's own write should have left."""
    return [
        tab
        for tab in where
        if (table := fresh.get(tab)) is not None
        and keys.get(tab) is not None
        and _trimmed(keys[tab] or []) != expected_keys(table, tab, key, written, cache)
    ]


def _moved_at(
    keys: Mapping[str, dict[int, str] | None],
    where: Mapping[str, KeyColumn],
    fresh: Snapshot,
    written: Written,
    key: str,
    cache: TableCache | None,
) -> list[str]:
    """The tabs where a row syncer wrote into does not hold the key it should: after a
    write of cells alone, each cell landed on its customer exactly when the key at its
    row is the one the guard read there (or the one syncer assigned). A row moved
    elsewhere in the tab changes no cell syncer wrote and is not looked at."""
    out: list[str] = []
    for tab in where:
        table, found = fresh.get(tab), keys.get(tab)
        if table is None or found is None:
            continue
        expected = expected_keys(table, tab, key, written, cache)
        first = table.header_row + 1
        if any(
            k != (expected[r - first] if 0 <= r - first < len(expected) else "")
            for r, k in found.items()
        ):
            out.append(tab)
    return out


def _unique_rows(table: Table, key: str) -> dict[str, int]:
    where: dict[str, int] = {}
    twice: set[str] = set()
    for i, k in enumerate(_keys(table, key)):
        if k in where:
            twice.add(k)
        where[k] = i
    return {k: i for k, i in where.items() if k and k not in twice}


def _check_cells(
    out: Verified, tab: str, fresh: Table, now: Table, written: Written, key: str
) -> None:
    """Cells written into ``tab``: landed, missed (re-plan), or landed on another row
    (put back when provable)."""
    now_rows = _unique_rows(now, key)
    fresh_rows = _unique_rows(fresh, key)
    meant: dict[tuple[str, str], set[str]] = {}  # (column, value) → keys meant to get it
    cells = [c for c in written.cells if c.tab == tab and c.op.column != key]
    for cell in cells:
        k = _intended_key(cell, written, key)
        if k:
            meant.setdefault((cell.op.column, cell_text(cell.op.value)), set()).add(k)
    suspects: dict[tuple[str, str], list[WrittenCell]] = {}
    for cell in cells:
        column, value = cell.op.column, cell_text(cell.op.value)
        k = _intended_key(cell, written, key)
        landed = False
        if k and k in now_rows:
            there = cell_text(now.cell(now_rows[k], column))
            if there == value:
                landed = True
            elif there == cell_text(cell.op.before):
                out.misplaced.add(k)
                out.incidents.append(
                    f"{tab}!{column} of {k!r}: syncer's write did not land on its row; it is"
                    " written again next cycle"
                )
            else:
                landed = True  # a person edited it since: theirs wins
        if not landed:
            suspects.setdefault((column, value), []).append(cell)
    for (column, value), missed in suspects.items():
        ours = meant.get((column, value), set())
        for j, index in sorted(now_rows.items(), key=lambda item: item[1]):
            if j in ours or cell_text(now.cell(index, column)) != value:
                continue
            before_index = fresh_rows.get(j)
            if before_index is None or not fresh.known(before_index, column):
                out.incidents.append(
                    f"{tab}!{column} of {j!r} holds {value!r}, which syncer meant for"
                    f" {', '.join(repr(_intended_key(c, written, key)) for c in missed)};"
                    " its earlier value is unknown, so it was left as it is: please check it"
                )
                continue
            old = fresh.cell(before_index, column)
            if cell_text(old) == value:
                continue  # it held that value already: not our write
            out.repairs.append(
                SetCell(
                    tab,
                    RowRef(j, now.sheet_row(index)),
                    column,
                    old,
                    now.cell(index, column),
                    RULE,
                )
            )
            out.incidents.append(
                f"{tab}!{column} of {j!r}: syncer's write landed there by mistake; put back"
                f" {cell_text(old)!r} as read just before the write"
            )


def _check_removals(
    out: Verified,
    fresh: Snapshot,
    snapshot: Snapshot,
    now: Snapshot,
    written: Written,
    key: str,
    keys_after: Mapping[str, list[str] | None],
) -> None:
    """A removal that took the wrong row: put the lost customer back.

    Which rows the removals took is worked out from the key columns closest to the
    write (``keys_after``: returned by the write call itself when the connector can),
    not from the later whole read, which may hold more of people's edits."""
    everywhere = {
        k for t in now.tables.values() if t.index_of(key) is not None for k in _keys(t, key)
    }
    for tab, indexes in written.removed.items():
        table, current = fresh.get(tab), now.get(tab)
        if table is None or current is None:
            continue
        before = _keys(table, key)
        meant = {before[i] for i in indexes if i < len(before) and before[i]}
        after = keys_after.get(tab) or _keys(current, key)
        lost = [
            (i, k) for i, k in enumerate(before) if k and i not in indexes and k not in everywhere
        ]
        story = removal_hits(before, after, indexes)
        if story is not None:
            chosen = [(i, k) for i, k in lost if k in story.took]
        else:  # no explanation (a sort, or rows added and removed meanwhile)
            still = [k for k in meant if k in set(after)]
            chosen = _nearest(lost, still, before)[: len(still)]
        certain = story is not None and story.certain
        for index, k in chosen:
            row = _best_copy(k, index, table, snapshot.get(tab), key)
            if row is None:
                out.incidents.append(
                    f"customer {k!r} is missing from {tab!r} after syncer removed rows there"
                    " and no read holds its row: restore it from the latest backup"
                )
                continue
            out.repairs.append(AppendRow(tab, k, row, "removed by mistake", RULE))
            out.incidents.append(
                f"customer {k!r} was removed from {tab!r} in place of an archived row;"
                " appended it again"
                + (
                    ""
                    if certain
                    else " (a person may have deleted it at the same moment: if so, delete"
                    " it again)"
                )
            )


#: Work allowed (hypotheses × rows) when explaining which rows syncer's removals took.
MAX_WORK = 5_000_000


@dataclass(frozen=True)
class RemovalStory:
    """Which keys syncer's removals took: ``certain`` when one story alone explains the
    tab, else the keys any fitting story says they took (putting back every such
    customer loses nothing; guessing one of them could lose the other)."""

    took: frozenset[str]
    certain: bool


def removal_hits(before: list[str], after: list[str], removed: set[int]) -> RemovalStory | None:
    """Which keys syncer's row removals actually took (``None`` when no story fits).

    ``before`` is the key column the guard read, ``after`` the one read after the write,
    ``removed`` the data-row positions (of the guard read) syncer deleted. People may
    have deleted rows (a set P) and inserted new ones between the two reads; a removal
    at position r took whatever row was at r once P was gone and the new rows were in.
    Every P that leaves exactly the missing keys explained is tried (a removal past the
    last row took a blank row); a unique fit is certain, several give the union of what
    they took. A sort (keys out of their read order) or too many hypotheses: ``None``. A
    row inserted and taken between the two reads was never seen by any read; no
    explanation can include it."""
    if "" in after or "" in before:
        return None
    known = set(before)
    present = set(after)
    order = {k: i for i, k in enumerate(before)}
    kept = [order[k] for k in after if k in known]
    if kept != sorted(kept):
        return None  # rows were sorted: positions tell nothing
    gone = [k for k in before if k not in present]
    least = max(0, len(gone) - len(removed))
    stories = sum(comb(len(gone), size) for size in range(least, len(gone) + 1))
    if stories * max(1, len(before)) > MAX_WORK:
        return None
    fits: list[set[str]] = []
    for size in range(least, len(gone) + 1):
        for person in combinations(gone, size):
            layout = _layout_at_write(before, after, set(person), known)
            took = {layout[r] for r in removed if r < len(layout)}  # past the end: a blank row
            if took == set(gone) - set(person):
                fits.append(took)
    if not fits:
        return None
    return RemovalStory(frozenset().union(*fits), certain=len(fits) == 1)


def _layout_at_write(
    before: list[str], after: list[str], deleted: set[str], known: set[str]
) -> list[str]:
    """The key column at write time: the guard read without ``deleted``, with the rows
    new since (keys of ``after`` not in ``before``) where ``after`` shows them."""
    anchored: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for k in after:
        if k in known:
            anchor = k
        else:
            anchored.setdefault(anchor, []).append(k)
    layout = list(anchored.get(None, []))
    for k in before:
        if k not in deleted:
            layout.append(k)
        layout.extend(anchored.get(k, []))
    return layout


def _nearest(
    lost: list[tuple[int, str]], still: Iterable[str], before: list[str]
) -> list[tuple[int, str]]:
    """The lost rows closest to the rows syncer meant to remove, closest first."""
    anchors = [before.index(k) for k in still if k in before]
    if not anchors:
        return []
    return sorted(lost, key=lambda item: min(abs(item[0] - a) for a in anchors))


def _best_copy(
    k: str, index: int, fresh: Table, old: Table | None, key: str
) -> tuple[tuple[str, CellValue], ...] | None:
    """Customer ``k``'s row from the guard read when it holds the row, else from the
    cycle's read."""
    if all(fresh.known(index, c) for c in fresh.header if c):
        return tuple(fresh.row_dict(index).items())
    if old is not None:
        found = old.find_key(key, k)
        if found:
            return tuple(old.row_dict(found[0]).items())
    return None
