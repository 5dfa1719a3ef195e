"""The one retry policy: what is retried, how long it waits, and what it finally says."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.connectors.retry import (
    CallFailed,
    Failure,
    RetryPolicy,
    Target,
    kind_for_status,
    parse_retry_after,
)
from syncer.errors import ConnectorError, PermissionDenied, RetriesExhausted, SourceNotFound

from .fakes import FakeClock

TARGET = Target("sales", "sheet123", "robot@proj.iam.gserviceaccount.com")


def policy(clock: FakeClock, **kwargs: float) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def failing(failures: list[Failure], result: str = "ok") -> tuple[list[int], object]:
    calls = [0]

    def fn() -> str:
        calls[0] += 1
        if failures:
            raise CallFailed(failures.pop(0))
        return result

    return calls, fn


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retriable_statuses_are_retried_until_success(status: int) -> None:
    """A burst of 429/5xx answers is retried and the call finally succeeds."""
    clock = FakeClock()
    calls, fn = failing([Failure(kind_for_status(status), "busy", status)] * 3)
    assert policy(clock).call(fn, TARGET) == "ok"  # type: ignore[arg-type]
    assert calls[0] == 4
    assert len(clock.sleeps) == 3


def test_timeouts_and_dropped_connections_are_transient() -> None:
    """A timeout (no status) is retried like a 503."""
    clock = FakeClock()
    calls, fn = failing([Failure("transient", "ReadTimeout")])
    assert policy(clock).call(fn, TARGET) == "ok"  # type: ignore[arg-type]
    assert calls[0] == 2


def test_retry_after_is_honoured() -> None:
    """The wait is never shorter than the server's Retry-After."""
    clock = FakeClock()
    _, fn = failing([Failure("transient", "quota", 429, retry_after=30.0)])
    policy(clock, base=0.001).call(fn, TARGET)  # type: ignore[arg-type]
    assert clock.sleeps == [30.0]


def test_gives_up_after_max_attempts_naming_ledger_and_spreadsheet() -> None:
    """After max_attempts the error names the ledger and the spreadsheet."""
    clock = FakeClock()
    calls, fn = failing([Failure("transient", "backend error", 503)] * 10)
    with pytest.raises(RetriesExhausted) as err:
        policy(clock, max_attempts=4).call(fn, TARGET, what="values.batchGet")  # type: ignore[arg-type]
    assert calls[0] == 4
    assert "'sales'" in str(err.value)
    assert "sheet123" in str(err.value)
    assert "values.batchGet" in str(err.value)


def test_gives_up_when_elapsed_budget_would_be_exceeded() -> None:
    """A Retry-After longer than the elapsed budget ends the retries at once."""
    clock = FakeClock()
    calls, fn = failing([Failure("transient", "quota", 429, retry_after=600.0)] * 3)
    with pytest.raises(RetriesExhausted):
        policy(clock, max_elapsed=60).call(fn, TARGET)  # type: ignore[arg-type]
    assert calls[0] == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, PermissionDenied), (404, SourceNotFound), (400, ConnectorError)],
)
def test_permanent_failures_are_never_retried(status: int, error: type[Exception]) -> None:
    """403 (permission), 404 and 400 fail on the first attempt with a typed error."""
    clock = FakeClock()
    calls, fn = failing([Failure(kind_for_status(status, "PERMISSION_DENIED"), "no", status)] * 3)
    with pytest.raises(error):
        policy(clock).call(fn, TARGET)  # type: ignore[arg-type]
    assert calls[0] == 1
    assert clock.sleeps == []


def test_permission_error_says_whom_to_share_with() -> None:
    """The 403 message names the service account to share the spreadsheet with."""
    clock = FakeClock()
    _, fn = failing([Failure("permission", "The caller does not have permission", 403)])
    with pytest.raises(PermissionDenied) as err:
        policy(clock).call(fn, TARGET)  # type: ignore[arg-type]
    assert "robot@proj.iam.gserviceaccount.com as Editor" in str(err.value)


@pytest.mark.parametrize(
    ("failure", "attempts"),
    [
        (Failure("bad_request", "Request payload size exceeds the limit: 10485760 bytes.", 400), 1),
        (Failure("permission", "The caller does not have permission.", 403), 1),
        (Failure("transient", "Quota exceeded for quota metric 'Read requests'.", 429), 3),
    ],
)
def test_googles_final_period_is_not_doubled(failure: Failure, attempts: int) -> None:
    """A Google message ending with a period reads once in syncer's sentence around it
    ("… 10485760 bytes. This is …"), never "bytes.. This"."""
    clock = FakeClock()
    _, fn = failing([failure] * attempts)
    with pytest.raises(ConnectorError) as err:
        policy(clock, max_attempts=attempts).call(fn, TARGET)  # type: ignore[arg-type]
    text = str(err.value)
    assert failure.message.rstrip(".") + ". " in text
    assert ".." not in text


def test_quota_403_is_transient() -> None:
    """Only rate-limit 403s are retried; storage and daily quota 403s fail at once."""
    assert kind_for_status(403, "PERMISSION_DENIED rateLimitExceeded") == "transient"
    assert kind_for_status(403, "PERMISSION_DENIED") == "permission"
    assert kind_for_status(403, "usageLimits userRateLimitExceeded") == "transient"
    assert kind_for_status(403, "storageQuotaExceeded") == "permission"
    assert kind_for_status(403, "dailyLimitExceeded") == "permission"


def test_401_refreshes_the_token_once() -> None:
    """A 401 refreshes credentials once and retries; a second 401 is a permission error."""
    clock = FakeClock()
    refreshed: list[int] = []
    calls, fn = failing([Failure("auth", "expired", 401)])
    assert policy(clock).call(fn, TARGET, refresh=lambda: refreshed.append(1)) == "ok"  # type: ignore[arg-type]
    assert (calls[0], len(refreshed)) == (2, 1)

    calls, fn = failing([Failure("auth", "expired", 401)] * 3)
    with pytest.raises(PermissionDenied):
        policy(clock).call(fn, TARGET, refresh=lambda: refreshed.append(1))  # type: ignore[arg-type]
    assert (calls[0], len(refreshed)) == (2, 2)


@given(retry=st.integers(0, 30), seed=st.integers(0, 2**32), after=st.none() | st.floats(0, 500))
def test_backoff_is_jittered_under_the_cap(retry: int, seed: int, after: float | None) -> None:
    """Every wait is within [0, min(cap, base·2^n)], raised to Retry-After when given."""
    p = RetryPolicy(base=0.5, cap=20.0, rng=random.Random(seed))
    wait = p.backoff(retry, after)
    ceiling = min(20.0, 0.5 * 2**retry)
    if after is None:
        assert 0.0 <= wait <= ceiling
    else:
        assert max(after, 0.0) <= wait <= max(after, ceiling)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30.0), (" 2.5 ", 2.5), ("soon", None), (None, None), ("-1", None)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    """Retry-After in seconds is parsed; odd values are ignored."""
    assert parse_retry_after(header) == seconds
