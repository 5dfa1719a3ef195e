"""Python's cyclic garbage collector paused around bulk work, and freed memory handed back
to the system after a cycle (the sandbox, which imports nothing of syncer, has its own
pause for the requests it applies).

A cycle of a large ledger allocates millions of small objects: decoded JSON bodies, the
typed rows of a read, the guard's fresh tables, plans. With the collector on, that
allocation triggers hundreds of young collections (each traversing every young
container, including lists of 100k rows being built) and a few full ones (each scanning
every live object): 1.3-2 s of a 100k-row cycle, more than its validation
(docs/benchmarks.md, "Incremental cycles"). Almost none of it is cyclic garbage;
reference counting frees it all the same.

Pauses nest and may overlap across threads (the daemon runs cycles in a thread pool): the
first pause disables the collector, the last one ending enables it again.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import threading
import time
from collections.abc import Callable, Iterator

#: A cycle ending while other cycles keep the collector paused runs a full collection
#: when it has been paused this long (so a daemon whose cycles always overlap still
#: collects the cyclic garbage that outlived a young collection).
FULL_COLLECTION_AFTER_S = 300.0

_lock = threading.Lock()
_holders = 0
_resume = False
_paused_at = 0.0


def _pause() -> None:
    global _holders, _resume, _paused_at
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            _paused_at = time.monotonic()
            gc.disable()
        _holders += 1


def _unpause() -> tuple[bool, bool]:
    """End one pause: (other pauses are still on, the collector was on before them)."""
    global _holders
    with _lock:
        _holders -= 1
        if _holders == 0 and _resume:
            gc.enable()
        return _holders > 0, _resume


def _restart_clock() -> None:
    global _paused_at
    with _lock:
        _paused_at = time.monotonic()


@contextlib.contextmanager
def gc_paused(active: bool = True) -> Iterator[None]:
    """The collector paused for the block (when ``active``): decoding a large answer and
    typing it."""
    if not active:
        yield
        return
    _pause()
    try:
        yield
    finally:
        _unpause()


@contextlib.contextmanager
def collector_paused_for_cycle() -> Iterator[None]:
    """The collector paused for a whole cycle, then one young collection: everything the
    cycle allocated is still young, so that collection frees whatever cyclic garbage the
    cycle left (and untracks the survivors that hold no containers). Nothing is collected
    when the collector had been switched off outside syncer. Then the memory the cycle
    freed is handed back to the system (:func:`release_free_memory`)."""
    _pause()
    try:
        yield
    finally:
        others, was_on = _unpause()
        if was_on and others and time.monotonic() - _paused_at > FULL_COLLECTION_AFTER_S:
            gc.collect()
            _restart_clock()
        elif was_on:
            gc.collect(0)
        release_free_memory()


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _find_malloc_trim()


def release_free_memory() -> bool:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``); False
    where the C library cannot.

    A cycle frees hundreds of megabytes at 100k rows (its read, the guard read, request
    bodies), but the C heap keeps the pages of the holes left between survivors, so the
    process's resident memory crept up cycle after cycle (from 530 to 670 MiB over four
    cycles; 570-590 MiB with the trim). Trimming takes a few milliseconds."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True
