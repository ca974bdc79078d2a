"""Shopify webhook deliveries: verify and map to ``WebhookEvent`` (the engine's inbox
deduplicates redeliveries by their event id).

A delivery is accepted only when ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of
the raw body under the app's secret (or the previous one, during a rotation), compared in
constant time; the body is under the size cap; the shop domain, when sent, is this
account's; the topic is one channelsync understands; and the body is the JSON that topic
carries. Anything else raises ``WebhookVerificationError`` before any state changes.
Repeated deliveries (same ``X-Shopify-Event-Id``) give no events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from channelsync.adapters._webhooks import describe_invalid, header, load_json, verify_hmac_sha256
from channelsync.adapters.shopify.config import ShopifyConfig
from channelsync.adapters.shopify.mapping import gid, legacy_id, order_from_rest
from channelsync.adapters.shopify.payloads import (
    RestCustomersRedact,
    RestInventoryLevel,
    RestOrder,
    RestShopRedact,
)
from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import WebhookPayloadError, WebhookVerificationError

__all__ = ["ORDER_TOPICS", "TOPICS", "ShopifyWebhooks"]

#: Topics whose body is the REST order JSON.
ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/paid",
        "orders/partially_fulfilled",
    }
)
PRIVACY_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
TOPICS = ORDER_TOPICS | PRIVACY_TOPICS | {"inventory_levels/update"}


class ShopifyWebhooks:
    """Parses deliveries for one account.

    Args:
        config: the account (its shop domain and webhook secrets).
        sku_for_item: the SKU of an inventory item GID, when the channel knows it (filled
            by ``fetch_listings``), so ``inventory_levels/update`` can name the SKU.
        location_id: the synced location's GID, when known: stock events of other
            locations are ignored.
    """

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        sku_for_item: Callable[[str], str | None] = lambda _item: None,
        location_id: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.config = config
        self._sku_for_item = sku_for_item
        self._location_id = location_id

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify one delivery and return its events (a redelivery returns them again, with
        the same event id: the engine's inbox stores them once)."""
        verify_hmac_sha256(
            body,
            header(headers, "X-Shopify-Hmac-Sha256"),
            (self.config.webhook_secret, self.config.previous_webhook_secret),
            encoding="base64",
            header_name="X-Shopify-Hmac-Sha256",
        )
        domain = header(headers, "X-Shopify-Shop-Domain")
        if domain is not None and domain.strip().lower() != self.config.shop:
            raise WebhookVerificationError(
                f"delivery is for shop {domain!r}, not {self.config.shop!r}"
            )
        topic = (header(headers, "X-Shopify-Topic") or "").strip().lower()
        if topic not in TOPICS:
            raise WebhookVerificationError(
                f"unsupported webhook topic {topic or '(missing)'!r}; channelsync handles"
                f" {', '.join(sorted(TOPICS))}"
            )
        payload = load_json(body, f"{topic} body")
        if not isinstance(payload, dict):
            raise WebhookPayloadError(f"{topic} body is not a JSON object")
        event_id = header(headers, "X-Shopify-Event-Id") or header(headers, "X-Shopify-Webhook-Id")
        try:
            events = self._events(topic, payload, event_id)
        except (ValidationError, ValueError) as exc:
            raise WebhookPayloadError(
                f"{topic} body is not a valid payload: {describe_invalid(exc)}"
            ) from None
        return events

    def _events(
        self, topic: str, payload: dict[str, Any], event_id: str | None
    ) -> list[WebhookEvent]:
        account = self.config.account
        if topic in ORDER_TOPICS:
            order = order_from_rest(RestOrder.model_validate(payload), account=account, raw=payload)
            return [
                WebhookEvent(
                    kind="order",
                    event_id=event_id,
                    topic=topic,
                    order=order,
                    order_id=order.order_id,
                    raw=payload,
                )
            ]
        if topic == "inventory_levels/update":
            level = RestInventoryLevel.model_validate(payload)
            synced = self._location_id()
            if synced is not None and gid("Location", level.location_id) != synced:
                return []
            return [
                WebhookEvent(
                    kind="stock",
                    event_id=event_id,
                    topic=topic,
                    sku=self._sku_for_item(gid("InventoryItem", level.inventory_item_id)),
                    quantity=level.available,
                    raw=payload,
                )
            ]
        if topic == "shop/redact":
            RestShopRedact.model_validate(payload)
            return [WebhookEvent(kind="shop_redact", event_id=event_id, topic=topic, raw=payload)]
        privacy = RestCustomersRedact.model_validate(payload)
        customer = privacy.customer
        orders = privacy.orders_to_redact or privacy.orders_requested
        return [
            WebhookEvent(
                kind="customer_redact" if topic == "customers/redact" else "customer_data_request",
                event_id=event_id,
                topic=topic,
                customer_ids=(str(customer.id),) if customer and customer.id is not None else (),
                customer_emails=(customer.email,) if customer and customer.email else (),
                order_ids=tuple(legacy_id(o) for o in orders),
                raw=payload,
            )
        ]
