"""A per-credential token bucket, shared by every ledger that uses the credential.

Google counts read and write requests per minute *per user* (a service account is one
user), so a daemon running many ledgers with one credential must pace them together.
:func:`limiter_for` hands out one :class:`RateLimiter` per credential identity; it is
thread-safe, and its clock and sleep are injectable so tests never wait.

Several replicas (``syncer worker``) share one quota too: after :func:`share_through`
with a PostgreSQL URL, :func:`limiter_for` hands out limiters whose buckets are rows of
the ``rate_buckets`` table, updated atomically by one statement on the database's clock
(:class:`SharedTokenBucket`), so N processes together stay under the per-minute quota.
If the database cannot be reached a request is paced by this process's own bucket
instead (logged), never failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

Bucket = Literal["read", "write"]

log = structlog.get_logger("syncer.ratelimit")


class Reserver(Protocol):
    """A token bucket: :meth:`reserve` takes a token and returns the seconds to wait."""

    def reserve(self) -> float: ...


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
    _buckets: dict[Bucket, Reserver] = field(init=False)

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


#: One statement takes a token from the shared bucket (creating it full on first use):
#: refill by the time elapsed on the database's clock, capped at the burst, minus one.
#: The row lock serialises concurrent takers, so reservations queue fleet-wide.
_TAKE = text(
    """
    INSERT INTO rate_buckets AS b (credential, kind, tokens, updated)
    VALUES (:credential, :kind, :burst - 1, EXTRACT(EPOCH FROM clock_timestamp())::float8)
    ON CONFLICT (credential, kind) DO UPDATE SET
      tokens = LEAST(
        :burst,
        b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp())::float8 - b.updated)
          * :per_second
      ) - 1,
      updated = GREATEST(b.updated, EXTRACT(EPOCH FROM clock_timestamp())::float8)
    RETURNING tokens
    """
)


class SharedTokenBucket:
    """A token bucket kept in the database, shared by every process that uses it.

    Same contract as :class:`TokenBucket`: :meth:`reserve` takes a token and returns how
    long to wait before using it. ``fallback`` paces requests while the database is down.
    """

    def __init__(
        self,
        engine: Engine,
        credential: str,
        kind: Bucket,
        rate_per_minute: float,
        burst: float,
        fallback: TokenBucket | None = None,
    ) -> None:
        if rate_per_minute <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.engine = engine
        self.credential = credential
        self.kind = kind
        self.rate_per_minute = float(rate_per_minute)
        self.burst = float(burst)
        self.fallback = fallback or TokenBucket(rate_per_minute, burst)

    def reserve(self) -> float:
        """Take a token from the shared bucket; return the seconds to wait."""
        per_second = self.rate_per_minute / 60.0
        try:
            with self.engine.begin() as conn:
                tokens = float(
                    conn.execute(
                        _TAKE,
                        {
                            "credential": self.credential,
                            "kind": self.kind,
                            "burst": self.burst,
                            "per_second": per_second,
                        },
                    ).scalar_one()
                )
        except SQLAlchemyError as exc:
            log.warning(
                "ratelimit.shared_unavailable",
                credential=self.credential,
                error=exc.__class__.__name__,
                note="paced by this process's own bucket until the database answers",
            )
            return self.fallback.reserve()
        return 0.0 if tokens >= 0 else -tokens / per_second


@dataclass
class SharedRateLimiter(RateLimiter):
    """A :class:`RateLimiter` whose read and write buckets live in the database."""

    engine: Engine | None = None
    credential: str = "adc"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.engine is None:
            raise ValueError("a shared rate limiter needs the database engine")
        rates: dict[Bucket, float] = {
            "read": self.reads_per_minute,
            "write": self.writes_per_minute,
        }
        self._buckets = {
            kind: SharedTokenBucket(
                self.engine, self.credential, kind, rate, min(5.0, rate), self._local(kind)
            )
            for kind, rate in rates.items()
        }

    def _local(self, kind: Bucket) -> TokenBucket:
        bucket = self._buckets[kind]
        assert isinstance(bucket, TokenBucket)
        return bucket


_REGISTRY: dict[tuple[str, float, float], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()
_SHARED: list[Engine] = []


def share_through(state_url: str) -> bool:
    """Share every credential's buckets through the state database when it is
    PostgreSQL (the replicas' database); return whether it does. Limiters handed out
    before are forgotten. A SQLite URL keeps the in-process buckets."""
    if make_url(state_url).get_backend_name() != "postgresql":
        return False
    engine = create_engine(state_url, pool_size=4, max_overflow=8, pool_pre_ping=True)
    with _REGISTRY_LOCK:
        for old in _SHARED:
            old.dispose()
        _SHARED[:] = [engine]
        _REGISTRY.clear()
    return True


def stop_sharing() -> None:
    """Back to in-process buckets (tests, and a worker shutting down)."""
    with _REGISTRY_LOCK:
        for old in _SHARED:
            old.dispose()
        _SHARED.clear()
        _REGISTRY.clear()


def limiter_for(identity: str, reads_per_minute: float, writes_per_minute: float) -> RateLimiter:
    """The process-wide limiter of a credential (``identity``: client email or ``adc``).

    Every connector opened with the same credential and limits shares it; after
    :func:`share_through`, so does every process on the same database.
    """
    key = (identity, float(reads_per_minute), float(writes_per_minute))
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            if _SHARED:
                limiter = SharedRateLimiter(
                    reads_per_minute, writes_per_minute, engine=_SHARED[0], credential=identity
                )
            else:
                limiter = RateLimiter(reads_per_minute, writes_per_minute)
            _REGISTRY[key] = limiter
        return limiter
