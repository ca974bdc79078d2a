"""Webhook deliveries: what is accepted, what is refused, and that refusals change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import load_conformance

import channelsync as cs
from channelsync.adapters.shopify import ShopifyChannel, ShopifyConfig
from channelsync.core.errors import UnknownOrder, WebhookVerificationError
from channelsync.core.models import OrderStatus
from channelsync.sandbox.shopify import ShopifyFake

SECRET = "shpss_current"
OLD_SECRET = "shpss_previous"
SHOP = "hooks-test.myshopify.com"


def _channel(**overrides: Any) -> ShopifyChannel:
    config: dict[str, Any] = {
        "account": "shopify-main",
        "shop": SHOP,
        "access_token": "shpat_test",
        "webhook_secret": SECRET,
    }
    config.update(overrides)
    return ShopifyChannel(ShopifyConfig(**config), base_url="http://127.0.0.1:9")


def _sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _delivery(
    topic: str, payload: Any, *, secret: str = SECRET, event_id: str = "evt-1"
) -> tuple[dict[str, str], bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return (
        {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": _sign(body, secret),
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Webhook-Id": "wh-" + event_id,
            "Content-Type": "application/json",
        },
        body,
    )


def _rest_order() -> dict[str, Any]:
    """A REST order as an ``orders/create`` body carries it (the fields the mapping reads)."""
    money = {"amount": "199.00", "currency_code": "USD"}
    return {
        "id": 1073459972,
        "admin_graphql_api_id": "gid://shopify/Order/1073459972",
        "name": "#1002",
        "created_at": "2024-04-02T09:04:18-05:00",
        "updated_at": "2024-04-02T09:04:18-05:00",
        "cancelled_at": None,
        "financial_status": "paid",
        "fulfillment_status": None,
        "currency": "USD",
        "presentment_currency": "USD",
        "total_price": "199.00",
        "total_price_set": {"shop_money": money, "presentment_money": money},
        "email": "jane@example.com",
        "line_items": [
            {
                "id": 1071823202,
                "variant_id": 447654529,
                "sku": "IPOD2009BLACK",
                "title": "IPod Touch 8GB",
                "name": "IPod Touch 8GB - Black",
                "quantity": 1,
                "current_quantity": 1,
                "fulfillable_quantity": 1,
                "price": "199.00",
                "price_set": {"shop_money": money, "presentment_money": money},
                "discount_allocations": [],
            }
        ],
        "fulfillments": [],
        "refunds": [],
    }


def test_orders_create_maps_the_rest_body() -> None:
    headers, body = _delivery("orders/create", _rest_order())
    [event] = _channel().parse_webhook(headers, body)
    assert (event.kind, event.topic, event.event_id, event.order_id) == (
        "order",
        "orders/create",
        "evt-1",
        "1073459972",
    )
    order = event.order
    assert order is not None
    assert order.status is OrderStatus.OPEN
    assert order.created_at.isoformat() == "2024-04-02T14:04:18+00:00"  # from -05:00
    assert [(ln.sku, ln.quantity, str(ln.unit_price)) for ln in order.lines] == [
        ("IPOD2009BLACK", 1, "199.00 USD")
    ]
    assert order.raw["id"] == 1073459972


def test_a_repeated_delivery_carries_the_same_event_id(store: cs.Store) -> None:
    channel = _channel()
    headers, body = _delivery("orders/updated", _rest_order(), event_id="evt-dup")
    (first,) = channel.parse_webhook(headers, body)
    (second,) = channel.parse_webhook(headers, body)
    assert first.event_id == second.event_id == "evt-dup"
    # The engine's inbox stores it once.
    engine = cs.SyncEngine(store, [channel])
    engine.receive_webhook(channel.account, headers, body)
    again = engine.receive_webhook(channel.account, headers, body)
    assert (again.stored, again.duplicates) == ([], 1)


def test_previous_secret_is_accepted_during_rotation() -> None:
    rotated = _channel(previous_webhook_secret=OLD_SECRET)
    headers, body = _delivery("orders/create", _rest_order(), secret=OLD_SECRET)
    assert len(rotated.parse_webhook(headers, body)) == 1
    with pytest.raises(WebhookVerificationError, match="does not match"):
        _channel().parse_webhook(*_delivery("orders/create", _rest_order(), secret=OLD_SECRET))


def _refusals() -> list[tuple[str, dict[str, str], bytes]]:
    good_headers, good_body = _delivery("orders/create", _rest_order())
    sig = good_headers["X-Shopify-Hmac-Sha256"]
    wrong = dict(good_headers, **{"X-Shopify-Hmac-Sha256": _sign(good_body, "not-the-secret")})
    missing = {k: v for k, v in good_headers.items() if k != "X-Shopify-Hmac-Sha256"}
    truncated = dict(good_headers, **{"X-Shopify-Hmac-Sha256": sig[:-6]})
    topic_headers, topic_body = _delivery("products/update", {"id": 1, "title": "x"})
    nonjson_headers, nonjson_body = _delivery("orders/create", b"<html>not json</html>")
    array_headers, array_body = _delivery("orders/create", [1, 2, 3])
    bad_shape_headers, bad_shape_body = _delivery("orders/create", {"id": 5})
    huge = b'{"id": 1, "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    huge_headers, _ = _delivery("orders/create", b"{}")
    huge_headers["X-Shopify-Hmac-Sha256"] = _sign(huge)
    other_shop = dict(good_headers, **{"X-Shopify-Shop-Domain": "someone-else.myshopify.com"})
    return [
        ("wrong signature", wrong, good_body),
        ("missing signature", missing, good_body),
        ("truncated signature", truncated, good_body),
        ("tampered body", good_headers, good_body.replace(b"199.00", b"1.00")),
        ("unknown topic", topic_headers, topic_body),
        ("non-JSON body", nonjson_headers, nonjson_body),
        ("JSON array body", array_headers, array_body),
        ("order without created_at", bad_shape_headers, bad_shape_body),
        ("10 MB body", huge_headers, huge),
        ("another shop", other_shop, good_body),
    ]


@pytest.mark.parametrize(
    ("headers", "body"),
    [pytest.param(h, b, id=name) for name, h, b in _refusals()],
)
def test_refused_delivery_raises(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(WebhookVerificationError):
        _channel().parse_webhook(headers, body)


def test_refused_deliveries_change_nothing_in_the_engine(store: cs.Store) -> None:
    channel = _channel()
    engine = cs.SyncEngine(store, channels=[channel])
    engine.set_on_hand("IPOD2009BLACK", 5)
    for _name, headers, body in _refusals():
        with pytest.raises(WebhookVerificationError):
            engine.ingest_webhook("shopify-main", headers, body)
    view = engine.stock("IPOD2009BLACK")
    assert (view.on_hand, view.committed) == (5, 0)
    with pytest.raises(UnknownOrder):
        engine.order("shopify-main", "1073459972")
    # The same delivery, correctly signed, is applied once.
    headers, body = _delivery("orders/create", _rest_order(), event_id="evt-ok")
    engine.ingest_webhook("shopify-main", headers, body)
    engine.ingest_webhook("shopify-main", headers, body)
    assert engine.stock("IPOD2009BLACK").committed == 1


def test_inventory_level_update_names_the_sku_once_listings_are_known(fake: ShopifyFake) -> None:
    fake.seed_listing("LEVEL-1", quantity=3, price="2.00")
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    ids = fake.ids("LEVEL-1")
    body = {
        "inventory_item_id": int(ids["inventory_item_id"].rsplit("/", 1)[-1]),
        "location_id": 1,
        "available": 42,
        "updated_at": "2024-04-02T08:57:24-05:00",
    }
    headers, raw = fake.webhook("inventory_levels/update", body)
    [before] = channel.parse_webhook(headers, raw)
    assert (before.kind, before.sku, before.quantity) == ("stock", None, 42)
    list(channel.fetch_listings())
    headers, raw = fake.webhook("inventory_levels/update", body)
    [after] = channel.parse_webhook(headers, raw)
    assert (after.sku, after.quantity) == ("LEVEL-1", 42)
    other = dict(body, location_id=999)
    headers, raw = fake.webhook("inventory_levels/update", other)
    assert channel.parse_webhook(headers, raw) == []  # not the synced location
    channel.close()


def test_inventory_level_conformance_body_parses() -> None:
    level = load_conformance("shopify", "rest-2024-04/inventory_level.cases.json")[6]["response"]
    headers, body = _delivery("inventory_levels/update", level["inventory_level"])
    [event] = _channel(location_id="655441491").parse_webhook(headers, body)
    assert (event.kind, event.quantity, event.raw["inventory_item_id"]) == ("stock", 42, 808950810)


def test_privacy_topics() -> None:
    channel = _channel()
    redact = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263, 220458],
    }
    [event] = channel.parse_webhook(*_delivery("customers/redact", redact, event_id="r1"))
    assert (event.kind, event.customer_ids, event.customer_emails, event.order_ids) == (
        "customer_redact",
        ("191167",),
        ("john@example.com",),
        ("299938", "280263", "220458"),
    )
    request = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": [299938],
        "customer": {"id": 191167, "email": "john@example.com"},
        "data_request": {"id": 9999},
    }
    [event] = channel.parse_webhook(*_delivery("customers/data_request", request, event_id="r2"))
    assert (event.kind, event.order_ids) == ("customer_data_request", ("299938",))
    [event] = channel.parse_webhook(
        *_delivery("shop/redact", {"shop_id": 954889, "shop_domain": SHOP}, event_id="r3")
    )
    assert event.kind == "shop_redact"


def test_fake_sends_signed_orders_create_that_the_engine_applies(
    fake: ShopifyFake, store: cs.Store
) -> None:
    fake.seed_listing("HOOK-1", quantity=6, price="12.50")
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    engine = cs.SyncEngine(store, channels=[channel])
    engine.set_on_hand("HOOK-1", 6)
    received: list[list[cs.WebhookEvent]] = []
    fake.subscribe(lambda h, b: received.append(engine.ingest_webhook("shopify-main", h, b)))
    order_id = fake.place_order("HOOK-1", 2)
    fake.flush_webhooks()
    assert [d.topic for d in fake.deliveries] == ["orders/create"]
    assert fake.deliveries[0].error is None
    [[event]] = received
    assert event.order is not None
    assert event.order.order_id == order_id
    assert event.order.total == cs.Money(amount=Decimal("25.00"), currency="USD")
    view = engine.stock("HOOK-1")
    assert (view.on_hand, view.committed) == (6, 2)
    channel.close()
