"""Sending notifications on a background thread: bounded queue, rate limits, retries.

Cycles hand messages to :meth:`Dispatcher.submit`, which never blocks and never raises:
when the queue is full the message is dropped, logged and counted. One worker thread
sends them in order of readiness. Before each send the destination's
:class:`RateLimiter` is asked for room (sliding windows, e.g. DingTalk's 20 a minute);
a message without room waits its turn without holding up other destinations. A send
that fails temporarily (a rate-limit answer, 5xx, network) is retried with exponential
backoff — at least as long as the service asked — up to ``max_attempts``; a permanent
refusal (wrong key or signature) is logged once and counted.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from syncer import metrics
from syncer.notify.config import rate_per_minute
from syncer.notify.message import Message
from syncer.notify.services import AnyDestination, Outcome, deliver

log = structlog.get_logger("syncer.notify")

#: Extra windows beyond the per-minute one: (messages, seconds).
BURST: dict[str, tuple[int, float]] = {"feishu": (5, 1.0), "slack": (1, 1.0)}


class RateLimiter:
    """At most ``count`` sends in any ``seconds`` window, for every window given."""

    def __init__(self, windows: list[tuple[int, float]]) -> None:
        self._windows = [(max(1, n), s) for n, s in windows]
        longest = max(n for n, _ in self._windows)
        self._sent: deque[float] = deque(maxlen=longest)

    @classmethod
    def for_destination(cls, destination: AnyDestination) -> RateLimiter:
        """The limiter of a destination: its per-minute rate and the service's burst."""
        windows = [(rate_per_minute(destination), 60.0)]
        if destination.kind in BURST:
            windows.append(BURST[destination.kind])
        return cls(windows)

    def wait(self, now: float) -> float:
        """Seconds until a send is allowed at ``now`` (0: go ahead)."""
        longest = 0.0
        sent = list(self._sent)
        for count, seconds in self._windows:
            recent = [t for t in sent if t > now - seconds]
            if len(recent) >= count:
                longest = max(longest, recent[-count] + seconds - now)
        return max(0.0, longest)

    def record(self, now: float) -> None:
        """Note one send at ``now``."""
        self._sent.append(now)


def limiter_key(destination: AnyDestination) -> str:
    """One limiter per robot or mailbox, shared by every ledger that sends to it.

    The key hashes where the destination sends (the webhook's value, variable or file;
    the SMTP server and sender), so no secret is kept in clear as a dictionary key.
    """
    if destination.kind == "email":
        where = f"{destination.smtp.host}:{destination.smtp.port}/{destination.from_}"
    else:
        hook = destination.webhook
        value = hook.value.get_secret_value() if hook.value is not None else ""
        where = f"{value}|{hook.env or ''}|{hook.file or ''}"
    digest = hashlib.sha256(f"{destination.kind}|{where}".encode()).hexdigest()[:16]
    return f"{destination.kind}:{digest}"


@dataclass(order=True)
class _Entry:
    ready: float
    seq: int
    job: Job = field(compare=False)


@dataclass
class Job:
    """One message for one destination."""

    destination: AnyDestination
    destination_id: str
    message: Message
    attempt: int = 0


class Dispatcher:
    """The background sender. ``start`` it once; ``stop`` ends the worker."""

    def __init__(
        self,
        *,
        max_queue: int = 500,
        max_attempts: int = 6,
        backoff_base: float = 5.0,
        backoff_cap: float = 900.0,
        send: Callable[[AnyDestination, Message], Outcome] = deliver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_queue = max_queue
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._send = send
        self._clock = clock
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._limiters: dict[str, RateLimiter] = {}
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="syncer-notify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; messages still queued are logged as dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            for entry in self._heap:
                self._dropped(entry.job, "the process is stopping")
            self._heap.clear()
            self._thread = None

    def submit(self, destination: AnyDestination, destination_id: str, message: Message) -> bool:
        """Queue ``message``; False (dropped, logged, counted) when the queue is full."""
        job = Job(destination, destination_id, message)
        with self._cond:
            if len(self._heap) >= self.max_queue:
                self._dropped(job, f"the queue is full ({self.max_queue} messages)")
                return False
            heapq.heappush(self._heap, _Entry(self._clock(), next(self._seq), job))
            self._cond.notify_all()
        return True

    def idle(self) -> bool:
        """True when nothing is queued or being sent."""
        with self._cond:
            return not self._heap and not self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Wait until :meth:`idle` (True) or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # --- the worker ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next()
                if job is None:
                    return
                self._busy = True
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next(self) -> Job | None:
        """The next job whose time has come and whose destination has room (lock held)."""
        while not self._stopping:
            now = self._clock()
            if not self._heap:
                self._cond.wait()
                continue
            entry = self._heap[0]
            if entry.ready > now:
                self._cond.wait(entry.ready - now)
                continue
            heapq.heappop(self._heap)
            limiter = self._limiter(entry.job)
            room = limiter.wait(now)
            if room > 0:
                heapq.heappush(self._heap, _Entry(now + room, entry.seq, entry.job))
                continue
            limiter.record(now)
            return entry.job
        return None

    def _limiter(self, job: Job) -> RateLimiter:
        key = limiter_key(job.destination)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = RateLimiter.for_destination(job.destination)
        return limiter

    def _attempt(self, job: Job) -> None:
        kind = job.destination.kind
        fields = {
            "ledger": job.message.ledger,
            "destination": job.destination_id,
            "kind": kind,
            "notify_event": job.message.event,
        }
        try:
            outcome = self._send(job.destination, job.message)
        except Exception as exc:  # a bug in a renderer must not kill the worker
            outcome = Outcome(False, detail=f"internal error {exc.__class__.__name__}")
            log.exception("notify.crashed", **fields)
        if outcome.ok:
            metrics.record_notify(kind, job.message.event, "sent")
            log.info("notify.sent", attempt=job.attempt + 1, **fields)
            return
        if outcome.retry and job.attempt + 1 < self.max_attempts:
            wait = min(self.backoff_cap, self.backoff_base * (2**job.attempt))
            if outcome.retry_after is not None:
                wait = max(wait, min(self.backoff_cap, outcome.retry_after))
            metrics.record_notify_retry(kind, outcome.rate_limited)
            log.warning(
                "notify.retrying",
                attempt=job.attempt + 1,
                wait_seconds=round(wait, 3),
                rate_limited=outcome.rate_limited,
                detail=outcome.detail,
                **fields,
            )
            job.attempt += 1
            with self._cond:
                heapq.heappush(self._heap, _Entry(self._clock() + wait, next(self._seq), job))
            return
        metrics.record_notify(kind, job.message.event, "failed")
        log.error(
            "notify.failed",
            attempts=job.attempt + 1,
            detail=outcome.detail,
            hint="check the destination's webhook, secret or SMTP settings (syncer notify test)",
            **fields,
        )

    def _dropped(self, job: Job, reason: str) -> None:
        metrics.record_notify(job.destination.kind, job.message.event, "dropped")
        log.error(
            "notify.dropped",
            ledger=job.message.ledger,
            destination=job.destination_id,
            notify_event=job.message.event,
            reason=reason,
        )
