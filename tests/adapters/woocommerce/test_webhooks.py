"""Webhook deliveries: signed order events from the fake, refusals, pings, event ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tests.conftest import load_conformance

import channelsync as cs
from channelsync.adapters.woocommerce._oauth import OAuth1QueryAuth
from channelsync.adapters.woocommerce.webhooks import WooCommerceWebhooks
from channelsync.core.errors import WebhookVerificationError
from channelsync.core.models import OrderStatus


def test_buyer_order_arrives_as_a_signed_webhook(fake: Any, channel: Any) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    fake.subscribe(lambda headers, body: received.append((headers, body)))
    fake.seed_listing("HOOK-1", quantity=4, price="12.00")
    order_id = fake.place_order("HOOK-1", 3)
    fake.flush_webhooks()
    ((headers, body),) = received
    assert headers["X-WC-Webhook-Topic"] == "order.created"
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "created"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert b"\\/" in body  # WordPress escapes slashes in JSON
    (event,) = channel.parse_webhook(headers, body)
    assert event.kind == "order"
    assert event.topic == "order.created"
    assert event.order is not None
    assert event.order.order_id == order_id
    assert event.order.status is OrderStatus.OPEN
    assert [(ln.sku, ln.quantity) for ln in event.order.lines] == [("HOOK-1", 3)]
    assert event.order.total == cs.Money.of("36.00", "EUR")
    # The same delivery again: the same event id (the engine's inbox stores it once).
    (again,) = channel.parse_webhook(headers, body)
    assert again.event_id == event.event_id
    assert fake.deliveries[0].status == 200


def test_deliveries_in_the_same_second_are_not_mistaken_for_repeats(
    fake: Any, channel: Any
) -> None:
    fake.seed_listing("HOOK-2", quantity=9, price="1.00")
    first = fake.webhook_delivery("order.created", fake.order_json(fake.place_order("HOOK-2")))
    second = fake.webhook_delivery("order.created", fake.order_json(fake.place_order("HOOK-2")))
    # wp_hash(webhook id . unix seconds): one second, one webhook, one delivery id.
    assert first[0]["X-WC-Webhook-Delivery-ID"] == second[0]["X-WC-Webhook-Delivery-ID"]
    assert len(channel.parse_webhook(*first)) == 1
    assert len(channel.parse_webhook(*second)) == 1


def test_creation_ping_is_a_ping(fake: Any, channel: Any) -> None:
    headers, body = fake.ping(webhook_id=142)
    (event,) = channel.parse_webhook(headers, body)
    assert (event.kind, event.raw) == ("ping", {"webhook_id": 142})


def test_refusals(fake: Any, channel: Any) -> None:
    fake.seed_listing("HOOK-3", quantity=9, price="1.00")
    headers, body = fake.webhook_delivery(
        "order.created", fake.order_json(fake.place_order("HOOK-3"))
    )
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    wrong_secret = {**headers, "X-WC-Webhook-Signature": fake.sign(body, secret="not-the-secret")}
    cases: list[tuple[dict[str, str], bytes, str]] = [
        (unsigned, body, "missing X-WC-Webhook-Signature"),
        (wrong_secret, body, "does not match"),
        (headers, body.replace(b'"quantity":1', b'"quantity":9'), "does not match"),
        ({**headers, "X-WC-Webhook-Topic": ""}, body, "Topic"),
        (
            {**headers, "X-WC-Webhook-Topic": "coupon.created"},
            body,
            "unsupported webhook topic",
        ),
        (unsigned, b"webhook_id=abc", "missing"),
    ]
    for bad_body, reason in ((b"[1, 2]", "not a JSON object"), (b"{not json", "not JSON")):
        cases.append(({**headers, "X-WC-Webhook-Signature": fake.sign(bad_body)}, bad_body, reason))
    no_id = json.dumps({"status": "processing"}).encode()
    cases.append(({**headers, "X-WC-Webhook-Signature": fake.sign(no_id)}, no_id, "integer 'id'"))
    not_order = json.dumps({"id": 5, "status": 7}).encode()
    cases.append(({**headers, "X-WC-Webhook-Signature": fake.sign(not_order)}, not_order, "order"))
    for bad_headers, bad_body, reason in cases:
        with pytest.raises(WebhookVerificationError, match=reason):
            channel.parse_webhook(bad_headers, bad_body)


def test_legacy_v1_delivery_from_the_published_log_is_refused() -> None:
    delivery = load_conformance("woocommerce", "webhooks-wc-v1.delivery-retrieve.response.json")
    headers = {k: str(v) for k, v in delivery["request_headers"].items()}
    body = delivery["request_body"].encode()
    hooks = WooCommerceWebhooks("woo-main", (SecretStr("unknown"),))
    with pytest.raises(WebhookVerificationError, match="does not match"):
        hooks.parse(headers, body)
    resigned = {
        **headers,
        "X-WC-Webhook-Signature": base64.b64encode(
            hmac.new(b"unknown", body, hashlib.sha256).digest()
        ).decode(),
    }
    with pytest.raises(WebhookVerificationError, match="legacy REST API"):
        hooks.parse(resigned, body)


def test_rotation_secret_is_accepted(fake: Any) -> None:
    fake.seed_listing("HOOK-4", quantity=9, price="1.00")
    headers, body = fake.webhook_delivery(
        "order.created", fake.order_json(fake.place_order("HOOK-4"))
    )
    hooks = WooCommerceWebhooks(
        "woo-main", (SecretStr("new-secret"), SecretStr(fake.webhook_secret))
    )
    assert len(hooks.parse(headers, body)) == 1
    with pytest.raises(WebhookVerificationError, match="no webhook secret"):
        WooCommerceWebhooks("woo-main", (None,)).parse(headers, body)


def test_order_deleted_and_product_updated(fake: Any, channel: Any) -> None:
    headers, body = fake.webhook_delivery("order.deleted", {"id": 4242})
    (event,) = channel.parse_webhook(headers, body)
    assert (event.kind, event.order_id, event.order) == ("order_deleted", "4242", None)
    fake.seed_listing("HOOK-5", quantity=6, price="1.00")
    product = fake.product_id("HOOK-5")
    with httpx.Client(
        base_url=fake.url, auth=OAuth1QueryAuth(fake.consumer_key, fake.consumer_secret)
    ) as http:
        payload = http.get(f"/wp-json/wc/v3/products/{product}").json()
    headers, body = fake.webhook_delivery("product.updated", payload)
    (event,) = channel.parse_webhook(headers, body)
    assert (event.kind, event.sku, event.quantity) == ("stock", "HOOK-5", 6)
    headers, body = fake.webhook_delivery("product.updated", {**payload, "manage_stock": False})
    (event,) = channel.parse_webhook(headers, body)
    assert (event.kind, event.sku, event.quantity) == ("product", "HOOK-5", None)


def test_open_order_with_refunds_is_left_to_the_poll(fake: Any, channel: Any) -> None:
    fake.seed_listing("HOOK-6", quantity=9, price="10.00")
    order_id = fake.place_order("HOOK-6", 2)
    payload = fake.order_json(order_id)
    payload["refunds"] = [{"id": 999, "reason": "", "total": "-10.00"}]
    (event,) = channel.parse_webhook(*fake.webhook_delivery("order.updated", payload))
    assert (event.kind, event.order_id, event.order) == ("order", order_id, None)


def test_refused_webhooks_change_nothing(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("HOOK-7", quantity=10, price="1.00")
    engine = cs.SyncEngine(store, channels=[channel])
    engine.set_on_hand("HOOK-7", 10)
    engine.import_listings()
    before = engine.stock("HOOK-7")
    journal = len(engine.explain("HOOK-7").entries)
    order_id = fake.place_order("HOOK-7", 4)
    headers, body = fake.webhook_delivery("order.created", fake.order_json(order_id))
    forged = body.replace(b'"quantity":4', b'"quantity":1')
    for bad_headers, bad_body in (
        (headers, forged),
        ({**headers, "X-WC-Webhook-Signature": fake.sign(body, secret="guess")}, body),
        ({k: v for k, v in headers.items() if "Signature" not in k}, body),
    ):
        with pytest.raises(WebhookVerificationError):
            engine.ingest_webhook("woo-main", bad_headers, bad_body)
    after = engine.stock("HOOK-7")
    assert (after.on_hand, after.committed) == (before.on_hand, before.committed) == (10, 0)
    assert len(engine.explain("HOOK-7").entries) == journal
    (event,) = engine.ingest_webhook("woo-main", headers, body)
    assert event.order is not None
    assert event.order.order_id == order_id
    assert engine.stock("HOOK-7").committed == 4
    engine.ingest_webhook("woo-main", headers, body)  # delivered again: stored once
    assert engine.stock("HOOK-7").committed == 4
    assert engine.inbox_pending() == []


def test_failing_receiver_gets_the_webhook_disabled(fake: Any) -> None:
    def refuse(headers: dict[str, str], body: bytes) -> None:
        raise RuntimeError("receiver down")

    fake.subscribe(refuse)
    fake.seed_listing("HOOK-8", quantity=100, price="1.00")
    for _ in range(7):
        fake.place_order("HOOK-8")
        fake.flush_webhooks()
    assert fake.webhook_status == "disabled"
    sent = len(fake.deliveries)
    fake.place_order("HOOK-8")
    fake.flush_webhooks()
    assert len(fake.deliveries) == sent == 7  # nothing more is sent, nothing is retried
    fake.reactivate_webhooks()
    assert fake.webhook_status == "active"
