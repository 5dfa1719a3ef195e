"""The daemon's HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` answers 200 while the process serves requests. ``/readyz`` answers 200 when
every ledger had a successful cycle within :data:`READY_INTERVALS` of its schedule's
interval (503 with the laggards otherwise). ``/metrics`` is the Prometheus exposition of
:mod:`syncer.metrics`. The server is the standard library's threading HTTP server on a
background thread; it does no other I/O.
"""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from syncer import metrics
from syncer.errors import SyncerError

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
                interval, known.last_success if known else None
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

    def not_ready(self) -> dict[str, str]:
        """Ledgers that are not ready, each with the reason (empty: ready)."""
        now = self._clock()
        problems: dict[str, str] = {}
        if not self.started:
            return {"*": "the daemon is starting"}
        with self._lock:
            for name, entry in sorted(self._ledgers.items()):
                if entry.last_success is None:
                    problems[name] = "no successful cycle yet"
                    continue
                age = now - entry.last_success
                if age > entry.interval * READY_INTERVALS:
                    problems[name] = (
                        f"last success {int(age.total_seconds())}s ago, more than "
                        f"{READY_INTERVALS} intervals of {int(entry.interval.total_seconds())}s"
                    )
        return problems

    def snapshot(self) -> Mapping[str, datetime | None]:
        """Each tracked ledger's last success (None when it has none yet)."""
        with self._lock:
            return {name: e.last_success for name, e in self._ledgers.items()}


def _handler_for(readiness: Readiness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "syncer"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
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

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silence per-request access logs (probes hit these every few seconds)."""

    return Handler


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on a background thread."""

    def __init__(self, host: str, port: int, readiness: Readiness) -> None:
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_for(readiness))
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
