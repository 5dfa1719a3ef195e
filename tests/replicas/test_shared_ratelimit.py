"""The rate limiter shared through PostgreSQL: one bucket per credential for the fleet."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from syncer.connectors import ratelimit
from syncer.connectors.ratelimit import RateLimiter, SharedRateLimiter, SharedTokenBucket

#: Reserve tokens without sleeping and print the waits: what one replica would do.
_CHILD = """
import json, sys
from syncer.connectors import ratelimit
assert ratelimit.share_through(sys.argv[1])
limiter = ratelimit.limiter_for("fleet@example.iam", float(sys.argv[2]), float(sys.argv[2]))
limiter.sleep = lambda _s: None
print(json.dumps([limiter.acquire("read") for _ in range(int(sys.argv[3]))]))
"""


def test_three_processes_share_one_bucket(pg_url: str) -> None:
    """Three processes taking 20 read tokens each from one credential's bucket are
    handed the 60 successive slots of ONE bucket (burst 5, 6 a minute): the longest
    wait is about (60 - 5) / rate, three times what a bucket per process would give."""
    rate, each = 6.0, 20
    started = time.time()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, pg_url, str(rate), str(each)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    waits: list[float] = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        waits.extend(json.loads(out))
    elapsed = time.time() - started
    per_second = rate / 60
    refilled = elapsed * per_second  # tokens the bucket regained while the test ran
    total = 3 * each
    assert len(waits) == total
    assert sum(1 for w in waits if w == 0) <= 5 + refilled
    alone = (each - 5) / per_second  # the longest wait with a bucket per process
    assert max(waits) >= (total - 5 - refilled - 1) / per_second
    assert max(waits) > 2.5 * alone
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT credential, kind FROM rate_buckets")).all()
    engine.dispose()
    assert rows == [("fleet@example.iam", "read")]


def test_limiter_for_is_shared_only_on_postgresql(pg_url: str, tmp_path: object) -> None:
    """A SQLite state keeps the in-process limiter; a PostgreSQL one hands out shared
    limiters, and stopping the sharing goes back to in-process ones."""
    try:
        assert not ratelimit.share_through("sqlite:///x.db")
        assert type(ratelimit.limiter_for("a", 60, 60)) is RateLimiter
        assert ratelimit.share_through(pg_url)
        shared = ratelimit.limiter_for("a", 60, 60)
        assert isinstance(shared, SharedRateLimiter)
        assert ratelimit.limiter_for("a", 60, 60) is shared
        assert shared.acquire("write") == 0.0
    finally:
        ratelimit.stop_sharing()
    assert type(ratelimit.limiter_for("a", 60, 60)) is RateLimiter


def test_unreachable_database_falls_back_to_the_local_bucket() -> None:
    """When the database does not answer, a request is paced by the process's own
    bucket instead of failing."""
    engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    bucket = SharedTokenBucket(engine, "cred", "read", 60, 2)
    try:
        assert [bucket.reserve() for _ in range(2)] == [0.0, 0.0]
        assert bucket.reserve() > 0  # the local burst of 2 is spent
    finally:
        engine.dispose()
