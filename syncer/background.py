"""Work started on a thread while this one waits on the network.

A cycle's calls leave its thread idle for most of their time (the socket wait releases
the GIL). Work that only needs what is known before a call is started here before it and
taken after it: :func:`in_background` runs it on a daemon thread and hands back a
:class:`~concurrent.futures.Future` holding its result, or the exception it raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], name: str) -> Future[T]:
    """``work()`` on a new daemon thread named ``name``; its result (or exception) in the
    returned future. Nothing waits for the thread: a result no one takes is dropped."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
