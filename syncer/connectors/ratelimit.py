"""A per-credential token bucket, shared by every ledger that uses the credential.

Google counts read and write requests per minute *per user* (a service account is one
user), so a daemon running many ledgers with one credential must pace them together.
:func:`limiter_for` hands out one :class:`RateLimiter` per credential identity; it is
thread-safe, and its clock and sleep are injectable so tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Bucket = Literal["read", "write"]


@dataclass
class TokenBucket:
    """``rate_per_minute`` tokens per minute, holding at most ``burst`` tokens.

    :meth:`reserve` takes one token and returns how long the caller must wait before
    using it (0 when one was available). Reservations are ordered, so concurrent callers
    queue fairly instead of all waking at once.
    """

    rate_per_minute: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.rate_per_minute <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._tokens = float(self.burst)
        self._updated = self.clock()

    def reserve(self) -> float:
        """Take a token; return the seconds to wait before the request may be sent."""
        with self._lock:
            now = self.clock()
            per_second = self.rate_per_minute / 60.0
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * per_second)
            self._updated = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / per_second

    @property
    def available(self) -> float:
        """Tokens available right now (negative when callers are queued)."""
        with self._lock:
            elapsed = self.clock() - self._updated
            return min(self.burst, self._tokens + elapsed * self.rate_per_minute / 60.0)


@dataclass
class RateLimiter:
    """Separate read and write buckets for one credential."""

    reads_per_minute: float = 55
    writes_per_minute: float = 55
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    waited: float = 0.0
    _buckets: dict[Bucket, TokenBucket] = field(init=False)

    def __post_init__(self) -> None:
        # A burst of a few requests lets one cycle (read, guard, two writes) go at once.
        self._buckets = {
            "read": TokenBucket(self.reads_per_minute, min(5.0, self.reads_per_minute), self.clock),
            "write": TokenBucket(
                self.writes_per_minute, min(5.0, self.writes_per_minute), self.clock
            ),
        }

    def acquire(self, bucket: Bucket) -> float:
        """Block until a request of kind ``bucket`` may be sent; return the wait."""
        wait = self._buckets[bucket].reserve()
        if wait > 0:
            self.waited += wait
            self.sleep(wait)
        return wait


_REGISTRY: dict[tuple[str, float, float], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(identity: str, reads_per_minute: float, writes_per_minute: float) -> RateLimiter:
    """The process-wide limiter of a credential (``identity``: client email or ``adc``).

    Every connector opened with the same credential and limits shares it.
    """
    key = (identity, float(reads_per_minute), float(writes_per_minute))
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = RateLimiter(reads_per_minute, writes_per_minute)
            _REGISTRY[key] = limiter
        return limiter
