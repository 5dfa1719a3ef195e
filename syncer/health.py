"""The daemon's HTTP endpoints: ``/healthz``, ``/readyz``, ``/metrics`` and the status page.

``/healthz`` answers 200 while the process serves requests. ``/readyz`` answers 200 when
every ledger had a successful cycle within :data:`READY_INTERVALS` of its schedule's
interval (503 with the laggards otherwise; a laggard whose last cycle failed has that
failure's time and error in its reason). ``/metrics`` is the Prometheus exposition of
:mod:`syncer.metrics`. ``/`` and ``/status`` serve the status page
(:mod:`syncer.status_page`) when one is given, behind its optional token or basic auth.
The server is the standard library's threading HTTP server on a background thread.
"""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import structlog

from syncer import metrics
from syncer.errors import SyncerError

if TYPE_CHECKING:
    from syncer.status_page import StatusPage

log = structlog.get_logger("syncer.health")

#: The status page loads nothing: inline styles and SVG only.
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"

#: A ledger is ready when its last success is younger than this many intervals.
READY_INTERVALS = 3


class PortInUse(SyncerError):
    """The health/metrics port is taken by another process."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"cannot serve /healthz and /metrics on {host}:{port}: the port is already in use "
            "(another syncer running?). Stop that process, or set SYNCER_HTTP_PORT to a free "
            "port (0 disables the server)."
        )


@dataclass
class _LedgerReadiness:
    interval: timedelta
    last_success: datetime | None = None
    #: the last cycle, when it failed after the last success: (finished, error)
    last_failure: tuple[datetime, str] | None = None


class Readiness:
    """Thread-safe record of each ledger's expected interval and last successful cycle."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._ledgers: dict[str, _LedgerReadiness] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        #: False until the daemon has scheduled its ledgers: nothing is ready before that.
        self.started = False

    def track(self, ledger: str, interval: timedelta) -> None:
        """Expect ``ledger`` to succeed about every ``interval`` (keeps its last success)."""
        with self._lock:
            known = self._ledgers.get(ledger)
            self._ledgers[ledger] = _LedgerReadiness(
                interval,
                known.last_success if known else None,
                known.last_failure if known else None,
            )

    def forget(self, ledger: str) -> None:
        """Stop expecting ``ledger`` (removed from the config)."""
        with self._lock:
            self._ledgers.pop(ledger, None)

    def succeeded(self, ledger: str, when: datetime) -> None:
        """Record a successful cycle of ``ledger`` finished at ``when``."""
        with self._lock:
            entry = self._ledgers.get(ledger)
            if entry is not None:
                entry.last_success = when
                if entry.last_failure is not None and entry.last_failure[0] <= when:
                    entry.last_failure = None

    def failed(self, ledger: str, when: datetime, error: str | None) -> None:
        """Record a failed cycle of ``ledger`` finished at ``when``: /readyz quotes
        ``error`` while the ledger is not ready, until a later success."""
        with self._lock:
            entry = self._ledgers.get(ledger)
            if entry is not None:
                entry.last_failure = (when, error or "no error message was recorded")

    def not_ready(self) -> dict[str, str]:
        """Ledgers that are not ready, each with the reason (empty: ready)."""
        now = self._clock()
        problems: dict[str, str] = {}
        if not self.started:
            return {"*": "the daemon is starting"}
        with self._lock:
            for name, entry in sorted(self._ledgers.items()):
                if entry.last_success is None:
                    reason = "no successful cycle yet"
                else:
                    age = now - entry.last_success
                    if age <= entry.interval * READY_INTERVALS:
                        continue
                    reason = (
                        f"last success {int(age.total_seconds())}s ago, more than "
                        f"{READY_INTERVALS} intervals of {int(entry.interval.total_seconds())}s"
                    )
                if entry.last_failure is not None:
                    when, error = entry.last_failure
                    reason += (
                        f"; last cycle failed at {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC:"
                        f" {error}"
                    )
                problems[name] = reason
        return problems

    def snapshot(self) -> Mapping[str, datetime | None]:
        """Each tracked ledger's last success (None when it has none yet)."""
        with self._lock:
            return {name: e.last_success for name, e in self._ledgers.items()}


def _handler_for(
    readiness: Readiness, status: StatusPage | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "syncer"

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path in ("/", "/status") and status is not None:
                self._status(parse_qs(query))
            elif path == "/healthz":
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
            elif path == "/readyz":
                problems = readiness.not_ready()
                body = json.dumps(
                    {"ready": not problems, "not_ready": problems}, ensure_ascii=False
                ).encode()
                self._send(503 if problems else 200, body + b"\n", "application/json")
            elif path == "/metrics":
                self._send(200, metrics.render(), metrics.CONTENT_TYPE)
            else:
                self._send(404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain")

        def _status(self, query: dict[str, list[str]]) -> None:
            assert status is not None
            if not status.auth.allows(dict(self.headers.items()), query):
                self.send_response(401)
                if status.auth.basic is not None:
                    self.send_header("WWW-Authenticate", 'Basic realm="syncer", charset="UTF-8"')
                body = b"unauthorized: give the status token or the basic-auth credentials\n"
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            try:
                page = status.render(self.headers.get("Accept-Language") or "en")
            except Exception as exc:  # the probes must keep working whatever the page does
                log.exception("health.status_page_failed", error=str(exc))
                self._send(500, b"the status page failed; see the log\n", "text/plain")
                return
            self._send(200, page, "text/html; charset=utf-8", private=True)

        def _send(self, code: int, body: bytes, content_type: str, private: bool = False) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            if private:
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Content-Security-Policy", _PAGE_POLICY)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silence per-request access logs (probes hit these every few seconds)."""

    return Handler


class HealthServer:
    """``/healthz``, ``/readyz``, ``/metrics`` (and the status page) on a background thread."""

    def __init__(
        self, host: str, port: int, readiness: Readiness, status: StatusPage | None = None
    ) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_for(readiness, status))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from exc
            raise SyncerError(
                f"cannot serve /healthz and /metrics on {host}:{port}: {exc.strerror}. "
                "Check SYNCER_HTTP_HOST and SYNCER_HTTP_PORT."
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncer-health", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0 in tests)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Start serving on the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
