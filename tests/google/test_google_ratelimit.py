"""The per-credential token bucket keeps many ledgers inside one quota."""

from __future__ import annotations

import threading

from syncer.connectors.ratelimit import RateLimiter, TokenBucket, limiter_for

from .fakes import FakeClock


def test_burst_then_paced() -> None:
    """The first ``burst`` requests go at once; the next waits one token's time."""
    clock = FakeClock()
    bucket = TokenBucket(rate_per_minute=60, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == 1.0
    assert bucket.reserve() == 2.0


def test_sixty_per_minute_is_never_exceeded() -> None:
    """Over any run, requests sent in the first minute stay within rate + burst."""
    clock = FakeClock()
    limiter = RateLimiter(reads_per_minute=60, writes_per_minute=60, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    for _ in range(200):
        limiter.acquire("write")
        sent.append(clock.now)
    in_first_minute = sum(1 for t in sent if t < 60.0)
    assert in_first_minute <= 60 + 5
    assert sent[-1] >= (200 - 5) - 1


def test_reads_and_writes_have_separate_buckets() -> None:
    """Exhausting writes does not delay reads."""
    clock = FakeClock()
    limiter = RateLimiter(reads_per_minute=10, writes_per_minute=10, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire("write")
    assert limiter.acquire("read") == 0.0
    assert limiter.acquire("write") > 0.0


def test_same_credential_shares_one_limiter() -> None:
    """Two ledgers with one service account share the bucket; another account does not."""
    a = limiter_for("robot@x", 55, 55)
    b = limiter_for("robot@x", 55, 55)
    c = limiter_for("other@x", 55, 55)
    assert a is b
    assert a is not c


def test_thread_safe_reservations() -> None:
    """Concurrent reservations hand out distinct slots: total wait equals the queue's."""
    clock = FakeClock()
    bucket = TokenBucket(rate_per_minute=60, burst=1, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        w = bucket.reserve()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [float(i) for i in range(20)]
