"""Account deletion (challenge + ECDSA-signed notification) and Platform Notifications."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.adapters.ebay.payloads import TWO_LINE_ORDER
from tests.conftest import load_conformance

from channelsync.adapters.ebay import EbayChannel, EbayConfig
from channelsync.adapters.ebay.payloads import PublicKey
from channelsync.adapters.ebay.webhooks import (
    QUERY_HEADER,
    CachedPublicKeys,
    challenge_response,
    verify_push_signature,
)
from channelsync.core.errors import Unavailable, WebhookVerificationError
from channelsync.core.models import OrderStatus
from channelsync.sandbox.ebay import EbayFake

VECTORS = "notification.MARKETPLACE_ACCOUNT_DELETION.signature-test-vectors.json"


def _case(name: str) -> tuple[bytes, str, Any]:
    case = load_conformance("ebay", VECTORS)[name]
    body = json.dumps(case["message"], separators=(",", ":")).encode()
    return body, case["signature"], case["response"]


def _keys(response: Any) -> Any:
    def source(key_id: str) -> PublicKey:
        assert key_id == "9936261a-7d7b-4621-a0f1-96ccb428af49"  # the kid inside the header
        if response is None:
            raise WebhookVerificationError("getPublicKey found no key")
        return PublicKey.model_validate(response)

    return source


def test_conformance_valid_vector_verifies() -> None:
    body, signature, response = _case("VALID")
    assert verify_push_signature(body, signature, _keys(response)) == (
        "9936261a-7d7b-4621-a0f1-96ccb428af49"
    )
    pretty = json.dumps(json.loads(body), indent=2).encode()  # re-serialised delivery
    assert verify_push_signature(pretty, signature, _keys(response))


@pytest.mark.parametrize("name", ["INVALID", "SIGNATURE_MISMATCH", "ERROR"])
def test_conformance_bad_vectors_are_refused(name: str) -> None:
    body, signature, response = _case(name)
    with pytest.raises(WebhookVerificationError):
        verify_push_signature(body, signature, _keys(response))


def _channel(**kw: Any) -> EbayChannel:
    fields: dict[str, Any] = {
        "account": "ebay-de",
        "site_id": 77,
        "app_id": "app",
        "cert_id": "cert",
        "dev_id": "dev",
        "user_token": "tok",
        "verification_token": "v" * 40,
        "deletion_endpoint_url": "https://shop.example/ebay/deletion",
    }
    fields.update(kw)
    return EbayChannel(EbayConfig(**fields))


def test_deletion_notification_becomes_a_customer_redact_event() -> None:
    body, signature, response = _case("VALID")
    channel = EbayChannel(_channel().config, public_keys=_keys(response))
    (event,) = channel.parse_webhook({"X-EBAY-SIGNATURE": signature}, body)
    assert event.kind == "customer_redact"
    assert event.customer_ids == ("test_user", "ma8vp1jySJC")
    assert event.event_id == (
        "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d"
    )
    with pytest.raises(WebhookVerificationError, match="missing x-ebay-signature"):
        channel.parse_webhook({}, body)
    channel.close()


def test_challenge_answer_is_sha256_of_code_token_and_endpoint() -> None:
    channel = _channel()
    (event,) = channel.parse_webhook({QUERY_HEADER: "challenge_code=a8628072-3d33-45ee"}, b"")
    expected = hashlib.sha256(
        b"a8628072-3d33-45ee" + b"v" * 40 + b"https://shop.example/ebay/deletion"
    ).hexdigest()
    assert event.kind == "ping"
    assert event.response == json.dumps({"challengeResponse": expected})
    assert (
        challenge_response("a8628072-3d33-45ee", "v" * 40, "https://shop.example/ebay/deletion")
        == expected
    )
    no_endpoint = _channel(verification_token=None, deletion_endpoint_url=None)
    with pytest.raises(WebhookVerificationError, match="challenge"):
        no_endpoint.parse_webhook({QUERY_HEADER: "challenge_code=x"}, b"")
    channel.close()
    no_endpoint.close()


def test_public_keys_are_cached_per_key_id() -> None:
    fetched: list[str] = []
    now = [0.0]

    def fetch(key_id: str) -> PublicKey:
        fetched.append(key_id)
        return PublicKey(key="k", algorithm="ECDSA", digest="SHA1")

    keys = CachedPublicKeys(fetch, ttl=3600, clock=lambda: now[0])
    keys("a")
    keys("a")
    keys("b")
    now[0] = 3601
    keys("a")
    assert fetched == ["a", "b", "a"]


def test_key_service_outage_is_transient_not_a_refusal() -> None:
    body, signature, _ = _case("VALID")

    def down(key_id: str) -> PublicKey:
        raise Unavailable("getPublicKey timed out")

    with pytest.raises(Unavailable):
        verify_push_signature(body, signature, down)


def test_fake_deletion_is_verified_with_the_key_served_by_the_fake(fake: EbayFake) -> None:
    channel = fake.channel()
    headers, body = fake.deletion_notification("leaving_user", "uId123")
    (event,) = channel.parse_webhook(headers, body)
    assert event.customer_ids == ("leaving_user", "uId123")
    channel.parse_webhook(*fake.deletion_notification("other", "u2"))
    assert fake.calls["getPublicKey"] == 1  # cached
    assert fake.calls["getToken"] == 1  # one application token
    assert fake.challenge(channel.parse_webhook) is True
    forged = dict(headers)
    forged["X-EBAY-SIGNATURE"] = base64.b64encode(
        json.dumps(
            {"alg": "ecdsa", "kid": fake.key_id, "signature": "AAAA", "digest": "SHA1"}
        ).encode()
    ).decode()
    with pytest.raises(WebhookVerificationError, match="does not match"):
        channel.parse_webhook(forged, body)


def test_platform_notification_gives_order_and_stock_events(fake: EbayFake) -> None:
    fake.seed_listing("PN-1", quantity=5, price="4.00")
    channel = fake.channel()
    order_id = fake.place_order("PN-1", 2)
    headers, body = fake.platform_notification(order_id)
    events = channel.parse_webhook(headers, body)
    assert [e.kind for e in events] == ["order", "stock"]
    order = events[0].order
    assert order is not None
    assert order.order_id == order_id
    assert order.status is OrderStatus.OPEN
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("PN-1", 2)]
    assert (events[1].sku, events[1].quantity) == ("PN-1", 3)
    assert events[0].topic == "FixedPriceTransaction"


def test_platform_notification_signature_and_age_are_checked(fake: EbayFake) -> None:
    fake.seed_listing("PN-2", quantity=5, price="4.00")
    order_id = fake.place_order("PN-2")
    headers, body = fake.platform_notification(order_id)
    other_keys = fake.channel(cert_id="PRD-someone-elses-cert")
    with pytest.raises(WebhookVerificationError, match="NotificationSignature"):
        other_keys.parse_webhook(headers, body)
    later = datetime.now(UTC) + timedelta(minutes=11)
    stale = fake.channel(clock=lambda: later)
    with pytest.raises(WebhookVerificationError, match="more than"):
        stale.parse_webhook(headers, body)
    disabled = fake.channel(platform_notifications=False)
    with pytest.raises(WebhookVerificationError, match="not enabled"):
        disabled.parse_webhook(headers, body)
    with pytest.raises(WebhookVerificationError, match="not XML"):
        fake.channel().parse_webhook(headers, body[:-5])


def test_notification_of_one_transaction_brings_the_whole_order(fake: EbayFake) -> None:
    # A Platform Notification names one transaction of a two-line cart. Applied as the
    # order, it would be a newer version without the other line, which the ledger reads as
    # removed (its units released): the event must carry the order as GetOrders has it.
    order_id = fake.seed_order(TWO_LINE_ORDER)
    channel = fake.channel()
    headers, body = fake.platform_notification(order_id, "ItemMarkedShipped")
    events = [e for e in channel.parse_webhook(headers, body) if e.kind == "order"]
    assert len(events) == 1
    order = events[0].order
    assert order is not None
    assert order.order_id == order_id == "05-11111-22222"
    assert [(ln.line_id, ln.sku, ln.quantity) for ln in order.lines] == [
        ("110000000011-2900000000101", "SHIRT-GREEN-M", 2),
        ("110000000012-2900000000102", "MUG-WHITE", 1),
    ]
    assert order == channel.fetch_order(order_id)
    assert fake.calls["GetOrders"] == 2


def test_notification_whose_order_cannot_be_read_carries_only_its_id(fake: EbayFake) -> None:
    order_id = fake.seed_order(TWO_LINE_ORDER)
    channel = fake.channel()
    headers, body = fake.platform_notification(order_id)
    fake.inject("server_error", times=1, operation="GetOrders")
    # The engine's inbox keeps the event and reads the order later (read_order, which
    # goes through the Fulfillment API while Trading's quota is spent).
    [event] = [e for e in channel.parse_webhook(headers, body) if e.kind == "order"]
    assert (event.order, event.order_id) == (None, order_id)
