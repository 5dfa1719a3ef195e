"""Fixtures for the Google connector tests: one sandbox for the session, a fresh
spreadsheet per test, and connectors that never sleep (fake clock in the retry policy)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncer.connectors.google import GoogleSheetsConnector
from syncer.connectors.google.auth import open_session
from syncer.connectors.ratelimit import RateLimiter
from syncer.connectors.retry import RetryPolicy
from syncer.ledger import LedgerConfig
from syncer.sandbox import SandboxServer
from syncer.sandbox.errors import MAX_REQUEST_BYTES

from .fakes import FakeClock

EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
OWNER = "owner@example.com"

LEDGER_DATA: dict[str, Any] = {
    "name": "t",
    "source": {"connector": "google", "spreadsheet": "placeholder"},
    "tabs": {"main": "Main", "history": "History", "errors": "Errors"},
    "key": "id",
    "locale": "en",
    "timezone": "UTC",
    "annotation_column": "note",
    "columns": {
        "id": {"type": "text", "unique": True},
        "name": {"type": "text", "required": True},
        "phone": {"type": "phone", "required": True},
        "status": {"type": "choice", "values": ["active", "paused", "lost"], "required": True},
        "comment": {"type": "text"},
        "changed": {"type": "datetime"},
    },
    "rules": [
        {"kind": "stamp_on_change", "watch": ["status"], "target": "changed"},
        {"kind": "archive", "when": {"column": "status", "op": "equals", "value": "lost"}},
    ],
}
HEADER = ["id", "name", "phone", "status", "comment", "changed", "note"]


def ledger_for(spreadsheet: str, **changes: Any) -> LedgerConfig:
    """The test ledger pointed at ``spreadsheet``."""
    data = {**LEDGER_DATA, **changes}
    data["source"] = {"connector": "google", "spreadsheet": spreadsheet}
    return LedgerConfig.model_validate(data)


def customer_rows(n: int, *, lost_every: int = 0, bad_every: int = 0) -> list[list[Any]]:
    """Header plus ``n`` customers; every ``lost_every``-th is lost, ``bad_every``-th
    has no phone (a finding)."""
    rows: list[list[Any]] = [list(HEADER)]
    for i in range(1, n + 1):
        status = "lost" if lost_every and i % lost_every == 0 else "active"
        phone: Any = None if bad_every and i % bad_every == 0 else 13800000000 + i
        rows.append([f"C{i:06d}", f"customer {i}", phone, status, f"call back {i}"])
    return rows


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One in-process sandbox for the whole session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture(scope="session")
def credentials(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key file whose token endpoint is the sandbox."""
    return sandbox.write_credentials(tmp_path_factory.mktemp("creds") / "sa.json", EMAIL)


@pytest.fixture
def clean_sandbox(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox with no faults, quotas, hooks, lowered request limit or log left by
    another test."""
    sandbox.faults.clear()
    sandbox.set_quotas(None)
    sandbox.clear_log()
    yield sandbox
    sandbox.faults.clear()
    sandbox.set_quotas(None)
    sandbox.max_request_bytes = MAX_REQUEST_BYTES
    for hook in list(sandbox.hooks):
        sandbox.remove_hook(hook)


MakeSheet = Callable[..., str]


@pytest.fixture
def make_sheet(clean_sandbox: SandboxServer) -> MakeSheet:
    """Create a spreadsheet with the given tabs, shared with the service account."""

    def make(tabs: dict[str, list[list[Any]]], *, share: bool = True) -> str:
        sid = clean_sandbox.create_spreadsheet("ledger", OWNER, tabs)
        if share:
            clean_sandbox.share(sid, EMAIL, "writer")
        return sid

    return make


MakeConnector = Callable[..., GoogleSheetsConnector]


@pytest.fixture
def make_connector(clean_sandbox: SandboxServer, credentials: Path) -> MakeConnector:
    """A connector on the sandbox whose retries and rate limiter never really sleep."""

    def make(
        spreadsheet: str,
        *,
        ledger: str = "t",
        key_column: str = "id",
        rate: int = 10_000,
        lock: bool = True,
    ) -> GoogleSheetsConnector:
        clock = FakeClock()
        auth = open_session(credentials, clean_sandbox.url)
        return GoogleSheetsConnector(
            spreadsheet,
            ledger=ledger,
            key_column=key_column,
            auth=auth,
            policy=RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(1)),
            limiter=RateLimiter(rate, rate, clock=clock, sleep=clock.sleep),
            lock_while_writing=lock,
        )

    return make
