"""Review requests: once per order, never for orders cancelled, refunded or returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import channelsync as cs
from channelsync.core.channel import ReviewStatus
from channelsync.core.reviews import ReviewDue
from channelsync.testing import FakeChannel

START = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
NO_WAIT = cs.RetryPolicy(attempts=3, sleep=lambda s: None, jitter=lambda: 0.0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Marketplace(FakeChannel):
    """A channel that sends review requests itself, from 5 to 30 days after shipping."""

    kind = "market"

    def __init__(self, account: str, clock: Clock) -> None:
        super().__init__(account, clock=clock)
        self.asked: list[str] = []

    def review_request_status(self, order: cs.Order) -> ReviewStatus:
        shipped = max(s.shipped_at for s in order.shipments if s.shipped_at)
        if order.order_id in self.asked:
            return "unavailable"
        if self.clock() < shipped + timedelta(days=5):
            return "not_yet"
        if self.clock() > shipped + timedelta(days=30):
            return "expired"
        return "eligible"

    def send_review_request(self, order: cs.Order) -> None:
        if self.review_request_status(order) != "eligible":
            raise cs.Rejected("not for this order", channel=self.account)
        self.asked.append(order.order_id)


class Ebay(FakeChannel):
    kind = "ebay"


def shipped(engine: cs.SyncEngine, channel: FakeChannel, **lines: int) -> str:
    order = channel.place_order(lines)
    engine.run_once()
    engine.ship(channel.account, order.order_id, cs.Shipment(carrier="DHL", tracking_number="T"))
    engine.run_once()
    return order.order_id


@pytest.fixture
def world(store: cs.Store) -> tuple[cs.SyncEngine, Clock, FakeChannel, Marketplace, Ebay]:
    clock = Clock()
    shop = FakeChannel("shop", clock=clock)
    market = Marketplace("market", clock)
    ebay = Ebay("ebay", clock=clock)
    for channel in (shop, market, ebay):
        channel.add_listing("A", 0, "10.00")
    engine = cs.SyncEngine(store, [shop, market, ebay], retry=NO_WAIT, clock=clock)
    engine.set_on_hand("A", 100)
    return engine, clock, shop, market, ebay


def test_due_orders_by_channel_once_and_never_after_sale_trouble(
    world: tuple[cs.SyncEngine, Clock, FakeChannel, Marketplace, Ebay],
) -> None:
    engine, clock, shop, market, ebay = world
    happy = shipped(engine, shop, A=1)
    refunded = shipped(engine, shop, A=2)
    engine.refund("shop", refunded, amount=cs.Money.of("5.00", "EUR"), reason="damaged")
    returned = shipped(engine, shop, A=1)
    line = engine.order("shop", returned).lines[0].line_id
    engine.record_return("shop", returned, {line: 1})
    cancelled = shop.place_order({"A": 1}).order_id
    engine.run_once()
    engine.cancel("shop", cancelled, reason="customer_request")
    partly = shop.place_order({"A": 2}).order_id
    engine.run_once()
    engine.cancel("shop", partly, lines={f"{partly}-1": 1}, reason="out_of_stock")
    engine.ship("shop", partly, cs.Shipment(carrier="DHL", tracking_number="P"))
    sold = shipped(engine, market, A=1)
    shipped(engine, ebay, A=1)

    clock.now += timedelta(days=3)
    due = engine.review_requests_due()
    assert [(d.account, d.order_id, d.via) for d in due] == [("market", sold, "channel")]
    (early,) = engine.send_review_requests()
    assert (early.order_id, early.status) == (sold, "not_yet")
    assert engine.review_requests() == []

    clock.now += timedelta(days=5)
    due = engine.review_requests_due()
    assert {(d.account, d.order_id, d.via) for d in due} == {
        ("shop", happy, "callback"),
        ("market", sold, "channel"),
    }
    handed: list[ReviewDue] = []
    outcomes = engine.send_review_requests(callback=handed.append)
    assert {(o.order_id, o.status, o.via) for o in outcomes} == {
        (happy, "sent", "callback"),
        (sold, "sent", "channel"),
    }
    assert [d.order_id for d in handed] == [happy]
    assert handed[0].customer_email is None
    assert market.asked == [sold]
    # Once per order: nothing is due any more, and nothing goes out twice.
    assert engine.review_requests_due() == []
    assert engine.send_review_requests(callback=handed.append) == []
    assert len(handed) == 1
    assert {(r.order_id, r.status) for r in engine.review_requests()} == {
        (happy, "sent"),
        (sold, "sent"),
    }


def test_shop_orders_wait_for_a_callback_or_a_mark(
    world: tuple[cs.SyncEngine, Clock, FakeChannel, Marketplace, Ebay],
) -> None:
    engine, clock, shop, _, _ = world
    order_id = shipped(engine, shop, A=1)
    clock.now += timedelta(days=10)
    (skipped,) = engine.send_review_requests()
    assert (skipped.status, skipped.via) == ("skipped", "callback")
    assert [d.order_id for d in engine.send_review_requests(dry_run=True)] == [order_id]
    assert engine.mark_review_requests_sent([("shop", order_id)]) == 1
    assert engine.mark_review_requests_sent([("shop", order_id)]) == 0
    assert engine.review_requests_due() == []


def test_windows_close(world: tuple[cs.SyncEngine, Clock, FakeChannel, Marketplace, Ebay]) -> None:
    engine, clock, shop, market, _ = world
    shipped(engine, shop, A=1)
    late = shipped(engine, market, A=1)
    clock.now += timedelta(days=38)  # past 7 + 30 days for the shop
    assert [d.order_id for d in engine.review_requests_due()] == [late]
    (expired,) = engine.send_review_requests()
    assert (expired.order_id, expired.status) == (late, "expired")
    assert engine.review_requests_due() == []
    with pytest.raises(cs.OperationRefused):
        engine.review_requests_due(within=timedelta(0))
