"""One test wrapper for every connector: run an action between any two stages of a cycle.

The engine calls a connector through its interface only (change token, read, re-read,
write, key read), so wrapping any connector in :class:`Staged` lets a test act like a
person editing the source just before any of those calls — the same way for the memory,
xlsx and Google connectors. (On the Google connector, the sandbox's per-request hooks
reach further: between any two HTTP calls.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from syncer.connectors.base import Connector, KeyColumn, Progress, TabRequest
from syncer.guard import Resolved
from syncer.model import Dropped, Plan, Snapshot, Written

#: The stages a hook can run before.
STAGES = ("change_token", "read", "reread", "write", "read_keys", "settle_token")


class Staged(Connector):
    """``inner`` with hooks: :meth:`on` registers an action to run before a stage."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.atomic_writes = inner.atomic_writes
        self.hooks: dict[str, list[tuple[Callable[[], object], bool]]] = {}
        #: Stages in the order the engine called them.
        self.calls: list[str] = []

    def on(self, stage: str, action: Callable[[], object], *, once: bool = True) -> None:
        """Run ``action`` before the next call of ``stage`` (every call unless ``once``)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")
        self.hooks.setdefault(stage, []).append((action, once))

    def _before(self, stage: str) -> None:
        self.calls.append(stage)
        pending = self.hooks.get(stage, [])
        self.hooks[stage] = [(a, once) for a, once in pending if not once]
        for action, _once in pending:
            action()

    def describe(self) -> str:
        return self.inner.describe()

    def change_token(self) -> str | None:
        self._before("change_token")
        return self.inner.change_token()

    def read(self, tabs: Sequence[TabRequest]) -> Snapshot:
        self._before("read")
        return self.inner.read(tabs)

    def over_limits(self, plan: Plan, snapshot: Snapshot) -> list[Dropped]:
        return self.inner.over_limits(plan, snapshot)

    def reread(self, plan: Plan, snapshot: Snapshot) -> Snapshot:
        self._before("reread")
        return self.inner.reread(plan, snapshot)

    def write(
        self,
        kept: Sequence[Resolved],
        fresh: Snapshot,
        snapshot: Snapshot,
        progress: Progress | None = None,
    ) -> Written:
        self._before("write")
        return self.inner.write(kept, fresh, snapshot, progress)

    def read_keys(self, tabs: Mapping[str, KeyColumn]) -> dict[str, list[str] | None]:
        self._before("read_keys")
        return self.inner.read_keys(tabs)

    def read_keys_at(
        self, tabs: Mapping[str, KeyColumn], rows: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, str] | None]:
        self._before("read_keys")
        return self.inner.read_keys_at(tabs, rows)

    def write_calls(self) -> int:
        return self.inner.write_calls()

    def calls_made(self) -> int:
        return self.inner.calls_made()

    def settle_token(self, read_token: str | None, writes: int) -> str | None:
        self._before("settle_token")
        return self.inner.settle_token(read_token, writes)

    def close(self) -> None:
        self.inner.close()
