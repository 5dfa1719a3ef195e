"""The request log tests assert on, and its JSON-lines file (``syncer sandbox --request-log``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Literal

Kind = Literal["read", "write", "token", "drive"]
Api = Literal["sheets", "drive", "oauth"]


@dataclass(frozen=True)
class LoggedRequest:
    """One API request the sandbox answered (or dropped: status 0)."""

    method: str
    path: str
    query: str
    kind: Kind
    api: Api
    user: str | None
    spreadsheet_id: str | None
    bytes_in: int
    bytes_out: int
    status: int


class JsonLinesLog:
    """A server hook appending each request to a file as one JSON object per line.

    Each line holds the :class:`LoggedRequest` fields plus ``time`` (ISO 8601, UTC, from
    ``clock``). Lines are flushed as they are written, so ``tail -f`` follows them; hooks
    run on the server's request threads, so writes are serialised here.
    """

    def __init__(self, path: str | os.PathLike[str], clock: Callable[[], float]) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path = target
        self._clock = clock
        self._lock = threading.Lock()
        self._file: IO[str] | None = target.open("a", encoding="utf-8")

    def __call__(self, entry: LoggedRequest) -> None:
        """Append one request."""
        moment = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        line = json.dumps(
            {"time": moment.isoformat(timespec="milliseconds"), **asdict(entry)},
            ensure_ascii=False,
        )
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        """Stop writing (later requests are not logged to the file)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
