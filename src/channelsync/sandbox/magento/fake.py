"""``MagentoFake``: Magento 2 / Adobe Commerce REST on loopback, for tests and offline work.

What it speaks (below ``/rest/{store_code}``; each logged under the operation in brackets):

* ``GET V1/products`` [products], ``GET V1/stockItems/{sku}`` [stockItems/{sku}], ``PUT
  V1/products/{sku}/stockItems/{itemId}`` [stockItems/update], ``POST
  V1/products/base-prices`` [products/base-prices], ``GET V1/store/storeConfigs``
  [store/storeConfigs].
* Multi-Source Inventory (``msi=True``): ``GET V1/inventory/sources`` [inventory/sources],
  ``GET``/``POST V1/inventory/source-items`` [inventory/source-items,
  inventory/source-items/save] and the asynchronous bulk route ``POST
  async/bulk/V1/inventory/source-items`` [async/bulk/inventory/source-items] with ``GET
  V1/bulk/{uuid}/detailed-status`` [bulk/detailed-status]. Without MSI these answer 404
  *Request does not match any route.*, as a store without the Inventory modules does.
* ``GET V1/orders`` [orders], ``GET V1/orders/{id}`` [orders/{id}], ``POST
  V1/orders/{id}/cancel`` [orders/cancel], ``POST V1/orders/{id}/comments`` [orders/comments],
  ``POST V1/order/{id}/ship`` [order/ship], ``POST V1/order/{id}/refund`` [order/refund],
  ``GET V1/shipments`` [shipments], ``GET V1/creditmemos`` [creditmemos], ``GET
  V1/creditmemo/{id}/comments`` [creditmemo/comments].

Searches take ``searchCriteria`` (filter groups, sort orders, ``pageSize``,
``currentPage``; a page past the end answers the last page again). Input limits are on as
Adobe documents them (*Input List Limit* 20 per synchronous array, 5,000 asynchronous,
*Maximum Page Size* 300, *Default Page Size* 20; ``input_limits = False`` is Magento's
out-of-the-box setting). Errors are Magento's JSON (``message`` with ``%1``/``%name``
placeholders, ``parameters``, ``errors``).

Authentication: OAuth 1.0a signatures checked as ``Magento\\Framework\\Oauth`` checks them
(HMAC-SHA256 or HMAC-SHA1, nonce reuse, timestamps), or the integration's access token as
a Bearer token when ``bearer_allowed`` (Magento 2.4.4 and later refuse it by default, and a
refused or unknown token is a guest: 401 *The consumer isn't authorized to access
%resources.*). ``granted`` limits the integration's ACL resources.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from channelsync.core.errors import ConfigError
from channelsync.core.models import utcnow
from channelsync.sandbox._base import (
    ASGIApp,
    FakeMarketplace,
    FaultKind,
    Receive,
    Scope,
    Send,
    request_state,
)
from channelsync.sandbox.magento._search import SearchError, paginate, parse_criteria
from channelsync.sandbox.magento._store import FakeProduct, MagentoError, Store

__all__ = ["MagentoFake"]

log = logging.getLogger(__name__)

NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
NO_ROUTE = "Request does not match any route."
_TOKEN_CHARS = string.ascii_lowercase + string.digits
_OPEN, _COMPLETE, _RETRIABLE, _FAILED = 4, 1, 2, 3
_SOURCE_ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"
_PRICE_TYPE = "\\Magento\\Catalog\\Api\\Data\\BasePriceInterface"
_SUCCESS = (
    "Service execution success"
    " Magento\\InventoryApi\\Api\\SourceItemsSaveInterface\\Interceptor::execute"
)
_NO_STORE = "Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId."


def _token() -> str:
    return "".join(secrets.choice(_TOKEN_CHARS) for _ in range(32))


def _php_rawurlencode(value: str) -> str:
    out = []
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            out.append(ch)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _strnatcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].isdigit() and b[j].isdigit():
            si, sj = i, j
            while i < len(a) and a[i].isdigit():
                i += 1
            while j < len(b) and b[j].isdigit():
                j += 1
            x, y = int(a[si:i]), int(b[sj:j])
            if x != y:
                return -1 if x < y else 1
            continue
        if a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i += 1
        j += 1
    return (len(a) - i > 0) - (len(b) - j > 0)


def _json(value: Any) -> bytes:
    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError(type(obj).__name__)

    return json.dumps(value, default=default).encode()


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    operation: str
    resource: str
    handler: str
    msi: bool = False
    bulk: bool = False


def _route(
    methods: str,
    pattern: str,
    operation: str,
    resource: str,
    handler: str,
    *,
    msi: bool = False,
    bulk: bool = False,
) -> _Route:
    return _Route(
        frozenset(methods.split()),
        re.compile(f"^{pattern}$"),
        operation,
        resource,
        handler,
        msi,
        bulk,
    )


_SALES = "Magento_Sales::actions_view"
_ROUTES: tuple[_Route, ...] = (
    _route("GET", r"/V1/products", "products", "Magento_Catalog::products", "_products"),
    _route(
        "POST",
        r"/V1/products/base-prices",
        "products/base-prices",
        "Magento_Catalog::catalog",
        "_base_prices",
    ),
    _route(
        "PUT",
        r"/V1/products/(?P<sku>[^/]+)/stockItems/(?P<item>[^/]+)",
        "stockItems/update",
        "Magento_CatalogInventory::cataloginventory",
        "_update_stock_item",
    ),
    _route(
        "GET",
        r"/V1/stockItems/(?P<sku>[^/]+)",
        "stockItems/{sku}",
        "Magento_CatalogInventory::cataloginventory",
        "_stock_item",
    ),
    _route(
        "GET",
        r"/V1/store/storeConfigs",
        "store/storeConfigs",
        "Magento_Backend::store",
        "_store_configs",
    ),
    _route(
        "GET",
        r"/V1/inventory/sources",
        "inventory/sources",
        "Magento_InventoryApi::source",
        "_sources",
        msi=True,
    ),
    _route(
        "GET",
        r"/V1/inventory/source-items",
        "inventory/source-items",
        "Magento_InventoryApi::source",
        "_source_items",
        msi=True,
    ),
    _route(
        "POST",
        r"/V1/inventory/source-items",
        "inventory/source-items/save",
        "Magento_InventoryApi::source",
        "_save_source_items",
        msi=True,
    ),
    _route(
        "POST",
        r"/V1/inventory/source-items",
        "async/bulk/inventory/source-items",
        "Magento_InventoryApi::source",
        "_bulk_source_items",
        msi=True,
        bulk=True,
    ),
    _route(
        "GET",
        r"/V1/bulk/(?P<uuid>[^/]+)/detailed-status",
        "bulk/detailed-status",
        "Magento_AsynchronousOperations::system_magento_logging_bulk_operations",
        "_bulk_status",
    ),
    _route("GET", r"/V1/orders", "orders", _SALES, "_orders"),
    _route("GET", r"/V1/orders/(?P<id>\d+)", "orders/{id}", _SALES, "_order"),
    _route(
        "POST",
        r"/V1/orders/(?P<id>\d+)/cancel",
        "orders/cancel",
        "Magento_Sales::cancel",
        "_cancel",
    ),
    _route(
        "POST",
        r"/V1/orders/(?P<id>\d+)/comments",
        "orders/comments",
        "Magento_Sales::comment",
        "_comment",
    ),
    _route("POST", r"/V1/order/(?P<id>\d+)/ship", "order/ship", "Magento_Sales::ship", "_ship"),
    _route(
        "POST",
        r"/V1/order/(?P<id>\d+)/refund",
        "order/refund",
        "Magento_Sales::creditmemo",
        "_refund",
    ),
    _route("GET", r"/V1/shipments", "shipments", "Magento_Sales::shipment", "_shipments"),
    _route("GET", r"/V1/creditmemos", "creditmemos", "Magento_Sales::creditmemo", "_creditmemos"),
    _route(
        "GET",
        r"/V1/creditmemo/(?P<id>\d+)/comments",
        "creditmemo/comments",
        "Magento_Sales::creditmemo",
        "_creditmemo_comments",
    ),
)
_PATH = re.compile(
    r"^/rest(?:/(?P<store>[a-z][a-z0-9_]*))?(?P<bulk>/async/bulk)?(?P<route>/V1/.*)$"
)


class MagentoFake(FakeMarketplace):
    """A Magento 2.4 store speaking REST, with Multi-Source Inventory by default.

    Args:
        latency_ms: added to every request.
        clock: the store's clock (aware UTC): order and shipment times, bulk timing.
        currency: the base currency.
        msi: whether the Inventory (MSI) modules are enabled.

    Attributes:
        access_token, consumer_key, consumer_secret, access_token_secret: the integration's
            credentials (32 characters each, as Magento makes them).
        bearer_allowed: *Allow OAuth Access Tokens to be used as standalone Bearer tokens*.
        granted: the integration's ACL resources (None: all).
        input_limits: *Enable Input Limits* (with ``input_list_limit``, ``async_list_limit``,
            ``max_page_size`` and ``default_page_size``).
        list_includes_stock_item: the product list carries ``extension_attributes.stock_item``
            (recent 2.4 releases); False behaves like the releases that left it out.
        consumer_running: the ``async.operations.all`` consumer runs; ``consumer_delay``
            seconds (of the store's clock) after a bulk is accepted its operations are done.
        oauth_clock: the server's wall clock that OAuth timestamps are checked against.
    """

    name = "magento"

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        currency: str = "EUR",
        msi: bool = True,
    ) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        self.store = Store(clock=clock, currency=currency, msi=msi)
        self.store_code = "default"
        self.access_token = _token()
        self.consumer_key = _token()
        self.consumer_secret = _token()
        self.access_token_secret = _token()
        self.consumer_id = 1
        self.bearer_allowed = False
        self.granted: set[str] | None = None
        self.input_limits = True
        self.input_list_limit = 20
        self.async_list_limit = 5000
        self.max_page_size = 300
        self.default_page_size = 20
        self.list_includes_stock_item = True
        self.consumer_running = True
        self.consumer_delay = 0.0
        self.oauth_clock: Callable[[], float] = time.time
        self._nonces: set[str] = set()
        self._channels: list[Any] = []

    # -- configuration ----------------------------------------------------------------------

    @property
    def msi(self) -> bool:
        """Whether the Inventory modules are enabled."""
        return self.store.msi

    @property
    def currency(self) -> str:
        """The store's base currency."""
        return self.store.currency

    def channel(self, account: str = "magento-main", **options: Any) -> Any:
        """A real ``MagentoChannel`` aimed at this fake (OAuth 1.0a signing by default).

        ``options`` are ``MagentoConfig`` fields (``auth="bearer"`` sends the access token
        alone) plus ``transport``, ``sleep`` and ``clock`` for the channel itself.
        """
        from channelsync.adapters.magento import MagentoChannel, MagentoConfig

        if self.url is None:
            raise ConfigError("the Magento fake is not served: start it in a Sandbox")
        channel_kw = {k: options.pop(k) for k in ("transport", "sleep", "clock") if k in options}
        creds: dict[str, Any] = {"access_token": self.access_token}
        if options.get("auth") != "bearer":
            creds.update(
                consumer_key=self.consumer_key,
                consumer_secret=self.consumer_secret,
                access_token_secret=self.access_token_secret,
            )
        options.setdefault("bulk_poll_interval", 0.02)
        config = MagentoConfig(
            account=account, url=self.url, allow_insecure_http=True, **creds, **options
        )
        channel = MagentoChannel(config, **channel_kw)
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

    # -- seeding, and the merchant's and buyers' actions ------------------------------------

    def seed_listing(
        self,
        sku: str,
        *,
        quantity: int,
        price: str,
        title: str | None = None,
        source: str = "default",
        manage_stock: bool = True,
        type_id: str = "simple",
    ) -> None:
        """Create (or update) a product ``sku`` with ``quantity`` units at ``source``."""
        with self.lock:
            product = self.store.by_sku(sku)
            if product is None:
                product = self.store.add_product(
                    sku, title or f"Product {sku}", type_id=type_id, price=Decimal(price)
                )
            else:
                product.price = Decimal(price)
                product.updated_at = self.store.now()
                if title:
                    product.name = title
            product.manage_stock = manage_stock
            product.use_config_manage_stock = manage_stock
            if self.store.msi:
                self._ensure_source(source)
                self.store.set_source_item(sku, source, Decimal(quantity), 1 if quantity > 0 else 0)
            else:
                product.legacy_qty = Decimal(quantity)

    def seed_source(self, code: str, name: str | None = None, *, enabled: bool = True) -> None:
        """Add an inventory source."""
        with self.lock:
            self.store.sources[code] = {
                "source_code": code,
                "name": name or code.title(),
                "enabled": enabled,
            }

    def _ensure_source(self, code: str) -> None:
        if code not in self.store.sources:
            self.store.sources[code] = {"source_code": code, "name": code.title(), "enabled": True}

    def seed_configurable(
        self,
        parent_sku: str,
        children: Mapping[str, tuple[int, str]],
        *,
        title: str | None = None,
    ) -> int:
        """A configurable product whose simple children are ``sku: (quantity, price)``;
        returns the parent's id."""
        for sku, (qty, price) in children.items():
            self.seed_listing(sku, quantity=qty, price=price, title=f"{title or parent_sku} {sku}")
        with self.lock:
            parent = self.store.add_product(
                parent_sku, title or f"Product {parent_sku}", type_id="configurable"
            )
            parent.children = [self._product(sku).id for sku in children]
            for sku in children:
                self._product(sku).parent_id = parent.id
            return parent.id

    def seed_order(self, order: Any) -> str:
        """Store an order given as REST JSON (as ``GET /V1/orders/{id}`` returns it); stock is
        not touched: a seeded order is history. Returns its ``entity_id``."""
        if not isinstance(order, Mapping):
            raise TypeError("seed_order takes the REST order JSON as a mapping")
        with self.lock:
            return str(self.store.add_order(order)["entity_id"])

    def place_order(self, sku: str, qty: int = 1, *, invoiced: bool = False) -> str:
        """A buyer checks out: a new order (``new``/``pending``, paid by check or money order;
        ``invoiced=True`` captures a card payment: ``processing``), reserving its units (MSI)
        or taking them from the stock item. A configurable's child is ordered as Magento
        writes it: the parent row with the child row under it. Returns the order id."""
        with self.lock:
            product = self._product(sku)
            if not product.holds_stock:
                raise ValueError(f"{sku} is a {product.type_id} product; order one of its children")
            salable = self.store.salable(product.sku)
            if product.manage_stock and salable < qty:
                raise ValueError(f"The requested qty is not available: {salable} of {sku} salable")
            parent = (
                self.store.products.get(product.parent_id)
                if product.parent_id is not None
                else None
            )
            price = product.price or Decimal(0)
            total = price * qty
            item_base = self.store.next_item_id()
            items: list[dict[str, Any]] = []
            invoiced_qty = qty if invoiced else 0
            if parent is not None:
                items.append(
                    self._order_item(item_base, parent, product.sku, qty, price, invoiced_qty)
                    | {"product_type": "configurable", "product_id": parent.id}
                )
                items.append(
                    self._order_item(
                        item_base + 1, product, product.sku, qty, Decimal(0), invoiced_qty
                    )
                    | {"parent_item_id": item_base}
                )
            else:
                items.append(
                    self._order_item(item_base, product, product.sku, qty, price, invoiced_qty)
                )
            address = {
                "address_type": "shipping",
                "firstname": "Erika",
                "lastname": "Mustermann",
                "street": ["Heidestrasse 17"],
                "city": "Köln",
                "postcode": "51147",
                "region": "Nordrhein-Westfalen",
                "region_code": "NRW",
                "country_id": "DE",
                "telephone": "+49 221 1234567",
                "email": "erika@example.test",
            }
            order = self.store.add_order(
                {
                    "state": "processing" if invoiced else "new",
                    "status": "processing" if invoiced else "pending",
                    "store_id": 1,
                    "customer_email": "erika@example.test",
                    "customer_firstname": "Erika",
                    "customer_lastname": "Mustermann",
                    "customer_is_guest": 1,
                    "base_grand_total": total,
                    "grand_total": total,
                    "base_subtotal": total,
                    "subtotal": total,
                    "base_shipping_amount": Decimal(0),
                    "base_tax_amount": Decimal(0),
                    "base_discount_amount": Decimal(0),
                    "base_total_paid": total if invoiced else Decimal(0),
                    "base_total_invoiced": total if invoiced else Decimal(0),
                    "total_qty_ordered": qty,
                    "items": items,
                    "billing_address": {**address, "address_type": "billing"},
                    "payment": {
                        "method": "checkmo" if not invoiced else "braintree",
                        "amount_ordered": total,
                        "base_amount_ordered": total,
                        "additional_information": [],
                    },
                    "status_histories": [],
                    "extension_attributes": {
                        "shipping_assignments": [
                            {
                                "shipping": {
                                    "address": address,
                                    "method": "flatrate_flatrate",
                                    "total": {"base_shipping_amount": 0, "shipping_amount": 0},
                                },
                                "items": [],
                            }
                        ]
                    },
                }
            )
            self.store.reserve(product.sku, Decimal(qty))
            return str(order["entity_id"])

    def _order_item(
        self,
        item_id: int,
        product: FakeProduct,
        sku: str,
        qty: int,
        price: Decimal,
        invoiced: int,
    ) -> dict[str, Any]:
        return {
            "item_id": item_id,
            "product_id": product.id,
            "product_type": product.type_id,
            "sku": sku,
            "name": product.name,
            "qty_ordered": qty,
            "qty_invoiced": invoiced,
            "price": price,
            "base_price": price,
            "original_price": price,
            "row_total": price * qty,
            "base_row_total": price * qty,
            "tax_amount": 0,
            "base_tax_amount": 0,
            "discount_amount": 0,
            "base_discount_amount": 0,
            "is_virtual": 0,
            "store_id": 1,
            "created_at": self.store.now(),
            "updated_at": self.store.now(),
        }

    def invoice(self, order_id: str | int) -> None:
        """The merchant invoices the whole order (payment captured): ``processing``."""
        with self.lock:
            order = self.store.order(int(order_id))
            for item in order["items"]:
                item["qty_invoiced"] = Decimal(str(item["qty_ordered"])) - Decimal(
                    str(item["qty_canceled"])
                )
            order["base_total_paid"] = order.get("base_grand_total", 0)
            if order["state"] == "new":
                order["state"], order["status"] = "processing", "processing"
            self.store._settle_state(order)
            self.store.touch(order)

    def touch_order(self, order_id: str | int) -> None:
        """The merchant saves the order unchanged: only ``updated_at`` moves."""
        with self.lock:
            self.store.touch(self.store.order(int(order_id)))

    def _product(self, sku: str) -> FakeProduct:
        product = self.store.by_sku(sku)
        if product is None:
            raise KeyError(f"no product with SKU {sku!r}")
        return product

    def quantity(self, sku: str) -> int | None:
        """What the store shows buyers now: the salable quantity (MSI: source quantities
        minus the reservations of unshipped orders; else the stock item's qty). None: no
        such product."""
        with self.lock:
            if self.store.by_sku(sku) is None:
                return None
            return int(self.store.salable(sku))

    def source_quantity(self, sku: str, source: str = "default") -> int | None:
        """The quantity of ``sku`` at ``source`` (None: not assigned to it)."""
        with self.lock:
            value = self.store.source_quantity(sku, source)
            return None if value is None else int(value)

    def reserved(self, sku: str) -> int:
        """Units of ``sku`` reserved by unshipped orders (MSI)."""
        with self.lock:
            return int(self.store.reservations.get(sku.lower(), 0))

    def price(self, sku: str) -> Decimal | None:
        """The product's base price."""
        with self.lock:
            product = self.store.by_sku(sku)
            return product.price if product else None

    def order_json(self, order_id: str | int) -> dict[str, Any]:
        """The order as ``GET /V1/orders/{id}`` renders it."""
        with self.lock:
            data: dict[str, Any] = json.loads(_json(self.store.order(int(order_id))))
            return data

    def creditmemos_of(self, order_id: str | int) -> list[dict[str, Any]]:
        """The order's credit memos, oldest first, each with its ``comments``."""
        with self.lock:
            return [
                json.loads(_json(m | {"comments": self.store.creditmemo_comments.get(mid, [])}))
                for mid, m in sorted(self.store.creditmemos.items())
                if m["order_id"] == int(order_id)
            ]

    def shipments_of(self, order_id: str | int) -> list[dict[str, Any]]:
        """The order's shipments (with tracks)."""
        with self.lock:
            return [
                json.loads(_json(s))
                for s in self.store.shipments.values()
                if s["order_id"] == int(order_id)
            ]

    def run_consumer(self) -> int:
        """Run the ``async.operations.all`` consumer once over every open operation, whatever
        ``consumer_running`` says; returns how many ran."""
        with self.lock:
            return self._consume(force=True)

    # -- faults and call log ----------------------------------------------------------------

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """429 ``Too Many Requests`` (Magento's backpressure answer, and what Fastly/WAF limits
        answer), or the masked 500 of an unexpected exception."""
        if kind == "throttle":
            return (
                429,
                {"content-type": "application/json; charset=utf-8", "retry-after": "1"},
                _json({"message": "Too Many Requests"}),
            )
        report = "webapi-" + secrets.token_hex(6)
        return (
            500,
            {"content-type": "application/json; charset=utf-8"},
            _json(
                {
                    "message": "Internal Error. Details are available in Magento log file."
                    f" Report ID: {report}"
                }
            ),
        )

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The route's operation name (``products``, ``inventory/source-items/save``...)."""
        found = _PATH.match(path.rstrip("/"))
        if not found:
            return "unknown"
        bulk = bool(found.group("bulk"))
        for route in _ROUTES:
            if (
                method in route.methods
                and route.bulk == bulk
                and route.pattern.match(found.group("route"))
            ):
                return route.operation
        return "unknown"

    # -- HTTP -----------------------------------------------------------------------------

    def build_app(self) -> ASGIApp:
        """The REST routes (one ASGI callable)."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            request = Request(scope, receive)
            body = await request.body()
            response = self._dispatch(request, body, scope)
            await response(scope, receive, send)

        return app

    def _dispatch(self, request: Request, body: bytes, scope: Scope) -> Response:
        method = request.method.upper()
        path = request.url.path.rstrip("/")
        try:
            found = _PATH.match(path)
            if not found:
                raise MagentoError(NO_ROUTE, 404)
            store = found.group("store") or "default"
            if store not in ("default", "all", self.store_code):
                raise MagentoError(NO_ROUTE, 404)
            route, params = self._match(method, found.group("route"), bool(found.group("bulk")))
            with self.lock:
                self._authorize(request, route)
            if store == "all" and method == "GET":
                raise MagentoError("Cannot perform GET operation with store code 'all'", 400)
            payload: Any = None
            if method in ("POST", "PUT") and body.strip():
                if "json" not in request.headers.get("content-type", ""):
                    raise MagentoError("Content-Type header is invalid.", 400)
                try:
                    payload = json.loads(body, parse_float=Decimal)
                except ValueError:
                    raise MagentoError("Decoding error: \nSyntax error", 400) from None
            handler = getattr(self, route.handler)
            with self.lock:
                status, result = handler(request, payload, params, scope)
            return Response(
                _json(result), status_code=status, media_type="application/json; charset=utf-8"
            )
        except SearchError as exc:
            return self._error(MagentoError(exc.message, 400, exc.parameters))
        except MagentoError as exc:
            return self._error(exc)

    @staticmethod
    def _error(exc: MagentoError) -> Response:
        return Response(
            _json(exc.body()), status_code=exc.status, media_type="application/json; charset=utf-8"
        )

    def _match(self, method: str, route_path: str, bulk: bool) -> tuple[_Route, dict[str, str]]:
        for route in _ROUTES:
            if route.bulk != bulk or method not in route.methods:
                continue
            if route.msi and not self.store.msi:
                continue
            found = route.pattern.match(route_path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        raise MagentoError(NO_ROUTE, 404)

    # -- authentication ---------------------------------------------------------------------

    def _authorize(self, request: Request, route: _Route) -> None:
        header = request.headers.get("authorization", "")
        authenticated = False
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
            authenticated = (
                self.bearer_allowed
                and len(given) == len(self.access_token)
                and hmac.compare_digest(given, self.access_token)
            )
        elif "oauth " in header.lower():
            self._check_oauth(request, header)
            authenticated = True
        if not authenticated or (self.granted is not None and route.resource not in self.granted):
            raise MagentoError(NOT_AUTHORIZED, 401, {"resources": route.resource})

    def _check_oauth(self, request: Request, header: str) -> None:
        params: dict[str, str] = {}
        for part in header[header.lower().index("oauth ") + 6 :].split(","):
            name, sep, value = part.strip().partition("=")
            if sep and name.startswith("oauth_"):
                params[unquote(name)] = unquote(value.strip().strip('"'))
        required = (
            "oauth_consumer_key",
            "oauth_signature",
            "oauth_signature_method",
            "oauth_nonce",
            "oauth_timestamp",
            "oauth_token",
        )
        if "oauth_version" in params and params["oauth_version"] != "1.0":
            raise MagentoError(
                'The "%1" Oauth version isn\'t supported.', 400, [params["oauth_version"]]
            )
        missing = [p for p in required if p not in params]
        if missing:
            raise MagentoError(
                "One or more input exceptions have occurred.",
                400,
                errors=[
                    {
                        "message": '"%fieldName" is required. Enter and try again.',
                        "parameters": {"fieldName": p},
                    }
                    for p in missing
                ],
            )
        if len(params["oauth_token"]) != 32:
            raise MagentoError("The token length is invalid. Check the length and try again.", 400)
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise MagentoError("Signature method %1 is not supported", 400, [method])
        if len(params["oauth_consumer_key"]) != 32:
            raise MagentoError("Consumer key is not the correct length", 401)
        if not hmac.compare_digest(params["oauth_consumer_key"], self.consumer_key):
            raise MagentoError("A consumer having the specified key does not exist", 401)
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            stamp = 0
        if stamp <= 0 or stamp > self.oauth_clock() + 600:
            raise MagentoError("Incorrect timestamp value in the oauth_timestamp parameter", 400)
        if params["oauth_nonce"] in self._nonces:
            raise MagentoError(
                "The nonce is already being used by the consumer with ID %1",
                401,
                [self.consumer_id],
            )
        self._nonces.add(params["oauth_nonce"])
        if not hmac.compare_digest(params["oauth_token"], self.access_token):
            raise MagentoError("Token is not associated with the specified consumer", 401)
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        query = request.url.query
        if query:
            for pair in query.split("&"):
                pieces = pair.split("=")
                if len(pieces) == 2 and not re.match(r"oauth_[a-z_-]+", pieces[0]):
                    signed[unquote_plus(pieces[0])] = unquote_plus(pieces[1])
        encoded = {_php_rawurlencode(k): _php_rawurlencode(v) for k, v in signed.items()}
        ordered = sorted(encoded, key=functools.cmp_to_key(_strnatcmp))
        normalized = "&".join(f"{k}={encoded[k]}" for k in ordered)
        url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        base = "&".join(
            (request.method.upper(), _php_rawurlencode(url), _php_rawurlencode(normalized))
        )
        secret, token_secret = self.consumer_secret, self.access_token_secret
        key = f"{_php_rawurlencode(secret)}&{_php_rawurlencode(token_secret)}"
        digest = hashlib.sha256 if method == "HMAC-SHA256" else hashlib.sha1
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), digest).digest()).decode()
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise MagentoError("The signature is invalid. Verify and try again.", 401)

    # -- searches -------------------------------------------------------------------------

    def _search(
        self,
        request: Request,
        rows: list[Any],
        get: Callable[[Any, str], Any] | None = None,
        render: Callable[[Any], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        criteria = parse_criteria(list(request.query_params.multi_items()))
        page, total, echo = paginate(
            rows,
            criteria,
            get=get or (lambda row, name: row.get(name)),
            max_page_size=self.max_page_size if self.input_limits else None,
            default_page_size=self.default_page_size if self.input_limits else None,
        )
        items = [render(r) for r in page] if render is not None else list(page)
        return {"items": items, "search_criteria": echo, "total_count": total}

    def _list_limit(self, items: list[Any], type_name: str, *, asynchronous: bool = False) -> None:
        if not self.input_limits:
            return
        limit = self.async_list_limit if asynchronous else self.input_list_limit
        if len(items) > limit:
            raise MagentoError(
                'Maximum items of type "%type" is %max', 400, {"type": type_name, "max": limit}
            )

    # -- catalog and stock routes -----------------------------------------------------------

    def _products(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        def get(product: FakeProduct, name: str) -> Any:
            if name in ("entity_id", "id"):
                return product.id
            return getattr(product, name, None)

        def render(product: FakeProduct) -> dict[str, Any]:
            return self.store.product_json(product, stock_item=self.list_includes_stock_item)

        return 200, self._search(request, list(self.store.products.values()), get, render)

    def _stock_item(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        product = self.store.by_sku(params["sku"])
        if product is None or not product.holds_stock:
            raise MagentoError(
                "The product that was requested doesn't exist. Verify the product and try again.",
                404,
            )
        return 200, self.store.stock_item_json(product)

    def _update_stock_item(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        product = self.store.by_sku(params["sku"])
        if product is None:
            raise MagentoError(
                "The product that was requested doesn't exist. Verify the product and try again.",
                404,
            )
        data = (payload or {}).get("stockItem") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise MagentoError(
                '"%fieldName" is required. Enter and try again.', 400, {"fieldName": "stockItem"}
            )
        if "qty" in data:
            try:
                qty = Decimal(str(data["qty"]))
            except ArithmeticError:
                raise MagentoError('"%field" should be numeric.', 400, {"field": "qty"}) from None
            self.store.set_legacy_qty(product, qty)
        if "manage_stock" in data:
            product.manage_stock = bool(data["manage_stock"])
        request_state(scope).items = 1
        return 200, product.item_id

    def _store_configs(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, [
            {
                "id": 1,
                "code": self.store_code,
                "website_id": 1,
                "locale": "de_DE",
                "base_currency_code": self.store.currency,
                "default_display_currency_code": self.store.currency,
                "timezone": "Europe/Berlin",
                "weight_unit": "kgs",
                "base_url": f"{self.url}/",
                "secure_base_url": f"{self.url}/",
            }
        ]

    def _sources(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self._search(request, list(self.store.sources.values()))

    def _source_items(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self._search(request, [dict(v) for v in self.store.source_items.values()])

    def _validate_source_items(self, items: Any) -> list[dict[str, Any]]:
        """Magento's ``SourceItemValidatorChain``: every problem of every item, or nothing."""
        if not isinstance(items, list):
            raise MagentoError(
                '"%fieldName" is required. Enter and try again.', 400, {"fieldName": "sourceItems"}
            )
        errors: list[dict[str, Any]] = []
        for item in items:
            if not isinstance(item, dict):
                errors.append(
                    {"message": '"%field" can not be empty.', "parameters": {"field": "sku"}}
                )
                continue
            if not str(item.get("sku") or "").strip():
                errors.append(
                    {"message": '"%field" can not be empty.', "parameters": {"field": "sku"}}
                )
            code = str(item.get("source_code") or "")
            if not code:
                errors.append(
                    {
                        "message": '"%field" can not be empty.',
                        "parameters": {"field": "source_code"},
                    }
                )
            elif code not in self.store.sources:
                errors.append(
                    {
                        "message": 'Source with code "%code" does not exist.',
                        "parameters": {"code": code},
                    }
                )
            try:
                Decimal(str(item.get("quantity")))
            except ArithmeticError:
                errors.append(
                    {"message": '"%field" should be numeric.', "parameters": {"field": "quantity"}}
                )
            if item.get("status") not in (0, 1):
                errors.append(
                    {"message": '"%field" should be numeric.', "parameters": {"field": "status"}}
                )
        if errors:
            raise MagentoError("Validation Failed", 400, errors=errors)
        return items

    def _apply_source_items(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.store.set_source_item(
                str(item["sku"]),
                str(item["source_code"]),
                Decimal(str(item["quantity"])),
                int(item["status"]),
            )

    def _save_source_items(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        items = (payload or {}).get("sourceItems") if isinstance(payload, dict) else None
        if isinstance(items, list):
            request_state(scope).items = len(items)
            self._list_limit(items, _SOURCE_ITEM_TYPE)
        items = self._validate_source_items(items)
        if items and self.take_partial_failure("inventory/source-items/save"):
            raise MagentoError(
                "Validation Failed",
                400,
                errors=[
                    {"message": '"%field" should be numeric.', "parameters": {"field": "status"}}
                ],
            )
        self._apply_source_items(items)
        return 200, []

    def _bulk_source_items(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        if not isinstance(payload, list):
            raise MagentoError("Request body is expected to be an array.", 400)
        request_state(scope).items = sum(
            len(e.get("sourceItems") or []) for e in payload if isinstance(e, dict)
        )
        operations: list[dict[str, Any]] = []
        answer: list[dict[str, Any]] = []
        fail_first = self.take_partial_failure("async/bulk/inventory/source-items")
        for index, entry in enumerate(payload):
            items = entry.get("sourceItems") if isinstance(entry, dict) else None
            data_hash = hashlib.sha256(_json(entry)).hexdigest()
            try:
                if not isinstance(items, list):
                    raise MagentoError(
                        '"%fieldName" is required. Enter and try again.',
                        400,
                        {"fieldName": "sourceItems"},
                    )
                self._list_limit(items, _SOURCE_ITEM_TYPE, asynchronous=True)
            except MagentoError as exc:
                answer.append(
                    {
                        "id": index,
                        "data_hash": data_hash,
                        "status": "rejected",
                        "error_message": exc.message,
                    }
                )
                continue
            operations.append(
                {
                    "id": index,
                    "items": items,
                    "status": _OPEN,
                    "result_message": None,
                    "error_code": None,
                    "poison": fail_first and not operations,
                }
            )
            answer.append({"id": index, "data_hash": data_hash, "status": "accepted"})
        bulk = self.store.add_bulk(
            "async.magento.inventoryapi.api.sourceitemssaveinterface.execute.post", operations
        )
        return 202, {
            "bulk_uuid": bulk.uuid,
            "request_items": answer,
            "errors": any(a["status"] == "rejected" for a in answer),
        }

    def _consume(self, *, force: bool = False) -> int:
        ran = 0
        for bulk in self.store.bulks.values():
            if not force and (
                not self.consumer_running or not self.store.due(bulk, self.consumer_delay)
            ):
                continue
            for op in bulk.operations:
                if op["status"] != _OPEN:
                    continue
                ran += 1
                try:
                    if op.get("poison"):
                        raise MagentoError(
                            "Validation Failed",
                            400,
                            errors=[
                                {
                                    "message": '"%field" should be numeric.',
                                    "parameters": {"field": "status"},
                                }
                            ],
                        )
                    self._apply_source_items(self._validate_source_items(op["items"]))
                except MagentoError as exc:
                    op["status"] = _FAILED
                    op["result_message"] = exc.message
                    op["error_code"] = 0
                else:
                    op["status"] = _COMPLETE
                    op["result_message"] = _SUCCESS
        return ran

    def _bulk_status(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        self._consume()
        bulk = self.store.bulks.get(params["uuid"])
        if bulk is None:
            raise MagentoError("Bulk uuid %bulkUuid not exist", 404, {"bulkUuid": params["uuid"]})
        return 200, {
            "operations_list": [
                {
                    "id": op["id"],
                    "status": op["status"],
                    "result_message": op["result_message"],
                    "error_code": op["error_code"],
                }
                for op in bulk.operations
            ],
            "user_type": bulk.user_type,
            "bulk_id": bulk.uuid,
            "description": f"Topic {bulk.topic}",
            "start_time": bulk.accepted_at.strftime("%Y-%m-%d %H:%M:%S"),
            "user_id": self.consumer_id,
            "operation_count": len(bulk.operations),
        }

    def _base_prices(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        prices = (payload or {}).get("prices") if isinstance(payload, dict) else None
        if not isinstance(prices, list):
            raise MagentoError(
                '"%fieldName" is required. Enter and try again.', 400, {"fieldName": "prices"}
            )
        request_state(scope).items = len(prices)
        self._list_limit(prices, _PRICE_TYPE)
        failed: list[dict[str, Any]] = []
        partial = self.take_partial_failure("products/base-prices")
        for index, row in enumerate(prices):
            sku = str(row.get("sku") or "") if isinstance(row, dict) else ""
            product = self.store.by_sku(sku) if sku else None
            problems: list[dict[str, Any]] = []
            if (
                product is None
                or product.type_id not in ("simple", "virtual", "downloadable")
                or (partial and index == 0)
            ):
                problems.append(
                    {
                        "message": "Invalid attribute %fieldName = %fieldValue.",
                        "parameters": ["SKU", sku],
                    }
                )
            try:
                price = Decimal(str(row.get("price")))
                if price < 0:
                    raise ArithmeticError
            except (ArithmeticError, AttributeError):
                problems.append(
                    {
                        "message": "Invalid attribute %fieldName = %fieldValue.",
                        "parameters": [
                            "Price",
                            str(row.get("price") if isinstance(row, dict) else ""),
                        ],
                    }
                )
            store_id = row.get("store_id") if isinstance(row, dict) else None
            if store_id not in (0, 1):
                problems.append(
                    {
                        "message": _NO_STORE,
                        "parameters": [sku, str(store_id)],
                    }
                )
            if problems:
                failed += problems
                continue
            assert product is not None
            product.price = price
            product.updated_at = self.store.now()
        return 200, failed

    # -- order routes ---------------------------------------------------------------------

    def _orders(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self._search(request, list(self.store.orders.values()))

    def _order(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self.store.order(int(params["id"]))

    def _cancel(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self.store.cancel(self.store.order(int(params["id"])))

    def _comment(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        order = self.store.order(int(params["id"]))
        history = (payload or {}).get("statusHistory") if isinstance(payload, dict) else None
        if not isinstance(history, dict):
            raise MagentoError(
                '"%fieldName" is required. Enter and try again.',
                400,
                {"fieldName": "statusHistory"},
            )
        order.setdefault("status_histories", []).insert(
            0,
            {
                "comment": history.get("comment"),
                "created_at": self.store.now(),
                "entity_name": "order",
                "is_customer_notified": history.get("is_customer_notified", 0),
                "is_visible_on_front": history.get("is_visible_on_front", 0),
                "parent_id": order["entity_id"],
                "status": order["status"],
            },
        )
        self.store.touch(order)
        return 200, True

    def _ship(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        order = self.store.order(int(params["id"]))
        body = payload if isinstance(payload, dict) else {}
        items = body.get("items") or []
        tracks = body.get("tracks") or []
        ext = ((body.get("arguments") or {}).get("extension_attributes")) or {}
        source = str(ext.get("source_code") or "default")
        request_state(scope).items = len(items)
        return 200, self.store.ship(order, list(items), list(tracks), source)

    def _refund(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        order = self.store.order(int(params["id"]))
        body = payload if isinstance(payload, dict) else {}
        comment = (body.get("comment") or {}).get("comment") if body.get("comment") else None
        return 200, self.store.refund(
            order, list(body.get("items") or []), dict(body.get("arguments") or {}), comment
        )

    def _shipments(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self._search(request, list(self.store.shipments.values()))

    def _creditmemos(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        return 200, self._search(request, list(self.store.creditmemos.values()))

    def _creditmemo_comments(
        self, request: Request, payload: Any, params: dict[str, str], scope: Scope
    ) -> tuple[int, Any]:
        memo_id = int(params["id"])
        if memo_id not in self.store.creditmemos:
            raise MagentoError(
                "The entity that was requested doesn't exist. Verify the entity and try again.", 404
            )
        comments = self.store.creditmemo_comments.get(memo_id, [])
        return 200, {"items": comments, "total_count": len(comments)}
