"""How long a sale takes to reach the other channels, read from the fakes' own state.

Shared by ``channelsync demo`` and ``bench/bench_latency.py``: a ``PropagationWatcher``
is told, for each sale, what every other channel should show once the sale has reached
it; it reads the fakes (``fake.quantity(sku)``, no HTTP) every few milliseconds and notes
when each channel shows it. ``LatencySummary`` condenses the measured seconds into
percentiles; ``serve_receiver`` runs the ASGI webhook receiver on a loopback port, as
``channelsync worker --webhooks`` does, so the fakes POST their webhooks over real HTTP.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from channelsync.core.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.core.engine import SyncEngine
    from channelsync.sandbox._base import FakeMarketplace

__all__ = ["LatencySummary", "Propagation", "PropagationWatcher", "percentile", "serve_receiver"]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with ``share`` of them at or below it.

    ``percentile([4, 1, 3, 2], 0.5)`` is 2 (two of the four are at or below 2); ``share``
    1.0 gives the maximum. Raises ``InvalidInput`` for no values or a share outside (0, 1].
    """
    if not values:
        raise InvalidInput("percentile of no values")
    if not 0 < share <= 1:
        raise InvalidInput(f"percentile share must be in (0, 1], got {share}")
    ordered = sorted(values)
    # Decimal: 0.99 * 200 is 198.00000000000003 in binary floating point.
    rank = math.ceil(Decimal(str(share)) * len(ordered))
    return ordered[max(1, rank) - 1]


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of some propagation latencies, in seconds.

    Attributes:
        count: latencies measured.
        p50, p95, p99, max: nearest-rank percentiles (``percentile``); None when nothing
            was measured.
        missing: propagations still not seen when the summary was taken.
    """

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    missing: int = 0

    @classmethod
    def of(cls, values: Sequence[float], missing: int = 0) -> LatencySummary:
        """The summary of ``values`` (seconds)."""
        if not values:
            return cls(0, None, None, None, None, missing)
        return cls(
            count=len(values),
            p50=percentile(values, 0.50),
            p95=percentile(values, 0.95),
            p99=percentile(values, 0.99),
            max=max(values),
            missing=missing,
        )

    def as_dict(self) -> dict[str, Any]:
        """For JSON: the figures in milliseconds (rounded to 0.1 ms)."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 1)

        return {
            "count": self.count,
            "p50_ms": ms(self.p50),
            "p95_ms": ms(self.p95),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
            "missing": self.missing,
        }

    def line(self) -> str:
        """One line of text: ``p50 120 ms, p95 ..., max ... (n=200)``."""
        if not self.count:
            return f"nothing measured ({self.missing} never arrived)"
        text = ", ".join(
            f"{name} {value * 1000:4.0f} ms"
            for name, value in (
                ("p50", self.p50),
                ("p95", self.p95),
                ("p99", self.p99),
                ("max", self.max),
            )
            if value is not None
        )
        return (
            text
            + f" (n={self.count}"
            + (f", {self.missing} never arrived)" if self.missing else ")")
        )


@dataclass(frozen=True)
class Propagation:
    """One sale having reached one channel.

    Attributes:
        channel: the fake (by name) that shows it now.
        sku: the listing that had to change.
        origin: what the caller labelled the sale with (e.g. ``webhook``, ``SQS``, ``polled``).
        seconds: from the sale to the channel showing it.
    """

    channel: str
    sku: str
    origin: str
    seconds: float


@dataclass
class _Expected:
    quantity: int
    started: float
    origin: str


class PropagationWatcher:
    """Notes when each channel's fake shows what a sale left.

    ``expect(sku, {"ebay": 11, ...}, origin=..., started=...)`` after each sale; a thread
    (``start()``) reads the fakes every ``interval`` seconds and records a ``Propagation``
    as soon as a channel shows the expected quantity or less: quantities only fall while
    sales are measured, so a lower one means a later sale of the SKU has reached it too
    (both are then recorded at that moment).

    Args:
        fakes: the fakes to read, by the names ``expect`` uses.
        interval: seconds between two reads of every expected listing.
        clock: the time source of ``started`` (``time.perf_counter`` by default).
    """

    def __init__(
        self,
        fakes: Mapping[str, FakeMarketplace],
        *,
        interval: float = 0.002,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.fakes = dict(fakes)
        self.interval = interval
        self.clock = clock
        self._waiting: dict[tuple[str, str], list[_Expected]] = {}
        self._seen: list[Propagation] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- feeding it -------------------------------------------------------------------------

    def expect(
        self,
        sku: str,
        quantities: Mapping[str, int],
        *,
        origin: str,
        started: float | None = None,
    ) -> None:
        """After a sale at ``started`` (default: now), each channel of ``quantities`` should
        come to show that quantity of ``sku`` (or less)."""
        at = self.clock() if started is None else started
        unknown = [name for name in quantities if name not in self.fakes]
        if unknown:
            raise InvalidInput(f"no fake named {unknown[0]!r} to watch")
        with self._lock:
            for name, quantity in quantities.items():
                self._waiting.setdefault((name, sku), []).append(_Expected(quantity, at, origin))

    # -- reading the fakes ------------------------------------------------------------------

    def check(self) -> int:
        """Read every listing still expected once; returns how many propagations it saw."""
        with self._lock:
            keys = list(self._waiting)
        found = 0
        for name, sku in keys:
            shown = self.fakes[name].quantity(sku)
            if shown is None:
                continue
            now = self.clock()
            with self._lock:
                waiting = self._waiting.get((name, sku), [])
                done = [e for e in waiting if shown <= e.quantity]
                if not done:
                    continue
                rest = [e for e in waiting if shown > e.quantity]
                if rest:
                    self._waiting[(name, sku)] = rest
                else:
                    del self._waiting[(name, sku)]
                self._seen += [Propagation(name, sku, e.origin, now - e.started) for e in done]
            found += len(done)
        return found

    def start(self) -> None:
        """Read the fakes on a thread of its own until ``stop()``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="propagation-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading (what is still expected stays counted as missing)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            self._stop.wait(self.interval)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every expected propagation; True if all came."""
        deadline = time.monotonic() + timeout
        while self.missing_count() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.missing_count()

    # -- the figures ------------------------------------------------------------------------

    def missing_count(self) -> int:
        """Propagations expected and not seen yet."""
        with self._lock:
            return sum(len(w) for w in self._waiting.values())

    def waiting_skus(self) -> set[str]:
        """SKUs some channel has still to show a sale of."""
        with self._lock:
            return {sku for _, sku in self._waiting}

    def seen(self) -> list[Propagation]:
        """Every propagation seen so far, in the order seen."""
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        """Forget what was seen (what is still expected stays expected)."""
        with self._lock:
            self._seen.clear()

    def summary(self, by: Literal["channel", "origin"] = "channel") -> dict[str, LatencySummary]:
        """The latencies grouped by the channel that had to show the sale, or by the sale's
        origin, each with the propagations still missing; sorted by name."""
        with self._lock:
            seen = list(self._seen)
            waiting = [(key, e) for key, items in self._waiting.items() for e in items]
        values: dict[str, list[float]] = defaultdict(list)
        for p in seen:
            values[p.channel if by == "channel" else p.origin].append(p.seconds)
        missing: Counter[str] = Counter(
            name if by == "channel" else e.origin for (name, _), e in waiting
        )
        return {
            key: LatencySummary.of(values.get(key, []), missing[key])
            for key in sorted(set(values) | set(missing))
        }

    def overall(self) -> LatencySummary:
        """Every latency seen, whatever the channel or origin."""
        with self._lock:
            values = [p.seconds for p in self._seen]
            missing = sum(len(w) for w in self._waiting.values())
        return LatencySummary.of(values, missing)


@contextmanager
def serve_receiver(engine: SyncEngine, **options: Any) -> Iterator[str]:
    """The webhook receiver of ``engine`` (``create_app(engine, **options)``) served by
    uvicorn on a loopback port while the block runs; yields its base URL."""
    import uvicorn

    from channelsync.webhooks import create_app

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then
    # (see FakeServer); without it an answer written in two parts waits ~40 ms for an ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine, **options), log_level="error", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webhook-receiver", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
