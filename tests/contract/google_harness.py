"""The Google connector in the contract suite, on an in-process Sheets sandbox.

One sandbox serves the whole test session (started on first use, stopped at exit); each
harness gets its own spreadsheet, shared with the service account as writer.
"""

from __future__ import annotations

import atexit
import random
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from syncer.a1 import column_letter
from syncer.connectors.google import GoogleSheetsConnector
from syncer.connectors.google.auth import open_session
from syncer.connectors.ratelimit import RateLimiter
from syncer.connectors.retry import RetryPolicy
from syncer.engine import apply_plan
from syncer.model import ApplyReport, CellValue, Plan, Snapshot
from syncer.sandbox import SandboxServer
from tests.staged import Staged

EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
_SERVER: dict[str, Any] = {}


def _sandbox() -> tuple[SandboxServer, Path]:
    if not _SERVER:
        server = SandboxServer().start()
        atexit.register(server.stop)
        creds = server.write_credentials(Path(tempfile.mkdtemp()) / "sa.json", EMAIL)
        _SERVER.update(server=server, creds=creds)
    return _SERVER["server"], _SERVER["creds"]


class GoogleHarness:
    """The Google connector on a fresh sandbox spreadsheet."""

    def __init__(self, tabs: Mapping[str, Sequence[Sequence[CellValue]]]) -> None:
        server, creds = _sandbox()
        self.server = server
        self.sid = server.create_spreadsheet(
            "contract",
            "owner@example.com",
            {t: [list(r) for r in rows] for t, rows in tabs.items()},
        )
        server.share(self.sid, EMAIL, "writer")
        no_sleep = lambda _s: None  # noqa: E731 - retries and pacing never wait in tests
        self.connector = GoogleSheetsConnector(
            self.sid,
            ledger="contract",
            key_column="客户编号",
            auth=open_session(creds, server.url),
            policy=RetryPolicy(sleep=no_sleep, rng=random.Random(0)),
            limiter=RateLimiter(10_000, 10_000, sleep=no_sleep),
        )
        self.staged = Staged(self.connector)

    def cells(self, tab: str) -> list[list[CellValue]]:
        rows = [list(r) for r in self.server.values(self.sid, tab)]
        for r in rows:
            while r and r[-1] in (None, ""):
                r.pop()
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def edit(self, tab: str, row: int, col: int, value: CellValue) -> None:
        self.server.set_values(self.sid, tab, f"{column_letter(col - 1)}{row}", [[value]])

    def insert_row(self, tab: str, row: int, values: Sequence[CellValue]) -> None:
        self.server.insert_rows(self.sid, tab, row)
        self.server.set_values(
            self.sid, tab, f"A{row}:{column_letter(len(values) - 1)}{row}", [list(values)]
        )

    def between_read_and_write(self, action: Callable[[], None]) -> None:
        self.staged.on("reread", action)

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyReport:
        return apply_plan(self.staged, plan, snapshot)


def google_harness(_tmp: Path, tabs: Mapping[str, Sequence[Sequence[CellValue]]]) -> GoogleHarness:
    """Factory for :data:`tests.contract.conftest.HARNESSES`."""
    return GoogleHarness(tabs)
