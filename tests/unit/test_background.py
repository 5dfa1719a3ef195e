"""Work started on a thread (syncer.background): its result, or its exception, is what
the caller takes afterwards."""

from __future__ import annotations

import threading

import pytest

from syncer.background import in_background


def test_the_result_is_computed_on_another_thread() -> None:
    """The work runs on a named daemon thread, not the caller's, and its value is the
    future's result."""
    seen: list[threading.Thread] = []

    def work() -> int:
        seen.append(threading.current_thread())
        return 42

    assert in_background(work, "syncer-test").result(timeout=5) == 42
    assert seen[0] is not threading.current_thread()
    assert seen[0].name == "syncer-test"
    assert seen[0].daemon


def test_an_exception_is_raised_to_whoever_takes_the_result() -> None:
    """An error in the work is not lost on the thread: taking the result raises it."""

    def work() -> int:
        raise ValueError("not a finite number")

    future = in_background(work, "syncer-test")
    with pytest.raises(ValueError, match="not a finite number"):
        future.result(timeout=5)
