"""The shared product and order model every channel maps into.

All models are frozen pydantic v2 models. Money is ``Decimal`` with an ISO 4217
currency and is never built from a float; datetimes are timezone-aware and normalised
to UTC (a naive datetime is refused, not guessed). Bad data raises a
``pydantic.ValidationError`` that names the field.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_QUANTITY",
    "MAX_SKU_LENGTH",
    "Address",
    "CancelRequest",
    "Customer",
    "Listing",
    "Money",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Product",
    "Refund",
    "Shipment",
    "StockLevel",
    "UtcDatetime",
    "Variant",
    "check_sku",
]

#: The longest SKU any supported channel allows (eBay's SKU field; Shopify's, Amazon's
#: and WooCommerce's are shorter or equal), and the width of every SKU column.
MAX_SKU_LENGTH = 255

#: Quantities are 64-bit signed integers on every store (BIGINT on PostgreSQL).
MAX_QUANTITY = 2**63 - 1


def check_sku(value: object, what: str = "SKU") -> str:
    """Return ``value`` if it is a valid SKU, else raise ``InvalidInput`` naming the rule.

    The one rule for SKUs, everywhere and on every store: a string of 1 to 255
    characters (``MAX_SKU_LENGTH``) without surrounding whitespace and without control
    characters (tabs, newlines, NUL, other C0/C1 controls, line and paragraph
    separators, lone surrogates). So ``" MUG-1"`` and ``"MUG-1\\n"`` are refused rather
    than becoming SKUs of their own.
    """
    from channelsync.core.errors import InvalidInput

    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__} {value!r:.80}")
    if not value:
        raise InvalidInput(f"{what} must be a non-empty string, got ''")
    if len(value) > MAX_SKU_LENGTH:
        raise InvalidInput(
            f"{what} {value[:40]!r}... is {len(value)} characters: a SKU has at most"
            f" {MAX_SKU_LENGTH} (the longest any supported channel allows)"
        )
    if value != value.strip():
        raise InvalidInput(f"{what} {value!r} has surrounding whitespace: a SKU may not")
    bad = next((c for c in value if unicodedata.category(c) in _CONTROL), None)
    if bad is not None:
        raise InvalidInput(
            f"{what} {value!r} contains the control character U+{ord(bad):04X}:"
            " a SKU may not contain control characters"
        )
    return value


# Unicode categories refused in SKUs: controls, lone surrogates, line/paragraph separators.
_CONTROL = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _model_sku(value: str) -> str:
    check_sku(value)
    return value


def _model_quantity(value: int) -> int:
    if abs(value) > MAX_QUANTITY:
        raise ValueError(f"{value} is beyond the 64-bit range quantities are kept in")
    return value


Sku = Annotated[str, AfterValidator(_model_sku)]
Quantity = Annotated[int, Field(ge=0), AfterValidator(_model_quantity)]
#: A quantity a channel shows, which may be negative (WooCommerce backorders).
Shown = Annotated[int, AfterValidator(_model_quantity)]

# ISO 4217 codes of currencies in use (2024 list).
_ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905
)


def currency_code(value: object) -> str:
    """``value`` as an ISO 4217 code in use (trimmed, upper case); ``ValueError`` names it
    otherwise. The one check of a currency code: money, orders, configuration, price rules."""
    if not isinstance(value, str):
        raise ValueError(f"currency must be an ISO 4217 code string, got {value!r}")
    code = value.strip().upper()
    if code not in _ISO_4217:
        raise ValueError(f"currency {value!r} is not an ISO 4217 code (EUR, USD...)")
    return code


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, converted to UTC. Naive input is a validation error."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Money(_Frozen):
    """An amount of money: a ``Decimal`` and an ISO 4217 currency code.

    Build it from a string, an int or a ``Decimal``; a float is refused because it cannot
    hold most prices exactly. Adding or subtracting amounts of different currencies raises
    ``ValueError``.

    >>> Money(amount="19.99", currency="EUR") + Money(amount="0.01", currency="EUR")
    Money(amount=Decimal('20.00'), currency='EUR')
    """

    amount: Decimal
    currency: str

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("amount must be a string, int or Decimal, not bool")
        if isinstance(value, float):
            raise ValueError(
                f"amount must be given as a string or Decimal, not float ({value!r}):"
                " floats cannot hold prices exactly"
            )
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise ValueError(f"amount {value!r} is not a decimal number") from None
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError(f"amount must be a finite number, got {value}")
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return currency_code(value)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Shorthand for ``Money(amount=amount, currency=currency)``."""
        return cls(amount=amount, currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot {op} {self.currency} and {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        o = self._same(other, "add")
        return Money(amount=self.amount + o.amount, currency=self.currency)

    def __sub__(self, other: object) -> Money:
        o = self._same(other, "subtract")
        return Money(amount=self.amount - o.amount, currency=self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise TypeError("Money can only be multiplied by an int or a Decimal")
        return Money(amount=self.amount * factor, currency=self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class OrderStatus(enum.StrEnum):
    """The one normalised order lifecycle; the channel's own status stays in ``raw_status``."""

    PENDING = "pending"
    """Placed but not yet paid or confirmed; its units are committed all the same."""
    OPEN = "open"
    """Paid / unshipped: the units are committed."""
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"

    @property
    def commits_stock(self) -> bool:
        """Whether unshipped lines in this status hold units (pending, open, partially shipped)."""
        return self in _COMMITTING


_COMMITTING = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_SHIPPED})


def _country(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError(f"country_code must be an ISO 3166 alpha-2 code, got {value!r}")
    return code


class Address(_Frozen):
    """A postal address. Personal data: never logged."""

    name: str | None = None
    company: str | None = None
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country_code: Annotated[str | None, AfterValidator(_country)] = None
    phone: str | None = None

    @field_validator("lines", mode="before")
    @classmethod
    def _drop_empty(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
        return value


class Customer(_Frozen):
    """The buyer as the channel reports them (fields may be withheld by the channel)."""

    customer_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class Shipment(_Frozen):
    """A parcel sent for an order: carrier, tracking, and which lines it carries.

    ``lines`` maps line id to quantity; empty means every unshipped unit of the order.
    """

    carrier: str = Field(min_length=1)
    tracking_number: str | None = None
    tracking_url: str | None = None
    shipped_at: UtcDatetime | None = None
    lines: dict[str, int] = Field(default_factory=dict)

    @field_validator("lines")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for line_id, qty in value.items():
            if qty <= 0:
                raise ValueError(f"shipment quantity for line {line_id!r} must be positive")
        return value


class Refund(_Frozen):
    """Money given back on an order, optionally for specific lines."""

    refund_id: str
    amount: Money | None = None
    created_at: UtcDatetime | None = None
    reason: str | None = None
    lines: dict[str, int] = Field(default_factory=dict)
    restock: bool = False


class CancelRequest(_Frozen):
    """A cancellation the buyer asked for that the merchant has not answered yet.

    Amazon marks these on the order (``cancellation.cancellationRequest`` of the items, the
    v0 ``IsBuyerRequestedCancel``/``BuyerCancelReason``); the merchant accepts one with
    ``engine.accept_cancel_request``. ``lines`` names the lines asked for (empty: all).
    """

    requested_by: str = "buyer"
    reason: str | None = None
    lines: tuple[str, ...] = ()


class OrderLine(_Frozen):
    """One line of an order.

    ``sku`` is None for custom lines (gift wrap, a manual item), which never touch stock.
    ``fulfilled_by_channel`` marks lines the channel ships from its own warehouse (Amazon
    FBA): they never change our stock either.
    """

    line_id: str = Field(min_length=1)
    sku: Sku | None = None
    title: str | None = None
    quantity: Quantity
    unit_price: Money | None = None
    total: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    quantity_shipped: Quantity = 0
    quantity_cancelled: Quantity = 0
    fulfilled_by_channel: bool = False
    channel_ids: dict[str, str] = Field(default_factory=dict)
    location_id: str | None = None
    """The channel's own id of the location it assigned the line to (Shopify's fulfillment
    orders); None where the channel does not say. The engine maps it to one of the
    merchant's locations through the account's ``locations`` mapping."""

    @field_validator("sku", mode="before")
    @classmethod
    def _blank_sku(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _quantities(self) -> OrderLine:
        if self.quantity_shipped + self.quantity_cancelled > self.quantity:
            raise ValueError(
                f"line {self.line_id!r}: quantity_shipped ({self.quantity_shipped}) +"
                f" quantity_cancelled ({self.quantity_cancelled}) exceed quantity"
                f" ({self.quantity})"
            )
        return self

    @property
    def quantity_open(self) -> int:
        """Units neither shipped nor cancelled."""
        return self.quantity - self.quantity_shipped - self.quantity_cancelled


class Order(_Frozen):
    """An order from one channel account, normalised.

    ``total`` and other amounts are in the shop's settlement currency; the channel's raw
    payload is kept on ``raw`` for audit (and redacted with the customer on request).
    """

    kind: str = Field(min_length=1)
    account: str = Field(min_length=1)
    order_id: str = Field(min_length=1)
    number: str | None = None
    status: OrderStatus
    raw_status: str | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    currency: str | None = None
    total: Money | None = None
    subtotal: Money | None = None
    shipping_total: Money | None = None
    tax_total: Money | None = None
    discount_total: Money | None = None
    fees: Money | None = None
    lines: tuple[OrderLine, ...] = ()
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    shipments: tuple[Shipment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    tags: tuple[str, ...] = ()
    cancel_request: CancelRequest | None = None
    """An open cancellation request of the buyer (see ``CancelRequest``), else None."""
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        if value is None:
            return None
        return Money.zero(str(value)).currency

    @model_validator(mode="after")
    def _consistent(self) -> Order:
        if self.updated_at < self.created_at:
            raise ValueError(
                f"order {self.order_id!r}: updated_at {self.updated_at.isoformat()} is before"
                f" created_at {self.created_at.isoformat()}"
            )
        seen: set[str] = set()
        for line in self.lines:
            if line.line_id in seen:
                raise ValueError(f"order {self.order_id!r}: duplicate line_id {line.line_id!r}")
            seen.add(line.line_id)
        return self

    def line(self, line_id: str) -> OrderLine:
        """The line with ``line_id``; ``KeyError`` names it when absent."""
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise KeyError(f"order {self.order_id!r} has no line {line_id!r}")


class Variant(_Frozen):
    """A sellable variant of a product, identified by its SKU (see ``check_sku``)."""

    sku: Sku
    title: str | None = None
    price: Money | None = None
    cost_price: Money | None = None
    barcode: str | None = None
    options: dict[str, str] = Field(default_factory=dict)


class Product(_Frozen):
    """A product of the merchant's catalogue with its variants."""

    product_id: str = Field(min_length=1)
    title: str
    variants: tuple[Variant, ...] = ()


FulfilledBy = Literal["merchant", "channel"]


class Listing(_Frozen):
    """A SKU on one channel account, with the channel's own ids.

    ``ids`` holds what the adapter needs to write to the listing (Shopify's inventory item
    and location GIDs, WooCommerce's product and parent ids, eBay's world and ItemID,
    Amazon's productType). ``fulfilled_by`` is ``"channel"`` for listings the channel
    stocks itself (Amazon FBA): channelsync never pushes stock to those.
    """

    kind: str = Field(min_length=1)
    account: str = Field(min_length=1)
    sku: Sku
    listing_id: str = Field(min_length=1)
    quantity: Shown | None = None
    price: Money | None = None
    title: str | None = None
    manages_stock: bool = True
    fulfilled_by: FulfilledBy = "merchant"
    ids: dict[str, str] = Field(default_factory=dict)
    levels: dict[str, int | None] = Field(default_factory=dict)
    """Channels that keep a quantity per location (Shopify): the channel's location id ->
    what the listing shows there (None: stocked there, quantity not tracked). Empty for
    channels with one pooled quantity (``quantity``)."""


class StockLevel(_Frozen):
    """The ledger's figures for one SKU. ``available`` may be negative (an oversell)."""

    sku: str
    on_hand: int
    committed: int

    @property
    def available(self) -> int:
        """``on_hand - committed``."""
        return self.on_hand - self.committed


def utcnow() -> datetime:
    """The current time, aware and in UTC."""
    return datetime.now(UTC)
