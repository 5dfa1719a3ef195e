"""Send Google API requests to another base URL (a ``syncer sandbox``), path and query intact.

Unmodified gspread and google-auth talk to ``https://sheets.googleapis.com/`` and
``https://www.googleapis.com/`` (Drive, including ``/upload``), google-auth to
``https://oauth2.googleapis.com/`` and ``https://iamcredentials.googleapis.com/``; mounting
:class:`RedirectAdapter` on their ``requests.Session`` sends those requests to ``base_url``
instead. The production connector uses :func:`redirect_session` when
``SYNCER_GOOGLE_API_BASE`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

GOOGLE_API_PREFIXES = (
    "https://sheets.googleapis.com/",
    "https://www.googleapis.com/",
    "https://oauth2.googleapis.com/",
    # google-auth's background "regional access boundary" lookup for service accounts
    "https://iamcredentials.googleapis.com/",
)


class RedirectAdapter(HTTPAdapter):
    """An HTTPAdapter that rewrites Google API URLs onto ``base_url`` before sending."""

    def __init__(
        self, base_url: str, prefixes: tuple[str, ...] = GOOGLE_API_PREFIXES, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"google_api_base must be an http(s) URL, got {base_url!r}; "
                "set SYNCER_GOOGLE_API_BASE to the URL `syncer sandbox` prints"
            )
        self.base_url = base_url.rstrip("/") + "/"
        self.prefixes = prefixes

    def rewrite(self, url: str) -> str:
        """The URL a Google API URL is sent to (other URLs are unchanged)."""
        for prefix in self.prefixes:
            if url.startswith(prefix):
                return self.base_url + url[len(prefix) :]
        return url

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Rewrite the URL, then send as usual."""
        if request.url:
            request.url = self.rewrite(request.url)
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def redirect_session(session: requests.Session, base_url: str) -> None:
    """Mount a RedirectAdapter on ``session`` for every Google API host."""
    adapter = RedirectAdapter(base_url)
    for prefix in GOOGLE_API_PREFIXES:
        session.mount(prefix, adapter)
