"""The HTTP client every gspread call of the Google connector goes through.

:class:`PolicyHTTPClient` is gspread's client with one :class:`RetryPolicy`, the
credential's :class:`RateLimiter`, call/byte counters and Prometheus metrics
(:func:`syncer.metrics.record_api_call` once per logical call,
:func:`~syncer.metrics.record_retry` per retry, :func:`~syncer.metrics.record_throttled`
per 429 answer). :func:`failure_of` is the retry policy's view of an exception.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import requests
import structlog
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from syncer import metrics
from syncer.connectors.ratelimit import Bucket, RateLimiter
from syncer.connectors.retry import (
    CallFailed,
    Failure,
    RetryPolicy,
    Target,
    kind_for_status,
    parse_retry_after,
)

log = structlog.get_logger("syncer.connectors.google")

#: Calls that only read, though some are POSTs (batchGetByDataFilter).
READ_CALLS = frozenset(
    {"values.batchGet", "values.batchGetByDataFilter", "values.get", "spreadsheets.get"}
)


def failure_of(exc: Exception) -> Failure:
    """The retry policy's view of a gspread / requests exception."""
    if isinstance(exc, APIError):
        error = exc.error if isinstance(exc.error, Mapping) else {}
        status = int(exc.response.status_code)
        reason = str(error.get("status") or "")
        for detail in error.get("errors") or []:
            if isinstance(detail, Mapping) and detail.get("reason"):
                reason += " " + str(detail["reason"])
        return Failure(
            kind=kind_for_status(status, reason),
            message=str(error.get("message") or exc),
            status=status,
            retry_after=parse_retry_after(exc.response.headers.get("Retry-After")),
            reason=reason.strip() or None,
        )
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return Failure(kind="transient", message=f"{type(exc).__name__}: {exc}")
    return Failure(kind="other", message=str(exc))


class PolicyHTTPClient(HTTPClient):
    """gspread's HTTP client with syncer's retry policy, rate limiter and call counts."""

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.policy = RetryPolicy()
        self.limiter: RateLimiter | None = None
        self.target = Target()
        self.refresh_token: Any = None
        self.calls: Counter[str] = Counter()
        #: Wall seconds spent waiting on each kind of call (answers included).
        self.seconds: dict[str, float] = defaultdict(float)
        self.attempts = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        #: Rate-limiter tokens taken ahead of their call (see :meth:`prepay_write`).
        self.prepaid: Counter[Bucket] = Counter()
        self._single_attempt = False

    def prepay_write(self, calls: int = 1) -> None:
        """Take the rate-limiter tokens of the next ``calls`` write calls now, so they
        never wait for one: a guarded write goes out right after its guard read (or its
        write lock)."""
        while self.limiter is not None and self.prepaid["write"] < calls:
            self.limiter.acquire("write")
            self.prepaid["write"] += 1

    @contextmanager
    def single_attempt(self) -> Iterator[None]:
        """Calls inside make one attempt (plus a token refresh): a temporary failure is
        raised at once, for a caller that must not repeat a stale write after waiting."""
        self._single_attempt = True
        try:
            yield
        finally:
            self._single_attempt = False

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: bytes | None = None,
        json: Any = None,
        files: Any = None,
        headers: Any = None,
    ) -> requests.Response:
        """One logical API call: rate-limited, retried under the policy, counted."""
        what = call_name(method, endpoint)
        kind = metric_kind(what)
        ledger = self.target.ledger
        self.calls[what] += 1
        metrics.record_api_call(ledger, kind)

        def attempt() -> requests.Response:
            if self.limiter is not None and kind != "drive" and kind != "export":
                bucket: Bucket = "read" if what in READ_CALLS else "write"
                if self.prepaid[bucket]:
                    self.prepaid[bucket] -= 1
                else:
                    self.limiter.acquire(bucket)
            self.attempts += 1
            try:
                response: requests.Response = super(PolicyHTTPClient, self).request(
                    method,
                    endpoint,
                    params=params,
                    data=data,
                    json=json,
                    files=files,
                    headers=headers,
                )
            except (APIError, requests.Timeout, requests.ConnectionError) as exc:
                failure = failure_of(exc)
                if failure.status == 429:
                    metrics.record_throttled(ledger, kind)
                raise CallFailed(failure) from exc
            self.bytes_sent += len(response.request.body or b"") + len(response.request.url or "")
            self.bytes_received += len(response.content)
            return response

        def on_retry(failure: Failure, wait: float) -> None:
            metrics.record_retry(ledger, kind)
            log.warning(
                "api.retry",
                call=what,
                target=self.target.describe(),
                status=failure.status or "no response",
                error=failure.message,
                wait_seconds=round(wait, 1),
            )

        started = time.perf_counter()
        policy = replace(self.policy, max_attempts=1) if self._single_attempt else self.policy
        try:
            return policy.call(
                attempt, self.target, what=what, refresh=self.refresh_token, on_retry=on_retry
            )
        finally:
            self.seconds[what] += time.perf_counter() - started


def call_name(method: str, endpoint: str) -> str:
    """``values.batchGet`` / ``spreadsheets.batchUpdate`` / ``drive.files.get`` …"""
    path = endpoint.split("?")[0]
    if "/drive/" in path:
        return "drive.files.export" if path.endswith("/export") else "drive.files.get"
    if ":batchUpdate" in path:
        return "values.batchUpdate" if "/values:" in path else "spreadsheets.batchUpdate"
    if "values:batchGetByDataFilter" in path:
        return "values.batchGetByDataFilter"
    if "values:batchGet" in path:
        return "values.batchGet"
    if "/values/" in path:
        return f"values.{method.lower()}"
    return "spreadsheets.get" if method.lower() == "get" else f"spreadsheets.{method.lower()}"


def metric_kind(what: str) -> str:
    """The ``kind`` label of a call in the metrics: read, write, metadata, drive, export."""
    if what.startswith("drive."):
        return "export" if what == "drive.files.export" else "drive"
    if what == "spreadsheets.get":
        return "metadata"
    return "read" if what in READ_CALLS else "write"
