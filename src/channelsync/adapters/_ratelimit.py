"""Client-side pacing: a thread-safe token bucket with an injectable clock.

Shopify's leaky bucket (points, restore rate), Amazon's per-operation buckets (rate and
burst) and eBay's call quotas all reduce to "wait until enough capacity is back". The
bucket can be re-synchronised from what the server reports (Shopify's
``throttleStatus``, Amazon's ``x-amzn-RateLimit-Limit``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; ``acquire(n)`` waits for n.

    Args:
        rate: tokens restored per second.
        capacity: the most tokens the bucket holds (the burst).
        clock: monotonic seconds (``time.monotonic``).
        sleep: how to wait (``time.sleep``).
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def available(self) -> float:
        """Tokens available now."""
        with self._lock:
            self._refill()
            return self._tokens

    def wait_time(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens are available (0 if they are now)."""
        with self._lock:
            self._refill()
            missing = min(amount, self.capacity) - self._tokens
            return max(0.0, missing / self.rate)

    def acquire(self, amount: float = 1.0) -> float:
        """Take ``amount`` tokens, waiting as long as needed; returns seconds waited.

        A request bigger than the whole bucket waits for a full bucket and takes it.
        """
        amount = min(amount, self.capacity)
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= amount:
                    self._tokens -= amount
                    self.waited += waited
                    return waited
                delay = (amount - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay

    def refund(self, amount: float) -> None:
        """Give back tokens taken for a request that cost less than estimated."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + amount)

    def sync(
        self, available: float, *, rate: float | None = None, capacity: float | None = None
    ) -> None:
        """Adopt what the server says: tokens available now, and its rate and capacity."""
        with self._lock:
            if rate is not None and rate > 0:
                self.rate = float(rate)
            if capacity is not None and capacity > 0:
                self.capacity = float(capacity)
            self._tokens = max(0.0, min(self.capacity, float(available)))
            self._stamp = self._clock()
