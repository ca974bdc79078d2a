"""``WooCommerceFake``: WooCommerce's REST API v3 on loopback, for tests and offline work.

What it speaks (paths below ``/wp-json``), each logged under the operation in brackets:

* ``GET wc/v3/orders`` [orders] with ``modified_after``/``modified_before``/``after``/
  ``before``, ``dates_are_gmt``, ``orderby`` (date, modified, id...), ``order``, ``status``,
  ``page``, ``per_page`` (1-100) and the ``X-WP-Total``/``X-WP-TotalPages``/``Link``
  headers; ``POST wc/v3/orders`` [orders/create]; ``GET``/``PUT``/``DELETE
  wc/v3/orders/{id}`` [orders/{id}, orders/update, orders/delete]; notes [notes,
  notes/create]; refunds [refunds, refunds/create].
* ``GET wc/v3/products`` [products], ``GET wc/v3/products/{id}`` [products/{id}],
  ``GET wc/v3/products/{id}/variations`` [variations], ``PUT`` of one [products/update,
  variations/update], and the batch routes [products/batch, variations/batch]: at most 100
  items (413 ``woocommerce_rest_request_entity_too_large`` above), per-item errors in the
  same ``update`` array as ``{"id", "error": {"code", "message", "data"}}``, variation
  batches scoped to their parent.
* ``GET wc/v3/settings/general/woocommerce_currency`` [settings].
* The Shipment Tracking extension, ``wc-shipment-tracking/v3/orders/{id}/shipment-trackings``
  [shipment-trackings, shipment-trackings/create], when ``tracking_extension`` is on;
  otherwise WordPress's 404 ``rest_no_route``, as for any unknown route.

Authentication is as WooCommerce does it: over TLS (``https`` scheme as the fake sees it)
the consumer key and secret as HTTP Basic or as query parameters; over plain HTTP an
OAuth 1.0a signature in the query (HMAC-SHA1/-SHA256 with ``secret&``, 15 minutes of
timestamp skew, nonces used once), as the official ``woocommerce`` client signs; Basic over
HTTP is ignored (an anonymous request) unless ``allow_basic_over_http``. A wrong secret answers 401
``woocommerce_rest_authentication_error``; an unknown or missing key is an anonymous
request, refused by the route with 401 ``woocommerce_rest_cannot_view`` (``_edit``,
``_create``, ``_batch``...). Throttling answers 429 with ``Retry-After`` (WooCommerce core
has no limiter; hosts and the Store API's limiter answer so), server errors WordPress's
critical-error body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelsync.core.errors import ConfigError
from channelsync.core.models import utcnow
from channelsync.sandbox._base import (
    ASGIApp,
    FakeMarketplace,
    FaultKind,
    Receive,
    Scope,
    Send,
)
from channelsync.sandbox.woocommerce.orders_api import OrderRoutes
from channelsync.sandbox.woocommerce.products_api import ProductRoutes
from channelsync.sandbox.woocommerce.shop import (
    FakeOrder,
    Shop,
    WcError,
    default_timezone,
)

__all__ = ["WooCommerceFake"]

log = logging.getLogger(__name__)

_CRITICAL = (
    "<p>There has been a critical error on this website.</p>"
    '<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">'
    "Learn more about troubleshooting WordPress.</a></p>"
)
_DENIED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
    "delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}
_WEBHOOK_IDS = {
    "order.created": 11,
    "order.updated": 12,
    "order.deleted": 13,
    "order.restored": 14,
    "product.created": 21,
    "product.updated": 22,
    "product.deleted": 23,
}


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    operation: str
    access: str  # list | view | edit | create | batch | delete
    handler: str
    extension: bool = False


def _route(
    methods: str,
    pattern: str,
    operation: str,
    access: str,
    handler: str,
    *,
    extension: bool = False,
) -> _Route:
    return _Route(
        frozenset(methods.split()),
        re.compile(f"^{pattern}$"),
        operation,
        access,
        handler,
        extension,
    )


_ROUTES: tuple[_Route, ...] = (
    _route("GET", r"/wp-json/wc/v3/orders", "orders", "list", "_orders"),
    _route("POST", r"/wp-json/wc/v3/orders", "orders/create", "create", "_create_order"),
    _route("GET", r"/wp-json/wc/v3/orders/(?P<id>\d+)", "orders/{id}", "view", "_get_order"),
    _route(
        "POST PUT PATCH",
        r"/wp-json/wc/v3/orders/(?P<id>\d+)",
        "orders/update",
        "edit",
        "_update_order",
    ),
    _route(
        "DELETE", r"/wp-json/wc/v3/orders/(?P<id>\d+)", "orders/delete", "delete", "_delete_order"
    ),
    _route("GET", r"/wp-json/wc/v3/orders/(?P<id>\d+)/notes", "notes", "list", "_notes"),
    _route(
        "POST", r"/wp-json/wc/v3/orders/(?P<id>\d+)/notes", "notes/create", "create", "_add_note"
    ),
    _route("GET", r"/wp-json/wc/v3/orders/(?P<id>\d+)/refunds", "refunds", "list", "_refunds"),
    _route(
        "POST",
        r"/wp-json/wc/v3/orders/(?P<id>\d+)/refunds",
        "refunds/create",
        "create",
        "_add_refund",
    ),
    _route("GET", r"/wp-json/wc/v3/products", "products", "list", "_products"),
    _route(
        "POST PUT PATCH",
        r"/wp-json/wc/v3/products/batch",
        "products/batch",
        "batch",
        "_products_batch",
    ),
    _route("GET", r"/wp-json/wc/v3/products/(?P<id>\d+)", "products/{id}", "view", "_get_product"),
    _route(
        "POST PUT PATCH",
        r"/wp-json/wc/v3/products/(?P<id>\d+)",
        "products/update",
        "edit",
        "_update_product",
    ),
    _route(
        "GET",
        r"/wp-json/wc/v3/products/(?P<pid>\d+)/variations",
        "variations",
        "list",
        "_variations",
    ),
    _route(
        "POST PUT PATCH",
        r"/wp-json/wc/v3/products/(?P<pid>\d+)/variations/batch",
        "variations/batch",
        "batch",
        "_variations_batch",
    ),
    _route(
        "GET",
        r"/wp-json/wc/v3/products/(?P<pid>\d+)/variations/(?P<id>\d+)",
        "variations/{id}",
        "view",
        "_get_variation",
    ),
    _route(
        "POST PUT PATCH",
        r"/wp-json/wc/v3/products/(?P<pid>\d+)/variations/(?P<id>\d+)",
        "variations/update",
        "edit",
        "_update_variation",
    ),
    _route(
        "GET",
        r"/wp-json/wc/v3/settings/(?P<group>[\w-]+)/(?P<id>[\w-]+)",
        "settings",
        "view",
        "_setting",
    ),
    _route(
        "GET",
        r"/wp-json/wc-shipment-tracking/v3/orders/(?P<id>\d+)/shipment-trackings",
        "shipment-trackings",
        "list",
        "_trackings",
        extension=True,
    ),
    _route(
        "POST",
        r"/wp-json/wc-shipment-tracking/v3/orders/(?P<id>\d+)/shipment-trackings",
        "shipment-trackings/create",
        "create",
        "_add_tracking",
        extension=True,
    ),
)


def _oauth_encode(value: str) -> str:
    """WooCommerce's ``normalize_parameters``: rawurlencode(rawurldecode(x)), % escaped."""
    return quote(unquote(value), safe="").replace("%", "%25")


def _php_json(payload: Any) -> bytes:
    """JSON as WordPress's ``wp_json_encode`` writes it (ASCII, escaped slashes)."""
    return (
        json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()
    )


class WooCommerceFake(OrderRoutes, ProductRoutes, FakeMarketplace):
    """A WooCommerce shop speaking REST API v3, with a Europe/Berlin shop timezone.

    Args:
        latency_ms: added to every request.
        clock: the shop's clock (aware UTC).
        timezone: the shop's timezone (``date_*`` fields); default Europe/Berlin.
        currency: the shop's currency.

    Attributes:
        consumer_key, consumer_secret: the REST API key (``ck_...``/``cs_...``).
        key_permissions: ``"read_write"``, ``"read"`` or ``"write"``.
        webhook_secret: the secret deliveries are signed with.
        webhook_topics: the topics the shop has webhooks for.
        tracking_extension: whether the Shipment Tracking extension is active.
        batch_limit: items per batch request (WooCommerce's filter default: 100).
    """

    name = "woocommerce"

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        timezone: tzinfo | None = None,
        currency: str = "EUR",
    ) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        self.shop = Shop(clock=clock, currency=currency, timezone=timezone or default_timezone())
        self.consumer_key = "ck_" + secrets.token_hex(20)
        self.consumer_secret = "cs_" + secrets.token_hex(20)
        self.key_permissions = "read_write"
        self.webhook_secret = secrets.token_urlsafe(24)
        self.webhook_topics: set[str] = {"order.created", "order.updated", "order.deleted"}
        self.tracking_extension = False
        self.batch_limit = 100
        self.hold_stock_minutes: float | None = 60.0
        """``woocommerce_hold_stock_minutes``: how long an unpaid checkout holds its units
        (``wc_reserved_stock``) before WooCommerce cancels the order; None: no holds."""
        self._holds: dict[int, tuple[datetime, dict[int, int]]] = {}
        self.allow_basic_over_http = False
        """Accept Basic and query-string keys over plain HTTP (WooCommerce refuses them
        without TLS and checks an OAuth 1.0a signature instead); for loopback clients
        that cannot sign."""
        self._nonces: dict[str, float] = {}
        self.max_webhook_failures = 5
        self._webhook_failures = 0
        self._webhook_disabled = False
        self._deliveries_seen = 0
        self._delivery_salt = secrets.token_bytes(16)
        self._channels: list[Any] = []

    # -- configuration ----------------------------------------------------------------------

    @property
    def timezone(self) -> tzinfo:
        """The shop's timezone (what ``date_*`` fields are written in)."""
        return self.shop.timezone

    @timezone.setter
    def timezone(self, value: tzinfo) -> None:
        with self.lock:
            self.shop.timezone = value

    @property
    def currency(self) -> str:
        """The shop's currency."""
        return self.shop.currency

    def channel(self, account: str = "woo-main", **options: Any) -> Any:
        """A real ``WooCommerceChannel`` aimed at this fake (plain HTTP allowed: loopback).

        ``options`` are ``WooCommerceConfig`` fields (``batch_size``, ``auth_in_query``...)
        plus ``shop_timezone`` and ``transport`` for the channel itself.
        """
        from channelsync.adapters.woocommerce import WooCommerceChannel, WooCommerceConfig

        if self.url is None:
            raise ConfigError("the WooCommerce fake is not served: start it in a Sandbox")
        channel_kw = {k: options.pop(k) for k in ("shop_timezone", "transport") if k in options}
        config = WooCommerceConfig(
            account=account,
            url=self.url,
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            webhook_secret=self.webhook_secret,
            allow_insecure_http=True,
            **options,
        )
        channel = WooCommerceChannel(config, **channel_kw)
        with self.lock:
            self._channels.append(channel)
        return channel

    def close(self) -> None:
        """Close the channels handed out, then stop the webhook sender."""
        with self.lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()
        super().close()

    # -- seeding and the merchant's / buyer's actions -------------------------------------------

    def seed_listing(
        self, sku: str, *, quantity: int, price: str, title: str | None = None
    ) -> None:
        """Create (or update) a stock-managed simple product ``sku``."""
        with self.lock:
            existing = self.shop.by_sku(sku)
            if existing is not None:
                self.shop.update_product(
                    existing,
                    {"manage_stock": True, "stock_quantity": quantity, "regular_price": price},
                )
                if title:
                    existing.name = title
                return
            self.shop.add_product(
                name=title or f"Product {sku}",
                type="simple",
                sku=sku,
                regular_price=str(price),
                manage_stock=True,
                stock_quantity=quantity,
            )

    def seed_variable(
        self,
        parent_sku: str,
        variations: Mapping[str, tuple[int, str]],
        *,
        title: str | None = None,
        attribute: str = "Size",
    ) -> int:
        """A variable product with one stock-managed variation per ``sku: (qty, price)``.

        Returns the parent's id. The parent has ``parent_sku`` and does not manage stock.
        """
        with self.lock:
            parent = self.shop.add_product(
                name=title or f"Product {parent_sku}",
                type="variable",
                sku=parent_sku,
                attributes=[
                    {
                        "id": 0,
                        "name": attribute,
                        "position": 0,
                        "visible": True,
                        "variation": True,
                        "options": [f"V{i + 1}" for i in range(len(variations))],
                    }
                ],
            )
            for i, (sku, (qty, price)) in enumerate(variations.items()):
                self.shop.add_product(
                    name=parent.name,
                    type="variation",
                    parent_id=parent.id,
                    sku=sku,
                    regular_price=str(price),
                    manage_stock=True,
                    stock_quantity=qty,
                    attributes=[{"id": 0, "name": attribute, "option": f"V{i + 1}"}],
                )
            return parent.id

    def seed_product(self, **fields: Any) -> int:
        """Any product or variation, as ``FakeProduct`` fields (``type``, ``sku``,
        ``manage_stock``, ``parent_id``...); returns its id."""
        with self.lock:
            fields.setdefault("name", f"Product {fields.get('sku') or 'without SKU'}")
            fields.setdefault("type", "simple")
            return self.shop.add_product(**fields).id

    def product_id(self, sku: str) -> int | None:
        """The id of the product or variation with ``sku``."""
        with self.lock:
            product = self.shop.by_sku(sku)
            return product.id if product else None

    def seed_order(self, order: Any) -> str:
        """Store an order given as REST v3 JSON (as ``GET /orders/{id}`` returns it).

        Given ``*_gmt`` dates are kept, plain ``date_*`` ones are read in the shop's
        timezone, missing ones are now. Stock is not touched: a seeded order is history.
        """
        if not isinstance(order, Mapping):
            raise TypeError("seed_order takes the REST order JSON as a mapping")
        with self.lock:
            return str(self.shop.add_order(order).id)

    # -- checkouts that hold stock -----------------------------------------------------------

    def held(self, sku: str) -> int:
        """Units of ``sku`` held by unpaid checkouts now (``wc_reserved_stock``)."""
        with self.lock:
            self._settle_holds()
            return self._held(sku)

    def _held(self, sku: str, *, besides: int | None = None) -> int:
        product = self.shop.by_sku(sku)
        owner = self.shop.stock_owner(product) if product else None
        if owner is None:
            return 0
        return sum(
            units.get(owner.id, 0)
            for order_id, (_, units) in self._holds.items()
            if order_id != besides
        )

    def _settle_holds(self) -> None:
        """Cancel unpaid checkouts whose hold ran out (``wc_cancel_unpaid_orders``)."""
        if not self._holds:
            return
        now = self.clock()
        expired = [order_id for order_id, (until, _) in self._holds.items() if until <= now]
        for order_id in expired:
            del self._holds[order_id]
            order = self.shop.orders.get(order_id)
            if order is None or order.status != "pending":
                continue
            self.shop.set_status(order, "cancelled")
            self.shop.add_note(
                order,
                "Unpaid order cancelled - time limit reached.",
                customer_note=False,
                author="system",
            )
            self._emit("order.updated", order.id, self.shop.order_json(order))

    def begin_checkout(self, sku: str, qty: int = 1) -> str:
        """A buyer places an order and has not paid yet: a ``pending`` order whose units are
        held for ``hold_stock_minutes`` (others cannot buy them; ``stock_quantity`` does not
        change until payment), and ``order.created``. Pay with ``pay(order_id)``."""
        with self.lock:
            self._settle_holds()
            product = self.shop.by_sku(sku)
            if product is None:
                raise KeyError(f"no product or variation with SKU {sku!r}")
            self._check_purchasable(sku, qty)
            order = self.shop.add_order(self._checkout_payload(product, sku, qty))
            owner = self.shop.stock_owner(product)
            if self.hold_stock_minutes and owner is not None:
                until = self.clock() + timedelta(minutes=self.hold_stock_minutes)
                self._holds[order.id] = (until, {owner.id: qty})
            payload = self.shop.order_json(order)
        self._emit("order.created", order.id, payload)
        return str(order.id)

    def pay(self, order_id: str | int) -> None:
        """The buyer of a held checkout pays: ``processing``, stock reduced, hold released."""
        with self.lock:
            self._settle_holds()
            order = self._order(int(order_id))
            if order.status != "pending":
                raise ValueError(f"order {order_id} is {order.status}, not pending")
            self._holds.pop(order.id, None)
            self.shop.set_status(order, "processing")
            payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)

    def _check_purchasable(self, sku: str, qty: int) -> None:
        stock = self.shop.quantity(sku)
        if stock is None:
            return
        free = stock - self._held(sku)
        if free < qty:
            raise ValueError(
                f"Not enough units of {sku} are available in stock to fulfil this order:"
                f" {free} (held by unpaid checkouts: {self._held(sku)})"
            )

    def _checkout_payload(self, product: Any, sku: str, qty: int) -> dict[str, Any]:
        line: dict[str, Any] = {"quantity": qty, "sku": sku}
        if product.type == "variation":
            line.update(product_id=product.parent_id, variation_id=product.id)
        else:
            line.update(product_id=product.id, variation_id=0)
        return {
            "status": "pending",
            "created_via": "checkout",
            "payment_method": "stripe",
            "payment_method_title": "Credit card (Stripe)",
            "billing": {
                "first_name": "Erika",
                "last_name": "Mustermann",
                "address_1": "Heidestrasse 17",
                "city": "Köln",
                "postcode": "51147",
                "country": "DE",
                "email": "erika@example.test",
                "phone": "+49 221 1234567",
            },
            "shipping": {
                "first_name": "Erika",
                "last_name": "Mustermann",
                "address_1": "Heidestrasse 17",
                "city": "Köln",
                "postcode": "51147",
                "country": "DE",
            },
            "line_items": [line],
        }

    def place_order(self, sku: str, qty: int = 1) -> str:
        """A buyer checks out and pays: a ``processing`` order, stock reduced as WooCommerce
        does, and a signed ``order.created`` webhook to every subscriber."""
        with self.lock:
            self._settle_holds()
            product = self.shop.by_sku(sku)
            if product is None:
                raise KeyError(f"no product or variation with SKU {sku!r}")
            self._check_purchasable(sku, qty)
            order = self.shop.add_order(self._checkout_payload(product, sku, qty))
            self.shop.set_status(order, "processing")
            product.total_sales += qty
            payload = self.shop.order_json(order)
        self._emit("order.created", order.id, payload)
        return str(order.id)

    def set_order_status(self, order_id: str | int, status: str) -> None:
        """The merchant changes an order's status in wp-admin (stock rules and webhook)."""
        with self.lock:
            order = self._order(int(order_id))
            self.shop.set_status(order, status)
            payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)

    def touch_order(self, order_id: str | int) -> None:
        """The merchant saves the order unchanged: only ``date_modified`` moves."""
        with self.lock:
            order = self._order(int(order_id))
            self.shop.touch(order)
            payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)

    def quantity(self, sku: str) -> int | None:
        """The stock the shop shows for ``sku`` (its parent's for a "parent" variation)."""
        with self.lock:
            self._settle_holds()
            return self.shop.quantity(sku)

    def price(self, sku: str) -> str | None:
        """The regular price of ``sku``."""
        with self.lock:
            product = self.shop.by_sku(sku)
            return product.regular_price if product else None

    def order_json(self, order_id: str | int) -> dict[str, Any]:
        """The order as ``GET /orders/{id}`` renders it."""
        with self.lock:
            return self.shop.order_json(self._order(int(order_id)))

    def notes(self, order_id: str | int) -> list[dict[str, Any]]:
        """The order's notes, newest first."""
        with self.lock:
            return [dict(n) for n in self._order(int(order_id)).notes]

    def trackings(self, order_id: str | int) -> list[dict[str, Any]]:
        """The order's Shipment Tracking entries."""
        with self.lock:
            order = self._order(int(order_id))
            return [self.shop.tracking_json(order, t) for t in order.trackings]

    @property
    def gateway_refunds(self) -> list[dict[str, Any]]:
        """Refunds the payment gateway was asked to pay out (``api_refund: true``)."""
        with self.lock:
            return list(self.shop.gateway_refunds)

    def _order(self, order_id: int) -> FakeOrder:
        order = self.shop.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    # -- webhooks -------------------------------------------------------------------------

    def sign(self, body: bytes, secret: str | None = None) -> str:
        """``X-WC-Webhook-Signature`` of ``body``: base64 HMAC-SHA256 with the secret."""
        key = (secret or self.webhook_secret).encode()
        return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()

    def webhook_delivery(
        self, topic: str, payload: Mapping[str, Any]
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body WooCommerce would POST for ``topic`` and ``payload``."""
        body = _php_json(dict(payload))
        webhook_id = _WEBHOOK_IDS.get(topic, 99)
        stamp = int(self.clock().timestamp())
        delivery = hmac.new(
            self._delivery_salt, f"{webhook_id}{stamp}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        resource, _, event = topic.partition(".")
        headers = {
            "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)",
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": f"{self.shop.site}/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": self.sign(body),
            "X-WC-Webhook-ID": str(webhook_id),
            "X-WC-Webhook-Delivery-ID": delivery,
        }
        return headers, body

    def ping(self, webhook_id: int = 11) -> tuple[dict[str, str], bytes]:
        """The unsigned ping WooCommerce sends when a webhook is created."""
        return (
            {
                "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            f"webhook_id={webhook_id}".encode(),
        )

    @property
    def webhook_status(self) -> str:
        """``active``, or ``disabled`` once deliveries kept failing (WooCommerce counts
        consecutive failures and disables the webhook when the count passes
        ``max_webhook_failures``; it never retries a delivery)."""
        with self.lock:
            for delivery in self.deliveries[self._deliveries_seen :]:
                ok = delivery.status is not None and 200 <= delivery.status < 303
                if ok:
                    self._webhook_failures = 0
                elif self._webhook_failures > self.max_webhook_failures:
                    self._webhook_disabled = True
                else:
                    self._webhook_failures += 1
            self._deliveries_seen = len(self.deliveries)
            return "disabled" if self._webhook_disabled else "active"

    def reactivate_webhooks(self) -> None:
        """The merchant sets the webhooks back to active."""
        with self.lock:
            self._webhook_disabled = False
            self._webhook_failures = 0
            self._deliveries_seen = len(self.deliveries)

    def _emit(self, topic: str, resource_id: int, payload: Mapping[str, Any]) -> None:
        with self.lock:
            if not self._targets or topic not in self.webhook_topics:
                return
        if self.webhook_status == "disabled":
            log.info("woocommerce fake: webhook for %s is disabled; not delivered", topic)
            return
        headers, body = self.webhook_delivery(topic, payload)
        self.send_webhook(topic, headers, body)

    # -- faults ---------------------------------------------------------------------------

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """429 with ``Retry-After`` in WordPress's error shape, or WordPress's critical error."""
        if kind == "throttle":
            body = {
                "code": "rate_limit_exceeded",
                "message": "Too many requests. Please wait and try again.",
                "data": {"status": 429},
            }
            return (
                429,
                {
                    "content-type": "application/json; charset=UTF-8",
                    "retry-after": "1",
                    "ratelimit-limit": "25",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": "1",
                },
                json.dumps(body).encode(),
            )
        body = {
            "code": "internal_server_error",
            "message": _CRITICAL,
            "data": {"status": 500},
            "additional_errors": [],
        }
        return 500, {"content-type": "application/json; charset=UTF-8"}, json.dumps(body).encode()

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The route's operation name (``orders``, ``products/batch``, ``variations/batch``...)."""
        path = path.rstrip("/") or "/"
        for route in _ROUTES:
            if method in route.methods and route.pattern.match(path):
                return route.operation
        return "unknown"

    # -- HTTP -----------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        """The REST routes (one ASGI callable; WordPress answers unknown routes itself)."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            request = Request(scope, receive)
            body = await request.body()
            response = self._dispatch(request, body, scope)
            await response(scope, receive, send)

        return app

    def _dispatch(self, request: Request, body: bytes, scope: Scope) -> Response:
        method = request.method.upper()
        path = request.url.path.rstrip("/") or "/"
        try:
            with self.lock:
                self._settle_holds()
            authenticated = self._authenticate(request, method)
            route, params = self._match(method, path)
            if not authenticated:
                code, message = _DENIED[route.access]
                raise WcError(code, message, 401)
            handler = getattr(self, route.handler)
            with self.lock:
                result: Response = handler(request, body, params, scope)
            return result
        except WcError as exc:
            headers = {}
            if exc.code == "woocommerce_rest_authentication_error":
                headers["WWW-Authenticate"] = (
                    'Basic realm="WooCommerce API. Use a consumer key in the username field and a'
                    ' consumer secret in the password field."'
                )
            return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    def _authenticate(self, request: Request, method: str) -> bool:
        secure = request.url.scheme == "https"
        if not secure and not self.allow_basic_over_http:
            # WooCommerce reads Basic and query-string keys only over TLS; over plain HTTP it
            # checks an OAuth 1.0a signature (class WC_REST_Authentication).
            return self._oauth(request, method)
        if not secure and any(k.startswith("oauth_") for k in request.query_params):
            return self._oauth(request, method)
        key = secret = ""
        query = request.query_params
        if query.get("consumer_key") and query.get("consumer_secret"):
            key, secret = query["consumer_key"], query["consumer_secret"]
        else:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(auth[6:].strip()).decode()
                except (ValueError, UnicodeDecodeError):
                    decoded = ""
                key, _, secret = decoded.partition(":")
        if not key or not secret or not hmac.compare_digest(key, self.consumer_key):
            return False  # WordPress carries on as an anonymous request
        if not hmac.compare_digest(secret, self.consumer_secret):
            raise WcError(
                "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
            )
        return self._permitted(method)

    def _oauth(self, request: Request, method: str) -> bool:
        """``perform_oauth_authentication``: the one-legged OAuth 1.0a check over HTTP."""
        query = request.query_params
        names = (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        )
        if not any(n in query for n in names):
            return False  # no credentials WooCommerce reads here: an anonymous request
        for name in names:
            if not query.get(name):
                raise WcError(
                    "woocommerce_rest_authentication_error", f"Missing OAuth parameter {name}", 401
                )
        if query["oauth_signature_method"] not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise WcError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
                401,
            )
        if not hmac.compare_digest(query["oauth_consumer_key"], self.consumer_key):
            raise WcError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        # PHP's $_GET keeps the last of repeated keys (the official client sends its
        # parameters twice: in the signed URL and again as requests' params).
        params = [(k, v) for k, v in query.items() if k != "oauth_signature"]
        url = str(request.url.replace(query=""))
        base = "&".join(
            (
                method,
                quote(url, safe=""),
                "%26".join(
                    f"{k}%3D{v}"
                    for k, v in sorted((_oauth_encode(k), _oauth_encode(v)) for k, v in params)
                ),
            )
        )
        digest = (
            hashlib.sha256 if query["oauth_signature_method"] == "HMAC-SHA256" else hashlib.sha1
        )
        expected = base64.b64encode(
            hmac.new(f"{self.consumer_secret}&".encode(), base.encode(), digest).digest()
        ).decode()
        if not hmac.compare_digest(expected, query["oauth_signature"]):
            raise WcError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401,
            )
        try:
            stamp = int(query["oauth_timestamp"])
        except ValueError:
            stamp = -1
        now = time.time()  # WordPress compares with its server's wall clock
        if abs(now - stamp) > 15 * 60:
            raise WcError("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        nonce = query["oauth_nonce"]
        self._nonces = {n: t for n, t in self._nonces.items() if now - t <= 15 * 60}
        if nonce in self._nonces:
            raise WcError(
                "woocommerce_rest_authentication_error",
                "Invalid nonce - nonce has already been used.",
                401,
            )
        self._nonces[nonce] = now
        return self._permitted(method)

    def _permitted(self, method: str) -> bool:
        writes = method in ("POST", "PUT", "PATCH", "DELETE")
        if writes and self.key_permissions not in ("write", "read_write"):
            raise WcError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401,
            )
        if not writes and self.key_permissions not in ("read", "read_write"):
            raise WcError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
                401,
            )
        return True

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        for route in _ROUTES:
            found = route.pattern.match(path)
            if (
                found
                and method in route.methods
                and (self.tracking_extension or not route.extension)
            ):
                return route, found.groupdict()
        raise WcError(
            "rest_no_route", "No route was found matching the URL and request method", 404
        )
