"""Magento 2 REST payloads as typed models: what ``client.py`` hands to the rest of the adapter.

Field names are Magento's own (the service contracts' data interfaces in snake case:
``Magento\\Sales\\Api\\Data\\OrderInterface`` and friends). Unknown fields are ignored here;
the order's whole JSON stays on ``Order.raw``. Numbers arrive as ``Decimal`` (the client
parses JSON floats exactly), quantities included: Magento sends ``2.0000``-style decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AsyncResponse",
    "BulkOperation",
    "BulkStatus",
    "Creditmemo",
    "CreditmemoComment",
    "CreditmemoItem",
    "MagentoAddress",
    "MagentoError",
    "MagentoOrder",
    "OrderItem",
    "PriceUpdateResult",
    "Product",
    "ProductExtension",
    "SearchResults",
    "Shipment",
    "ShipmentItem",
    "ShipmentTrack",
    "Source",
    "SourceItem",
    "StockItem",
    "StoreConfig",
    "UnreadableOrder",
]

T = TypeVar("T")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MagentoError(_Payload):
    """An error answer: ``message`` with ``%1``/``%name`` placeholders filled from
    ``parameters`` (a list or a mapping); ``errors`` for aggregated input errors."""

    message: str = ""
    parameters: list[Any] | dict[str, Any] | None = None
    errors: list[MagentoError] | None = None
    code: int | None = None

    def text(self) -> str:
        """The message with its placeholders filled in."""
        return render_message(self.message, self.parameters)


def render_message(message: str, parameters: list[Any] | dict[str, Any] | None) -> str:
    """Fill Magento's ``%1`` (positional) and ``%name`` (named) placeholders."""
    if not parameters:
        return message
    text = message
    if isinstance(parameters, dict):
        for key in sorted(parameters, key=lambda k: -len(str(k))):
            text = text.replace(f"%{key}", str(parameters[key]))
        return text
    if re.search(r"%\d", text):
        for index in range(len(parameters), 0, -1):
            text = text.replace(f"%{index}", str(parameters[index - 1]))
        return text
    # Named placeholders with the values as a list (a string[] result, as the price
    # storage answers): filled in the order they appear.
    values = iter(parameters)
    return re.sub(r"%[A-Za-z_]+", lambda m: str(next(values, m.group(0))), text)


class SearchResults(_Payload, Generic[T]):
    """A ``getList`` answer: one page of ``items`` and the unpaged ``total_count``."""

    items: list[T] = Field(default_factory=list)
    total_count: int = 0


class StockItem(_Payload):
    """``Magento\\CatalogInventory\\Api\\Data\\StockItemInterface`` (the legacy stock item)."""

    item_id: int | None = None
    product_id: int | None = None
    stock_id: int | None = None
    qty: Decimal | None = None
    is_in_stock: bool | None = None
    is_qty_decimal: bool | None = None
    manage_stock: bool | None = None
    use_config_manage_stock: bool | None = None


class ProductExtension(_Payload):
    """The product's ``extension_attributes`` that channelsync reads."""

    stock_item: StockItem | None = None
    configurable_product_links: list[int] = Field(default_factory=list)
    website_ids: list[int] = Field(default_factory=list)


class Product(_Payload):
    """``Magento\\Catalog\\Api\\Data\\ProductInterface`` (the fields channelsync reads)."""

    id: int
    sku: str
    name: str | None = None
    price: Decimal | None = None
    status: int | None = None
    type_id: str = "simple"
    updated_at: str | None = None
    extension_attributes: ProductExtension | None = None


class Source(_Payload):
    """``Magento\\InventoryApi\\Api\\Data\\SourceInterface``."""

    source_code: str
    name: str | None = None
    enabled: bool | None = None


class SourceItem(_Payload):
    """``Magento\\InventoryApi\\Api\\Data\\SourceItemInterface``: a SKU's stock at one source."""

    sku: str
    source_code: str
    quantity: Decimal = Decimal(0)
    status: int = 0


class PriceUpdateResult(_Payload):
    """One failed row of ``POST /V1/products/base-prices``."""

    message: str = ""
    parameters: list[Any] | dict[str, Any] | None = None

    def text(self) -> str:
        """The message with its placeholders filled in."""
        return render_message(self.message, self.parameters)

    def values(self) -> list[str]:
        """The parameter values, as strings (they name the SKU)."""
        if isinstance(self.parameters, dict):
            return [str(v) for v in self.parameters.values()]
        return [str(v) for v in self.parameters or []]


class MagentoAddress(_Payload):
    """``OrderAddressInterface``."""

    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    street: list[str] = Field(default_factory=list)
    city: str | None = None
    postcode: str | None = None
    region: str | None = None
    region_code: str | None = None
    country_id: str | None = None
    telephone: str | None = None
    email: str | None = None


class OrderItem(_Payload):
    """``OrderItemInterface``: one row of an order (configurable and bundle products have a
    parent row and child rows linked by ``parent_item_id``)."""

    item_id: int
    parent_item_id: int | None = None
    product_id: int | None = None
    product_type: str = "simple"
    sku: str | None = None
    name: str | None = None
    qty_ordered: Decimal = Decimal(0)
    qty_shipped: Decimal = Decimal(0)
    qty_canceled: Decimal = Decimal(0)
    qty_refunded: Decimal = Decimal(0)
    qty_invoiced: Decimal = Decimal(0)
    base_price: Decimal | None = None
    base_row_total: Decimal | None = None
    base_tax_amount: Decimal | None = None
    base_discount_amount: Decimal | None = None
    is_virtual: int | bool | None = None
    product_option: dict[str, Any] | None = None


class _ShippingAddress(_Payload):
    address: MagentoAddress | None = None


class _ShippingAssignment(_Payload):
    shipping: _ShippingAddress | None = None


class _OrderExtension(_Payload):
    shipping_assignments: list[_ShippingAssignment] = Field(default_factory=list)


class MagentoOrder(_Payload):
    """``Magento\\Sales\\Api\\Data\\OrderInterface`` as ``GET /V1/orders/{id}`` returns it."""

    entity_id: int
    increment_id: str | None = None
    state: str | None = None
    status: str | None = None
    created_at: str
    updated_at: str | None = None
    store_id: int | None = None
    base_currency_code: str | None = None
    order_currency_code: str | None = None
    base_grand_total: Decimal | None = None
    base_subtotal: Decimal | None = None
    base_shipping_amount: Decimal | None = None
    base_tax_amount: Decimal | None = None
    base_discount_amount: Decimal | None = None
    base_total_refunded: Decimal | None = None
    base_total_paid: Decimal | None = None
    base_total_invoiced: Decimal | None = None
    customer_id: int | None = None
    customer_email: str | None = None
    customer_firstname: str | None = None
    customer_lastname: str | None = None
    customer_is_guest: int | bool | None = None
    items: list[OrderItem] = Field(default_factory=list)
    billing_address: MagentoAddress | None = None
    extension_attributes: _OrderExtension | None = None

    @property
    def shipping_address(self) -> MagentoAddress | None:
        """The first shipping assignment's address (orders of virtual goods have none)."""
        ext = self.extension_attributes
        for assignment in ext.shipping_assignments if ext else []:
            if assignment.shipping is not None and assignment.shipping.address is not None:
                return assignment.shipping.address
        return None


class UnreadableOrder(BaseModel):
    """An order of a search page that does not read as ``MagentoOrder`` (kept for the failure)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    raw: dict[str, Any]
    error: Exception


class ShipmentItem(_Payload):
    """``ShipmentItemInterface``."""

    order_item_id: int
    qty: Decimal = Decimal(0)


class ShipmentTrack(_Payload):
    """``ShipmentTrackInterface``."""

    track_number: str | None = None
    title: str | None = None
    carrier_code: str | None = None
    created_at: str | None = None


class ShipmentExtension(_Payload):
    """The shipment's ``extension_attributes``: the MSI source its units left from."""

    source_code: str | None = None


class Shipment(_Payload):
    """``ShipmentInterface``."""

    entity_id: int
    order_id: int
    created_at: str | None = None
    items: list[ShipmentItem] = Field(default_factory=list)
    tracks: list[ShipmentTrack] = Field(default_factory=list)
    extension_attributes: ShipmentExtension | None = None


class CreditmemoItem(_Payload):
    """``CreditmemoItemInterface``."""

    order_item_id: int
    qty: Decimal = Decimal(0)


class Creditmemo(_Payload):
    """``CreditmemoInterface``."""

    entity_id: int
    order_id: int
    increment_id: str | None = None
    created_at: str | None = None
    base_grand_total: Decimal | None = None
    base_currency_code: str | None = None
    items: list[CreditmemoItem] = Field(default_factory=list)


class CreditmemoComment(_Payload):
    """``CreditmemoCommentInterface``."""

    comment: str = ""


class StoreConfig(_Payload):
    """``StoreConfigInterface`` (``GET /V1/store/storeConfigs``)."""

    code: str
    base_currency_code: str | None = None
    timezone: str | None = None


class _RequestItem(_Payload):
    id: int
    status: str = "accepted"
    error_message: str | None = None


class AsyncResponse(_Payload):
    """``AsyncResponseInterface``: what an asynchronous bulk request answers at once."""

    bulk_uuid: str
    request_items: list[_RequestItem] = Field(default_factory=list)
    errors: bool = False


class BulkOperation(_Payload):
    """One operation of ``GET /V1/bulk/{uuid}/detailed-status``.

    ``status``: 1 complete, 2 failed (retriable), 3 failed (not retriable), 4 open,
    5 rejected.
    """

    id: int
    status: int
    result_message: str | None = None
    error_code: int | None = None


class BulkStatus(_Payload):
    """``DetailedBulkOperationsStatusInterface``."""

    bulk_id: str | None = None
    operation_count: int | None = None
    operations_list: list[BulkOperation] = Field(default_factory=list)
