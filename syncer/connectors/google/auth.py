"""Google credentials and the HTTP session gspread uses.

Credentials come from a service-account JSON file (``SYNCER_CREDENTIALS_PATH``) or, when
none is set, Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
``gcloud auth application-default login``, workload identity) via ``google.auth.default``.
When ``SYNCER_GOOGLE_API_BASE`` is set (a local ``syncer sandbox``), the session's
requests to Google's hosts — Sheets, Drive and the OAuth2 token endpoint — go there
instead; nothing else differs between the sandbox and Google.

Credentials are never logged; only the client email is used in messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from syncer.errors import ConfigError, PermissionDenied

SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
)


@dataclass
class GoogleAuth:
    """Credentials plus the session that carries them.

    ``session`` is a ``google.auth.transport.requests.AuthorizedSession`` that does *not*
    refresh on 401 by itself (the retry policy refreshes once via :meth:`refresh`).
    ``identity`` names the credential for the rate limiter (its client email, or ``adc``).
    """

    credentials: Any
    session: requests.Session
    auth_request: Any
    client_email: str | None
    identity: str

    def refresh(self) -> None:
        """Fetch a new access token (after a 401)."""
        self.credentials.refresh(self.auth_request)


def _redirect(session: requests.Session, api_base: str | None) -> requests.Session:
    if api_base:
        from syncer.connectors.google.endpoints import redirect_session

        redirect_session(session, api_base)
    return session


def load_credentials(credentials_path: Path | None) -> tuple[Any, str | None]:
    """Service-account credentials from ``credentials_path``, else ADC, with our scopes.

    Returns the credentials and the service account's client email (None when unknown).
    """
    if credentials_path is not None:
        from google.oauth2 import service_account

        path = Path(credentials_path)
        if not path.is_file():
            raise ConfigError(
                f"{path}: credentials file not found (SYNCER_CREDENTIALS_PATH). Download the "
                "service account's JSON key, or unset the setting to use Application "
                "Default Credentials."
            )
        try:
            creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(path), scopes=list(SCOPES)
            )
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"{path}: not a service-account JSON key ({exc}). In the Google Cloud "
                "console: IAM → Service accounts → Keys → Add key → JSON."
            ) from exc
        return creds, str(creds.service_account_email)
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, _project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as exc:
        raise PermissionDenied(
            "no Google credentials: set SYNCER_CREDENTIALS_PATH to a service-account JSON "
            "key, or GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default "
            f"login` ({exc})"
        ) from exc
    email = getattr(creds, "service_account_email", None)
    return creds, (str(email) if email and email != "default" else None)


def open_session(credentials_path: Path | None, api_base: str | None) -> GoogleAuth:
    """Credentials and an authorized session, redirected to ``api_base`` when set."""
    from google.auth.transport.requests import AuthorizedSession, Request

    creds, email = load_credentials(credentials_path)
    token_session = _redirect(requests.Session(), api_base)
    auth_request = Request(token_session)
    session = AuthorizedSession(  # type: ignore[no-untyped-call]
        creds, refresh_status_codes=(), auth_request=auth_request
    )
    _redirect(session, api_base)
    return GoogleAuth(
        credentials=creds,
        session=session,
        auth_request=auth_request,
        client_email=email,
        identity=email or "adc",
    )
