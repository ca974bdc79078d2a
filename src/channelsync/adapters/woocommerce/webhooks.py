"""WooCommerce webhook deliveries: verify and turn into ``WebhookEvent`` (the engine's
inbox deduplicates redeliveries by the event id made here).

A delivery is a POST of the REST v3 resource JSON with ``X-WC-Webhook-Topic``,
``-Resource``, ``-Event``, ``-ID``, ``-Delivery-ID`` and ``-Signature`` (base64
HMAC-SHA256 of the raw body with the webhook's secret). When a webhook is created
WooCommerce sends one unsigned form-encoded ping, ``webhook_id=N``, and needs a 2xx to
activate it.

WooCommerce never retries a failed delivery and disables a webhook after a run of
failures (``woocommerce_max_webhook_delivery_failures``, 5), so webhooks only speed things
up: order polling stays on as the safety net.

The delivery id is ``wp_hash(webhook id . unix seconds)``: two deliveries of one webhook in
the same second share it. The dedupe key therefore adds the resource id and a digest of the
body, so a replayed delivery is dropped and two different ones never are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr, ValidationError

from channelsync.adapters._webhooks import (
    check_size,
    describe_invalid,
    header,
    load_json,
    verify_hmac_sha256,
)
from channelsync.adapters.woocommerce.mapping import (
    listing_from_product,
    order_from_payload,
    order_status,
)
from channelsync.adapters.woocommerce.payloads import WooOrder, WooProduct
from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import WebhookPayloadError, WebhookVerificationError

__all__ = ["ORDER_TOPICS", "PRODUCT_TOPICS", "WooCommerceWebhooks"]

SIGNATURE = "X-WC-Webhook-Signature"
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored", "order.deleted"})
PRODUCT_TOPICS = frozenset(
    {"product.created", "product.updated", "product.restored", "product.deleted"}
)
_PING = re.compile(rb"^webhook_id=(\d+)$")


class WooCommerceWebhooks:
    """Parses the deliveries of one shop (thread-safe).

    Args:
        account: the channel account.
        secrets: the current webhook secret and, during a rotation, the previous one.
    """

    def __init__(self, account: str, secrets: tuple[SecretStr | None, ...]) -> None:
        self.account = account
        self._secrets = secrets

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Events of one delivery; [] for a repeat. Raises ``WebhookVerificationError``."""
        check_size(body)
        signature = header(headers, SIGNATURE)
        ping = _PING.match(body.strip())
        if signature is None and ping is not None:
            # The creation ping is unsigned; it changes nothing, so it needs no trust.
            return [
                WebhookEvent(
                    kind="ping",
                    topic="ping",
                    event_id=None,
                    raw={"webhook_id": int(ping.group(1))},
                )
            ]
        verify_hmac_sha256(body, signature, self._secrets, header_name=SIGNATURE)
        topic = (header(headers, "X-WC-Webhook-Topic") or "").strip()
        if not topic:
            raise WebhookVerificationError("missing X-WC-Webhook-Topic header")
        payload = load_json(body)
        if not isinstance(payload, dict):
            raise WebhookPayloadError("webhook body is not a JSON object")
        if set(payload) == {"order"} or set(payload) == {"product"}:
            raise WebhookVerificationError(
                "legacy REST API webhook payload: set the webhook's API version to"
                " 'WP REST API Integration v3' in WooCommerce"
            )
        resource_id = payload.get("id")
        if not isinstance(resource_id, int) or isinstance(resource_id, bool):
            raise WebhookPayloadError("webhook body has no integer 'id'")
        if topic not in ORDER_TOPICS and topic not in PRODUCT_TOPICS:
            raise WebhookVerificationError(f"unsupported webhook topic {topic!r}")
        delivery = (header(headers, "X-WC-Webhook-Delivery-ID") or "").encode()
        digest = hashlib.sha256(delivery + b"\n" + body).hexdigest()[:32]
        event_id = f"{topic}:{resource_id}:{digest}"
        if topic in ORDER_TOPICS:
            return [self._order_event(topic, event_id, resource_id, payload)]
        return [self._product_event(topic, event_id, resource_id, payload)]

    def _order_event(
        self, topic: str, event_id: str, resource_id: int, payload: dict[str, Any]
    ) -> WebhookEvent:
        if topic == "order.deleted":
            # Trashed or deleted: it will never show in a poll again, so the engine
            # releases its units (kind order_deleted).
            return WebhookEvent(
                kind="order_deleted",
                topic=topic,
                event_id=event_id,
                order_id=str(resource_id),
                raw=payload,
            )
        try:
            woo = WooOrder.model_validate(payload)
            if woo.date_created_gmt is None:
                raise ValueError("no date_created_gmt")
            if woo.refunds and order_status(woo.status).commits_stock:
                # Which lines a refund covers is only in /orders/{id}/refunds: leave this
                # version to the next poll rather than apply it without the refunded units.
                return WebhookEvent(
                    kind="order",
                    topic=topic,
                    event_id=event_id,
                    order_id=str(resource_id),
                    raw=payload,
                )
            order = order_from_payload(woo, account=self.account)
        except (ValidationError, ValueError) as exc:
            raise WebhookPayloadError(
                f"webhook body is not a WooCommerce order: {describe_invalid(exc)}"
            ) from None
        return WebhookEvent(
            kind="order",
            topic=topic,
            event_id=event_id,
            order=order,
            order_id=order.order_id,
            raw=payload,
        )

    def _product_event(
        self, topic: str, event_id: str, resource_id: int, payload: dict[str, Any]
    ) -> WebhookEvent:
        if topic == "product.deleted":
            return WebhookEvent(kind="product", topic=topic, event_id=event_id, raw=payload)
        try:
            product = WooProduct.model_validate(payload)
            listing = listing_from_product(product, account=self.account, currency=None)
        except (ValidationError, ValueError) as exc:
            raise WebhookPayloadError(
                f"webhook body is not a WooCommerce product: {describe_invalid(exc)}"
            ) from None
        if listing is not None and listing.manages_stock and listing.quantity is not None:
            return WebhookEvent(
                kind="stock",
                topic=topic,
                event_id=event_id,
                sku=listing.sku,
                quantity=listing.quantity,
                raw=payload,
            )
        return WebhookEvent(
            kind="product",
            topic=topic,
            event_id=event_id,
            sku=product.sku.strip() or None,
            raw=payload,
        )
