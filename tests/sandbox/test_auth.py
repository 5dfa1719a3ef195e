"""OAuth2 like Google: the JWT-bearer exchange, bearer tokens, 401s."""

from __future__ import annotations

import time

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, exceptions, jwt
from google.auth.transport.requests import Request
from google.oauth2.service_account import Credentials

from syncer.sandbox import SandboxServer

from .conftest import SCOPES, client_for

GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token"


def _assertion(info: dict[str, str], **claims: object) -> str:
    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    payload: dict[str, object] = {
        "iss": info["client_email"],
        "scope": " ".join(SCOPES),
        "aud": GOOGLE_TOKEN_AUD,
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(claims)
    return jwt.encode(signer, payload).decode()


def _exchange(sandbox: SandboxServer, assertion: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
              "assertion": assertion},
        timeout=10,
    )


def test_google_auth_flow_issues_a_token(sandbox: SandboxServer) -> None:
    """google-auth's own service-account refresh gets an expiring bearer token."""
    creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        sandbox.service_account("flow@sandbox.iam.gserviceaccount.com"), scopes=SCOPES
    )
    creds.refresh(Request())
    assert creds.token.startswith("ya29.")
    assert creds.expiry is not None
    # google-auth may also look up allowedLocations in the background; not a token call.
    calls = [e for e in sandbox.request_log if not e.path.endswith("/allowedLocations")]
    assert [e.kind for e in calls] == ["token"]


def test_bad_signature_is_rejected(sandbox: SandboxServer) -> None:
    """An assertion signed with another key fails with invalid_grant, as Google answers."""
    info = dict(sandbox.service_account("sig@sandbox.iam.gserviceaccount.com"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=SCOPES)
    with pytest.raises(exceptions.RefreshError, match="Invalid JWT Signature"):
        creds.refresh(Request())


def test_expired_assertion_is_rejected(sandbox: SandboxServer) -> None:
    """An assertion whose exp has passed is refused with Google's timeframe message."""
    info = sandbox.service_account()
    past = int(time.time()) - 7200
    response = _exchange(sandbox, _assertion(info, iat=past, exp=past + 3600))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "iat and exp" in response.json()["error_description"]


def test_too_long_lived_assertion_is_rejected(sandbox: SandboxServer) -> None:
    """An assertion valid for more than an hour is refused."""
    now = int(time.time())
    response = _exchange(sandbox, _assertion(sandbox.service_account(), exp=now + 7200))
    assert response.status_code == 400
    assert "short-lived" in response.json()["error_description"]


def test_wrong_audience_is_rejected(sandbox: SandboxServer) -> None:
    """An assertion for another audience fails the audience check."""
    response = _exchange(sandbox, _assertion(sandbox.service_account(),
                                             aud="https://example.com/token"))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant",
                               "error_description": "Invalid JWT: Failed audience check."}


def test_unknown_grant_type_is_rejected(sandbox: SandboxServer) -> None:
    """Only the JWT-bearer grant is supported."""
    response = requests.post(f"{sandbox.url}/token", data={"grant_type": "password"},
                             timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
def test_api_without_valid_token_is_401(sandbox: SandboxServer,
                                        header: str | None) -> None:
    """Sheets and Drive calls without a valid bearer token get Google's 401 body."""
    headers = {"Authorization": header} if header else {}
    for path in ("/v4/spreadsheets/abc/values/A1", "/drive/v3/files/abc"):
        response = requests.get(sandbox.url + path, headers=headers, timeout=10)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["status"] == "UNAUTHENTICATED"
        assert error["code"] == 401
        expected = ("missing required authentication credential"
                    if header is None or not header.startswith("Bearer ")
                    else "invalid authentication credentials")
        assert expected in error["message"]


def test_expired_access_token_is_refreshed_by_google_auth() -> None:
    """After an access token expires the API answers 401 and google-auth refreshes it."""
    with SandboxServer(seed=3) as server:
        gc = client_for(server)
        sid = server.create_spreadsheet("t", "syncer@sandbox.iam.gserviceaccount.com",
                                        {"Sheet1": [["a"]]})
        assert gc.open_by_key(sid).sheet1.get_all_values() == [["a"]]
        server.advance_clock(3601)
        server.clear_log()
        # The JWT is signed with the real clock; shift the sandbox back for the exchange.
        server.add_hook(lambda entry: entry.status == 401 and server.advance_clock(-3601))
        assert gc.open_by_key(sid).sheet1.get_all_values() == [["a"]]
        statuses = [(e.kind, e.status) for e in server.request_log]
        assert statuses[0] == ("read", 401)
        assert ("token", 200) in statuses


def test_service_account_file_is_owner_only(sandbox: SandboxServer, tmp_path: object) -> None:
    """write_credentials writes a 0600 key file gspread can use as is."""
    from pathlib import Path

    path = sandbox.write_credentials(Path(str(tmp_path)) / "sa.json")
    assert path.stat().st_mode & 0o777 == 0o600
    creds = Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(path), scopes=SCOPES)
    assert creds.service_account_email == "syncer@sandbox.iam.gserviceaccount.com"
    assert isinstance(gspread.Client(auth=creds), gspread.Client)


def test_key_id_other_than_the_issued_one_is_refused(sandbox: SandboxServer) -> None:
    """A key file whose private_key_id is not the issued key id is refused with Google's
    invalid_grant answer, though the signature itself would verify."""
    info = dict(sandbox.service_account("kid@sandbox.iam.gserviceaccount.com"))
    info["private_key_id"] = "0" * 40
    creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=SCOPES)
    with pytest.raises(exceptions.RefreshError, match="Invalid JWT Signature"):
        creds.refresh(Request())
    refused = _exchange(sandbox, _assertion(info))
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    issued = sandbox.service_account("kid@sandbox.iam.gserviceaccount.com")
    assert _exchange(sandbox, _assertion(issued)).status_code == 200
