"""The one retry policy of the library (tenacity underneath).

It retries only ``TransientError`` (rate limits, 5xx, timeouts), waits at least what the
channel asked for (``RateLimited.retry_after``) and otherwise backs off exponentially with
jitter. The store's transactions go through the same policy, tuned for races
(``RetryPolicy.for_store()``: only ``StoreRace``, short waits). The clock, the sleep and
the jitter are injectable so tests run instantly and deterministically. Adapters do not
retry on their own, and SDK-internal retries are off: this is the only place a call is
repeated.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from channelsync.core.errors import RateLimited, StoreRace, TransientError

__all__ = ["RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to repeat a call that failed transiently.

    Attributes:
        attempts: total tries, the first one included.
        base_delay: the first backoff in seconds; doubled each attempt.
        max_delay: the longest backoff between two tries (a longer ``retry_after`` wins).
        max_total: give up once this many seconds have been spent waiting.
        jitter: returns a factor in [0, 1) that spreads the backoff (``random.random``).
        sleep: how to wait (``time.sleep``); tests pass a fake.
        clock: a monotonic clock in seconds (``time.monotonic``).
        retry_on: the errors worth another try (``TransientError``).
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 300.0
    jitter: Callable[[], float] = field(default=random.random)
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)
    retry_on: tuple[type[BaseException], ...] = (TransientError,)

    def wait_for(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based) with ``error``."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            # At least what the channel asked for, plus a little spread between workers.
            return error.retry_after + self.jitter() * min(1.0, self.base_delay)
        backoff: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * (0.5 + 0.5 * self.jitter())

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return self.wait_for(state.attempt_number, error)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.log(
            logging.DEBUG if isinstance(error, StoreRace) else logging.INFO,
            "retrying after %s (attempt %d of %d, waiting %.2fs)",
            type(error).__name__,
            state.attempt_number,
            self.attempts,
            state.upcoming_sleep,
        )

    def retrying(self) -> tenacity.Retrying:
        """A ``tenacity.Retrying`` configured with this policy (its clock included)."""
        start = self.clock()

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.attempts:
                return True
            return self.clock() - start + (state.upcoming_sleep or 0.0) > self.max_total

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(self.retry_on),
            stop=stop,
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=self._before_sleep,
        )

    def call(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` and repeat it on ``TransientError`` as the policy says.

        The last error is re-raised unchanged when the policy gives up.
        """
        return self.retrying()(fn)

    @classmethod
    def for_store(cls, **overrides: object) -> RetryPolicy:
        """The policy of store transactions: repeat only a lost race (``StoreRace``).

        Eight tries, 10 ms doubling up to half a second: a race is settled by the time the
        winner commits.
        """
        settings: dict[str, object] = {
            "attempts": 8,
            "base_delay": 0.01,
            "max_delay": 0.5,
            "max_total": 30.0,
            "retry_on": (StoreRace,),
        }
        settings.update(overrides)
        return cls(**settings)  # type: ignore[arg-type]

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """A policy that tries once (for callers that schedule retries themselves)."""
        return cls(attempts=1)
