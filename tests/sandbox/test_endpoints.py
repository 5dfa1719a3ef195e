"""The redirect adapter that points unmodified clients at the sandbox."""

from __future__ import annotations

import pytest
import requests

from syncer.connectors.google.endpoints import RedirectAdapter, redirect_session
from syncer.sandbox import SandboxServer


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://sheets.googleapis.com/v4/spreadsheets/x/values/A1?a=1",
         "http://127.0.0.1:9/v4/spreadsheets/x/values/A1?a=1"),
        ("https://www.googleapis.com/drive/v3/files/x?fields=version",
         "http://127.0.0.1:9/drive/v3/files/x?fields=version"),
        ("https://www.googleapis.com/upload/drive/v2/files/x",
         "http://127.0.0.1:9/upload/drive/v2/files/x"),
        ("https://oauth2.googleapis.com/token", "http://127.0.0.1:9/token"),
        ("https://example.com/other", "https://example.com/other"),
    ],
)
def test_rewrite_keeps_path_and_query(url: str, expected: str) -> None:
    """Google API URLs move to the base URL with path and query intact; others stay."""
    assert RedirectAdapter("http://127.0.0.1:9/").rewrite(url) == expected


def test_rejects_a_base_that_is_not_http() -> None:
    """A base URL without http(s) is refused with the setting to fix."""
    with pytest.raises(ValueError, match="SYNCER_GOOGLE_API_BASE"):
        RedirectAdapter("127.0.0.1:8765")


def test_redirected_session_reaches_the_sandbox(sandbox: SandboxServer) -> None:
    """A plain requests session with the adapter mounted talks to the sandbox."""
    session = requests.Session()
    redirect_session(session, sandbox.url)
    response = session.get("https://sheets.googleapis.com/v4/spreadsheets/nope", timeout=10)
    assert response.status_code == 401
    assert sandbox.request_log[-1].path == "/v4/spreadsheets/nope"
