"""The one retry policy: only TransientError, at least retry_after, injectable clock."""

from __future__ import annotations

import pytest

import channelsync as cs


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock: Clock, **kw: object) -> cs.RetryPolicy:
    return cs.RetryPolicy(sleep=clock.sleep, clock=lambda: clock.now, jitter=lambda: 0.0, **kw)  # type: ignore[arg-type]


def flaky(errors: list[Exception], result: str = "ok") -> object:
    def call() -> str:
        if errors:
            raise errors.pop(0)
        return result

    return call


def test_retries_transient_errors_with_exponential_backoff() -> None:
    clock = Clock()
    fn = flaky([cs.Unavailable("503"), cs.Unavailable("503"), cs.Unavailable("timeout")])
    assert policy(clock, base_delay=1.0).call(fn) == "ok"  # type: ignore[arg-type]
    assert clock.sleeps == [0.5, 1.0, 2.0]  # base * 2**n, jitter factor 0.5 at jitter()=0


def test_waits_at_least_retry_after() -> None:
    clock = Clock()
    fn = flaky([cs.RateLimited("THROTTLED", retry_after=7.5)])
    assert policy(clock).call(fn) == "ok"  # type: ignore[arg-type]
    assert clock.sleeps == [7.5]


@pytest.mark.parametrize(
    "error", [cs.AuthError("bad token"), cs.Rejected("invalid"), ValueError("bug")]
)
def test_never_retries_anything_else(error: Exception) -> None:
    clock = Clock()
    fn = flaky([error])
    with pytest.raises(type(error)):
        policy(clock).call(fn)  # type: ignore[arg-type]
    assert clock.sleeps == []


def test_gives_up_after_attempts_with_the_last_error() -> None:
    clock = Clock()
    errors: list[Exception] = [cs.Unavailable(f"try {i}") for i in range(10)]
    with pytest.raises(cs.Unavailable, match="try 2"):
        policy(clock, attempts=3).call(flaky(errors))  # type: ignore[arg-type]
    assert len(clock.sleeps) == 2


def test_gives_up_when_the_time_budget_is_spent() -> None:
    clock = Clock()
    errors: list[Exception] = [cs.RateLimited("slow", retry_after=40) for _ in range(10)]
    with pytest.raises(cs.RateLimited):
        policy(clock, attempts=10, max_total=100).call(flaky(errors))  # type: ignore[arg-type]
    assert clock.sleeps == [40, 40]  # a third wait would pass the 100 s budget


def test_backoff_is_capped() -> None:
    p = cs.RetryPolicy(base_delay=1, max_delay=8, jitter=lambda: 0.999999)
    assert round(p.wait_for(10, cs.Unavailable("x")), 3) == 8.0
