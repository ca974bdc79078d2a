"""``ManualClock``: the time of a sandbox that tests and demos move by hand.

The fakes model delays the real marketplaces have (an Amazon listing patch applied minutes
after ACCEPTED, eBay's order search lag, WooCommerce's stock held for an unpaid checkout):
each one is measured on the fake's ``clock``. Hand the same ``ManualClock`` to the fakes,
the channels (``clock=``, ``sleep=``) and the engine, and ``advance`` it: minutes pass in
no time, and nothing waits on the wall clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock"]


class ManualClock:
    """An aware UTC clock that moves only when told (thread-safe).

    Args:
        start: the time it shows first (default 2026-11-23 12:00 UTC).

    ``clock()`` is now; ``advance(seconds)`` moves it; ``sleep(seconds)`` is ``advance``,
    for code that waits (a channel polling a feed).
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._now = (start or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> datetime:
        """The time it shows."""
        return self()

    def advance(self, seconds: float) -> datetime:
        """Move the clock ``seconds`` forward (never back); returns the new time."""
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: the clock moves, nothing blocks."""
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"ManualClock({self().isoformat()})"
