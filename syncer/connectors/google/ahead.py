"""Work for the write done ahead, on a thread, while the guard read is on the wire.

Between the guard read and the write nothing but local work may pass (a person's edit in
that window is what the guard cannot see), and at 100k rows the longest pieces of it
were working out the write's requests and encoding them: 0.3-0.4 s in a cycle archiving
5% of the rows, with the syncer process idle during the guard read just before. So
:class:`WriteAhead` starts that work on a thread when the guard read is sent, and the
write takes its result (the thread runs while this one waits on the socket, with the GIL
released). Two layers:

* **the errors tab** — its requests depend on the plan and the read alone (the guard
  always keeps a :class:`~syncer.model.ReplaceTab`):
  :func:`~syncer.connectors.google.builders.prepare_replacements`. :func:`build_writes`
  uses a prepared tab only when the operation, the tab as read, the sheet id and the grid
  size are the ones it was worked out for.
* **the whole write** — :func:`build_writes` for what the guard keeps when nothing
  changed since the read (:func:`~syncer.guard.kept_as_read`), encoded into its calls
  (:func:`~syncer.connectors.google.bodies.write_chunks`). :class:`PreparedBatch` is
  used only when all it was computed from is the same at the write: the very read, the
  sheet metadata, the guard's kept operations with their rows, the headers the guard
  read (:func:`header_layout`) and the call size. Both functions are pure, so equal
  inputs make the very calls. When the guard dropped an operation or found a row
  elsewhere, the write works its calls out itself (with the prepared errors tab).

An exception in the errors tab's work is raised by :meth:`WriteAhead.take`, in the write,
as if computed there; one in the speculative batch only leaves it unprepared (the write
computes the batch and meets the error itself if its operations still hold it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from syncer.background import in_background
from syncer.connectors.google.bodies import RequestChunk, write_chunks
from syncer.connectors.google.builders import (
    PreparedTab,
    SheetMeta,
    WriteBatch,
    build_writes,
    header_layout,
    prepare_replacements,
)
from syncer.guard import Resolved, kept_as_read
from syncer.model import Plan, Snapshot


@dataclass(frozen=True)
class PreparedBatch:
    """A write worked out ahead — its batch (without the requests) and its calls — with
    what it was worked out from."""

    snapshot: Snapshot
    meta: Mapping[str, SheetMeta]
    kept: tuple[Resolved, ...]
    layout: Mapping[str, tuple[int, tuple[str, ...]]]
    limit: int
    #: the batch, its requests dropped once encoded into ``chunks`` (millions of small
    #: objects at 100k rows, which would otherwise live on beside the guard read's answer)
    batch: WriteBatch
    chunks: list[RequestChunk]
    #: the deletions wait for the chunks (see :func:`write_chunks`)
    relocate: bool

    def fits(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        meta: Mapping[str, SheetMeta],
        snapshot: Snapshot,
        limit: int,
    ) -> bool:
        """True when these inputs make this very write (:func:`build_writes` then
        :func:`write_chunks` under ``limit``)."""
        return (
            snapshot is self.snapshot
            and limit == self.limit
            and len(kept) == len(self.kept)
            and all(
                a.op is b.op and a.index == b.index for a, b in zip(kept, self.kept, strict=True)
            )
            and meta == self.meta
            and header_layout(fresh, meta) == self.layout
        )


def prepare_batch(
    plan: Plan,
    snapshot: Snapshot,
    meta: Mapping[str, SheetMeta],
    guarded: Collection[str],
    replacements: Mapping[int, PreparedTab],
    limit: int,
) -> PreparedBatch | None:
    """The write for the guard keeping all of ``plan`` as read, when the guard read holds
    the tabs ``guarded`` as ``snapshot`` had them, in calls under ``limit`` bytes; None
    when the guard reads a tab the read did not have (one the plan created: its header
    is the guard read's alone), or the write would first have to create tabs."""
    if not snapshot.tables.keys() >= set(guarded):
        return None
    kept = tuple(kept_as_read(plan, snapshot))
    assumed = Snapshot({t: table for t, table in snapshot.tables.items() if t in guarded})
    batch = build_writes(kept, assumed, meta, snapshot, replacements)
    if batch.new_tabs:
        return None
    chunks, relocate = write_chunks(batch.requests, batch.removal_requests(), limit)
    layout = header_layout(assumed, meta)
    lean = replace(batch, requests=[])
    return PreparedBatch(snapshot, meta, kept, layout, limit, lean, chunks, relocate)


@dataclass(frozen=True)
class Prepared:
    """What a write takes from :class:`WriteAhead`."""

    #: the errors tab's requests, by ``id`` of their :class:`~syncer.model.ReplaceTab`
    replacements: Mapping[int, PreparedTab] = field(default_factory=dict)
    batch: PreparedBatch | None = None


class WriteAhead:
    """The prepared work of the plan whose guard read was last sent."""

    def __init__(self) -> None:
        self._plan: Plan | None = None
        self._future: Future[Prepared] | None = None
        #: writes that sent the batch prepared ahead (diagnostics and tests)
        self.batches_used = 0

    def start(
        self,
        plan: Plan,
        snapshot: Snapshot,
        meta: Mapping[str, SheetMeta],
        guarded: Collection[str],
        limit: int,
    ) -> None:
        """Work out ``plan``'s write on a thread, for a guard read of the tabs ``guarded``
        and calls under ``limit`` bytes (once per plan: a guard read sent again for the
        same plan keeps the work already started)."""
        if plan is self._plan:
            return
        self._plan, self._future = plan, None
        if not plan:
            return
        tabs, wanted = dict(meta), frozenset(guarded)

        def work() -> Prepared:
            # An error here is raised again by take(), in the write.
            replacements = prepare_replacements(plan.ops, snapshot, tabs)
            try:
                batch = prepare_batch(plan, snapshot, tabs, wanted, replacements, limit)
            except Exception:  # the write works it out and meets the error if it is real
                batch = None
            return Prepared(replacements, batch)

        self._future = in_background(work, "syncer-write-ahead")

    def drop(self) -> None:
        """Forget the work (its write will not happen): a thread still running finishes
        on its own, and nothing holds its result."""
        self._plan, self._future = None, None

    def take(self) -> Prepared:
        """The prepared work (waiting for the thread), once; empty when none was started."""
        future, self._plan, self._future = self._future, None, None
        return future.result() if future is not None else Prepared()
