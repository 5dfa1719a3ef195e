"""Work for the write done ahead, on a thread, while the guard read is on the wire.

Between the guard read and the write nothing but local work may pass (a person's edit in
that window is what the guard cannot see), and the longest piece of it was working out
the errors tab's requests: 0.1-0.2 s at 100k rows, with the syncer process idle during
the guard read just before. Those requests depend on the plan and the read alone — the
guard always keeps a :class:`~syncer.model.ReplaceTab` — so :class:`WriteAhead` starts
:func:`~syncer.connectors.google.builders.prepare_replacements` on a thread when the
guard read is sent, and the write takes its result (the thread runs while this one
waits on the socket, with the GIL released). :func:`build_writes` uses a prepared tab
only when the operation, the tab as read, the sheet id and the grid size are the ones
it was worked out for; otherwise it computes the requests as before. An exception in
the thread is raised by :meth:`WriteAhead.take`, in the write, as if computed there.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future

from syncer.connectors.google.builders import PreparedTab, SheetMeta, prepare_replacements
from syncer.model import Plan, ReplaceTab, Snapshot


class WriteAhead:
    """The prepared requests of the plan whose guard read was last sent."""

    def __init__(self) -> None:
        self._plan: Plan | None = None
        self._future: Future[dict[int, PreparedTab]] | None = None

    def start(self, plan: Plan, snapshot: Snapshot, meta: Mapping[str, SheetMeta]) -> None:
        """Work out ``plan``'s robot-owned tabs on a thread (once per plan: a guard read
        sent again for the same plan keeps the work already started)."""
        if plan is self._plan:
            return
        self._plan, self._future = plan, None
        if not any(isinstance(op, ReplaceTab) for op in plan):
            return
        future: Future[dict[int, PreparedTab]] = Future()
        ops, tabs = plan.ops, dict(meta)

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(prepare_replacements(ops, snapshot, tabs))
                except BaseException as exc:  # raised again by take(), in the write
                    future.set_exception(exc)

        threading.Thread(target=run, name="syncer-write-ahead", daemon=True).start()
        self._future = future

    def drop(self) -> None:
        """Forget the work (its write will not happen): a thread still running finishes
        on its own, and nothing holds its result."""
        self._plan, self._future = None, None

    def take(self) -> Mapping[int, PreparedTab]:
        """The prepared tabs (waiting for the thread), once; empty when none were started."""
        future, self._plan, self._future = self._future, None, None
        return future.result() if future is not None else {}
