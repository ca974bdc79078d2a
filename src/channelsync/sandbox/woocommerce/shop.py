"""The WooCommerce fake's shop: products, variations and orders, and WooCommerce's rules.

No HTTP here: ``fake.py`` routes requests to these methods. State is kept the way
WooCommerce keeps it (one id sequence for products, variations, orders and refunds, as
WordPress posts share one table; dates to the second, in UTC, rendered both as the shop's
local ``date_*`` and as ``date_*_gmt``), and JSON comes out in the REST v3 shapes of the
published examples.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["ORDER_STATUSES", "FakeOrder", "FakeProduct", "Shop", "WcError"]

#: Statuses an order can be set to through the API (the route's ``status`` enum).
ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
#: Statuses in which WooCommerce has reduced the order's stock.
_STOCK_REDUCED = frozenset({"processing", "completed", "on-hold"})
#: Gateways that can refund through their API (``api_refund: true`` moves money).
REFUNDING_GATEWAYS = frozenset({"stripe", "woocommerce_payments", "ppcp-gateway"})


class WcError(Exception):
    """A WordPress error: rendered as ``{"code", "message", "data": {"status", ...}}``."""

    def __init__(self, code: str, message: str, status: int, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        """The error as WordPress renders it."""
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def invalid_param(name: str, reason: str) -> WcError:
    """WordPress's argument validation error."""
    return WcError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: reason},
        details={},
    )


def _second(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass
class FakeProduct:
    """A product or variation as the fake keeps it."""

    id: int
    name: str
    type: str  # simple | variable | variation | grouped | external
    created: datetime
    modified: datetime
    parent_id: int = 0
    sku: str = ""
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    backorders: str = "no"
    status: str = "publish"
    attributes: list[dict[str, Any]] = field(default_factory=list)
    variation_ids: list[int] = field(default_factory=list)
    total_sales: int = 0

    @property
    def price(self) -> str:
        """The active price: the sale price when set, else the regular one."""
        return self.sale_price or self.regular_price

    def stock_status(self) -> str:
        """``instock`` / ``outofstock`` / ``onbackorder`` as WooCommerce derives it."""
        if not self.manage_stock or self.stock_quantity is None:
            return "instock"
        if self.stock_quantity > 0:
            return "instock"
        return "outofstock" if self.backorders == "no" else "onbackorder"


@dataclass
class FakeOrder:
    """An order: its REST JSON (``data``) plus the dates WooCommerce keeps in UTC."""

    id: int
    data: dict[str, Any]
    created: datetime
    modified: datetime
    paid: datetime | None = None
    completed: datetime | None = None
    stock_reduced: bool = False
    notes: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    trackings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The order's status."""
        return str(self.data.get("status", "pending"))


class Shop:
    """The state of one fake WooCommerce shop. Callers hold the fake's lock."""

    def __init__(self, *, clock: Callable[[], datetime], currency: str, timezone: tzinfo) -> None:
        self.clock = clock
        self.currency = currency
        self.timezone = timezone
        self.site = "https://example.test"
        self.products: dict[int, FakeProduct] = {}
        self._skus: dict[str, int] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.gateway_refunds: list[dict[str, Any]] = []
        self._ids = itertools.count(100)
        self._tracking_ids = itertools.count(1)

    # -- time -----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The clock, to the second (WooCommerce keeps seconds)."""
        return _second(self.clock())

    def local(self, value: datetime | None) -> str | None:
        """A UTC datetime as the shop's wall-clock ``date_*`` text."""
        if value is None:
            return None
        return value.astimezone(self.timezone).replace(tzinfo=None).isoformat(timespec="seconds")

    @staticmethod
    def gmt(value: datetime | None) -> str | None:
        """A UTC datetime as ``date_*_gmt`` text."""
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")

    def parse_date(self, text: str, *, gmt: bool) -> datetime:
        """A ``date_*`` (shop time) or ``date_*_gmt`` text, as aware UTC."""
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC if gmt else self.timezone)
        return _second(parsed)

    def next_id(self) -> int:
        """The next post id (products, variations, orders and refunds share the sequence)."""
        return next(self._ids)

    def _reserve(self, wanted: int) -> None:
        current = next(self._ids)
        self._ids = itertools.count(max(current, wanted + 1))

    # -- products -------------------------------------------------------------------------

    def by_sku(self, sku: str) -> FakeProduct | None:
        """The product or variation with ``sku``."""
        product_id = self._skus.get(sku) if sku else None
        product = self.products.get(product_id) if product_id is not None else None
        return product if product is not None and product.sku == sku else None

    def _index(self, product: FakeProduct, old_sku: str = "") -> None:
        if old_sku and self._skus.get(old_sku) == product.id:
            del self._skus[old_sku]
        if product.sku:
            self._skus[product.sku] = product.id

    def remove_product(self, product: FakeProduct) -> None:
        """Delete a product (and its variations) or a variation."""
        for child in [product.id, *product.variation_ids]:
            gone = self.products.pop(child, None)
            if gone is not None and gone.sku and self._skus.get(gone.sku) == gone.id:
                del self._skus[gone.sku]
        parent = self.products.get(product.parent_id)
        if parent is not None and product.id in parent.variation_ids:
            parent.variation_ids.remove(product.id)

    def add_product(self, **fields: Any) -> FakeProduct:
        """Create a product or variation (``type``, ``sku``, ``parent_id``... as keywords)."""
        now = self.now()
        product = FakeProduct(id=self.next_id(), created=now, modified=now, **fields)
        self.products[product.id] = product
        self._index(product)
        if product.type == "variation":
            parent = self.products[product.parent_id]
            parent.variation_ids.append(product.id)
        return product

    def stock_owner(self, product: FakeProduct) -> FakeProduct | None:
        """Where the product's stock is counted: itself, its parent ("parent"), or nowhere."""
        if product.manage_stock:
            return product
        if product.type == "variation":
            parent = self.products.get(product.parent_id)
            if parent is not None and parent.manage_stock:
                return parent
        return None

    def quantity(self, sku: str) -> int | None:
        """What the shop shows for ``sku`` (None: not listed or stock not managed)."""
        product = self.by_sku(sku)
        owner = self.stock_owner(product) if product else None
        return owner.stock_quantity if owner else None

    def change_stock(self, product: FakeProduct, delta: int) -> tuple[int, int] | None:
        """Add ``delta`` to the stock where it is counted; (before, after) or None."""
        owner = self.stock_owner(product)
        if owner is None or owner.stock_quantity is None:
            return None
        before = owner.stock_quantity
        owner.stock_quantity = before + delta
        owner.modified = self.now()
        return before, owner.stock_quantity

    def update_product(self, product: FakeProduct, item: Mapping[str, Any]) -> None:
        """Apply one batch/PUT item, validating the fields channelsync and others send.

        The checks are those a single ``PUT`` applies to its arguments; WooCommerce's own
        batch handler skips them and coerces silently (``"abc"`` stock becomes 0).
        """
        if "sku" in item:
            sku = item["sku"]
            if not isinstance(sku, str):
                raise invalid_param("sku", "sku is not of type string.")
            other = self.by_sku(sku)
            if sku and other is not None and other.id != product.id:
                raise WcError(
                    "product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=other.id
                )
        for name in ("regular_price", "sale_price"):
            if name in item and not isinstance(item[name], str):
                raise invalid_param(name, f"{name} is not of type string.")
            if name in item and item[name] != "":
                try:
                    Decimal(item[name])
                except InvalidOperation:
                    raise invalid_param(name, f"{name} is not a valid price.") from None
        if (
            "manage_stock" in item
            and not isinstance(item["manage_stock"], bool)
            and not (product.type == "variation" and item["manage_stock"] == "parent")
        ):
            raise invalid_param("manage_stock", "manage_stock is not of type boolean.")
        if "stock_quantity" in item and item["stock_quantity"] is not None:
            qty = item["stock_quantity"]
            if isinstance(qty, bool) or not isinstance(qty, int):
                raise invalid_param("stock_quantity", "stock_quantity is not of type integer.")
        if "backorders" in item and item["backorders"] not in ("no", "notify", "yes"):
            raise invalid_param("backorders", "backorders is not one of no, notify, and yes.")
        if "sku" in item:
            old = product.sku
            product.sku = str(item["sku"]).strip()
            self._index(product, old)
        for name in ("regular_price", "sale_price"):
            if name in item:
                product.__setattr__(name, str(item[name]))
        if "name" in item and isinstance(item["name"], str):
            product.name = item["name"]
        if "backorders" in item:
            product.backorders = str(item["backorders"])
        if "manage_stock" in item:
            product.manage_stock = item["manage_stock"] is True
        if product.manage_stock:
            if item.get("stock_quantity") is not None:
                product.stock_quantity = int(item["stock_quantity"])
            elif product.stock_quantity is None:
                product.stock_quantity = 0
        else:
            product.stock_quantity = None
        product.modified = self.now()

    def product_json(self, product: FakeProduct) -> dict[str, Any]:
        """A product (or, through ``/products/{id}``, a variation) as REST v3 renders it."""
        owner = self.stock_owner(product)
        managed: bool | str = product.manage_stock
        if product.type == "variation" and not product.manage_stock and owner is not None:
            managed = "parent"
        price = product.price
        if product.type == "variable":
            prices = [
                Decimal(self.products[v].price)
                for v in product.variation_ids
                if v in self.products and self.products[v].price
            ]
            price = format(min(prices), "f") if prices else ""
        base = f"{self.site}/wp-json/wc/v3/products"
        return {
            "id": product.id,
            "name": product.name,
            "slug": product.name.lower().replace(" ", "-"),
            "permalink": f"{self.site}/product/{product.id}/",
            "date_created": self.local(product.created),
            "date_created_gmt": self.gmt(product.created),
            "date_modified": self.local(product.modified),
            "date_modified_gmt": self.gmt(product.modified),
            "type": product.type,
            "status": product.status,
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": product.sku,
            "price": price,
            "regular_price": product.regular_price if product.type != "variable" else "",
            "sale_price": product.sale_price,
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "price_html": "",
            "on_sale": bool(product.sale_price),
            "purchasable": bool(price),
            "total_sales": product.total_sales,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": managed,
            "stock_quantity": owner.stock_quantity if owner else None,
            "stock_status": (owner or product).stock_status(),
            "backorders": product.backorders,
            "backorders_allowed": product.backorders != "no",
            "backordered": False,
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": product.parent_id,
            "purchase_note": "",
            "categories": [],
            "tags": [],
            "images": [],
            "attributes": copy.deepcopy(product.attributes),
            "default_attributes": [],
            "variations": list(product.variation_ids),
            "grouped_products": [],
            "menu_order": 0,
            "meta_data": [],
            "_links": {
                "self": [{"href": f"{base}/{product.id}"}],
                "collection": [{"href": base}],
            },
        }

    def variation_json(self, variation: FakeProduct) -> dict[str, Any]:
        """A variation as ``/products/{id}/variations`` renders it."""
        owner = self.stock_owner(variation)
        managed: bool | str = variation.manage_stock
        if not variation.manage_stock and owner is not None:
            managed = "parent"
        base = f"{self.site}/wp-json/wc/v3/products/{variation.parent_id}"
        return {
            "id": variation.id,
            "date_created": self.local(variation.created),
            "date_created_gmt": self.gmt(variation.created),
            "date_modified": self.local(variation.modified),
            "date_modified_gmt": self.gmt(variation.modified),
            "description": "",
            "permalink": f"{self.site}/product/{variation.parent_id}/?variation={variation.id}",
            "sku": variation.sku,
            "price": variation.price,
            "regular_price": variation.regular_price,
            "sale_price": variation.sale_price,
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": bool(variation.sale_price),
            "status": variation.status,
            "purchasable": bool(variation.price),
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": managed,
            "stock_quantity": owner.stock_quantity if owner else None,
            "stock_status": (owner or variation).stock_status(),
            "backorders": variation.backorders,
            "backorders_allowed": variation.backorders != "no",
            "backordered": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "shipping_class_id": 0,
            "image": None,
            "attributes": copy.deepcopy(variation.attributes),
            "menu_order": 0,
            "meta_data": [],
            "_links": {
                "self": [{"href": f"{base}/variations/{variation.id}"}],
                "collection": [{"href": f"{base}/variations"}],
                "up": [{"href": base}],
            },
        }

    # -- orders ---------------------------------------------------------------------------

    def add_order(self, payload: Mapping[str, Any]) -> FakeOrder:
        """Store an order given as REST JSON: ids, dates and totals WooCommerce would fill
        are filled; given ``*_gmt`` dates win over local ones."""
        data: dict[str, Any] = _order_defaults()
        data.update(copy.deepcopy(dict(payload)))
        for key in ("billing", "shipping"):
            merged = _order_defaults()[key]
            merged.update(data.get(key) or {})
            data[key] = merged
        now = self.now()
        oid = data.get("id")
        if isinstance(oid, int) and oid > 0:
            self._reserve(oid)
        else:
            oid = self.next_id()
        data["id"] = oid
        data["number"] = str(data.get("number") or oid)
        data["currency"] = data.get("currency") or self.currency
        data["order_key"] = data.get("order_key") or f"wc_order_{oid:013x}"

        def when(name: str) -> datetime | None:
            gmt = data.get(f"{name}_gmt")
            if gmt:
                return self.parse_date(str(gmt), gmt=True)
            local = data.get(name)
            if local:
                return self.parse_date(str(local), gmt=False)
            return None

        created = when("date_created") or now
        modified = max(when("date_modified") or created, created)
        if str(data.get("status")) not in ORDER_STATUSES:
            data["status"] = str(data.get("status") or "pending")
        for item in data.get("line_items", []):
            self._fill_line(item)
        self._fill_totals(data)
        order = FakeOrder(
            id=oid,
            data=data,
            created=created,
            modified=modified,
            paid=when("date_paid"),
            completed=when("date_completed"),
            stock_reduced=any(
                m.get("key") == "_order_stock_reduced" and m.get("value") in ("yes", True, "1")
                for m in data.get("meta_data", [])
                if isinstance(m, dict)
            ),
        )
        for refund in data.get("refunds", []):
            if isinstance(refund, dict) and isinstance(refund.get("id"), int):
                self._reserve(refund["id"])
        self.orders[oid] = order
        return order

    def _fill_line(self, item: dict[str, Any]) -> None:
        if not isinstance(item.get("id"), int):
            item["id"] = self.next_id()
        product = self.products.get(int(item.get("variation_id") or 0)) or self.products.get(
            int(item.get("product_id") or 0)
        )
        if product is None and item.get("sku"):
            product = self.by_sku(str(item["sku"]))
        if product is not None:
            if product.type == "variation":
                item.setdefault("product_id", product.parent_id)
                item.setdefault("variation_id", product.id)
            else:
                item.setdefault("product_id", product.id)
            item.setdefault("sku", product.sku)
            item.setdefault("name", product.name)
        qty = int(item.get("quantity") or 0)
        item["quantity"] = qty
        unit = Decimal(str(product.price)) if product is not None and product.price else None
        if "subtotal" not in item:
            item["subtotal"] = format((unit or Decimal(0)) * qty, ".2f")
        item.setdefault("total", item["subtotal"])
        item.setdefault("subtotal_tax", "0.00")
        item.setdefault("total_tax", "0.00")
        item.setdefault("taxes", [])
        item.setdefault("meta_data", [])
        item.setdefault("tax_class", "")
        item.setdefault("product_id", 0)
        item.setdefault("variation_id", 0)
        item.setdefault("sku", "")
        item.setdefault("name", "")
        if "price" not in item:
            total = Decimal(str(item["total"]))
            item["price"] = float(total / qty) if qty else 0

    def _fill_totals(self, data: dict[str, Any]) -> None:
        lines = data.get("line_items", [])
        if "total" not in data or data.get("total") in (None, ""):
            parts = [Decimal(str(i.get("total") or 0)) for i in lines]
            parts += [Decimal(str(s.get("total") or 0)) for s in data.get("shipping_lines", [])]
            parts += [Decimal(str(f.get("total") or 0)) for f in data.get("fee_lines", [])]
            data["total"] = format(sum(parts, Decimal(0)), ".2f")
        for item in data.get("shipping_lines", []):
            if not isinstance(item.get("id"), int):
                item["id"] = self.next_id()
        for item in data.get("fee_lines", []):
            if not isinstance(item.get("id"), int):
                item["id"] = self.next_id()

    def touch(self, order: FakeOrder) -> None:
        """The order was saved: its modification time is now."""
        order.modified = max(self.now(), order.modified)

    def set_status(self, order: FakeOrder, status: str) -> list[str]:
        """Change the status with WooCommerce's stock rules; returns the notes it adds."""
        old = order.status
        if status == old:
            return []
        notes: list[str] = []
        order.data["status"] = status
        now = self.now()
        if status in _STOCK_REDUCED and not order.stock_reduced:
            changes = self._stock(order, -1)
            order.stock_reduced = True
            if changes:
                notes.append("Stock levels reduced: " + ", ".join(changes))
            if order.paid is None and status in ("processing", "completed"):
                order.paid = now
        elif status in ("cancelled", "pending") and order.stock_reduced:
            changes = self._stock(order, +1)
            order.stock_reduced = False
            if changes:
                notes.append("Stock levels increased: " + ", ".join(changes))
        if status == "completed" and order.completed is None:
            order.completed = now
        notes.insert(0, f"Order status changed from {_label(old)} to {_label(status)}.")
        for note in notes:
            self.add_note(order, note, customer_note=False, author="system")
        self.touch(order)
        return notes

    def _stock(self, order: FakeOrder, sign: int) -> list[str]:
        changes: list[str] = []
        for item in order.data.get("line_items", []):
            product = self.products.get(int(item.get("variation_id") or 0)) or self.products.get(
                int(item.get("product_id") or 0)
            )
            if product is None:
                continue
            qty = int(item.get("quantity") or 0) - self._refunded_units(order, int(item["id"]))
            moved = self.change_stock(product, sign * qty)
            if moved is not None:
                changes.append(f"{product.name} ({product.sku}) {moved[0]}&rarr;{moved[1]}")
        return changes

    def _refunded_units(self, order: FakeOrder, line_id: int) -> int:
        units = 0
        for refund in order.refunds:
            for line in refund.get("line_items", []):
                for meta in line.get("meta_data", []):
                    if meta.get("key") == "_refunded_item_id" and str(meta.get("value")) == str(
                        line_id
                    ):
                        units += abs(int(line.get("quantity") or 0))
        return units

    def add_note(
        self, order: FakeOrder, note: str, *, customer_note: bool, author: str = "system"
    ) -> dict[str, Any]:
        """Add an order note (newest first, as the API lists them)."""
        now = self.now()
        entry = {
            "id": self.next_id(),
            "author": author,
            "date_created": self.local(now),
            "date_created_gmt": self.gmt(now),
            "note": note,
            "customer_note": customer_note,
        }
        order.notes.insert(0, entry)
        return entry

    def add_refund(
        self, order: FakeOrder, body: Mapping[str, Any], api_user: int
    ) -> dict[str, Any]:
        """``POST /orders/{id}/refunds`` with WooCommerce's checks and defaults."""
        raw_amount = body.get("amount", "0")
        try:
            amount = Decimal(str(raw_amount if raw_amount not in (None, "") else "0"))
        except InvalidOperation:
            raise invalid_param("amount", "amount is not of type string.") from None
        if amount < 0:
            raise WcError(
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
                400,
            )
        lines = body.get("line_items") or []
        if amount == 0 and lines:
            amount = sum((Decimal(str(li.get("refund_total") or 0)) for li in lines), Decimal(0))
        total = Decimal(str(order.data.get("total") or 0))
        already = sum((Decimal(r["amount"]) for r in order.refunds), Decimal(0))
        if amount <= 0 or amount > total - already:
            raise WcError(
                "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500
            )
        api_refund = body.get("api_refund", True) is not False
        api_restock = body.get("api_restock", True) is not False
        if api_refund:
            gateway = str(order.data.get("payment_method") or "")
            if gateway not in REFUNDING_GATEWAYS:
                raise WcError(
                    "woocommerce_rest_cannot_create_order_refund",
                    "The payment gateway for this order does not support automatic refunds.",
                    500,
                )
            self.gateway_refunds.append(
                {"order_id": order.id, "amount": format(amount, "f"), "gateway": gateway}
            )
        by_id = {int(i["id"]): i for i in order.data.get("line_items", [])}
        refund_lines: list[dict[str, Any]] = []
        for line in lines:
            source = by_id.get(int(line.get("id") or 0))
            qty = int(line.get("quantity") or 0)
            if source is None or qty <= 0:
                continue
            share = Decimal(str(line.get("refund_total") or 0))
            refund_lines.append(
                {
                    "id": self.next_id(),
                    "name": source.get("name", ""),
                    "product_id": source.get("product_id", 0),
                    "variation_id": source.get("variation_id", 0),
                    "quantity": -qty,
                    "tax_class": "",
                    "subtotal": format(-share, ".2f"),
                    "subtotal_tax": "0.00",
                    "total": format(-share, ".2f"),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [
                        {
                            "id": self.next_id(),
                            "key": "_refunded_item_id",
                            "value": str(source["id"]),
                        }
                    ],
                    "sku": source.get("sku", ""),
                    "price": float(-share / qty) if qty else 0,
                }
            )
            if api_restock:
                product = self.products.get(
                    int(source.get("variation_id") or 0)
                ) or self.products.get(int(source.get("product_id") or 0))
                if product is not None and order.stock_reduced:
                    self.change_stock(product, qty)
        now = self.now()
        refund = {
            "id": self.next_id(),
            "date_created": self.local(now),
            "date_created_gmt": self.gmt(now),
            "amount": format(amount, ".2f"),
            "reason": str(body.get("reason") or ""),
            "refunded_by": api_user,
            "refunded_payment": api_refund,
            "meta_data": [
                {"id": self.next_id(), "key": m.get("key"), "value": m.get("value")}
                for m in body.get("meta_data") or []
                if isinstance(m, dict)
            ],
            "line_items": refund_lines,
        }
        order.refunds.insert(0, refund)
        order.data["refunds"] = [
            {"id": r["id"], "reason": r["reason"], "total": format(-Decimal(r["amount"]), ".2f")}
            for r in order.refunds
        ]
        if already + amount >= total:
            self.set_status(order, "refunded")
        self.touch(order)
        return refund

    def order_json(self, order: FakeOrder) -> dict[str, Any]:
        """The order as REST v3 renders it (local and GMT dates from the same instants)."""
        data = copy.deepcopy(order.data)
        data["date_created"] = self.local(order.created)
        data["date_created_gmt"] = self.gmt(order.created)
        data["date_modified"] = self.local(order.modified)
        data["date_modified_gmt"] = self.gmt(order.modified)
        data["date_paid"] = self.local(order.paid)
        data["date_paid_gmt"] = self.gmt(order.paid)
        data["date_completed"] = self.local(order.completed)
        data["date_completed_gmt"] = self.gmt(order.completed)
        meta = [
            m
            for m in data.get("meta_data", [])
            if not (isinstance(m, dict) and m.get("key") in ("_wc_shipment_tracking_items",))
        ]
        if order.trackings:
            meta.append(
                {
                    "id": order.id * 10 + 7,
                    "key": "_wc_shipment_tracking_items",
                    "value": copy.deepcopy(order.trackings),
                }
            )
        data["meta_data"] = meta
        base = f"{self.site}/wp-json/wc/v3/orders"
        data["_links"] = {"self": [{"href": f"{base}/{order.id}"}], "collection": [{"href": base}]}
        return data

    def refund_json(self, order: FakeOrder, refund: Mapping[str, Any]) -> dict[str, Any]:
        """A refund with its links."""
        base = f"{self.site}/wp-json/wc/v3/orders/{order.id}"
        data = copy.deepcopy(dict(refund))
        data["_links"] = {
            "self": [{"href": f"{base}/refunds/{refund['id']}"}],
            "collection": [{"href": f"{base}/refunds"}],
            "up": [{"href": base}],
        }
        return data

    def note_json(self, order: FakeOrder, note: Mapping[str, Any]) -> dict[str, Any]:
        """A note with its links."""
        base = f"{self.site}/wp-json/wc/v3/orders/{order.id}"
        data = dict(note)
        data["_links"] = {
            "self": [{"href": f"{base}/notes/{note['id']}"}],
            "collection": [{"href": f"{base}/notes"}],
            "up": [{"href": base}],
        }
        return data

    # -- Shipment Tracking extension ------------------------------------------------------

    def add_tracking(self, order: FakeOrder, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a tracking entry the way the extension does (in order meta)."""
        number = body.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            raise WcError(
                "rest_missing_callback_param",
                "Missing parameter(s): tracking_number",
                400,
                params=["tracking_number"],
            )
        shipped = body.get("date_shipped")
        when = self.now()
        if isinstance(shipped, int | str) and str(shipped).strip():
            text = str(shipped).strip()
            when = (
                datetime.fromtimestamp(int(text), UTC)
                if text.isdigit()
                else datetime.fromisoformat(text).replace(tzinfo=UTC)
            )
        provider = str(body.get("tracking_provider") or "").strip()
        entry = {
            "tracking_provider": _PROVIDERS.get(provider.lower(), ("", ""))[0] or provider,
            "custom_tracking_provider": str(body.get("custom_tracking_provider") or ""),
            "custom_tracking_link": str(body.get("custom_tracking_link") or ""),
            "tracking_number": number.strip(),
            "date_shipped": str(int(when.timestamp())),
            "tracking_id": f"{next(self._tracking_ids):032x}",
        }
        order.trackings.append(entry)
        self.touch(order)
        return entry

    def tracking_json(self, order: FakeOrder, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A tracking entry as the extension's REST API renders it."""
        provider = entry["tracking_provider"] or entry["custom_tracking_provider"]
        template = _PROVIDERS.get(str(entry["tracking_provider"]).lower(), ("", ""))[1]
        link = entry["custom_tracking_link"] or (
            template.replace("%1$s", entry["tracking_number"]) if template else ""
        )
        shipped = datetime.fromtimestamp(int(entry["date_shipped"]), UTC)
        base = f"{self.site}/wp-json/wc-shipment-tracking/v3/orders/{order.id}/shipment-trackings"
        return {
            "tracking_id": entry["tracking_id"],
            "tracking_provider": provider,
            "tracking_link": link,
            "tracking_number": entry["tracking_number"],
            "date_shipped": shipped.date().isoformat(),
            "_links": {
                "self": [{"href": f"{base}/{entry['tracking_id']}"}],
                "collection": [{"href": base}],
                "up": [{"href": f"{self.site}/wp-json/wc/v3/orders/{order.id}"}],
            },
        }

    def orders_matching(
        self,
        *,
        after: tuple[str, datetime] | None,
        before: tuple[str, datetime] | None,
        statuses: Iterable[str] | None,
    ) -> list[FakeOrder]:
        """Orders whose (created/modified) date is strictly after/before the bounds."""
        found: list[FakeOrder] = []
        wanted = set(statuses) if statuses is not None else None
        for order in self.orders.values():
            if order.status == "trash" and (wanted is None or "trash" not in wanted):
                continue
            if wanted is not None and order.status not in wanted:
                continue
            if after is not None and not _field(order, after[0]) > after[1]:
                continue
            if before is not None and not _field(order, before[0]) < before[1]:
                continue
            found.append(order)
        return found


def _field(order: FakeOrder, name: str) -> datetime:
    return order.modified if name == "modified" else order.created


def _label(status: str) -> str:
    return {"on-hold": "On hold", "checkout-draft": "Draft"}.get(status, status.capitalize())


#: A few of the extension's predefined providers: name and tracking link template.
_PROVIDERS: dict[str, tuple[str, str]] = {
    "dhl": ("DHL", "https://www.dhl.com/en/express/tracking.html?AWB=%1$s"),
    "ups": ("UPS", "https://www.ups.com/track?tracknum=%1$s"),
    "usps": ("USPS", "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s"),
    "fedex": ("Fedex", "https://www.fedex.com/apps/fedextrack/?tracknumbers=%1$s"),
    "royal mail": (
        "Royal Mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/%1$s",
    ),
    "dpd": ("DPD", "https://tracking.dpd.de/parcelstatus?query=%1$s"),
    "deutsche post dhl": (
        "Deutsche Post DHL",
        "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode=%1$s",
    ),
}


def _order_defaults() -> dict[str, Any]:
    address = {
        "first_name": "",
        "last_name": "",
        "company": "",
        "address_1": "",
        "address_2": "",
        "city": "",
        "state": "",
        "postcode": "",
        "country": "",
    }
    return {
        "id": 0,
        "parent_id": 0,
        "number": "",
        "order_key": "",
        "created_via": "rest-api",
        "version": "9.4.0",
        "status": "pending",
        "currency": "",
        "date_created": None,
        "date_created_gmt": None,
        "date_modified": None,
        "date_modified_gmt": None,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": "",
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": 0,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": {**address, "email": "", "phone": ""},
        "shipping": dict(address),
        "payment_method": "",
        "payment_method_title": "",
        "transaction_id": "",
        "date_paid": None,
        "date_paid_gmt": None,
        "date_completed": None,
        "date_completed_gmt": None,
        "cart_hash": "",
        "meta_data": [],
        "line_items": [],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
    }


def default_timezone() -> tzinfo:
    """Europe/Berlin (UTC+1/+2), so a local/GMT mix-up shows; UTC+2 without tz data."""
    try:
        return ZoneInfo("Europe/Berlin")
    except (KeyError, ValueError):  # pragma: no cover - systems without tz data
        from datetime import timezone

        return timezone(timedelta(hours=2))
