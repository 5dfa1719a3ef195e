"""The sandbox HTTP server: lifecycle, faults, the request log and hooks around a
Werkzeug WSGI app on a threaded server.

:class:`SandboxServer` is a :class:`~syncer.sandbox.direct_state.DirectState` (the state
and the direct, no-HTTP test API) that also serves Sheets v4, Drive v3 and OAuth2 on
127.0.0.1. Each request: faults are decided (latency, a dropped connection or an injected
error status); an API body (not a media upload) over Google's 10 MiB limit gets Google's
400; otherwise :func:`~syncer.sandbox.handling.handle` answers it under the one lock, so
the sandbox behaves like a single consistent backend; then the request is logged and the
hooks run — after it is handled and before its response is sent, outside the lock, so a
hook may apply "human edits" through the direct-state methods.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from syncer.sandbox.direct_state import DEFAULT_SERVICE_ACCOUNT, DirectState
from syncer.sandbox.errors import MAX_REQUEST_BYTES, ApiError, payload_too_large
from syncer.sandbox.faults import FaultInjector, fault_message
from syncer.sandbox.handling import classify, gc_paused, handle
from syncer.sandbox.quotas import QuotaConfig, QuotaTracker
from syncer.sandbox.requestlog import Api, Kind, LoggedRequest
from syncer.sandbox.responses import json_response

log = structlog.get_logger("syncer.sandbox")
WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class _Handler(WSGIRequestHandler):
    """Quiet request handler that tracks open connections so stop() can close them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not print one line per request."""

    def setup(self) -> None:
        """Register the connection."""
        super().setup()
        registry: set[socket.socket] = getattr(self.server, "open_connections", set())
        registry.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        registry: set[socket.socket] = getattr(self.server, "open_connections", set())
        registry.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()


def _exempt(api: Api, path: str) -> bool:
    """Bodies the 10 MiB API limit does not apply to: the token endpoint's, and Drive's
    media uploads (``/upload/``: files up to 5 TB)."""
    return api == "oauth" or path.startswith("/upload/")


class SandboxServer(DirectState):
    """A local Google Sheets v4 / Drive v3 / OAuth2 server for tests and ``syncer sandbox``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quotas: QuotaConfig | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.host = host
        self.port = port
        self.url = ""
        self.quotas = QuotaTracker(quotas)
        self.faults = FaultInjector(seed)
        #: Inject a fault (see FaultInjector.inject): e.g. ``inject(503, on_request=2)``.
        self.inject = self.faults.inject
        self.request_log: list[LoggedRequest] = []
        #: Keep only the newest entries (None: all); the standalone command sets a limit.
        self.log_limit: int | None = None
        self.hooks: list[Callable[[LoggedRequest], None]] = []
        #: Exceptions raised by hooks (logged; the request still gets its response).
        self.hook_errors: list[Exception] = []
        self.drive_requests: dict[str, str] = {}  # drives.create requestId -> drive id
        #: Request bodies above this many bytes are refused like Google's front end does
        #: (400, nothing applied); tests lower it to reach the limit with small sheets.
        self.max_request_bytes = MAX_REQUEST_BYTES
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Start serving in a background thread; sets ``url``."""
        if self._server is not None:
            return self
        # Bind here so a busy port raises OSError (werkzeug itself would sys.exit).
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(128)
            server = make_server(
                self.host,
                self.port,
                self._wsgi,
                threaded=True,
                request_handler=_Handler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug serves on its own duplicate of the descriptor
        server.open_connections = set()  # type: ignore[attr-defined]
        self._server = server
        self.port = int(server.server_address[1])
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"syncer-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        for conn in list(getattr(server, "open_connections", ())):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``syncer sandbox`` command)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- quotas, tokens, log, hooks -----------------------------------------------------------

    def set_quotas(self, config: QuotaConfig | None) -> None:
        """Replace the quota configuration and reset the counters (None: off)."""
        with self._lock:
            self.quotas = QuotaTracker(config)

    def expire_tokens(self) -> int:
        """Expire every access token issued so far (clients must refresh); returns how many."""
        with self._lock:
            return self.auth.expire_all(self.now())

    def clear_log(self) -> None:
        """Forget logged requests."""
        with self._lock:
            self.request_log.clear()

    def add_hook(self, fn: Callable[[LoggedRequest], None]) -> None:
        """Call ``fn`` after each request is handled, before its response is sent."""
        with self._lock:
            self.hooks.append(fn)

    def remove_hook(self, fn: Callable[[LoggedRequest], None]) -> None:
        """Stop calling a hook."""
        with self._lock:
            self.hooks.remove(fn)

    # -- credentials --------------------------------------------------------------------

    def service_account(self, email: str = DEFAULT_SERVICE_ACCOUNT) -> dict[str, Any]:
        """A service-account key dict (real RSA key) whose token_uri is this sandbox.

        Each email is its own identity with its own key and its own per-user quota bucket.
        """
        if not self.url:
            raise RuntimeError("start the sandbox before asking for credentials (url unknown)")
        with self._lock:
            return self.auth.service_account_info(email, self.url)

    def write_credentials(
        self, path: str | os.PathLike[str], email: str = DEFAULT_SERVICE_ACCOUNT
    ) -> Path:
        """Write a service-account JSON file with owner-only (0600) permissions."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.service_account(email), fh, indent=2)
        os.chmod(target, 0o600)
        return target

    # -- HTTP -------------------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        api, kind = classify(request.method, request.path)
        with self._lock:
            decision = self.faults.decide(api)
        if decision.latency:
            time.sleep(decision.latency)
        user: str | None = None
        spreadsheet_id: str | None = None
        if decision.drop:
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._record(request, api, kind, None, None, len(body), 0, 0)
            return []
        if decision.status:
            message, status = fault_message(decision.status)
            response = json_response(
                ApiError(decision.status, message, status).body(), decision.status
            )
        elif len(body) > self.max_request_bytes and not _exempt(api, request.path):
            response = json_response(payload_too_large(self.max_request_bytes).body(), 400)
        else:
            with self._lock, gc_paused():
                response, user, spreadsheet_id = handle(self, request, body, api, kind)
        payload = response.get_data()
        self._record(
            request, api, kind, user, spreadsheet_id, len(body), len(payload), response.status_code
        )
        return response(environ, start_response)

    def _record(
        self,
        request: Request,
        api: Api,
        kind: Kind,
        user: str | None,
        spreadsheet_id: str | None,
        bytes_in: int,
        bytes_out: int,
        status: int,
    ) -> None:
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            kind=kind,
            api=api,
            user=user,
            spreadsheet_id=spreadsheet_id,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            status=status,
        )
        with self._lock:
            self.request_log.append(entry)
            if self.log_limit is not None and len(self.request_log) > self.log_limit:
                del self.request_log[: len(self.request_log) - self.log_limit]
            hooks = list(self.hooks)
        for hook in hooks:
            try:
                hook(entry)
            except Exception as exc:  # a broken hook must not break the server
                log.exception(
                    "sandbox.hook_failed", hook=repr(hook), method=entry.method, path=entry.path
                )
                with self._lock:
                    self.hook_errors.append(exc)


__all__ = ["DEFAULT_SERVICE_ACCOUNT", "SandboxServer"]
