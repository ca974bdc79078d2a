"""The ASGI webhook receiver (``channelsync.webhooks.create_app``) on FakeChannel."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

import channelsync as cs
from channelsync.core.channel import WebhookEvent
from channelsync.testing import FakeChannel
from channelsync.webhooks import QUERY_HEADER, create_app


class ChallengeChannel(FakeChannel):
    """A FakeChannel that also answers an endpoint check the way eBay's adapter does."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        query = {k.lower(): v for k, v in headers.items()}.get(QUERY_HEADER)
        if query is not None:
            code = query.partition("challenge_code=")[2]
            return [
                WebhookEvent(kind="ping", response=json.dumps({"challengeResponse": code[::-1]}))
            ]
        return super().parse_webhook(headers, body)


class SlowChannel(FakeChannel):
    """Verification waits until the test opens ``gate`` (a public key being fetched, a
    slow disk): the test decides when it ends instead of a sleep guessing."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.gate = threading.Event()
        self.parsed = 0

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        self.gate.wait(timeout=30)
        try:
            return super().parse_webhook(headers, body)
        finally:
            self.parsed += 1


class BrokenChannel(FakeChannel):
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        raise RuntimeError("database went away")


@pytest.fixture
def engine(store: cs.Store) -> cs.SyncEngine:
    return cs.SyncEngine(
        store,
        [
            ChallengeChannel("shop"),
            SlowChannel("slow"),
            BrokenChannel("broken"),
        ],
    )


@pytest.fixture
def client(engine: cs.SyncEngine) -> Iterator[httpx.Client]:
    """The receiver served by uvicorn on a loopback port, and a client aimed at it."""
    app = create_app(engine, max_body_bytes=64 * 1024, ack_within=0.2, threads=2)
    with _served(app) as c:
        yield c


@contextmanager
def _served(app: Any) -> Iterator[httpx.Client]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    port = sock.getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        yield c
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _order(engine: cs.SyncEngine, account: str = "shop") -> tuple[dict[str, str], bytes]:
    channel = engine.channel(account)
    assert isinstance(channel, FakeChannel)
    channel.add_listing("SKU-1", 5, "9.99")
    order = channel.place_order({"SKU-1": 2})
    return channel.webhook_for(order, event_id="evt-1")


def _applied(engine: cs.SyncEngine, timeout: float = 5.0) -> None:
    """Wait until the inbox holds nothing pending (applied in the background)."""
    done = threading.Event()
    remove = engine.store.on_commit(lambda _accounts: done.set())
    try:
        deadline = time.monotonic() + timeout
        while engine.inbox_pending():
            assert time.monotonic() < deadline, engine.inbox_pending()
            done.wait(0.05)
            done.clear()
    finally:
        remove()


def test_signed_delivery_is_stored_answered_and_applied_once(
    engine: cs.SyncEngine, client: httpx.Client
) -> None:
    engine.set_on_hand("SKU-1", 5)
    headers, body = _order(engine)
    first = client.post("/webhooks/shop", headers=headers, content=body)
    assert first.status_code == 200
    assert first.json() == {"events": 1, "kinds": ["order"]}
    _applied(engine)
    assert engine.stock("SKU-1").committed == 2
    again = client.post("/webhooks/shop", headers=headers, content=body)
    assert again.status_code == 200
    _applied(engine)
    assert engine.stock("SKU-1").committed == 2


def test_bad_signature_is_401_and_changes_nothing(
    engine: cs.SyncEngine, client: httpx.Client
) -> None:
    headers, body = _order(engine)
    tampered = body.replace(b'"quantity": 2', b'"quantity": 9')
    assert tampered != body
    response = client.post("/webhooks/shop", headers=headers, content=tampered)
    assert response.status_code == 401
    assert "verification failed" in response.json()["error"]
    missing = client.post("/webhooks/shop", content=body)
    assert missing.status_code == 401
    assert engine.stock("SKU-1").committed == 0


def test_unknown_account_too_large_and_wrong_method(client: httpx.Client) -> None:
    assert client.post("/webhooks/nobody", content=b"{}").status_code == 404
    big = client.post("/webhooks/shop", content=b"x" * (64 * 1024 + 1))
    assert big.status_code == 413
    assert client.get("/webhooks/shop").status_code == 405
    assert client.put("/webhooks/shop", content=b"{}").status_code == 405


def test_endpoint_check_is_answered_with_the_events_response(client: httpx.Client) -> None:
    response = client.get("/webhooks/shop?challenge_code=abc123")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"challengeResponse": "321cba"}


def test_a_delivery_not_stored_in_time_is_503_and_its_redelivery_counts_once(
    engine: cs.SyncEngine, client: httpx.Client
) -> None:
    engine.set_on_hand("SKU-1", 5)
    headers, body = _order(engine, "slow")
    slow = engine.channel("slow")
    assert isinstance(slow, SlowChannel)
    response = client.post("/webhooks/slow", headers=headers, content=body)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert slow.parsed == 0  # answered while the verification still runs
    slow.gate.set()
    # The store took it after the answer; the marketplace delivers again: a duplicate.
    again = client.post("/webhooks/slow", headers=headers, content=body)
    assert again.status_code in (200, 503)
    _eventually(lambda: slow.parsed == 2)
    _applied(engine)
    assert engine.stock("SKU-1").committed == 2


def test_failure_to_store_is_503_so_the_marketplace_retries(client: httpx.Client) -> None:
    response = client.post("/webhooks/broken", content=b"{}")
    assert response.status_code == 503
    assert response.json() == {"error": "could not store the delivery"}


def test_healthz(
    engine: cs.SyncEngine, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "accounts": ["shop", "slow", "broken"]}

    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(engine.store, "ping", down)
    bad = client.get("/healthz")
    assert bad.status_code == 503
    assert bad.json() == {"ok": False, "store": "OSError"}


class _CountingPool(ThreadPoolExecutor):
    """A pool that remembers what was handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted: list[tuple[Any, ...]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.submitted.append(args)
        return super().submit(fn, *args, **kwargs)


def test_unknown_account_is_refused_before_the_body_is_read_or_the_engine_called(
    engine: cs.SyncEngine,
) -> None:
    pool = _CountingPool()
    app = create_app(engine, max_body_bytes=1024, executor=pool)
    try:
        with _served(app) as tc:
            big = tc.post("/webhooks/nobody", content=b"x" * 4096)
            assert (big.status_code, big.json()) == (404, {"error": "unknown account"})
            small = tc.post("/webhooks/nobody", content=b"{}")
            assert small.status_code == 404
            assert tc.get("/webhooks/nobody?challenge_code=abc").status_code == 404
            assert tc.post("/webhooks/shop", content=b"x" * 4096).status_code == 413
        assert pool.submitted == []
    finally:
        pool.shutdown(wait=True)


def test_bad_signature_answer_gives_no_detail(engine: cs.SyncEngine, client: httpx.Client) -> None:
    headers, body = _order(engine)
    tampered = client.post("/webhooks/shop", headers=headers, content=body + b" ")
    unsigned = client.post("/webhooks/shop", content=body)
    for response in (tampered, unsigned):
        assert response.status_code == 401
        assert response.json() == {"error": "verification failed"}
        assert "X-Fake-Signature" not in response.text


def test_a_flood_is_answered_503_instead_of_piling_up(engine: cs.SyncEngine) -> None:
    slow = engine.channel("slow")
    assert isinstance(slow, SlowChannel)
    slow.add_listing("FLOOD", 100)
    app = create_app(engine, ack_within=0.05, threads=1, max_pending=2)
    with _served(app) as c:
        answers = []
        for _ in range(4):
            headers, body = slow.webhook_for(slow.place_order({"FLOOD": 1}))
            answers.append(c.post("/webhooks/slow", content=body, headers=headers))
        # Two admitted (not stored within 50 ms: 503, stored later), two refused at once.
        assert [a.status_code for a in answers] == [503, 503, 503, 503]
        assert [a.json()["error"] for a in answers] == ["busy"] * 4
        assert answers[2].headers["retry-after"] == "5"
        slow.gate.set()
        _eventually(lambda: engine.stock("FLOOD").committed == 2)  # the two admitted ones
        slow.gate.clear()
        headers, body = slow.webhook_for(slow.place_order({"FLOOD": 1}))
        assert c.post("/webhooks/slow", content=body, headers=headers).status_code == 503
        slow.gate.set()
        _eventually(lambda: engine.stock("FLOOD").committed == 3)


def _eventually(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.02)
