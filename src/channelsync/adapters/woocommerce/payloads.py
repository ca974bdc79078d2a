"""WooCommerce REST v3 JSON as typed models: what ``client.py`` hands to the rest.

Field names are WooCommerce's own. Amounts stay strings (WooCommerce sends them as decimal
strings; the few that come as JSON numbers, such as a line item's ``price``, are kept as
their exact text), dates stay WooCommerce's strings (``date_*`` in the shop's timezone,
``date_*_gmt`` in UTC, both without an offset), and unknown fields are kept, so
``model_dump()`` gives back the payload for ``Order.raw``. ``mapping.py`` turns these into
channelsync models.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

__all__ = [
    "Amount",
    "UnreadableOrder",
    "WooAddress",
    "WooBatchError",
    "WooBatchResponse",
    "WooCouponLine",
    "WooError",
    "WooFeeLine",
    "WooLineItem",
    "WooMeta",
    "WooNote",
    "WooOrder",
    "WooProduct",
    "WooRefund",
    "WooRefundLine",
    "WooRefundSummary",
    "WooSetting",
    "WooShippingLine",
    "WooTaxLine",
    "WooTracking",
    "WooVariation",
]


def _amount_text(value: Any) -> Any:
    """Amounts as exact text: JSON numbers become their shortest repr, never a float sum."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise ValueError(f"an amount must be a string or number, got {type(value).__name__}")


Amount = Annotated[str | None, BeforeValidator(_amount_text)]
"""A money amount as WooCommerce wrote it (``"12.00"``; a JSON ``12`` becomes ``"12"``)."""


def _int_or_none(value: Any) -> Any:
    if value in ("", None):
        return None
    return value


OptionalInt = Annotated[int | None, BeforeValidator(_int_or_none)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class WooMeta(_Payload):
    """One ``meta_data`` entry (``value`` is whatever the plugin stored)."""

    id: int | None = None
    key: str = ""
    value: Any = None


class WooAddress(_Payload):
    """``billing`` / ``shipping``."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    email: str | None = None
    phone: str | None = None


class WooTax(_Payload):
    """A tax entry of a line (``total``/``subtotal`` per rate id)."""

    id: int
    total: Amount = None
    subtotal: Amount = None


class WooLineItem(_Payload):
    """One of ``line_items``."""

    id: int
    name: str = ""
    product_id: int = 0
    variation_id: int = 0
    quantity: int = 0
    subtotal: Amount = None
    subtotal_tax: Amount = None
    total: Amount = None
    total_tax: Amount = None
    taxes: list[WooTax] = Field(default_factory=list)
    meta_data: list[WooMeta] = Field(default_factory=list)
    sku: str | None = None
    price: Amount = None


class WooShippingLine(_Payload):
    """One of ``shipping_lines``."""

    id: int
    method_title: str = ""
    method_id: str = ""
    total: Amount = None
    total_tax: Amount = None


class WooFeeLine(_Payload):
    """One of ``fee_lines``."""

    id: int
    name: str = ""
    total: Amount = None
    total_tax: Amount = None


class WooCouponLine(_Payload):
    """One of ``coupon_lines``."""

    id: int
    code: str = ""
    discount: Amount = None
    discount_tax: Amount = None


class WooTaxLine(_Payload):
    """One of ``tax_lines``."""

    id: int
    rate_code: str = ""
    label: str = ""
    tax_total: Amount = None
    shipping_tax_total: Amount = None


class WooRefundSummary(_Payload):
    """An entry of an order's ``refunds``: id, reason and the (negative) total."""

    id: int
    reason: str | None = None
    refund: str | None = None
    """The published v3 examples name the reason ``refund``; WooCommerce sends ``reason``."""
    total: Amount = None


class WooOrder(_Payload):
    """An order, as ``GET /orders`` and the order webhooks send it."""

    id: int
    parent_id: int = 0
    number: str | None = None
    status: str
    currency: str | None = None
    date_created: str | None = None
    date_created_gmt: str | None = None
    date_modified: str | None = None
    date_modified_gmt: str | None = None
    date_completed_gmt: str | None = None
    discount_total: Amount = None
    shipping_total: Amount = None
    total: Amount = None
    total_tax: Amount = None
    customer_id: int = 0
    customer_note: str = ""
    billing: WooAddress | None = None
    shipping: WooAddress | None = None
    payment_method: str = ""
    meta_data: list[WooMeta] = Field(default_factory=list)
    line_items: list[WooLineItem] = Field(default_factory=list)
    tax_lines: list[WooTaxLine] = Field(default_factory=list)
    shipping_lines: list[WooShippingLine] = Field(default_factory=list)
    fee_lines: list[WooFeeLine] = Field(default_factory=list)
    coupon_lines: list[WooCouponLine] = Field(default_factory=list)
    refunds: list[WooRefundSummary] = Field(default_factory=list)


@dataclass(frozen=True)
class UnreadableOrder:
    """An order of a ``GET /orders`` page that does not read as ``WooOrder``, kept as sent.

    ``id`` and ``date_modified_gmt`` are read from the raw JSON where they can be, so the
    scan's windowing treats it like any other order of the page.
    """

    raw: dict[str, Any]
    error: ValidationError

    @property
    def id(self) -> int | None:
        """The order id, when the raw order has a usable one."""
        value = self.raw.get("id")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return None

    @property
    def date_modified_gmt(self) -> str | None:
        """The raw ``date_modified_gmt`` when it is text."""
        value = self.raw.get("date_modified_gmt")
        return value if isinstance(value, str) else None


class WooRefundLine(_Payload):
    """A line of a refund: negative quantity and totals; ``_refunded_item_id`` in meta."""

    id: int
    name: str = ""
    product_id: int = 0
    variation_id: int = 0
    quantity: int = 0
    total: Amount = None
    meta_data: list[WooMeta] = Field(default_factory=list)
    sku: str | None = None


class WooRefund(_Payload):
    """An order refund (``GET /orders/{id}/refunds``)."""

    id: int
    date_created: str | None = None
    date_created_gmt: str | None = None
    amount: Amount = None
    reason: str = ""
    refunded_payment: bool = False
    line_items: list[WooRefundLine] = Field(default_factory=list)


class WooProduct(_Payload):
    """A product (simple, variable, grouped, external) or, through ``/products/{id}``, a
    variation (``type: "variation"``)."""

    id: int
    name: str = ""
    type: str = "simple"
    status: str | bool = "publish"
    sku: str = ""
    price: Amount = None
    regular_price: Amount = None
    sale_price: Amount = None
    manage_stock: bool | str = False
    stock_quantity: OptionalInt = None
    stock_status: str = "instock"
    backorders: str = "no"
    parent_id: int = 0
    variations: list[int] = Field(default_factory=list)
    date_modified_gmt: str | None = None


class WooVariation(_Payload):
    """A variation (``GET /products/{id}/variations``); ``manage_stock`` may be ``"parent"``."""

    id: int
    sku: str = ""
    price: Amount = None
    regular_price: Amount = None
    sale_price: Amount = None
    status: str | bool = "publish"
    manage_stock: bool | str = False
    stock_quantity: OptionalInt = None
    stock_status: str = "instock"
    backorders: str = "no"
    attributes: list[dict[str, Any]] = Field(default_factory=list)
    date_modified_gmt: str | None = None


class WooError(_Payload):
    """WordPress's error body: ``{"code", "message", "data": {"status", ...}}``."""

    code: str = ""
    message: str = ""
    data: Any = None

    @property
    def status(self) -> int | None:
        """``data.status`` when it is there."""
        if isinstance(self.data, dict):
            status = self.data.get("status")
            if isinstance(status, int):
                return status
        return None


class WooBatchError(_Payload):
    """A failed item of a batch: ``{"id": ..., "error": {"code", "message", "data"}}``."""

    id: int = 0
    error: WooError


class WooBatchResponse(_Payload):
    """``POST …/batch`` answer: per action, one entry per item, in request order."""

    create: list[dict[str, Any]] = Field(default_factory=list)
    update: list[dict[str, Any]] = Field(default_factory=list)
    delete: list[dict[str, Any]] = Field(default_factory=list)


class WooNote(_Payload):
    """An order note."""

    id: int
    note: str = ""
    customer_note: bool = False
    date_created_gmt: str | None = None


class WooTracking(_Payload):
    """A Shipment Tracking extension entry."""

    tracking_id: str
    tracking_provider: str = ""
    custom_tracking_provider: str | None = None
    tracking_link: str = ""
    custom_tracking_link: str | None = None
    tracking_number: str = ""
    date_shipped: str | int | None = None


class WooSetting(_Payload):
    """One setting (``GET /settings/{group}/{id}``)."""

    id: str
    value: Any = None
