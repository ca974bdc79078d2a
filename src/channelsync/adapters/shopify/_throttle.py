"""Pacing by Shopify's calculated query cost.

Wraps the shared ``TokenBucket``: before a request it waits until the local bucket holds
the request's expected cost; after every response it adopts what Shopify reported in
``extensions.cost.throttleStatus`` (``currentlyAvailable``, ``restoreRate``,
``maximumAvailable``), so the local bucket follows the shop's real one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from channelsync.adapters._ratelimit import TokenBucket
from channelsync.adapters.shopify.payloads import CostExtension

__all__ = ["CostThrottle", "retry_after"]

#: Assumed before the first response (the Standard plan, the smallest); every answer then
#: replaces these with what the shop reports.
DEFAULT_RATE = 100.0
DEFAULT_BUCKET = 2_000.0


def retry_after(cost: CostExtension | None) -> float | None:
    """Seconds until a throttled request's cost is restored: (requested - available) / rate."""
    if cost is None or cost.throttle_status is None or cost.requested_query_cost is None:
        return None
    status = cost.throttle_status
    if status.restore_rate <= 0:
        return None
    missing = cost.requested_query_cost - status.currently_available
    return max(0.0, missing / status.restore_rate)


class CostThrottle:
    """The local image of one shop's leaky bucket, shared by one channel's requests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bucket = TokenBucket(DEFAULT_RATE, DEFAULT_BUCKET, clock=clock, sleep=sleep)
        self._learned: dict[str, float] = {}
        self._lock = threading.Lock()
        self.synced = False

    def estimate(self, operation: str, default: float) -> float:
        """The cost to reserve for ``operation``: what the server last asked, else ``default``."""
        with self._lock:
            return self._learned.get(operation, default)

    def acquire(self, operation: str, default: float) -> float:
        """Wait until ``operation``'s expected cost is available; returns seconds waited."""
        return self.bucket.acquire(self.estimate(operation, default))

    def observe(self, operation: str, cost: CostExtension | None) -> None:
        """Adopt the server's figures from a response's ``extensions.cost``."""
        if cost is None:
            return
        if cost.requested_query_cost is not None:
            with self._lock:
                self._learned[operation] = float(cost.requested_query_cost)
        status = cost.throttle_status
        if status is not None:
            self.bucket.sync(
                status.currently_available,
                rate=status.restore_rate,
                capacity=status.maximum_available,
            )
            self.synced = True
