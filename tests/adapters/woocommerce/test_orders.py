"""Reading orders (time zones, drift while paging, refunds) and writing to them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from channelsync.adapters.woocommerce._oauth import OAuth1QueryAuth
from channelsync.core.errors import NotFound, Rejected
from channelsync.core.models import Money, OrderStatus, Shipment
from channelsync.sandbox import Sandbox

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def clocked(clock: Clock) -> Iterator[Any]:
    """A WooCommerce fake on a controlled clock, in a UTC+2 shop."""
    with Sandbox(channels=["woocommerce"], clock=clock) as sb:
        sb.woocommerce.timezone = timezone(timedelta(hours=2))
        yield sb.woocommerce


def test_utc_plus_two_shop_yields_utc_times(clocked: Any, clock: Clock) -> None:
    clocked.seed_listing("TZ-1", quantity=10, price="4.00")
    placed = clocked.place_order("TZ-1", 2)
    local = clocked.order_json(placed)
    assert local["date_created"] == "2026-06-01T12:00:00"  # the shop's wall clock
    assert local["date_created_gmt"] == "2026-06-01T10:00:00"
    seeded = clocked.seed_order(
        {
            "status": "on-hold",
            "date_created": "2026-06-01T09:30:00",  # local only: 07:30 UTC
            "line_items": [{"sku": "TZ-1", "quantity": 1}],
        }
    )
    channel = clocked.channel()
    orders = {o.order_id: o for o in channel.fetch_orders(T0 - timedelta(hours=4))}
    assert orders[placed].created_at == T0
    assert orders[placed].updated_at == T0
    assert orders[seeded].created_at == datetime(2026, 6, 1, 7, 30, tzinfo=UTC)
    assert orders[seeded].status is OrderStatus.OPEN
    # The window is in UTC too: a local-time mix-up would read these the wrong way round.
    assert [o.order_id for o in channel.fetch_orders(T0 - timedelta(minutes=30))] == [placed]
    assert list(channel.fetch_orders(T0 + timedelta(minutes=30))) == []
    assert list(channel.fetch_orders(T0)) != []  # "at or after" includes the same second
    query = clocked.calls.records("orders")[-1]
    assert query.status == 200


def test_page_drift_mid_scan_loses_nothing(clocked: Any, clock: Clock) -> None:
    clocked.seed_listing("DRIFT", quantity=10_000, price="1.00")
    ids = []
    for _ in range(250):
        ids.append(clocked.place_order("DRIFT"))
        clock.advance(1)
    channel = clocked.channel()
    scan = channel.fetch_orders(T0 - timedelta(minutes=1))
    first_page = list(itertools.islice(scan, 100))
    assert [o.order_id for o in first_page] == ids[:100]
    # While we read, the merchant edits ten orders of the first page: they move to the end.
    clock.advance(30)
    for order_id in ids[:10]:
        clocked.touch_order(order_id)
    rest = list(scan)
    got = first_page + rest
    assert set(ids) <= {o.order_id for o in got}
    assert len({o.order_id for o in got}) == 250
    times = [o.updated_at for o in got]
    assert times == sorted(times)
    again = [o.order_id for o in rest if o.order_id in ids[:10]]
    assert again == ids[:10]  # their newer version comes once more, at the end


def test_page_numbers_would_have_skipped_orders(clocked: Any, clock: Clock) -> None:
    """The fake models the drift the adapter avoids: walking page numbers loses orders."""
    clocked.seed_listing("DRIFT", quantity=1000, price="1.00")
    ids = []
    for _ in range(30):
        ids.append(int(clocked.place_order("DRIFT")))
        clock.advance(1)
    auth = OAuth1QueryAuth(clocked.consumer_key, clocked.consumer_secret)
    params = {
        "modified_after": "2026-06-01T09:00:00",
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
        "per_page": "10",
    }
    with httpx.Client(base_url=clocked.url, auth=auth) as http:
        page1 = http.get("/wp-json/wc/v3/orders", params={**params, "page": "1"})
        assert (page1.headers["X-WP-Total"], page1.headers["X-WP-TotalPages"]) == ("30", "3")
        clock.advance(60)
        for order_id in ids[:3]:
            clocked.touch_order(order_id)
        page2 = http.get("/wp-json/wc/v3/orders", params={**params, "page": "2"})
    seen = {o["id"] for o in page1.json()} | {o["id"] for o in page2.json()}
    assert set(ids[10:13]) - seen == set(ids[10:13])  # shifted onto page 1 after it was read


def test_same_second_burst_with_drift_loses_nothing(clocked: Any, clock: Clock) -> None:
    clocked.seed_listing("BURST", quantity=1000, price="1.00")
    ids = [clocked.place_order("BURST") for _ in range(230)]  # all in one second
    channel = clocked.channel(page_size=100)
    scan = channel.fetch_orders(T0)
    first = [o.order_id for o in itertools.islice(scan, 100)]
    assert first == ids[:100]
    clock.advance(5)
    clocked.touch_order(ids[10])  # already read; leaves the burst second mid-scan
    rest = [o.order_id for o in scan]
    # Page 2 by number would now start at ids[101]: ids[100] would be lost. The newer
    # version of ids[10] is excluded by id here; the next poll (cursor minus lag) reads it.
    assert rest == ids[100:]
    assert len(clocked.calls.records("orders")) == 3
    assert ids[10] in [o.order_id for o in channel.fetch_orders(T0 + timedelta(seconds=1))]


def test_refunded_units_of_an_open_order(clocked: Any) -> None:
    clocked.seed_listing("RF-1", quantity=10, price="10.00")
    clocked.seed_listing("RF-2", quantity=10, price="5.00")
    order_id = clocked.seed_order(
        {
            "status": "processing",
            "payment_method": "bacs",
            "line_items": [{"sku": "RF-1", "quantity": 3}, {"sku": "RF-2", "quantity": 1}],
        }
    )
    line = clocked.order_json(order_id)["line_items"][0]
    channel = clocked.channel()
    refund = channel.refund_order(
        order_id,
        Money.of("10.00", "EUR"),
        reason="one broken",
        lines={str(line["id"]): 1},
        idempotency_key="rf-1",
    )
    assert refund.amount == Money.of("10.00", "EUR")
    assert refund.lines == {str(line["id"]): 1}
    assert clocked.gateway_refunds == []  # api_refund false: no money moved by the API
    again = channel.refund_order(
        order_id, Money.of("10.00", "EUR"), lines={str(line["id"]): 1}, idempotency_key="rf-1"
    )
    assert again.refund_id == refund.refund_id
    assert len(clocked.order_json(order_id)["refunds"]) == 1
    (order,) = [o for o in channel.fetch_orders(T0 - timedelta(hours=1)) if o.order_id == order_id]
    assert order.status is OrderStatus.OPEN
    first = order.line(str(line["id"]))
    assert (first.quantity, first.quantity_cancelled, first.quantity_open) == (3, 1, 2)
    assert [(r.refund_id, r.amount, r.reason) for r in order.refunds] == [
        (refund.refund_id, Money.of("10.00", "EUR"), "one broken")
    ]
    assert clocked.calls["refunds"] >= 1


def test_gateway_refund_only_when_asked(clocked: Any) -> None:
    clocked.seed_listing("GW", quantity=5, price="20.00")
    order_id = clocked.place_order("GW")  # paid by card: the gateway can refund
    channel = clocked.channel()
    channel.refund_order(order_id, Money.of("5.00", "EUR"))
    assert clocked.gateway_refunds == []
    channel.refund_order(order_id, Money.of("5.00", "EUR"), gateway_refund=True)
    assert clocked.gateway_refunds == [
        {"order_id": int(order_id), "amount": "5.00", "gateway": "stripe"}
    ]
    with pytest.raises(Rejected, match="currency"):
        channel.refund_order(order_id, Money.of("1.00", "USD"))
    line_id = str(clocked.order_json(order_id)["line_items"][0]["id"])
    with pytest.raises(Rejected, match="no line"):
        channel.refund_order(order_id, Money.of("1.00", "EUR"), lines={line_id: 2})


def test_fulfilment_without_the_tracking_extension(clocked: Any) -> None:
    clocked.seed_listing("SHIP", quantity=5, price="3.00")
    order_id = clocked.place_order("SHIP")
    channel = clocked.channel()
    shipment = Shipment(carrier="DHL", tracking_number="JJD000390007")
    channel.push_fulfillment(order_id, shipment)
    channel.push_fulfillment(order_id, shipment)  # a retry adds nothing twice
    assert clocked.order_json(order_id)["status"] == "completed"
    customer_notes = [n["note"] for n in clocked.notes(order_id) if n["customer_note"]]
    assert customer_notes == ["Shipped with DHL, tracking number JJD000390007."]
    assert clocked.calls["shipment-trackings"] == 1  # probed once, then remembered


def test_fulfilment_with_the_tracking_extension(clocked: Any) -> None:
    clocked.tracking_extension = True
    clocked.seed_listing("SHIP", quantity=5, price="3.00")
    order_id = clocked.place_order("SHIP")
    channel = clocked.channel()
    when = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    shipment = Shipment(carrier="DHL", tracking_number="JJD1", shipped_at=when)
    channel.push_fulfillment(order_id, shipment)
    channel.push_fulfillment(order_id, shipment)
    (tracking,) = clocked.trackings(order_id)
    assert tracking["tracking_provider"] == "DHL"
    assert tracking["tracking_number"] == "JJD1"
    assert tracking["date_shipped"] == "2026-06-01"
    assert tracking["tracking_link"].endswith("AWB=JJD1")
    assert [n for n in clocked.notes(order_id) if n["customer_note"]] == []
    assert clocked.order_json(order_id)["status"] == "completed"
    (order,) = [o for o in channel.fetch_orders(T0 - timedelta(hours=1))]
    assert order.status is OrderStatus.SHIPPED
    assert [(s.carrier, s.tracking_number) for s in order.shipments] == [("DHL", "JJD1")]


def test_partial_shipment_records_tracking_but_keeps_the_order_open(clocked: Any) -> None:
    clocked.seed_listing("P1", quantity=5, price="3.00")
    clocked.seed_listing("P2", quantity=5, price="3.00")
    order_id = clocked.seed_order(
        {
            "status": "processing",
            "line_items": [{"sku": "P1", "quantity": 1}, {"sku": "P2", "quantity": 1}],
        }
    )
    first_line = str(clocked.order_json(order_id)["line_items"][0]["id"])
    channel = clocked.channel()
    channel.push_fulfillment(
        order_id, Shipment(carrier="UPS", tracking_number="1Z9", lines={first_line: 1})
    )
    assert clocked.order_json(order_id)["status"] == "processing"
    (note,) = [n["note"] for n in clocked.notes(order_id) if n["customer_note"]]
    assert note == f"Shipped with UPS, tracking number 1Z9 - items: {first_line} x1."


def test_cancel(clocked: Any) -> None:
    clocked.seed_listing("CX", quantity=5, price="3.00")
    order_id = clocked.place_order("CX", 2)
    assert clocked.quantity("CX") == 3
    channel = clocked.channel()
    channel.cancel_order(order_id, reason="buyer asked")
    channel.cancel_order(order_id, reason="buyer asked")
    assert clocked.order_json(order_id)["status"] == "cancelled"
    assert clocked.quantity("CX") == 5  # WooCommerce restocks a cancelled order
    private = [n["note"] for n in clocked.notes(order_id) if not n["customer_note"]]
    assert private.count("Cancelled: buyer asked") == 1
    shipped = clocked.place_order("CX")
    channel.push_fulfillment(shipped, Shipment(carrier="DHL"))
    with pytest.raises(Rejected, match="refund it instead"):
        channel.cancel_order(shipped)
    with pytest.raises(NotFound):
        channel.cancel_order("424242")
    with pytest.raises(NotFound):
        channel.cancel_order("not-an-id")
