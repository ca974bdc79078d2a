"""Pure functions between eBay payloads and channelsync models.

Trading API answers arrive as XML; ``parse_xml`` parses them with a hardened parser
(no entities, no network, no DTD) and drops the ``urn:ebay:apis:eBLBaseComponents``
namespace, so every other function here takes plain element names. REST answers arrive
as the typed models of ``models.py``. Nothing here does I/O.

Field names follow eBay's Trading schema (``OrderType``, ``TransactionType``,
``ItemType``, ``VariationType``, ``InventoryStatusType``) and the Sell Inventory API
contract (``InventoryItemWithSkuLocaleGroupid``, ``EbayOfferDetailsWithAll``,
``PriceQuantityResponse``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from channelsync.adapters._failures import ORDER_DATA_ERRORS, describe_error, failure
from channelsync.adapters._skus import syncable_sku
from channelsync.adapters.ebay.payloads import (
    AvailabilityDistribution,
    FulfillmentOrder,
    InventoryItem,
    Offer,
    PriceQuantityResponse,
    RestError,
)
from channelsync.core.channel import OrderFailure, WebhookEvent
from channelsync.core.models import (
    Address,
    Customer,
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    Shipment,
)

__all__ = [
    "EBAY_NS",
    "FIXED_PRICE_TYPES",
    "KIND",
    "ORDER_DATA_ERRORS",
    "InventoryStatusResult",
    "ListingsPage",
    "OrdersPage",
    "TradingError",
    "ack_of",
    "bulk_results_by_sku",
    "complete_sale_request",
    "describe_error",
    "distributions_request",
    "element_to_dict",
    "errors_of",
    "format_time",
    "fulfillment_failure",
    "inventory_status_results",
    "levels_of",
    "listing_from_inventory",
    "listings_page",
    "order_failure",
    "order_from_fulfillment",
    "order_from_transaction",
    "order_from_xml",
    "orders_page",
    "parse_time",
    "parse_xml",
    "rest_error_text",
    "revise_inventory_status_request",
    "stock_events_from_transaction",
]

KIND = "ebay"
EBAY_NS = "urn:ebay:apis:eBLBaseComponents"
#: Listing types whose quantity and price channelsync manages (auctions are left alone).
FIXED_PRICE_TYPES = frozenset({"FixedPriceItem", "StoresFixedPrice"})
#: ``CancelStatus`` values of a cancellation that went through (``CancelClosed*`` close a
#: completed cancellation, with, without or with an unknown refund, or of an unpaid order;
#: a refused one is ``CancelRejected``/``CancelFailed``).
_CANCELLED = frozenset(
    {
        "CancelComplete",
        "CancelClosedWithRefund",
        "CancelClosedNoRefund",
        "CancelClosedUnknownRefund",
        "CancelClosedForCommitment",
    }
)
#: What eBay writes where it withholds a buyer's contact data.
_WITHHELD = frozenset({"Invalid Request", "InvalidRequest"})

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


# -- XML basics -----------------------------------------------------------------------------


def parse_xml(content: bytes) -> etree._Element:
    """Parse a Trading API answer (or notification) and strip its namespaces.

    Raises ``ValueError`` for a body that is not well-formed XML.
    """
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    if root is None:
        raise ValueError("empty XML document")
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = etree.QName(el).localname
        for name in list(el.attrib):
            if name.startswith("{"):
                el.attrib[etree.QName(name).localname] = el.attrib.pop(name)
    etree.cleanup_namespaces(root)
    return root


def _text(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    value = el.findtext(path)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(el: etree._Element | None, path: str, default: int | None = None) -> int | None:
    value = _text(el, path)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _bool(el: etree._Element | None, path: str) -> bool:
    return (_text(el, path) or "").lower() == "true"


def _amount(el: etree._Element | None, path: str) -> Money | None:
    """An ``AmountType`` element: decimal text with a ``currencyID`` attribute."""
    if el is None:
        return None
    node = el.find(path)
    if node is None or not (node.text or "").strip():
        return None
    currency = node.get("currencyID")
    if not currency:
        return None
    try:
        return Money(amount=Decimal(node.text.strip()), currency=currency)  # type: ignore[union-attr]
    except (InvalidOperation, ValueError):
        return None


def parse_time(value: str | None) -> datetime | None:
    """An eBay ``dateTime`` (``2026-11-23T12:00:00.000Z``) as an aware UTC datetime."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # eBay times are GMT
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """An aware datetime in the GMT form eBay expects (``2026-11-23T12:00:00.000Z``)."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _time(el: etree._Element | None, path: str) -> datetime | None:
    return parse_time(_text(el, path))


def element_to_dict(el: etree._Element) -> dict[str, Any]:
    """A JSON-able dict of an element's children, for ``Order.raw`` (audit).

    Repeated children become lists, attributes appear as ``@name``, the text of an
    element with attributes as ``#text``.
    """
    out: dict[str, Any] = {}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        value: Any
        if len(child):
            value = element_to_dict(child)
        elif child.attrib:
            value = {f"@{k}": v for k, v in child.attrib.items()}
            value["#text"] = (child.text or "").strip()
        else:
            value = (child.text or "").strip()
        if len(child) and child.attrib:
            value.update({f"@{k}": v for k, v in child.attrib.items()})
        if child.tag in out:
            existing = out[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                out[child.tag] = [existing, value]
        else:
            out[child.tag] = value
    return out


# -- acks and errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class TradingError:
    """One ``<Errors>`` element of a Trading answer."""

    code: str
    severity: str
    classification: str | None
    short_message: str | None
    long_message: str | None
    parameters: tuple[str, ...] = ()

    @property
    def is_warning(self) -> bool:
        """``SeverityCode`` Warning: the call (or item) went through."""
        return self.severity == "Warning"

    @property
    def message(self) -> str:
        """The most telling message, with the code."""
        text = self.long_message or self.short_message or "eBay error"
        return f"{text} (ErrorCode {self.code})"


def ack_of(root: etree._Element) -> str:
    """The ``Ack`` of a Trading answer (``Success``, ``Warning``, ``Failure``, ...)."""
    return _text(root, "Ack") or "Failure"


def errors_of(root: etree._Element) -> list[TradingError]:
    """Every ``<Errors>`` element directly under the answer's root."""
    out: list[TradingError] = []
    for el in root.findall("Errors"):
        params = tuple((p.findtext("Value") or "").strip() for p in el.findall("ErrorParameters"))
        out.append(
            TradingError(
                code=_text(el, "ErrorCode") or "",
                severity=_text(el, "SeverityCode") or "Error",
                classification=_text(el, "ErrorClassification"),
                short_message=_text(el, "ShortMessage"),
                long_message=_text(el, "LongMessage"),
                parameters=tuple(p for p in params if p),
            )
        )
    return out


def rest_error_text(errors: Sequence[RestError]) -> tuple[str | None, str | None]:
    """The first REST error's id and message (``errorId``, ``longMessage``/``message``)."""
    if not errors:
        return None, None
    first = errors[0]
    code = str(first.errorId) if first.errorId is not None else None
    return code, first.longMessage or first.message


# -- orders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersPage:
    """One GetOrders page: the ``<Order>`` elements and whether more pages follow."""

    orders: list[etree._Element]
    has_more: bool
    total_pages: int | None
    page_number: int | None


def orders_page(root: etree._Element) -> OrdersPage:
    """Read a GetOrdersResponse: orders, ``HasMoreOrders`` and ``PaginationResult``."""
    return OrdersPage(
        orders=root.findall("OrderArray/Order"),
        has_more=_bool(root, "HasMoreOrders"),
        total_pages=_int(root, "PaginationResult/TotalNumberOfPages"),
        page_number=_int(root, "PageNumber"),
    )


def _address(el: etree._Element | None) -> Address | None:
    if el is None or not len(el):
        return None

    def field(path: str) -> str | None:
        value = _text(el, path)
        return None if value in _WITHHELD else value

    country = field("Country")
    if country is not None and (len(country) != 2 or not country.isalpha()):
        country = None  # e.g. CustomCode / unknown: keep it in raw only
    address = Address(
        name=field("Name"),
        company=field("CompanyName"),
        lines=tuple(v for v in (field("Street1"), field("Street2"), field("Street3")) if v),
        city=field("CityName"),
        postal_code=field("PostalCode"),
        region=field("StateOrProvince"),
        country_code=country,
        phone=field("Phone"),
    )
    return address if address != Address() else None


def _order_status(order: etree._Element, lines: Sequence[OrderLine]) -> tuple[OrderStatus, str]:
    status = _text(order, "OrderStatus") or "Active"
    checkout = _text(order, "CheckoutStatus/Status")
    cancel = _text(order, "CancelStatus")
    raw = "/".join(v for v in (status, checkout, cancel) if v)
    paid = _text(order, "PaidTime") is not None
    if status == "Cancelled" or cancel in _CANCELLED:
        return OrderStatus.CANCELLED, raw
    if status == "Inactive" and not paid:
        return OrderStatus.CANCELLED, raw
    live = [ln for ln in lines if ln.quantity > 0]
    if live and all(ln.quantity_shipped >= ln.quantity for ln in live):
        return OrderStatus.SHIPPED, raw
    if any(ln.quantity_shipped for ln in live):
        return OrderStatus.PARTIALLY_SHIPPED, raw
    if paid or (checkout == "Complete" and status in ("Completed", "Shipped")):
        return OrderStatus.OPEN, raw
    return OrderStatus.PENDING, raw


def _quantity(txn: etree._Element, line_id: str) -> int:
    """``QuantityPurchased`` (0 when absent); text that is not a whole number raises."""
    text = _text(txn, "QuantityPurchased")
    if text is None:
        return 0
    try:
        return max(0, int(text))
    except ValueError:
        raise ValueError(
            f"Transaction {line_id}: QuantityPurchased {text!r} is not a whole number"
        ) from None


def _line(txn: etree._Element, order_shipped: bool) -> OrderLine:
    item = txn.find("Item")
    item_id = _text(item, "ItemID") or ""
    txn_id = _text(txn, "TransactionID") or "0"
    line_id = _text(txn, "OrderLineItemID") or f"{item_id}-{txn_id}"
    quantity = _quantity(txn, line_id)
    unit = _amount(txn, "TransactionPrice")
    shipped = order_shipped or _text(txn, "ShippedTime") is not None
    ids = {"item_id": item_id, "transaction_id": txn_id}
    variation_sku = _text(txn, "Variation/SKU")
    if variation_sku:
        ids["variation_sku"] = variation_sku
    return OrderLine(
        line_id=line_id,
        sku=variation_sku or _text(item, "SKU"),
        title=_text(txn, "Variation/VariationTitle") or _text(item, "Title"),
        quantity=quantity,
        unit_price=unit,
        total=unit * quantity if unit is not None else None,
        tax=_amount(txn, "Taxes/TotalTaxAmount"),
        quantity_shipped=quantity if shipped else 0,
        channel_ids=ids,
    )


def _tracking(txn: etree._Element, shipped_at: datetime | None) -> list[Shipment]:
    out = []
    line_id = _text(txn, "OrderLineItemID")
    qty = _int(txn, "QuantityPurchased", 0) or 0
    for det in txn.findall("ShippingDetails/ShipmentTrackingDetails"):
        carrier = _text(det, "ShippingCarrierUsed")
        if not carrier:
            continue
        out.append(
            Shipment(
                carrier=carrier,
                tracking_number=_text(det, "ShipmentTrackingNumber"),
                shipped_at=shipped_at,
                lines={line_id: qty} if line_id and qty else {},
            )
        )
    return out


def _refunds(order: etree._Element) -> list[Refund]:
    out = []
    for i, el in enumerate(order.findall("MonetaryDetails/Refunds/Refund"), 1):
        amount = _amount(el, "RefundAmount")
        out.append(
            Refund(
                refund_id=_text(el, "ReferenceID") or f"{_text(order, 'OrderID')}-refund-{i}",
                amount=Money(amount=abs(amount.amount), currency=amount.currency)
                if amount
                else None,
                created_at=_time(el, "RefundTime"),
                reason=_text(el, "RefundStatus"),
            )
        )
    return out


def _updated_at(order: etree._Element, created: datetime) -> datetime:
    times = [created]
    for path in (
        "CheckoutStatus/LastModifiedTime",
        "PaidTime",
        "ShippedTime",
        "TransactionArray/Transaction/Status/LastTimeModified",
        "TransactionArray/Transaction/ShippedTime",
        "MonetaryDetails/Refunds/Refund/RefundTime",
    ):
        for node in order.findall(path):
            parsed = parse_time(node.text)
            if parsed is not None:
                times.append(parsed)
    return max(times)


def order_failure(order: etree._Element, exc: Exception) -> OrderFailure:
    """The ``OrderFailure`` of a GetOrders ``<Order>`` that cannot be mapped.

    The id is its ``OrderID`` and the time the newest of its timestamps (as
    ``order_from_xml`` computes ``updated_at``), each when the element has readable ones.
    """
    order_id = _text(order, "OrderID")
    floor = datetime.min.replace(tzinfo=UTC)
    newest = _updated_at(order, _time(order, "CreatedTime") or floor)
    updated_at = None if newest == floor else newest
    return failure(order_id, exc, updated_at, element_to_dict(order))


def order_from_xml(order: etree._Element, account: str) -> Order:
    """A Trading ``<Order>`` (GetOrders, ``OrderType``) as an ``Order``.

    Each ``<Transaction>`` is a line (``OrderLineItemID``); its SKU is ``Variation.SKU``
    over ``Item.SKU``; amounts carry their ``currencyID``; ``ShippedTime`` on the order or
    on a transaction marks lines shipped. ``updated_at`` is the newest of the order's
    timestamps (eBay has no single modification time on the order element).
    """
    order_id = _text(order, "OrderID")
    if not order_id:
        raise ValueError("an <Order> without OrderID")
    created = _time(order, "CreatedTime")
    if created is None:
        raise ValueError(f"order {order_id}: no CreatedTime")
    order_shipped = _text(order, "ShippedTime") is not None
    txns = order.findall("TransactionArray/Transaction")
    lines = [_line(t, order_shipped) for t in txns]
    status, raw_status = _order_status(order, lines)
    total = _amount(order, "Total")
    shipped_at = _time(order, "ShippedTime")
    shipments: list[Shipment] = []
    for t in txns:
        shipments.extend(_tracking(t, _time(t, "ShippedTime") or shipped_at))
    buyer = txns[0].find("Buyer") if txns else None
    buyer_name = " ".join(
        v for v in (_text(buyer, "UserFirstName"), _text(buyer, "UserLastName")) if v
    )
    shipping_address = _address(order.find("ShippingAddress"))
    email = _text(buyer, "Email")
    customer = Customer(
        customer_id=_text(order, "BuyerUserID"),
        name=buyer_name or (shipping_address.name if shipping_address else None),
        email=None if email in _WITHHELD else email,
    )
    return Order(
        kind=KIND,
        account=account,
        order_id=order_id,
        number=order_id,
        status=status,
        raw_status=raw_status,
        created_at=created,
        updated_at=_updated_at(order, created),
        currency=total.currency if total else None,
        total=total,
        subtotal=_amount(order, "Subtotal"),
        shipping_total=_amount(order, "ShippingServiceSelected/ShippingServiceCost"),
        lines=tuple(lines),
        customer=customer if customer != Customer() else None,
        shipping_address=shipping_address,
        shipments=tuple(shipments),
        refunds=tuple(_refunds(order)),
        raw=element_to_dict(order),
    )


def order_from_transaction(
    txn: etree._Element, item: etree._Element | None, account: str, *, now: datetime
) -> Order | None:
    """The order one notified transaction belongs to, with that transaction as its line.

    Platform Notifications (``FixedPriceTransaction``, ``ItemMarkedShipped``) carry a
    GetItemTransactions answer: the listing (``Item``) and its transactions, each with its
    ``ContainingOrder``. The line's units commit at once; the next GetOrders poll brings
    the order's other lines and totals. Returns None for a transaction without an order id.
    """
    containing = txn.find("ContainingOrder")
    order_id = _text(containing, "OrderID") or _text(txn, "OrderLineItemID")
    if not order_id:
        return None
    if txn.find("Item") is None and item is not None:
        txn = _with_item(txn, item)
    created = _time(txn, "CreatedDate") or now
    shipped = _text(txn, "ShippedTime") is not None
    line = _line(txn, False)
    status_el = containing if containing is not None else txn
    synthetic = etree.Element("Order")
    for path in ("OrderStatus", "CancelStatus", "PaidTime"):
        value = _text(status_el, path) or (_text(txn, path) if path == "PaidTime" else None)
        if value:
            etree.SubElement(synthetic, path).text = value
    status, raw_status = _order_status(synthetic, [line])
    updated = max(
        t
        for t in (created, _time(txn, "Status/LastTimeModified"), _time(txn, "ShippedTime"))
        if t is not None
    )
    buyer_id = _text(txn, "Buyer/UserID")
    return Order(
        kind=KIND,
        account=account,
        order_id=order_id,
        number=order_id,
        status=status if not shipped else OrderStatus.SHIPPED,
        raw_status=raw_status,
        created_at=created,
        updated_at=updated,
        currency=line.unit_price.currency if line.unit_price else None,
        lines=(line,),
        customer=Customer(customer_id=buyer_id) if buyer_id else None,
        shipping_address=_address(txn.find("Buyer/BuyerInfo/ShippingAddress")),
        raw=element_to_dict(txn),
    )


def _with_item(txn: etree._Element, item: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(txn))
    copy.insert(0, etree.fromstring(etree.tostring(item)))
    return copy


def stock_events_from_transaction(
    item: etree._Element | None, event_id: str | None
) -> list[WebhookEvent]:
    """``stock`` events for the listing of a notified sale: what it shows now per SKU."""
    if item is None:
        return []
    out: list[WebhookEvent] = []
    variations = item.findall("Variations/Variation")
    if variations:
        for var in variations:
            sku = _text(var, "SKU")
            qty = _int(var, "Quantity")
            if sku and qty is not None:
                sold = _int(var, "SellingStatus/QuantitySold", 0) or 0
                out.append(
                    WebhookEvent(kind="stock", event_id=None, sku=sku, quantity=max(0, qty - sold))
                )
        return out
    sku = _text(item, "SKU")
    qty = _int(item, "Quantity")
    if sku and qty is not None:
        sold = _int(item, "SellingStatus/QuantitySold", 0) or 0
        out.append(WebhookEvent(kind="stock", event_id=None, sku=sku, quantity=max(0, qty - sold)))
    return out


# -- listings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingsPage:
    """One GetMyeBaySelling ActiveList page."""

    listings: list[Listing]
    total_pages: int
    skipped: int
    """Active listings channelsync cannot manage: auctions, or no SKU to bind."""


def listings_page(root: etree._Element, account: str) -> ListingsPage:
    """Read a GetMyeBaySellingResponse ``ActiveList``: one ``Listing`` per SKU.

    A multi-variation listing gives one listing per variation SKU (``Variation.SKU``);
    the quantity shown is ``Quantity - SellingStatus.QuantitySold`` (``QuantityAvailable``
    where eBay returns it). Every listing is marked ``world=trading``; ``fetch_listings``
    moves those the Inventory API owns to that world.
    """
    active = root.find("ActiveList")
    listings: list[Listing] = []
    skipped = 0
    for item in active.findall("ItemArray/Item") if active is not None else []:
        item_id = _text(item, "ItemID")
        listing_type = _text(item, "ListingType") or "FixedPriceItem"
        if not item_id or listing_type not in FIXED_PRICE_TYPES:
            skipped += 1
            continue
        title = _text(item, "Title")
        tracking = _text(item, "InventoryTrackingMethod") or "ItemID"
        variations = item.findall("Variations/Variation")
        if variations:
            for var in variations:
                sku = _text(var, "SKU")
                if not sku or not syncable_sku(account, sku, f"item {item_id} variation"):
                    skipped += 1
                    continue
                qty = _int(var, "Quantity", 0) or 0
                sold = _int(var, "SellingStatus/QuantitySold", 0) or 0
                listings.append(
                    Listing(
                        kind=KIND,
                        account=account,
                        sku=sku,
                        listing_id=item_id,
                        quantity=max(0, qty - sold),
                        price=_amount(var, "StartPrice"),
                        title=_text(var, "VariationTitle") or title,
                        ids={
                            "world": "trading",
                            "item_id": item_id,
                            "variation_sku": sku,
                            "tracking": tracking,
                        },
                    )
                )
            continue
        sku = _text(item, "SKU")
        if not sku or not syncable_sku(account, sku, f"item {item_id}"):
            skipped += 1
            continue
        available = _int(item, "QuantityAvailable")
        if available is None:
            available = (_int(item, "Quantity", 0) or 0) - (
                _int(item, "SellingStatus/QuantitySold", 0) or 0
            )
        listings.append(
            Listing(
                kind=KIND,
                account=account,
                sku=sku,
                listing_id=item_id,
                quantity=max(0, available),
                price=_amount(item, "SellingStatus/CurrentPrice")
                or _amount(item, "BuyItNowPrice")
                or _amount(item, "StartPrice"),
                title=title,
                ids={"world": "trading", "item_id": item_id, "tracking": tracking},
            )
        )
    total = _int(active, "PaginationResult/TotalNumberOfPages", 1) or 1
    return ListingsPage(listings=listings, total_pages=max(1, total), skipped=skipped)


def listing_from_inventory(
    item: InventoryItem, offers: Iterable[Offer], account: str, marketplace_id: str
) -> Listing | None:
    """An Inventory API item with its published fixed-price offer on ``marketplace_id``.

    Returns None when the SKU has no such offer (it is not listed there).
    """
    offer = next(
        (
            o
            for o in offers
            if o.status == "PUBLISHED"
            and (o.format or "FIXED_PRICE") == "FIXED_PRICE"
            and (o.marketplaceId in (None, marketplace_id))
        ),
        None,
    )
    if offer is None or not item.sku or not syncable_sku(account, item.sku, "inventory item"):
        return None
    ship = item.availability.shipToLocationAvailability if item.availability else None
    quantity = offer.availableQuantity
    if quantity is None and ship is not None:
        quantity = ship.quantity
    price = None
    if offer.pricingSummary and offer.pricingSummary.price:
        amount = offer.pricingSummary.price
        if amount.value is not None and amount.currency:
            price = Money(amount=amount.value, currency=amount.currency)
    listing_id = offer.listing.listingId if offer.listing and offer.listing.listingId else None
    ids = {"world": "inventory_api", "offer_id": offer.offerId or ""}
    if listing_id:
        ids["item_id"] = listing_id
    return Listing(
        kind=KIND,
        account=account,
        sku=item.sku,
        listing_id=listing_id or offer.offerId or item.sku,
        quantity=quantity,
        price=price,
        title=item.product.title if item.product else None,
        ids=ids,
        levels=levels_of(item),
    )


def levels_of(item: InventoryItem) -> dict[str, int | None]:
    """The item's quantity per merchant location (``availabilityDistributions``), keyed by
    ``merchantLocationKey``; empty when the item has none (one ship-to-home quantity)."""
    ship = item.availability.shipToLocationAvailability if item.availability else None
    if ship is None:
        return {}
    return {
        d.merchantLocationKey: d.quantity
        for d in ship.availabilityDistributions
        if d.merchantLocationKey
    }


def distributions_request(
    current: Sequence[AvailabilityDistribution],
    figures: Mapping[str, int],
    current_total: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The whole ``availabilityDistributions`` list of a write, and the total to send.

    eBay replaces the list a write carries, so every location the item has now is sent
    again: ``figures`` (merchant location key -> quantity) replace their locations'
    quantities, every other location keeps what eBay has (``current``), each with its
    ``fulfillmentTime``; locations new to the item come last, in ``figures``' order.

    The total (``shipToLocationAvailability.quantity``, what buyers can buy) is the sum of
    the list, but never more than eBay's ``current_total`` plus what the write adds at the
    locations it sets: eBay does not document whether a sale also lowers a location's
    figure, and where it lowers only the total, the sum of the other locations' stale
    figures would put sold units back on sale.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    before: dict[str, int] = {}
    for d in current:
        key = d.merchantLocationKey
        if not key or key in seen:
            continue
        seen.add(key)
        before[key] = d.quantity or 0
        entry: dict[str, Any] = {
            "merchantLocationKey": key,
            "quantity": figures.get(key, d.quantity or 0),
        }
        if d.fulfillmentTime is not None:
            entry["fulfillmentTime"] = d.fulfillmentTime.model_dump(exclude_none=True)
        out.append(entry)
    for key, quantity in figures.items():
        if key not in seen:
            seen.add(key)
            out.append({"merchantLocationKey": key, "quantity": quantity})
    total = sum(int(e["quantity"]) for e in out)
    if current_total is not None:
        added = sum(q - before.get(key, 0) for key, q in figures.items())
        total = max(0, min(total, current_total + added))
    return out, total


# -- writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryStatusResult:
    """One ``<InventoryStatus>`` of a ReviseInventoryStatus answer.

    ``quantity`` is what eBay returns: available plus already sold, not what buyers see.
    """

    item_id: str | None
    sku: str | None
    quantity: int | None
    price: Money | None


def revise_inventory_status_request(
    entries: Sequence[Mapping[str, str | None]],
) -> dict[str, Any]:
    """The ebaysdk request dict of a ReviseInventoryStatus call (at most four entries).

    Each entry has ``ItemID`` and/or ``SKU`` and ``Quantity`` and/or ``StartPrice``;
    None values are left out.
    """
    if not 1 <= len(entries) <= 4:
        raise ValueError(f"ReviseInventoryStatus takes 1 to 4 InventoryStatus, got {len(entries)}")
    statuses = []
    for entry in entries:
        node = {k: v for k, v in entry.items() if v is not None}
        statuses.append(node)
    return {"InventoryStatus": statuses}


def inventory_status_results(root: etree._Element) -> list[InventoryStatusResult]:
    """The per-item ``<InventoryStatus>`` containers of a ReviseInventoryStatus answer."""
    return [
        InventoryStatusResult(
            item_id=_text(el, "ItemID"),
            sku=_text(el, "SKU"),
            quantity=_int(el, "Quantity"),
            price=_amount(el, "StartPrice"),
        )
        for el in root.findall("InventoryStatus")
    ]


def complete_sale_request(
    *,
    order_id: str | None = None,
    order_line_item_id: str | None = None,
    carrier: str | None,
    tracking_number: str | None,
    shipped_at: datetime | None,
) -> dict[str, Any]:
    """The ebaysdk request dict of a CompleteSale call that marks an order (or line) shipped.

    Tracking details go in only with both carrier and number (eBay refuses one alone).
    """
    if (order_id is None) == (order_line_item_id is None):
        raise ValueError("give exactly one of order_id and order_line_item_id")
    data: dict[str, Any] = {"Shipped": "true"}
    if order_id is not None:
        data["OrderID"] = order_id
    else:
        data["OrderLineItemID"] = order_line_item_id
    shipment: dict[str, Any] = {}
    if carrier and tracking_number:
        shipment["ShipmentTrackingDetails"] = {
            "ShipmentTrackingNumber": tracking_number,
            "ShippingCarrierUsed": carrier,
        }
    if shipped_at is not None:
        shipment["ShippedTime"] = format_time(shipped_at)
    if shipment:
        data["Shipment"] = shipment
    return data


def bulk_results_by_sku(
    responses: Sequence[PriceQuantityResponse],
) -> dict[str, list[PriceQuantityResponse]]:
    """bulkUpdatePriceQuantity answers grouped by SKU (an item and its offers)."""
    out: dict[str, list[PriceQuantityResponse]] = {}
    for r in responses:
        if r.sku:
            out.setdefault(r.sku, []).append(r)
    return out


# -- Sell Fulfillment API orders ---------------------------------------------------------


def order_from_fulfillment(raw: Mapping[str, Any], account: str) -> Order:
    """A Fulfillment API ``Order`` (getOrders/getOrder) as an ``Order``.

    The same order read through Trading's GetOrders maps to the same lines and stock
    figures: a line's id is ``legacyItemId-lineItemId`` (Trading's ``OrderLineItemID``,
    ItemID and TransactionID), a ``FULFILLED`` line counts as shipped, a ``CANCELED``
    cancel state cancels the order, a paid order is open. ``updated_at`` is
    ``lastModifiedDate``. Raises ``ValueError`` (or pydantic's) when it cannot be mapped.
    """
    data = FulfillmentOrder.model_validate(raw)
    lines: list[OrderLine] = []
    for li in data.lineItems:
        cost = li.lineItemCost
        unit = (
            Money(amount=cost.value / li.quantity, currency=cost.currency)
            if cost is not None and cost.value is not None and cost.currency and li.quantity
            else None
        )
        shipped = (li.lineItemFulfillmentStatus or "") == "FULFILLED"
        ids = {"item_id": li.legacyItemId or "", "transaction_id": li.lineItemId}
        if li.legacyVariationId:
            ids["variation_id"] = li.legacyVariationId
        lines.append(
            OrderLine(
                line_id=f"{li.legacyItemId}-{li.lineItemId}" if li.legacyItemId else li.lineItemId,
                sku=li.sku or None,
                title=li.title,
                quantity=max(0, li.quantity),
                unit_price=unit,
                total=Money(amount=cost.value, currency=cost.currency)
                if cost is not None and cost.value is not None and cost.currency
                else None,
                quantity_shipped=li.quantity if shipped else 0,
                channel_ids=ids,
            )
        )
    cancel = data.cancelStatus.cancelState if data.cancelStatus else None
    paid = (data.orderPaymentStatus or "") in ("PAID", "PARTIALLY_REFUNDED", "FULLY_REFUNDED")
    live = [ln for ln in lines if ln.quantity > 0]
    if cancel == "CANCELED":
        status = OrderStatus.CANCELLED
    elif live and all(ln.quantity_shipped >= ln.quantity for ln in live):
        status = OrderStatus.SHIPPED
    elif any(ln.quantity_shipped for ln in live):
        status = OrderStatus.PARTIALLY_SHIPPED
    elif paid:
        status = OrderStatus.OPEN
    else:
        status = OrderStatus.PENDING
    raw_status = "/".join(
        v for v in (data.orderFulfillmentStatus, data.orderPaymentStatus, cancel) if v
    )
    total = data.pricingSummary.total if data.pricingSummary else None
    return Order(
        kind="ebay",
        account=account,
        order_id=data.orderId,
        number=data.orderId,
        status=status,
        raw_status=raw_status,
        created_at=data.creationDate,
        updated_at=data.lastModifiedDate,
        currency=total.currency if total else None,
        total=Money(amount=total.value, currency=total.currency)
        if total is not None and total.value is not None and total.currency
        else None,
        lines=tuple(lines),
        customer=Customer(customer_id=data.buyer.username)
        if data.buyer and data.buyer.username
        else None,
        raw=dict(raw),
    )


def fulfillment_failure(raw: Mapping[str, Any], exc: Exception) -> OrderFailure:
    """The ``OrderFailure`` of a Fulfillment API order that cannot be mapped."""
    order_id = raw.get("orderId")
    modified = raw.get("lastModifiedDate")
    when = parse_time(modified) if isinstance(modified, str) else None
    return failure(str(order_id) if order_id else None, exc, when, dict(raw))
