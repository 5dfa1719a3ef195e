"""The per-destination rate limiter (sliding windows), over arbitrary arrival times."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.notify.dispatch import RateLimiter


@settings(max_examples=200)
@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=80))
def test_rate_limiter_never_allows_more_than_its_windows(arrivals: list[float]) -> None:
    """Sending only when wait() says 0: never more than 20 in 60 s nor 5 in 1 s."""
    limiter = RateLimiter([(20, 60.0), (5, 1.0)])
    sent: list[float] = []
    for at in sorted(arrivals):
        now = at
        while (pause := limiter.wait(now)) > 0:
            now += pause
        limiter.record(now)
        sent.append(now)
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 60.0) <= 20
        assert sum(1 for t in sent[i:] if t < start + 1.0) <= 5
