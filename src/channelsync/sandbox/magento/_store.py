"""The Magento fake's shop: catalog, sources and stock, orders, shipments, credit memos, bulks.

Rules kept from Magento:

* Multi-Source Inventory: a product's stock is one source item per source (quantity and
  status). A placed order does not touch source quantities: it adds a *reservation* (the
  salable quantity drops); shipping deducts the shipped units from the shipment's source
  and compensates the reservation; cancelling compensates it, and so does a credit memo of
  units not shipped yet (only shipped units go back to the source with "return to stock").
  The legacy stock item of the default source mirrors its quantity.
* Without the Inventory modules (``msi=False``): the legacy stock item's ``qty`` drops when an
  order is placed and rises again when it is cancelled.
* Order states: ``new`` (not invoiced), ``processing`` (invoiced or partly shipped),
  ``complete`` (all invoiced and shipped), ``closed`` (fully refunded), ``canceled``; an
  order cancels only while something is neither invoiced nor shipped.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["Bulk", "FakeProduct", "MagentoError", "Store"]


class MagentoError(Exception):
    """An error the fake answers in Magento's shape: ``message`` with placeholders filled
    from ``parameters``; ``errors`` for aggregated input errors."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        parameters: Mapping[str, Any] | list[Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.parameters = parameters
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Magento renders (``Webapi\\Rest\\Response``)."""
        out: dict[str, Any] = {"message": self.message}
        if self.errors:
            out["errors"] = self.errors
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _d(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


@dataclass
class FakeProduct:
    """A catalog product."""

    id: int
    sku: str
    name: str
    type_id: str = "simple"
    price: Decimal | None = None
    status: int = 1
    created_at: str = ""
    updated_at: str = ""
    children: list[int] = field(default_factory=list)
    parent_id: int | None = None
    manage_stock: bool = True
    use_config_manage_stock: bool = True
    item_id: int = 0
    legacy_qty: Decimal = Decimal(0)

    @property
    def holds_stock(self) -> bool:
        """Types with stock of their own."""
        return self.type_id in ("simple", "virtual", "downloadable", "giftcard")


@dataclass
class Bulk:
    """An asynchronous bulk request: its operations and when the consumer may run them."""

    uuid: str
    topic: str
    operations: list[dict[str, Any]]
    accepted_at: datetime
    user_type: int = 1


class Store:
    """The shop's state (callers hold the fake's lock)."""

    def __init__(self, *, clock: Callable[[], datetime], currency: str, msi: bool) -> None:
        self.clock = clock
        self.currency = currency
        self.msi = msi
        self.products: dict[int, FakeProduct] = {}
        self._by_sku: dict[str, FakeProduct] = {}
        self.sources: dict[str, dict[str, Any]] = {
            "default": {"source_code": "default", "name": "Default Source", "enabled": True}
        }
        self.source_items: dict[tuple[str, str], dict[str, Any]] = {}
        self.reservations: dict[str, Decimal] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.shipments: dict[int, dict[str, Any]] = {}
        self.creditmemos: dict[int, dict[str, Any]] = {}
        self.creditmemo_comments: dict[int, list[dict[str, Any]]] = {}
        self.bulks: dict[str, Bulk] = {}
        self._product_ids = itertools.count(1)
        self._next_order = 1
        self._next_item = 1
        self._shipment_ids = itertools.count(1)
        self._memo_ids = itertools.count(1)
        self._increment = itertools.count(1)
        self._last_stamp: datetime | None = None

    # -- time -----------------------------------------------------------------------------

    def now(self) -> str:
        """The clock as Magento writes it (UTC, whole seconds)."""
        return _fmt(self.clock())

    # -- catalog --------------------------------------------------------------------------

    def by_sku(self, sku: str) -> FakeProduct | None:
        """The product with ``sku`` (Magento's SKUs are case-insensitive)."""
        return self._by_sku.get(sku.lower())

    def add_product(self, sku: str, name: str, **fields: Any) -> FakeProduct:
        """Create a product."""
        if self.by_sku(sku) is not None:
            raise MagentoError("The product with SKU %1 exists already.", 400, [sku])
        pid = next(self._product_ids)
        now = self.now()
        product = FakeProduct(
            id=pid, sku=sku, name=name, created_at=now, updated_at=now, item_id=pid, **fields
        )
        self.products[pid] = product
        self._by_sku[sku.lower()] = product
        return product

    def product_json(self, product: FakeProduct, *, stock_item: bool) -> dict[str, Any]:
        """The product as ``ProductRepositoryInterface`` renders it."""
        ext: dict[str, Any] = {"website_ids": [1], "category_links": []}
        if stock_item and product.holds_stock:
            ext["stock_item"] = self.stock_item_json(product)
        if product.type_id == "configurable":
            ext["configurable_product_options"] = [
                {
                    "id": product.id,
                    "attribute_id": "93",
                    "label": "Size",
                    "position": 0,
                    "values": [{"value_index": 5500 + i} for i, _ in enumerate(product.children)],
                    "product_id": product.id,
                }
            ]
            ext["configurable_product_links"] = list(product.children)
        out: dict[str, Any] = {
            "id": product.id,
            "sku": product.sku,
            "name": product.name,
            "attribute_set_id": 4,
            "status": product.status,
            "visibility": 1 if self._is_child(product) else 4,
            "type_id": product.type_id,
            "created_at": product.created_at,
            "updated_at": product.updated_at,
            "weight": 1,
            "extension_attributes": ext,
            "product_links": [],
            "options": [],
            "media_gallery_entries": [],
            "tier_prices": [],
            "custom_attributes": [
                {"attribute_code": "url_key", "value": product.sku.lower()},
                {"attribute_code": "tax_class_id", "value": "2"},
            ],
        }
        if product.price is not None:
            out["price"] = product.price
        return out

    def _is_child(self, product: FakeProduct) -> bool:
        return product.parent_id is not None

    # -- stock ----------------------------------------------------------------------------

    def source_quantity(self, sku: str, source: str = "default") -> Decimal | None:
        """The source item's quantity (None when the SKU is not assigned to the source)."""
        item = self.source_items.get((sku.lower(), source))
        return None if item is None else _d(item["quantity"])

    def set_source_item(self, sku: str, source: str, quantity: Decimal, status: int) -> None:
        """Save one source item (creating it)."""
        self.source_items[(sku.lower(), source)] = {
            "sku": sku,
            "source_code": source,
            "quantity": quantity,
            "status": status,
        }
        product = self.by_sku(sku)
        if product is not None and source == "default":
            product.legacy_qty = quantity

    def legacy_qty(self, product: FakeProduct) -> Decimal:
        """The legacy stock item's ``qty``."""
        if self.msi:
            return self.source_quantity(product.sku) or Decimal(0)
        return product.legacy_qty

    def set_legacy_qty(self, product: FakeProduct, qty: Decimal) -> None:
        """Save the legacy stock item's ``qty`` (the default source's, under MSI)."""
        product.legacy_qty = qty
        if self.msi:
            self.set_source_item(product.sku, "default", qty, 1 if qty > 0 else 0)

    def stock_item_json(self, product: FakeProduct) -> dict[str, Any]:
        """``StockItemInterface`` of ``product``."""
        qty = self.legacy_qty(product)
        return {
            "item_id": product.item_id,
            "product_id": product.id,
            "stock_id": 1,
            "qty": qty,
            "is_in_stock": qty > 0,
            "is_qty_decimal": False,
            "show_default_notification_message": False,
            "use_config_min_qty": True,
            "min_qty": 0,
            "use_config_min_sale_qty": 1,
            "min_sale_qty": 1,
            "use_config_max_sale_qty": True,
            "max_sale_qty": 10000,
            "use_config_backorders": True,
            "backorders": 0,
            "use_config_notify_stock_qty": True,
            "notify_stock_qty": 1,
            "use_config_qty_increments": True,
            "qty_increments": 0,
            "use_config_enable_qty_inc": True,
            "enable_qty_increments": False,
            "use_config_manage_stock": product.use_config_manage_stock,
            "manage_stock": product.manage_stock,
            "low_stock_date": None,
            "is_decimal_divided": False,
            "stock_status_changed_auto": 0,
        }

    def salable(self, sku: str) -> Decimal:
        """What a buyer can buy: source quantities of enabled, in-stock sources minus
        reservations (MSI), or the stock item's qty."""
        product = self.by_sku(sku)
        if product is None:
            return Decimal(0)
        if not self.msi:
            return product.legacy_qty
        total = Decimal(0)
        for code, source in self.sources.items():
            item = self.source_items.get((sku.lower(), code))
            if item is not None and item["status"] == 1 and source["enabled"]:
                total += _d(item["quantity"])
        return total - self.reservations.get(sku.lower(), Decimal(0))

    def reserve(self, sku: str, qty: Decimal) -> None:
        """Add (or, negative, compensate) a reservation (MSI) or move the legacy qty."""
        if self.msi:
            key = sku.lower()
            self.reservations[key] = self.reservations.get(key, Decimal(0)) + qty
        else:
            product = self.by_sku(sku)
            if product is not None:
                product.legacy_qty -= qty

    # -- orders ---------------------------------------------------------------------------

    def stamp(self) -> str:
        """A new ``updated_at`` (Magento's clock has whole seconds; it can repeat)."""
        return self.now()

    def next_item_id(self) -> int:
        """The id the next order row gets (rows of one order are numbered in a run)."""
        return self._next_item

    def add_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Store an order given as REST JSON; fills ids and times it lacks."""
        data = dict(order)
        oid = int(data.get("entity_id") or self._next_order)
        if oid in self.orders:
            raise MagentoError("An order with id %1 exists already.", 400, [oid])
        self._next_order = max(self._next_order, oid + 1)
        data["entity_id"] = oid
        data.setdefault("increment_id", f"{next(self._increment):09d}")
        data.setdefault("created_at", self.now())
        data.setdefault("updated_at", data["created_at"])
        data.setdefault("state", "new")
        data.setdefault("status", "pending")
        data.setdefault("base_currency_code", self.currency)
        data.setdefault("order_currency_code", data["base_currency_code"])
        items = []
        for raw in data.get("items", []):
            item = dict(raw)
            item["item_id"] = int(item.get("item_id") or self._next_item)
            self._next_item = max(self._next_item, item["item_id"] + 1)
            item["order_id"] = oid
            for key in (
                "qty_ordered",
                "qty_shipped",
                "qty_canceled",
                "qty_refunded",
                "qty_invoiced",
            ):
                value = item.get(key, 0)
                try:
                    item[key] = _d(value)
                except ArithmeticError:
                    item[key] = value  # stored as given: a broken order is history too
            items.append(item)
        data["items"] = items
        self.orders[oid] = data
        return data

    def order(self, oid: int) -> dict[str, Any]:
        """The order, or Magento's 404."""
        order = self.orders.get(oid)
        if order is None:
            raise MagentoError(
                "The entity that was requested doesn't exist. Verify the entity and try again.", 404
            )
        return order

    def touch(self, order: dict[str, Any]) -> None:
        """Move the order's ``updated_at`` to now."""
        order["updated_at"] = self.stamp()

    def _settle_state(self, order: dict[str, Any]) -> None:
        if order["state"] in ("canceled", "closed", "holded"):
            return
        tops = [i for i in order["items"] if i.get("parent_item_id") is None]
        invoiced = all(
            _d(i["qty_invoiced"]) >= _d(i["qty_ordered"]) - _d(i["qty_canceled"]) for i in tops
        )
        shipped = all(
            _d(i["qty_shipped"]) + _d(i["qty_canceled"]) >= _d(i["qty_ordered"])
            or _d(i["qty_refunded"]) >= _d(i["qty_ordered"]) - _d(i["qty_canceled"])
            for i in tops
        )
        paid = sum((_d(i["qty_invoiced"]) for i in tops), Decimal(0))
        refunded = sum((_d(i["qty_refunded"]) for i in tops), Decimal(0))
        if paid > 0 and refunded >= paid and invoiced:
            order["state"], order["status"] = "closed", "closed"
        elif invoiced and shipped:
            order["state"], order["status"] = "complete", "complete"
        elif any(_d(i["qty_invoiced"]) > 0 or _d(i["qty_shipped"]) > 0 for i in tops):
            order["state"], order["status"] = "processing", "processing"

    def ship(
        self,
        order: dict[str, Any],
        items: list[dict[str, Any]],
        tracks: list[dict[str, Any]],
        source: str,
    ) -> int:
        """``ShipOrderInterface::execute``: validate, create the shipment, deduct the source."""
        errors: list[str] = []
        if order["state"] in ("payment_review", "holded", "canceled"):
            errors.append(
                f"A shipment cannot be created when an order has a status of {order['status']}"
            )
        by_id = {int(i["item_id"]): i for i in order["items"]}
        wanted: dict[int, Decimal] = {}
        for entry in items:
            item_id = int(entry.get("order_item_id", 0))
            if item_id not in by_id:
                errors.append("The shipment contains product that is not in the order.")
                continue
            wanted[item_id] = wanted.get(item_id, Decimal(0)) + _d(entry.get("qty", 0))
        if not items:
            tops = [i for i in order["items"] if i.get("parent_item_id") is None]
            wanted = {int(i["item_id"]): self._to_ship(i) for i in tops if self._to_ship(i) > 0}
        if not errors and not any(q > 0 for q in wanted.values()):
            errors.append("The order does not allow a shipment to be created.")
            errors.append("You can't create a shipment without products.")
        for item_id, qty in wanted.items():
            if qty > self._to_ship(by_id[item_id]):
                errors.append("The order does not allow a shipment to be created.")
                break
        if self.msi and source not in self.sources:
            errors.append(f'Source item for "{source}" is not found.')
        if errors:
            raise MagentoError(
                "Shipment Document Validation Error(s):\n" + "\n".join(dict.fromkeys(errors)), 400
            )
        sid = next(self._shipment_ids)
        shipment_items: list[dict[str, Any]] = []
        for item_id, qty in wanted.items():
            if qty <= 0:
                continue
            item = by_id[item_id]
            rows = [item] + [i for i in order["items"] if i.get("parent_item_id") == item_id]
            for row in rows:
                share = (
                    qty if row is item else qty * _d(row["qty_ordered"]) / _d(item["qty_ordered"])
                )
                row["qty_shipped"] = _d(row["qty_shipped"]) + share
                if row.get("product_type") in (
                    "simple",
                    "virtual",
                    "downloadable",
                    "giftcard",
                    None,
                ):
                    sku = str(row.get("sku"))
                    if self.msi:
                        current = self.source_quantity(sku, source) or Decimal(0)
                        self.set_source_item(
                            sku, source, current - share, 1 if current - share > 0 else 0
                        )
                        self.reserve(sku, -share)
                shipment_items.append(
                    {
                        "entity_id": len(shipment_items) + 1,
                        "parent_id": sid,
                        "order_item_id": int(row["item_id"]),
                        "product_id": row.get("product_id"),
                        "sku": row.get("sku"),
                        "name": row.get("name"),
                        "qty": share,
                        "price": row.get("price", 0),
                        "weight": 1,
                    }
                )
        now = self.now()
        shipment = {
            "entity_id": sid,
            "increment_id": f"{sid:09d}",
            "order_id": order["entity_id"],
            "store_id": 1,
            "created_at": now,
            "updated_at": now,
            "total_qty": sum((_d(q) for q in wanted.values()), Decimal(0)),
            "items": shipment_items,
            "tracks": [
                {
                    "entity_id": n + 1,
                    "parent_id": sid,
                    "order_id": order["entity_id"],
                    "track_number": t.get("track_number"),
                    "title": t.get("title"),
                    "carrier_code": t.get("carrier_code"),
                    "created_at": now,
                    "updated_at": now,
                    "weight": 0,
                    "qty": 0,
                    "description": None,
                }
                for n, t in enumerate(tracks)
            ],
            "comments": [],
            "packages": [],
            "extension_attributes": {"source_code": source} if self.msi else {},
        }
        self.shipments[sid] = shipment
        self._settle_state(order)
        self.touch(order)
        return sid

    @staticmethod
    def _to_ship(item: Mapping[str, Any]) -> Decimal:
        return max(
            Decimal(0),
            _d(item["qty_ordered"])
            - max(_d(item["qty_shipped"]), _d(item["qty_refunded"]))
            - _d(item["qty_canceled"]),
        )

    def can_cancel(self, order: Mapping[str, Any]) -> bool:
        """``Order::canCancel``."""
        if order["state"] in ("canceled", "complete", "closed", "holded", "payment_review"):
            return False
        tops = [i for i in order["items"] if i.get("parent_item_id") is None]
        all_invoiced = all(
            _d(i["qty_invoiced"]) >= _d(i["qty_ordered"]) - _d(i["qty_canceled"]) for i in tops
        )
        if tops and all_invoiced:
            return False
        return any(self._to_cancel(i) > 0 for i in tops)

    @staticmethod
    def _to_cancel(item: Mapping[str, Any]) -> Decimal:
        ordered, canceled = _d(item["qty_ordered"]), _d(item["qty_canceled"])
        to_invoice = ordered - _d(item["qty_invoiced"]) - canceled
        to_ship = ordered - max(_d(item["qty_shipped"]), _d(item["qty_refunded"])) - canceled
        return max(Decimal(0), min(to_invoice, to_ship))

    def cancel(self, order: dict[str, Any]) -> bool:
        """``OrderManagementInterface::cancel``: True when cancelled."""
        if not self.can_cancel(order):
            return False
        for item in order["items"]:
            qty = self._to_cancel(item)
            if qty <= 0:
                continue
            item["qty_canceled"] = _d(item["qty_canceled"]) + qty
            if item.get("product_type") in ("simple", "virtual", "downloadable", "giftcard", None):
                self.reserve(str(item.get("sku")), -qty)
        order["state"], order["status"] = "canceled", "canceled"
        self.touch(order)
        return True

    def refund(
        self,
        order: dict[str, Any],
        items: list[dict[str, Any]],
        arguments: Mapping[str, Any],
        comment: str | None,
    ) -> int:
        """``RefundOrderInterface::execute`` (an offline credit memo)."""
        tops = [i for i in order["items"] if i.get("parent_item_id") is None]
        invoiced = sum((_d(i["qty_invoiced"]) for i in tops), Decimal(0))
        if order["state"] in ("canceled", "closed") or invoiced <= 0:
            raise MagentoError(
                "Creditmemo Document Validation Error(s):\n"
                "The order does not allow a creditmemo to be created.",
                400,
            )
        by_id = {int(i["item_id"]): i for i in order["items"]}
        qtys: dict[int, Decimal] = {}
        for entry in items:
            item_id = int(entry.get("order_item_id", 0))
            if item_id not in by_id:
                raise MagentoError(
                    "Creditmemo Document Validation Error(s):\n"
                    "The creditmemo contains product item that is not part of the original order.",
                    400,
                )
            qtys[item_id] = _d(entry.get("qty", 0))
        if not items:
            qtys = {int(i["item_id"]): _d(i["qty_invoiced"]) - _d(i["qty_refunded"]) for i in tops}
        for item_id, qty in qtys.items():
            item = by_id[item_id]
            if qty > _d(item["qty_invoiced"]) - _d(item["qty_refunded"]):
                raise MagentoError(
                    "Creditmemo Document Validation Error(s):\n"
                    "The quantity to creditmemo must not be greater than the unrefunded quantity"
                    ' for product "%1".',
                    400,
                    [item.get("sku")],
                )
        grand = sum((_d(by_id[i].get("base_price", 0)) * q for i, q in qtys.items()), Decimal(0))
        grand += _d(arguments.get("adjustment_positive", 0)) - _d(
            arguments.get("adjustment_negative", 0)
        )
        grand += _d(arguments.get("shipping_amount", 0))
        if grand <= 0:
            raise MagentoError(
                "Creditmemo Document Validation Error(s):\n"
                "The credit memo's total must be positive.",
                400,
            )
        paid = _d(order.get("base_total_paid", order.get("base_grand_total", 0)))
        already = _d(order.get("base_total_refunded", 0))
        if paid and grand > paid - already:
            raise MagentoError(
                "Creditmemo Document Validation Error(s):\nThe most money available to refund"
                " is %1.",
                400,
                [str(paid - already)],
            )
        restock = {
            int(i)
            for i in (arguments.get("extension_attributes") or {}).get("return_to_stock_items", [])
        }
        mid = next(self._memo_ids)
        memo_items = []
        for item_id, qty in qtys.items():
            if qty <= 0:
                continue
            item = by_id[item_id]
            unshipped = self._to_ship(item)
            item["qty_refunded"] = _d(item["qty_refunded"]) + qty
            # Units refunded before they shipped never leave: their reservation is
            # compensated; only shipped units can go back to the source.
            released = unshipped - self._to_ship(item)
            if self.msi and released > 0 and item.get("sku"):
                self.reserve(str(item["sku"]), -released)
            if item_id in restock and item.get("sku"):
                if self.msi:
                    back = qty - released
                    if back > 0:
                        current = self.source_quantity(str(item["sku"])) or Decimal(0)
                        self.set_source_item(str(item["sku"]), "default", current + back, 1)
                else:
                    product = self.by_sku(str(item["sku"]))
                    if product is not None:
                        product.legacy_qty += qty
            memo_items.append({"order_item_id": item_id, "qty": qty, "sku": item.get("sku")})
        now = self.now()
        self.creditmemos[mid] = {
            "entity_id": mid,
            "increment_id": f"{mid:09d}",
            "order_id": order["entity_id"],
            "created_at": now,
            "updated_at": now,
            "base_grand_total": grand,
            "grand_total": grand,
            "base_currency_code": order.get("base_currency_code", self.currency),
            "state": 2,
            "items": memo_items,
        }
        self.creditmemo_comments[mid] = (
            [{"entity_id": mid, "parent_id": mid, "comment": comment, "created_at": now}]
            if comment
            else []
        )
        order["base_total_refunded"] = already + grand
        self._settle_state(order)
        self.touch(order)
        return mid

    # -- bulks ----------------------------------------------------------------------------

    def add_bulk(self, topic: str, operations: list[dict[str, Any]]) -> Bulk:
        """Queue a bulk of operations (each ``{"id", "payload", "status": 4}``)."""
        bulk = Bulk(str(uuid.uuid4()), topic, operations, self.clock())
        self.bulks[bulk.uuid] = bulk
        return bulk

    def due(self, bulk: Bulk, delay: float) -> bool:
        """Whether the consumer has had time to run ``bulk``'s operations."""
        return self.clock() >= bulk.accepted_at + timedelta(seconds=delay)
