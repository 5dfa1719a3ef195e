"""The one retry policy every Google call goes through.

Temporary failures — HTTP 429, 500, 502, 503, 504, timeouts and dropped connections —
are retried with exponential backoff and *full jitter* (a random wait between 0 and the
current backoff), never shorter than a server's ``Retry-After``, each wait capped, until
``max_attempts`` or ``max_elapsed`` seconds; then :class:`~syncer.errors.RetriesExhausted`
names the ledger and spreadsheet. A 401 refreshes the credentials once and retries.
Permission 403, 404 and 400 are never retried: they raise
:class:`~syncer.errors.PermissionDenied` / :class:`~syncer.errors.SourceNotFound` /
:class:`~syncer.errors.ConnectorError` with what to do next.

The policy only sees :class:`Failure` values: adapters (for gspread, see
:func:`syncer.connectors.google.failure_of`) turn their library's exceptions into one.
Clock, sleep and randomness are injected so tests never sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from syncer.errors import (
    ConnectorError,
    PermissionDenied,
    RetriesExhausted,
    SourceNotFound,
)

T = TypeVar("T")

FailureKind = Literal["transient", "auth", "permission", "not_found", "bad_request", "other"]

RETRIABLE_STATUS: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Failure:
    """A failed call, as the policy sees it.

    ``status`` is the HTTP status (None for a timeout or dropped connection);
    ``retry_after`` the server's ``Retry-After`` in seconds, when it sent one.
    """

    kind: FailureKind
    message: str
    status: int | None = None
    retry_after: float | None = None
    #: Google's ``error.status`` / reason (e.g. ``RATE_LIMIT_EXCEEDED``), for logs.
    reason: str | None = None

    @property
    def said(self) -> str:
        """The message to quote inside a sentence: without Google's final period."""
        return self.message.rstrip(".")


def kind_for_status(status: int, reason: str | None = None) -> FailureKind:
    """How the policy treats an HTTP status.

    A 403 whose reason is a per-minute rate limit (Google answers some of those with 403:
    ``rateLimitExceeded``, ``userRateLimitExceeded``, ``RESOURCE_EXHAUSTED``) is transient.
    Any other 403 is permanent — including ``storageQuotaExceeded`` and
    ``dailyLimitExceeded``, which no retry within minutes can fix.
    """
    if status in RETRIABLE_STATUS:
        return "transient"
    if status == 401:
        return "auth"
    if status == 403:
        text = (reason or "").lower()
        if "ratelimitexceeded" in text or "resource_exhausted" in text:
            return "transient"
        return "permission"
    if status == 404:
        return "not_found"
    if status == 400:
        return "bad_request"
    return "other"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form); None when absent/odd."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class Target:
    """What a call is about, for error messages: the ledger, spreadsheet and account."""

    ledger: str = "?"
    spreadsheet: str = "?"
    client_email: str | None = None

    def describe(self) -> str:
        """``ledger 'sales' (spreadsheet 1AbC…)``."""
        return f"ledger {self.ledger!r} (spreadsheet {self.spreadsheet})"


class CallFailed(Exception):
    """Raised by an adapter's call wrapper to hand a :class:`Failure` to the policy."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class RetryStats:
    """What the policy did, for tests, metrics and the apply report."""

    attempts: int = 0
    retries: int = 0
    refreshes: int = 0
    waited: float = 0.0
    waits: list[float] = field(default_factory=list)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, Retry-After, a cap, attempt and time limits.

    ``sleep``/``clock``/``rng`` are injectable; defaults are the real ones.
    """

    base: float = 1.0
    multiplier: float = 2.0
    cap: float = 64.0
    max_attempts: int = 7
    max_elapsed: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    stats: RetryStats = field(default_factory=RetryStats)

    def backoff(self, retry: int, retry_after: float | None) -> float:
        """The wait before retry number ``retry`` (0-based): full jitter over the
        exponential ceiling, never less than ``retry_after``, never more than ``cap``
        (unless the server asked for longer)."""
        ceiling = min(self.cap, self.base * self.multiplier**retry)
        wait = self.rng.uniform(0.0, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def call(
        self,
        fn: Callable[[], T],
        target: Target,
        *,
        what: str = "call",
        refresh: Callable[[], None] | None = None,
        on_retry: Callable[[Failure, float], None] | None = None,
    ) -> T:
        """Run ``fn`` under the policy. ``fn`` raises :class:`CallFailed` on failure."""
        started = self.clock()
        retries = 0
        refreshed = False
        while True:
            self.stats.attempts += 1
            try:
                return fn()
            except CallFailed as exc:
                failure = exc.failure
            if failure.kind == "auth" and refresh is not None and not refreshed:
                refreshed = True
                self.stats.refreshes += 1
                refresh()
                continue
            if failure.kind != "transient":
                raise final_error(failure, target, what) from CallFailed(failure)
            wait = self.backoff(retries, failure.retry_after)
            elapsed = self.clock() - started
            if retries + 1 >= self.max_attempts or elapsed + wait > self.max_elapsed:
                raise RetriesExhausted(
                    f"{what} for {target.describe()} still failing after {retries + 1} "
                    f"attempt(s) over {elapsed:.0f}s: {failure.said}. Google may be "
                    "overloaded or the quota used up; syncer will try again next cycle "
                    "(lower the number of ledgers or raise their schedule interval if "
                    "this repeats).",
                    retry_after=failure.retry_after,
                )
            if on_retry is not None:
                on_retry(failure, wait)
            self.sleep(wait)
            self.stats.retries += 1
            self.stats.waited += wait
            self.stats.waits.append(wait)
            retries += 1


def final_error(failure: Failure, target: Target, what: str) -> ConnectorError:
    """The exception for a failure that is never retried, with the next step."""
    where = target.describe()
    if failure.kind == "permission" or failure.kind == "auth":
        who = target.client_email or "the service account syncer runs as"
        return PermissionDenied(
            f"{what} for {where} was refused ({failure.status}): {failure.said}. "
            f"Share the spreadsheet with {who} as Editor, and check the credentials "
            "(SYNCER_CREDENTIALS_PATH or Application Default Credentials)."
        )
    if failure.kind == "not_found":
        who = target.client_email or "the service account syncer runs as"
        return SourceNotFound(
            f"{what} for {where}: not found ({failure.message}). Check `source.spreadsheet` "
            "in the ledger file (an id or the spreadsheet's URL) and that the tab exists; "
            f"Drive also answers 'not found' until the spreadsheet is shared with {who} "
            "as Editor."
        )
    if failure.kind == "bad_request":
        return ConnectorError(
            f"{what} for {where} was rejected as invalid (400): {failure.said}. "
            "This is a syncer bug or an unsupported sheet layout; please report it with "
            "the log of this cycle."
        )
    return ConnectorError(f"{what} for {where} failed ({failure.status}): {failure.message}")
