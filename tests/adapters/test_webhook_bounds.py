"""Every webhook parser checks the signature first, bounds the body's size and nesting,
and refuses a malformed body with a short ``WebhookPayloadError`` (the receiver's 400),
never a ``RecursionError`` (a 5xx that makes the marketplace deliver it again)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

import channelsync as cs
from channelsync.adapters._webhooks import (
    MAX_JSON_DEPTH,
    MAX_MESSAGE,
    MAX_WEBHOOK_BYTES,
    json_depth,
    load_json,
)
from channelsync.adapters.ebay import EbayChannel, EbayConfig
from channelsync.adapters.ebay.payloads import PublicKey
from channelsync.adapters.shopify import ShopifyChannel, ShopifyConfig
from channelsync.adapters.woocommerce.webhooks import WooCommerceWebhooks
from channelsync.core.errors import WebhookPayloadError, WebhookVerificationError
from channelsync.testing import FakeChannel

SECRET = "whsec_bounds"
#: 5,000 levels: far past the parsers' recursion limit (about 1,000).
DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"id": 1, "a": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}"


def _hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _shopify() -> Callable[[bytes, bool], Any]:
    channel = ShopifyChannel(
        ShopifyConfig(
            account="shop", shop="bounds.myshopify.com", access_token="t", webhook_secret=SECRET
        ),
        base_url="http://127.0.0.1:9",
    )

    def parse(body: bytes, signed: bool) -> Any:
        headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": "e1"}
        headers["X-Shopify-Hmac-Sha256"] = _hmac(body) if signed else _hmac(b"other")
        return channel.parse_webhook(headers, body)

    return parse


def _woocommerce() -> Callable[[bytes, bool], Any]:
    hooks = WooCommerceWebhooks("woo", (SecretStr(SECRET),))

    def parse(body: bytes, signed: bool) -> Any:
        headers = {"X-WC-Webhook-Topic": "order.created"}
        headers["X-WC-Webhook-Signature"] = _hmac(body) if signed else _hmac(b"other")
        return hooks.parse(headers, body)

    return parse


class _EbayKeys:
    """A key pair standing in for eBay's Notification API (``getPublicKey``)."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = PublicKey(key=pem.decode(), algorithm="ECDSA", digest="SHA1")
        self.fetched: list[str] = []

    def __call__(self, key_id: str) -> PublicKey:
        self.fetched.append(key_id)
        return self.public

    def header(self, body: bytes) -> str:
        signature = self.private.sign(body, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        return base64.b64encode(
            json.dumps(
                {
                    "alg": "ecdsa",
                    "kid": "k1",
                    "signature": base64.b64encode(signature).decode(),
                    "digest": "SHA1",
                }
            ).encode()
        ).decode()


def _ebay_channel(keys: _EbayKeys) -> EbayChannel:
    return EbayChannel(
        EbayConfig(
            account="ebay-de",
            site_id=77,
            app_id="app",
            cert_id="cert",
            dev_id="dev",
            user_token="tok",
            verification_token="v" * 40,
            deletion_endpoint_url="https://shop.example/ebay/deletion",
        ),
        public_keys=keys,
    )


def _ebay() -> Callable[[bytes, bool], Any]:
    keys = _EbayKeys()
    channel = _ebay_channel(keys)

    def parse(body: bytes, signed: bool) -> Any:
        signature = keys.header(body if signed else b"other")
        return channel.parse_webhook({"X-EBAY-SIGNATURE": signature}, body)

    return parse


PARSERS = {"shopify": _shopify, "woocommerce": _woocommerce, "ebay": _ebay}


@pytest.mark.parametrize("kind", sorted(PARSERS))
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deep_json_signed_is_a_payload_error_unsigned_a_verification_error(
    kind: str, body: bytes
) -> None:
    parse = PARSERS[kind]()
    with pytest.raises(WebhookPayloadError, match=f"nested deeper than {MAX_JSON_DEPTH}"):
        parse(body, True)
    with pytest.raises(WebhookVerificationError) as caught:
        parse(body, False)
    assert type(caught.value) is WebhookVerificationError  # refused before it was read
    assert "does not match" in str(caught.value)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_a_body_over_the_limit_is_refused_before_anything_else(kind: str) -> None:
    body = b'{"id": 1, "pad": "' + b"x" * MAX_WEBHOOK_BYTES + b'"}'
    with pytest.raises(WebhookPayloadError, match=f"over the {MAX_WEBHOOK_BYTES}-byte limit"):
        PARSERS[kind]()(body, True)


def test_shopify_order_with_60000_bad_line_items_gives_one_short_message() -> None:
    """Signed, well-formed, invalid: the error (and so the log line) names the count and
    the first problem, not 60,000 of them (11 MB once)."""
    payload = {
        "id": 1,
        "name": "#1",
        "created_at": "2026-12-01T10:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
        "line_items": [{"id": "x", "quantity": "many"}] * 60_000,
    }
    with pytest.raises(WebhookPayloadError) as caught:
        _shopify()(json.dumps(payload).encode(), True)
    message = str(caught.value)
    assert len(message) <= MAX_MESSAGE + 40
    assert "validation errors" in message
    assert "more)" in message


def test_ebay_deletion_with_a_bad_signature_is_never_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The raw bytes are verified first; a body that fails is read only (bounded) to try
    the compact form eBay's SDKs sign, and its content is never validated or used."""
    keys = _EbayKeys()
    channel = _ebay_channel(keys)
    validated: list[object] = []
    from channelsync.adapters.ebay import payloads

    original = payloads.DeletionMessage.model_validate

    def spy(value: object, *a: Any, **kw: Any) -> Any:
        validated.append(value)
        return original(value, *a, **kw)

    monkeypatch.setattr(payloads.DeletionMessage, "model_validate", spy)
    body = json.dumps(
        {
            "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"},
            "notification": {"notificationId": "n1", "data": {"username": "u", "userId": "1"}},
        }
    ).encode()
    with pytest.raises(WebhookVerificationError, match="does not match"):
        channel.parse_webhook({"X-EBAY-SIGNATURE": keys.header(b"forged")}, body)
    assert validated == []
    (event,) = channel.parse_webhook({"X-EBAY-SIGNATURE": keys.header(body)}, body)
    assert (event.kind, event.customer_ids) == ("customer_redact", ("u", "1"))
    assert len(validated) == 1


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[\\"{{"}]}') == 3
    assert json_depth(b"[]") == 1
    assert json_depth(b'"just a string"') == 0
    assert json_depth(DEEP, 64) == 65  # counting stops past the limit
    assert load_json(b'{"a": "]]]]"}') == {"a": "]]]]"}


class _ValueErrorChannel(FakeChannel):
    """A user's channel whose parser lets a parser error escape."""

    def parse_webhook(self, headers: Any, body: bytes) -> Any:
        payload = json.loads(body)  # RecursionError on DEEP
        return payload["id"]  # KeyError on {}


def test_engine_turns_a_parser_crash_into_a_payload_error(
    store: cs.Store, caplog: pytest.LogCaptureFixture
) -> None:
    engine = cs.SyncEngine(store, [_ValueErrorChannel("mine")])
    with caplog.at_level(logging.WARNING), pytest.raises(WebhookPayloadError, match="mine"):
        engine.receive_webhook("mine", {}, DEEP)
    with pytest.raises(WebhookPayloadError, match="malformed webhook body"):
        engine.receive_webhook("mine", {}, b"{not json")
    with pytest.raises(WebhookPayloadError, match="malformed webhook body: 'id'"):
        engine.receive_webhook("mine", {}, b"{}")  # the parser reads body["id"]
    assert engine.inbox_pending() == []


def test_receiver_answers_a_malformed_body_400_and_logs_one_short_line(
    store: cs.Store, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.test_webhooks_receiver import _served

    from channelsync.webhooks import create_app

    engine = cs.SyncEngine(store, [_ValueErrorChannel("mine"), FakeChannel("fake")])
    noise = b"[" * 200_000 + b"]" * 200_000
    with _served(create_app(engine, threads=1)) as client, caplog.at_level(logging.WARNING):
        deep = client.post("/webhooks/mine", content=noise)
        junk = client.post("/webhooks/mine", content=b"\xff\xfe not json at all")
        unsigned = client.post("/webhooks/fake", content=b"{}")
    assert (deep.status_code, deep.json()) == (400, {"error": "malformed body"})
    assert junk.status_code == 400
    assert unsigned.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "channelsync.webhooks"]
    assert len(lines) == 3
    assert max(len(line) for line in lines) <= MAX_MESSAGE + 60
