"""Request handling: one HTTP request in, one Google-shaped answer out.

:func:`classify` sorts a request into its API (sheets, drive, oauth) and kind (read, write,
token, drive). :func:`handle` answers it: the OAuth token endpoint, else the bearer token
is checked and the :mod:`~syncer.sandbox.router` finds the handler; every failure becomes
Google's JSON error (a sandbox bug answers 500 INTERNAL, never a traceback). Faults,
the request log and hooks are the server's business (``server.py``), around this.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Protocol

import structlog
from werkzeug.wrappers import Request, Response

from syncer.sandbox.a1 import A1Error
from syncer.sandbox.auth import AuthRegistry, TokenError
from syncer.sandbox.errors import ApiError, bad_request, not_found
from syncer.sandbox.requestlog import Api, Kind
from syncer.sandbox.responses import json_response
from syncer.sandbox.router import Backend, drive_route, sheets_route

log = structlog.get_logger("syncer.sandbox")


class AuthBackend(Backend, Protocol):
    """A backend that also issues and checks access tokens."""

    auth: AuthRegistry


def classify(method: str, path: str) -> tuple[Api, Kind]:
    """Which API a request belongs to and whether it counts as a read or a write."""
    if path.startswith("/drive/") or path.startswith("/upload/drive/"):
        return "drive", "drive"
    if path.startswith("/v4/"):
        if method in ("GET", "HEAD") or path.endswith(":batchGetByDataFilter"):
            return "sheets", "read"
        return "sheets", "write"
    return "oauth", "token"


def handle(
    backend: AuthBackend, request: Request, body: bytes, api: Api, kind: Kind
) -> tuple[Response, str | None, str | None]:
    """The answer to one request, with the caller's email and the spreadsheet it named.

    The caller holds the server's lock.
    """
    user: str | None = None
    sid: str | None = None
    try:
        if api == "oauth":
            return _oauth(backend, request, body), None, None
        user = backend.auth.user_for(request.headers.get("Authorization"), backend.now())
        params = request.args.to_dict(flat=False)
        if api == "drive":
            response, sid = drive_route(backend, request, body, user, params)
        else:
            response, sid = sheets_route(backend, request, body, user, kind, params)
        return response, user, sid
    except ApiError as exc:
        return json_response(exc.body(), exc.code), user, sid
    except (A1Error, ValueError, TypeError, KeyError) as exc:
        error = bad_request(f"Invalid request: {exc}")
        return json_response(error.body(), 400), user, sid
    except Exception:  # a sandbox bug must still answer like Google, not with a trace
        log.exception("sandbox.request_failed", method=request.method, path=request.path)
        error = ApiError(500, "Internal error encountered.", "INTERNAL")
        return json_response(error.body(), 500), user, sid


def _oauth(backend: AuthBackend, request: Request, body: bytes) -> Response:
    """The token endpoint, and google-auth's regional access boundary lookup."""
    if request.method == "GET" and request.path.endswith("/allowedLocations"):
        return json_response({"encodedLocations": "0x0", "locations": []}, 200)
    if request.method != "POST" or request.path != "/token":
        raise not_found()
    try:
        grant = backend.auth.exchange(body, f"{backend.url}/token", backend.now())
    except TokenError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(grant, 200)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a request is parsed and applied or
    answered.

    A read of a large tab renders a list per row, and a batch decodes into a few dicts per
    request: a small body can be thousands of requests (5,000 ``deleteDimension`` of an
    archive are 450 KB). That allocation otherwise triggers collections, now and then a
    full one that scans every stored sheet (0.2-0.3 s at 100,000 rows, at random points
    of whichever request allocates): time that belongs to the sandbox, not to the client
    it stands in for. Reference counting still frees everything, and collection resumes
    as the request is answered.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
