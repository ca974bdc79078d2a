"""What every fake marketplace shares: fault switchboard, call log, latency, webhooks.

A fake is an ASGI app (Starlette) wrapped by ``FakeMarketplace.asgi``, which reads the
request body once, names the operation (the subclass knows how: a GraphQL operation, an
XML call name, a REST route), logs the call, applies added latency and injected faults,
and only then hands the request to the fake's own routes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx

from channelsync.core.models import utcnow

__all__ = ["CallLog", "CallRecord", "FakeMarketplace", "FaultKind", "Faults", "WebhookDelivery"]

log = logging.getLogger(__name__)

FaultKind = Literal["throttle", "server_error", "timeout", "latency", "partial_failure"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "throttle",
    "server_error",
    "timeout",
    "latency",
    "partial_failure",
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    operation: str | None
    seconds: float


class Faults:
    """The fault-injection switchboard of one fake (thread-safe).

    ``inject("throttle", times=3)`` makes the next three requests answer as the real
    API does when throttled; ``operation=`` limits it to one operation. ``partial_failure``
    is consumed by batch endpoints, which then fail some items of the batch.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []

    def inject(
        self, kind: FaultKind, times: int = 1, *, operation: str | None = None, seconds: float = 0.5
    ) -> None:
        """Queue ``times`` faults of ``kind`` (for ``operation`` only, when given)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queue.append(_Fault(kind, times, operation, seconds))

    def take(self, operation: str, kinds: tuple[FaultKind, ...]) -> _Fault | None:
        """Consume the first queued fault of ``kinds`` that applies to ``operation``."""
        with self._lock:
            for fault in self._queue:
                if fault.kind in kinds and fault.operation in (None, operation):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        """Faults still queued (counting repeats)."""
        with self._lock:
            return sum(f.remaining for f in self._queue)


@dataclass(frozen=True)
class CallRecord:
    """One request a fake received."""

    operation: str
    method: str
    path: str
    status: int
    at: datetime
    fault: str | None = None
    items: int | None = None


class CallLog(Mapping[str, int]):
    """Requests per operation: ``calls["inventorySetQuantities"]`` is how many arrived.

    ``records()`` gives the details (method, path, status, fault, batch size).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._counts: Counter[str] = Counter()

    def add(self, record: CallRecord) -> None:
        """Log one request."""
        with self._lock:
            self._records.append(record)
            self._counts[record.operation] += 1

    def __getitem__(self, operation: str) -> int:
        with self._lock:
            return self._counts.get(operation, 0)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._counts))

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)

    @property
    def total(self) -> int:
        """Requests of every operation."""
        with self._lock:
            return len(self._records)

    def records(self, operation: str | None = None) -> list[CallRecord]:
        """Logged requests, all or of one operation, oldest first."""
        with self._lock:
            return [r for r in self._records if operation is None or r.operation == operation]

    def reset(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._records.clear()
            self._counts.clear()

    def __repr__(self) -> str:
        return f"CallLog({dict(self._counts)!r})"


@dataclass(frozen=True)
class WebhookDelivery:
    """A webhook a fake sent, and how the receiver answered."""

    topic: str
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None = None


WebhookTarget = str | Callable[[dict[str, str], bytes], object]


@dataclass
class _RequestState:
    operation: str = "unknown"
    items: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FakeMarketplace:
    """Base of the four fakes. Subclasses implement the routes and the shop state.

    Public surface every fake has (DESIGN.md): ``channel(account=...)``,
    ``seed_listing(sku, quantity=, price=)``, ``seed_order(...)``, ``place_order(sku, qty)``,
    ``ship_order(order_id)``, ``cancel_order(order_id)``, ``quantity(sku)``, ``calls``,
    ``inject(...)``, plus ``url`` once served and ``subscribe(target)`` for webhooks where
    the marketplace sends them (docs/getting-started.md describes each).
    """

    name: ClassVar[str] = "fake"

    def __init__(self, *, latency_ms: float = 0.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.latency_ms = latency_ms
        self.clock = clock
        self.faults = Faults()
        self.calls = CallLog()
        self.url: str | None = None
        self.client_timeout = 10.0
        self.lock = threading.RLock()
        self.deliveries: list[WebhookDelivery] = []
        self._targets: list[WebhookTarget] = []
        self._webhook_pool: ThreadPoolExecutor | None = None
        self._app: ASGIApp | None = None

    # -- to implement: the surface every fake offers (the demo and tests drive all four) ----

    def channel(self, account: str = "sandbox", **options: Any) -> Any:
        """A real adapter of this marketplace, configured with the fake's credentials and URL."""
        raise NotImplementedError

    def seed_listing(
        self, sku: str, *, quantity: int, price: str, title: str | None = None
    ) -> None:
        """Create (or replace) a stock-managed listing of ``sku`` as the seller would."""
        raise NotImplementedError

    def seed_order(self, order: Any) -> str:
        """Store one order in the marketplace's own payload shape; returns its id."""
        raise NotImplementedError

    def place_order(self, sku: str, qty: int = 1) -> str:
        """A buyer buys: creates an order, lowers the listing's quantity as the real
        marketplace does, sends the order webhook where it has one; returns the order id."""
        raise NotImplementedError

    def quantity(self, sku: str) -> int | None:
        """The quantity the marketplace shows for ``sku`` now (None: not listed)."""
        raise NotImplementedError

    def ship_order(
        self, order_id: str, *, carrier: str = "DHL", tracking_number: str | None = None
    ) -> None:
        """The seller ships every open unit of the order outside channelsync (in the
        marketplace's own admin).

        Done through the marketplace's own API with the fake's credentials, as that admin
        would, so the order reads shipped with the tracking number to every later request
        and the marketplace sends its webhook where it has one. The requests appear in
        ``calls`` like any other. Raises the adapter's ``channelsync`` error when the
        marketplace refuses (an unknown or cancelled order).
        """
        from channelsync.core.models import Shipment

        channel = self.channel(account=f"{self.name}-admin")
        try:
            channel.push_fulfillment(
                order_id, Shipment(carrier=carrier, tracking_number=tracking_number)
            )
        finally:
            _close(channel)

    def cancel_order(self, order_id: str) -> None:
        """The order is cancelled outside channelsync (by the seller in the marketplace's
        admin, or at the buyer's request): its open units return to the listing where the
        marketplace restocks, and its webhook is sent where it has one.

        Through the marketplace's own API, like ``ship_order``; a fake whose API offers
        sellers no cancellation (Amazon) overrides this with the marketplace's own.
        """
        channel = self.channel(account=f"{self.name}-admin")
        try:
            channel.cancel_order(order_id, "cancelled in the sandbox")
        finally:
            _close(channel)

    def build_app(self) -> ASGIApp:
        """The fake's own routes (a Starlette app)."""
        raise NotImplementedError

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The API operation a request calls, for the call log and targeted faults."""
        return f"{method} {path}"

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body the real API answers a ``throttle``/``server_error`` with."""
        if kind == "throttle":
            return (
                429,
                {"content-type": "application/json", "retry-after": "1"},
                b'{"error":"throttled"}',
            )
        return 503, {"content-type": "application/json"}, b'{"error":"service unavailable"}'

    # -- fault switchboard --------------------------------------------------------------------

    def inject(
        self, kind: FaultKind, times: int = 1, *, operation: str | None = None, seconds: float = 0.5
    ) -> None:
        """Make the next ``times`` requests (of ``operation``) fail as ``kind``.

        ``throttle`` and ``server_error`` answer in the marketplace's own error shape;
        ``timeout`` processes the request but holds the answer past the client's timeout;
        ``latency`` adds ``seconds``; ``partial_failure`` fails some items of a batch.
        """
        self.faults.inject(kind, times, operation=operation, seconds=seconds)

    def take_partial_failure(self, operation: str) -> bool:
        """For batch handlers: whether this batch should fail some of its items."""
        return self.faults.take(operation, ("partial_failure",)) is not None

    # -- webhooks -------------------------------------------------------------------------

    def subscribe(self, target: WebhookTarget) -> None:
        """Send webhooks to ``target``: a URL (POSTed with httpx) or ``fn(headers, body)``."""
        with self.lock:
            self._targets.append(target)

    def unsubscribe_all(self) -> None:
        """Stop sending webhooks."""
        with self.lock:
            self._targets.clear()

    def send_webhook(self, topic: str, headers: dict[str, str], body: bytes) -> None:
        """Deliver a signed webhook to every subscriber, in order, off the request thread."""
        with self.lock:
            targets = list(self._targets)
            if not targets:
                return
            if self._webhook_pool is None:
                self._webhook_pool = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"{self.name}-webhooks"
                )
            pool = self._webhook_pool
        for target in targets:
            pool.submit(self._deliver, target, topic, headers, body)

    def _deliver(
        self, target: WebhookTarget, topic: str, headers: dict[str, str], body: bytes
    ) -> None:
        status: int | None = None
        error: str | None = None
        try:
            if isinstance(target, str):
                status = httpx.post(target, headers=headers, content=body, timeout=10.0).status_code
            else:
                target(dict(headers), body)
                status = 200
        except Exception as exc:  # the receiver's problem; the marketplace just logs it
            error = f"{type(exc).__name__}: {exc}"
            log.info("%s webhook %s to %r failed: %s", self.name, topic, target, error)
        with self.lock:
            self.deliveries.append(WebhookDelivery(topic, dict(headers), body, status, error))

    def flush_webhooks(self, timeout: float = 10.0) -> None:
        """Wait until every webhook sent so far was delivered."""
        with self.lock:
            pool = self._webhook_pool
        if pool is not None:
            pool.submit(lambda: None).result(timeout=timeout)

    # -- serving --------------------------------------------------------------------------

    def asgi(self) -> ASGIApp:
        """The fake wrapped with logging, latency and faults (built once)."""
        if self._app is None:
            inner = self.build_app()

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http":
                    await inner(scope, receive, send)
                    return
                await self._serve(inner, scope, receive, send)

            self._app = app
        return self._app

    async def _serve(self, inner: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        method, path = scope["method"], scope["path"]
        operation = self.operation_for(method, path, headers, body)
        state = _RequestState(operation=operation)
        scope.setdefault("state", {})["fake"] = state
        delay = self.latency_ms / 1000.0
        extra = self.faults.take(operation, ("latency",))
        if extra is not None:
            delay += extra.seconds
        if delay:
            await asyncio.sleep(delay)
        fault = self.faults.take(operation, ("throttle", "server_error", "timeout"))
        if fault is not None and fault.kind in ("throttle", "server_error"):
            status, fheaders, fbody = self.fault_response(fault.kind, operation)
            self.calls.add(CallRecord(operation, method, path, status, self.clock(), fault.kind))
            await _respond(send, status, fheaders, fbody)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        started = time.monotonic()
        await inner(scope, replay, capture)
        status = next((m["status"] for m in captured if m["type"] == "http.response.start"), 500)
        self.calls.add(
            CallRecord(
                state.operation,
                method,
                path,
                status,
                self.clock(),
                fault.kind if fault else None,
                state.items,
            )
        )
        if fault is not None:  # timeout: the work is done, the answer comes too late
            hold = self.client_timeout + 0.5 - (time.monotonic() - started)
            await asyncio.sleep(max(0.0, hold))
        for message in captured:
            await send(message)

    def close(self) -> None:
        """Stop the webhook sender."""
        with self.lock:
            pool, self._webhook_pool = self._webhook_pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _close(channel: Any) -> None:
    close = getattr(channel, "close", None)
    if callable(close):
        close()


async def _respond(send: Send, status: int, headers: Mapping[str, str], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def request_state(scope: Scope) -> _RequestState:
    """The fake's per-request state (handlers set ``operation`` and ``items`` on it)."""
    state = scope.get("state", {}).get("fake")
    return state if isinstance(state, _RequestState) else _RequestState()
