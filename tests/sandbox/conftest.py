"""Fixtures: one sandbox server per session, and gspread clients authenticated against it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import gspread
import pytest
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.service_account import Credentials

from syncer.connectors.google.endpoints import redirect_session
from syncer.sandbox import SandboxServer

SCOPES = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
]
ROBOT = "syncer@sandbox.iam.gserviceaccount.com"
_counter = itertools.count()

ClientFactory = Callable[[str], gspread.Client]


def client_for(sandbox: SandboxServer, email: str = ROBOT) -> gspread.Client:
    """An unmodified gspread client using a sandbox-issued service-account key."""
    creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        sandbox.service_account(email), scopes=SCOPES
    )
    token_session = requests.Session()
    redirect_session(token_session, sandbox.url)
    session = AuthorizedSession(creds, auth_request=Request(token_session))
    redirect_session(session, sandbox.url)
    return gspread.Client(auth=creds, session=session)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox server shared by the session (quotas off)."""
    with SandboxServer(seed=7) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: SandboxServer) -> Iterator[None]:
    """Each test starts with no faults, no hooks and an empty request log."""
    yield
    sandbox.faults.clear()
    sandbox.hooks.clear()
    sandbox.clear_log()


@pytest.fixture(scope="session")
def gc(sandbox: SandboxServer) -> gspread.Client:
    """gspread client of the robot service account."""
    return client_for(sandbox)


@pytest.fixture(scope="session")
def make_client(sandbox: SandboxServer) -> ClientFactory:
    """Build gspread clients for other service accounts."""
    cache: dict[str, gspread.Client] = {}

    def make(email: str) -> gspread.Client:
        if email not in cache:
            cache[email] = client_for(sandbox, email)
        return cache[email]

    return make


@pytest.fixture
def title() -> str:
    """A unique spreadsheet title."""
    return f"Ledger {next(_counter)}"
