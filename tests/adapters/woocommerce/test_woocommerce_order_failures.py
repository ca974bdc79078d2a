"""One order that cannot be read never blocks the others: it becomes an ``OrderFailure``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

import channelsync as cs
from channelsync.adapters.woocommerce import WooCommerceChannel, WooCommerceConfig
from channelsync.core.channel import OrderFailure
from channelsync.core.models import Order


def _order(at: str, *, sku: str, total: str = "12.50") -> dict[str, Any]:
    return {
        "status": "processing",
        "currency": "EUR",
        "date_created_gmt": at,
        "date_modified_gmt": at,
        "total": total,
        "line_items": [
            {"sku": sku, "quantity": 1, "subtotal": "12.50", "total": total, "price": 12.5}
        ],
    }


def _seed_three(fake: Any, start: datetime = datetime(2026, 5, 1, 9, 0)) -> tuple[str, str, str]:
    """A good order, one whose line total a plugin wrote with a decimal comma, a good one,
    ten minutes apart from ``start`` (UTC, naive as WooCommerce writes ``*_gmt``)."""
    fake.seed_listing("MUG", quantity=10, price="12.50")
    at = [(start + timedelta(minutes=m)).isoformat(timespec="seconds") for m in (0, 10, 20)]
    return (
        fake.seed_order(_order(at[0], sku="MUG")),
        fake.seed_order(_order(at[1], sku="MUG", total="12,50")),
        fake.seed_order(_order(at[2], sku="MUG")),
    )


def test_an_order_with_a_comma_amount_is_a_failure_in_its_place(fake: Any, channel: Any) -> None:
    first_id, bad_id, last_id = _seed_three(fake)
    got = list(channel.fetch_orders(datetime(2026, 5, 1, tzinfo=UTC)))

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    assert [x.order_id for x in got] == [first_id, bad_id, last_id]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.updated_at == datetime(2026, 5, 1, 9, 10, tzinfo=UTC)
    assert failure.error.startswith(f"order {bad_id} cannot be read: line_items[0] (id ")
    assert failure.error.endswith("amount '12,50' is not a decimal number")
    assert failure.raw["line_items"][0]["total"] == "12,50"
    assert "Erika" not in failure.error


def test_a_fractional_quantity_does_not_fail_its_page() -> None:
    # Quantity plugins ("sell by the metre") store 1.5: not a REST v3 integer quantity.
    good = {
        "id": 7,
        "status": "processing",
        "currency": "EUR",
        "date_created_gmt": "2026-05-01T08:00:00",
        "date_modified_gmt": "2026-05-01T08:00:00",
        "line_items": [{"id": 70, "sku": "ROPE", "quantity": 2, "total": "3.00"}],
    }
    fractional = {
        **good,
        "id": 8,
        "date_modified_gmt": "2026-05-01T08:05:00",
        "billing": {"email": "buyer@example.test"},
        "line_items": [{"id": 80, "sku": "ROPE", "quantity": 1.5, "total": "2.25"}],
    }
    later = {**good, "id": 9, "date_modified_gmt": "2026-05-01T08:10:00"}
    answered: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answered.append(request)
        body = json.dumps([good, fractional, later]).encode()
        return httpx.Response(200, content=body, headers={"x-wp-totalpages": "1"})

    config = WooCommerceConfig(
        account="woo-main",
        url="https://shop.example.com",
        consumer_key="ck_" + "a" * 40,
        consumer_secret="cs_" + "b" * 40,
        webhook_secret="whsec",
        currency="EUR",
    )
    channel = WooCommerceChannel(config, transport=httpx.MockTransport(handler))
    got = list(channel.fetch_orders(datetime(2026, 5, 1, tzinfo=UTC)))
    channel.close()

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    assert [x.order_id for x in got] == ["7", "8", "9"]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.error == (
        "order 8 cannot be read: WooOrder.line_items.0.quantity: Input should be a valid"
        " integer, got a number with a fractional part"
    )
    assert failure.updated_at == datetime(2026, 5, 1, 8, 5, tzinfo=UTC)
    assert failure.raw == fractional
    assert len(answered) == 1


def test_the_engine_applies_the_good_orders_and_lists_the_bad_one(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    # Within the engine's first look back (7 days).
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=2)
    first_id, bad_id, last_id = _seed_three(fake, start)
    engine = cs.SyncEngine(store, channels=[channel])
    engine.set_on_hand("MUG", 10)

    report = engine.run_once().accounts["woo-main"]

    assert report.ok, report.errors
    assert (report.orders_seen, report.orders_new, report.orders_failed) == (3, 2, 1)
    assert {o.order_id for o in engine.orders()} == {first_id, last_id}
    assert engine.stock("MUG").committed == 2
    [failure] = engine.order_failures()
    assert (failure.account, failure.order_id, failure.times) == ("woo-main", bad_id, 1)
    assert "amount '12,50' is not a decimal number" in failure.error


def test_read_order_reads_one_order_now(fake: Any, channel: Any) -> None:
    first_id, bad_id, _ = _seed_three(fake)
    one = channel.read_order(first_id)
    assert isinstance(one, Order)
    assert (one.order_id, one.lines[0].sku, one.lines[0].quantity) == (first_id, "MUG", 1)
    bad = channel.read_order(bad_id)
    assert isinstance(bad, OrderFailure)
    assert bad.order_id == bad_id
    assert channel.read_order("999999") is None
    assert channel.read_order("not-a-number") is None
    assert isinstance(channel, cs.SupportsReadOrder)
