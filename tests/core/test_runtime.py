"""The worker runtime: loops per account that never wait on each other, a durable inbox
that survives a kill, and accounts shared by several worker processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import channelsync as cs
from channelsync.core.channel import QuotaState
from channelsync.testing import FakeChannel

PROCS = Path(__file__).resolve().parent / "procs.py"


class BlockedChannel(FakeChannel):
    """A channel whose pushes hang until ``release`` is set (or 30 s pass)."""

    def __init__(self, account: str) -> None:
        super().__init__(account)
        self.release = threading.Event()
        self.blocked = threading.Event()

    def push_stock(self, updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
        self.blocked.set()
        self.release.wait(30)
        return super().push_stock(updates)


@pytest.fixture
def running() -> Iterator[Any]:
    """Runs ``engine.run_forever()`` (default settings) on a thread; stops it after."""
    started: list[tuple[cs.SyncEngine, threading.Thread]] = []

    def start(engine: cs.SyncEngine, **kw: Any) -> None:
        thread = threading.Thread(
            target=engine.run_forever, kwargs={"install_signal_handlers": False, **kw}
        )
        thread.start()
        started.append((engine, thread))

    yield start
    for engine, thread in started:
        engine.stop()
        thread.join(timeout=60)
        assert not thread.is_alive()


def _until(condition: Any, timeout: float = 10.0) -> float:
    """Wait for ``condition``; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "the condition did not come true"
        time.sleep(0.002)
    return time.monotonic() - started


def test_a_blocked_channel_holds_no_other(store: cs.Store, running: Any) -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    slow = BlockedChannel("slow")
    for ch in (a, b, slow):
        ch.add_listing("MUG", 0)
        ch.add_listing("TEE", 0)
    engine = cs.SyncEngine(store, [a, b, slow])
    engine.set_on_hand_many({"MUG": 10, "TEE": 10})
    running(engine)
    _until(lambda: b.quantities["MUG"] == 10 and slow.blocked.is_set())
    # slow's first push hangs (for 30 s); sales on a still reach b within a second.
    for n, sku in enumerate(("MUG", "TEE", "MUG"), start=1):
        headers, body = a.webhook_for(a.place_order({sku: 1}), event_id=f"sale-{n}")
        engine.ingest_webhook("a", headers, body)
        expected = 10 - (2 if sku == "MUG" and n == 3 else 1)
        took = _until(lambda sku=sku, expected=expected: b.quantities[sku] == expected)
        assert took < 1.0, f"sale {n} reached b after {took:.2f}s"
    assert not slow.release.is_set()  # still blocked all along
    slow.release.set()
    _until(lambda: engine.plan() == [])  # acknowledged
    assert (slow.quantities["MUG"], slow.quantities["TEE"]) == (8, 9)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_delivery_answered_then_killed_is_applied_exactly_once_after_restart(
    sqlite_url: str, tmp_path: Path
) -> None:
    with cs.open_store(sqlite_url) as store:
        cs.SyncEngine(store).set_on_hand("SKU-1", 10)
    port, ready = _port(), tmp_path / "ready"
    receiver = subprocess.Popen(
        [sys.executable, str(PROCS), "receiver", sqlite_url, str(port), str(ready)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: ready.exists() or receiver.poll() is not None, timeout=30)
        shop = FakeChannel("shop")
        shop.add_listing("SKU-1", 10)
        headers, body = shop.webhook_for(shop.place_order({"SKU-1": 3}), event_id="order-77")
        for _ in range(200):  # the server is listening a moment after it said ready
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/shop", headers=headers, content=body
                )
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer.status_code == 200  # stored; its apply hangs in the receiver
        os.kill(receiver.pid, signal.SIGKILL)
    finally:
        receiver.kill()
        receiver.communicate(timeout=10)
    restarted = FakeChannel("shop")  # its polls do not bring the order: only the inbox can
    restarted.add_listing("SKU-1", 10)
    with cs.open_store(sqlite_url) as store:
        engine = cs.SyncEngine(store, [restarted])
        [pending] = engine.inbox_pending()
        assert (pending.delivery_id, pending.kind) == ("order-77", "order")
        assert engine.stock("SKU-1").committed == 0
        # The restarted worker applies it from the inbox, once the dead one's lease ran out
        # (if it had claimed it at all before it was killed).
        _until(lambda: engine.run_once() and not engine.inbox_pending(), timeout=10)
        assert engine.stock("SKU-1").committed == 3
        assert engine.inbox_pending() == []
        engine.ingest_webhook("shop", headers, body)  # redelivered: a duplicate
        engine.run_once()
        assert engine.stock("SKU-1").committed == 3


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_share_the_accounts_and_take_over_a_dead_ones(pg_url: str) -> None:
    accounts = ",".join(f"acct-{i}" for i in range(6))
    workers = [
        subprocess.Popen(
            [sys.executable, str(PROCS), "run", pg_url, accounts, "2"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    store = cs.open_store(pg_url)
    engine = cs.SyncEngine(store, [FakeChannel(a) for a in accounts.split(",")])

    def spread() -> dict[str, list[str]]:
        return {w.worker_id: list(w.accounts) for w in engine.status().workers if w.alive}

    def balanced() -> bool:
        held = spread()
        return len(held) == 3 and sorted(len(a) for a in held.values()) == [2, 2, 2]

    try:
        _until(balanced, timeout=60)
        holders = {a.account: a.worker for a in engine.status().accounts}
        assert len(set(holders.values())) == 3
        victim = workers[0]
        victim_id = next(w for w in spread() if f":{victim.pid}:" in w)
        orphans = spread()[victim_id]
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.monotonic()

        def taken_over() -> bool:
            now = {a.account: a.worker for a in engine.status().accounts}
            return all(now[a] not in (None, victim_id) for a in orphans)

        _until(taken_over, timeout=30)
        took = time.monotonic() - killed
        assert took <= 2 * 2 + 2, f"took {took:.1f}s for a lease of 2s"
        _until(balanced_two := lambda: sorted(len(a) for a in spread().values()) == [3, 3])
        assert balanced_two()
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                _, err = w.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
                _, err = w.communicate()
            assert w.returncode in (0, -signal.SIGKILL), err
        store.close()
    with cs.open_store(pg_url) as store:
        assert [w for w in cs.SyncEngine(store).status().workers if w.alive] == []


@pytest.mark.postgres
def test_a_count_committed_by_another_process_wakes_the_worker(pg_url: str, tmp_path: Path) -> None:
    """An ERP script on another machine sets a count: the worker, which polls only every
    10 minutes, pushes it within seconds, woken through PostgreSQL NOTIFY."""
    log = tmp_path / "pushes.jsonl"
    log.touch()

    def pushed(value: int) -> float | None:
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry["event"] == "done" and entry["items"].get("A") == value:
                return float(entry["at"])
        return None

    with cs.open_store(pg_url) as store:
        cs.SyncEngine(store).set_on_hand("A", 5)
    worker = subprocess.Popen(
        [sys.executable, str(PROCS), "listen", pg_url, str(log)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: pushed(5) is not None, timeout=60)  # its first pass
        # Let its loop go idle (a step may follow the first at once); from then on only a
        # wake-up can make it push before its next poll in 10 minutes.
        time.sleep(3)
        with cs.open_store(pg_url) as store:
            cs.SyncEngine(store).set_on_hand("A", 7)  # another process, no channel of its own
            committed = time.time()
        _until(lambda: pushed(7) is not None, timeout=30)
        took = (pushed(7) or 0.0) - committed
        assert took < 5, f"the count reached the channel {took:.1f}s after its commit"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, err = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert worker.returncode == 0, err


class QuotaChannel(FakeChannel):
    """A FakeChannel whose daily call quota is spent (as eBay reports error 518)."""

    def quotas(self) -> list[QuotaState]:
        until = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        return [QuotaState(resource="trading", blocked_until=until, code="518")]

    def restore_quotas(self, states: Sequence[QuotaState]) -> None:
        return None


def test_status_says_what_is_owed_late_and_spent(store: cs.Store, clock: Any) -> None:
    shop, ebay = FakeChannel("shop"), QuotaChannel("ebay-de")
    for ch in (shop, ebay):
        ch.add_listing("MUG", 0)
    engine = cs.SyncEngine(store, [shop, ebay], clock=clock, retry=cs.RetryPolicy(attempts=1))
    engine.set_on_hand("MUG", 7)
    fresh = {a.account: a for a in engine.status().accounts}
    assert fresh["shop"].last_pull_at is None
    assert fresh["shop"].worker is None
    engine.run_once()  # listings imported, both pushed
    shop.fail("push_stock", cs.Unavailable("down", status=503))
    engine.set_on_hand("MUG", 5)
    headers, body = shop.webhook_for(shop.place_order({"MUG": 1}), event_id="e1")
    engine.receive_webhook("shop", headers, body)  # stored, not applied yet
    clock.advance(90)
    status = {a.account: a for a in engine.status().accounts}
    shop_s, ebay_s = status["shop"], status["ebay-de"]
    assert shop_s.outbox_depth == 1
    assert shop_s.oldest_pending_seconds == 90
    assert shop_s.inbox_depth == 1
    assert shop_s.oldest_event_seconds == 90
    assert shop_s.last_pull_at == clock.now - timedelta(seconds=90)
    assert ebay_s.quota == {
        "trading": {"blocked_until": "2026-11-24T08:00:00+00:00", "code": "518", "detail": None}
    }
    engine.run_once()  # the failing push counts as failing
    after = {a.account: a for a in engine.status().accounts}["shop"]
    assert (after.failing_rows, after.inbox_depth) == (1, 0)
