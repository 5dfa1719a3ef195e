"""The collector pauses of syncer.gc_pause: nesting, threads, and the garbage they leave."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_engine import NOW, ledger, workbook

from syncer import gc_pause
from syncer.connectors.memory import MemoryConnector
from syncer.engine import run_cycle
from syncer.gc_pause import collector_paused_for_cycle, gc_paused, release_free_memory
from syncer.state import StateStore
from tests.staged import Staged


class Node:
    """A weak-referenceable object that can sit in a reference cycle."""

    other: Any = None


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that run meanwhile."""
    seen: list[int] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(callback)
    yield seen
    gc.callbacks.remove(callback)


def test_a_pause_keeps_a_disabled_collector_disabled() -> None:
    """gc_paused never turns on a collector someone else switched off."""
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_cycle_collects_nothing_when_the_collector_was_off(collections: list[int]) -> None:
    """A collector switched off outside syncer stays off through a cycle's pause, and the
    cycle's closing collection is skipped."""
    gc.disable()
    try:
        with collector_paused_for_cycle():
            pass
        assert not gc.isenabled()
        assert collections == []
    finally:
        gc.enable()


def test_an_inactive_pause_changes_nothing() -> None:
    """gc_paused(False) leaves the collector on."""
    with gc_paused(False):
        assert gc.isenabled()


def test_overlapping_pauses_in_threads_resume_after_the_last() -> None:
    """Two threads' pauses overlap: the first one ending leaves the collector paused for
    the other; the collector runs again when the last ends."""
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused_for_cycle():
        thread.start()
        assert entered.wait(5)
    assert not gc.isenabled()  # the other thread still holds its pause
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_cycle_pause_frees_the_cyclic_garbage_it_made(collections: list[int]) -> None:
    """Garbage in a reference cycle made during a cycle's pause is gone right after it,
    by a young collection (not a full one)."""
    with collector_paused_for_cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None  # only the collector frees a cycle
    assert ref() is None
    assert collections
    assert max(collections) == 0


def test_a_long_overlap_runs_a_full_collection(
    monkeypatch: pytest.MonkeyPatch, collections: list[int]
) -> None:
    """A cycle ending while another keeps the collector paused for longer than
    FULL_COLLECTION_AFTER_S runs a full collection."""
    monkeypatch.setattr(gc_pause, "FULL_COLLECTION_AFTER_S", 0.0)
    with gc_paused(), collector_paused_for_cycle():
        pass
    assert 2 in collections
    assert gc.isenabled()


def test_a_failing_cycle_still_resumes_the_collector() -> None:
    """An exception inside the pause does not leave the collector off."""
    with pytest.raises(RuntimeError), collector_paused_for_cycle():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_cycle_runs_with_the_collector_paused(tmp_path: Path) -> None:
    """run_cycle pauses the collector from its read to its write, and resumes it after."""
    seen: list[bool] = []
    conn = Staged(MemoryConnector(workbook()))
    for stage in ("read", "reread", "write"):
        conn.on(stage, lambda: seen.append(gc.isenabled()))
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert run_cycle(ledger(), conn, store, NOW).outcome == "ok"
    finally:
        store.close()
    assert seen == [False, False, False]
    assert gc.isenabled()


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(
    not Path("/proc/self/statm").exists(), reason="resident memory is read from /proc (Linux)"
)
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    """Memory freed between survivors on the C heap stays resident until
    release_free_memory hands it back (glibc, as in the image and on CI)."""
    blocks = [bytes(4000) for _ in range(60_000)]  # about 240 MiB of C-heap blocks
    kept = blocks[::50]  # survivors spread over the heap keep it from shrinking at the top
    del blocks
    before = _resident_mib()
    assert release_free_memory()
    assert _resident_mib() < before - 100
    assert len(kept) == 1200
