"""The Trading API calls the eBay fake answers (``/ws/api.dll``, by X-EBAY-API-CALL-NAME)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from lxml import etree

from channelsync.adapters.ebay.mapping import format_time, parse_time
from channelsync.sandbox.ebay._state import TradingListing, XmlOrder
from channelsync.sandbox.ebay._xml import (
    TradingFault,
    amount,
    envelope,
    error_element,
    finish,
    serialize,
    sub,
)

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.sandbox.ebay._fake import EbayFake

__all__ = ["HANDLERS", "MAX_INVENTORY_STATUS"]

#: ReviseInventoryStatus takes at most four InventoryStatus containers (error 21916254).
MAX_INVENTORY_STATUS = 4
#: The widest GetOrders date range eBay accepts.
MAX_RANGE = timedelta(days=90)


def _text(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    value = el.findtext(path)
    return value.strip() if value and value.strip() else None


def _invalid(field: str, value: object) -> TradingFault:
    return TradingFault(
        "37",
        "Input data is invalid.",
        f"Input data for tag <{field}> is invalid or missing. Please check API documentation.",
        params=[str(value)],
    )


def _page(request: etree._Element, path: str, default: int, most: int) -> tuple[int, int]:
    per_page = _text(request, f"{path}/EntriesPerPage")
    number = _text(request, f"{path}/PageNumber")
    try:
        size = int(per_page) if per_page else default
        page = int(number) if number else 1
    except ValueError as exc:
        raise _invalid(f"{path}.EntriesPerPage", per_page) from exc
    if not 1 <= size <= most:
        raise _invalid(f"{path}.EntriesPerPage", size)
    if page < 1:
        raise _invalid(f"{path}.PageNumber", page)
    return size, page


# -- GetOrders ------------------------------------------------------------------------------


def get_orders(fake: EbayFake, request: etree._Element, now: datetime) -> bytes:
    ids = [(el.text or "").strip() for el in request.findall("OrderIDArray/OrderID")]
    size, page = _page(request, "Pagination", 25, 100)
    with fake.lock:
        orders = list(fake.orders.values())
        if ids:  # read by id: the order as it is now
            chosen = [(o.modified, o.order_id, o.element) for o in orders if o.order_id in ids]
        else:  # a search: what the index holds, changes of the last minutes not yet
            start, end, field = _range(request, now)
            chosen = []
            for o in orders:
                found = fake.searchable(o)
                if found is not None and start <= _time_of(o, found, field) <= end:
                    chosen.append((found[0], o.order_id, found[1]))
    role = _text(request, "OrderRole")
    if role not in (None, "Seller"):
        chosen = []  # the fake's account only sells
    chosen.sort(key=lambda o: (o[0], o[1]))
    total = len(chosen)
    pages = max(1, -(-total // size))
    window = [el for _, _, el in chosen[(page - 1) * size : page * size]]
    root, _ = envelope("GetOrders", now)
    finish(root)
    result = sub(root, "PaginationResult")
    sub(result, "TotalNumberOfPages", pages if total else 0)
    sub(result, "TotalNumberOfEntries", total)
    sub(root, "HasMoreOrders", "true" if page < pages and total else "false")
    array = sub(root, "OrderArray")
    for element in window:
        array.append(copy.deepcopy(element))
    sub(root, "OrdersPerPage", size)
    sub(root, "PageNumber", page)
    sub(root, "ReturnedOrderCountActual", len(window))
    return serialize(root)


def _range(request: etree._Element, now: datetime) -> tuple[datetime, datetime, str]:
    for prefix, field in (("ModTime", "modified"), ("CreateTime", "created")):
        raw_from = _text(request, f"{prefix}From")
        if raw_from is None:
            continue
        start = parse_time(raw_from)
        end = parse_time(_text(request, f"{prefix}To")) if _text(request, f"{prefix}To") else now
        if start is None:
            raise _invalid(f"{prefix}From", raw_from)
        if end is None:
            raise _invalid(f"{prefix}To", _text(request, f"{prefix}To"))
        if end < start:
            raise TradingFault(
                "37", "Input data is invalid.", f"{prefix}To is earlier than {prefix}From."
            )
        if end - start > MAX_RANGE:
            raise TradingFault(
                "37",
                "Input data is invalid.",
                f"The {prefix}From/{prefix}To range exceeds 90 days.",
            )
        return start, end, field
    days = _text(request, "NumberOfDays")
    if days is not None:
        try:
            n = int(days)
        except ValueError as exc:
            raise _invalid("NumberOfDays", days) from exc
        if not 1 <= n <= 30:
            raise _invalid("NumberOfDays", n)
        return now - timedelta(days=n), now, "modified"
    raise TradingFault(
        "37",
        "Input data is invalid.",
        "One of CreateTimeFrom, ModTimeFrom, NumberOfDays or OrderIDArray is required.",
    )


def _time_of(order: XmlOrder, version: tuple[datetime, etree._Element], field: str) -> datetime:
    modified, element = version
    if field == "created":
        return parse_time(element.findtext("CreatedTime")) or modified
    return modified


# -- GetMyeBaySelling -----------------------------------------------------------------------


def get_my_ebay_selling(fake: EbayFake, request: etree._Element, now: datetime) -> bytes:
    active = request.find("ActiveList")
    root, _ = envelope("GetMyeBaySelling", now)
    finish(root)
    if active is None or (_text(active, "Include") or "true").lower() != "true":
        return serialize(root)
    size, page = _page(active, "Pagination", 25, 200)
    with fake.lock:
        items = [fake.item_element(key) for key in fake.active_item_ids()]
    total = len(items)
    pages = max(1, -(-total // size))
    out = sub(root, "ActiveList")
    array = sub(out, "ItemArray")
    for item in items[(page - 1) * size : page * size]:
        array.append(item)
    result = sub(out, "PaginationResult")
    sub(result, "TotalNumberOfPages", pages if total else 0)
    sub(result, "TotalNumberOfEntries", total)
    return serialize(root)


# -- ReviseInventoryStatus ------------------------------------------------------------------


def revise_inventory_status(fake: EbayFake, request: etree._Element, now: datetime) -> bytes:
    statuses = request.findall("InventoryStatus")
    if not statuses:
        raise _invalid("InventoryStatus", "")
    if len(statuses) > MAX_INVENTORY_STATUS:
        raise TradingFault("21916254", "You have exceeded the maximum allowed containers")
    fail_one = fake.take_partial_failure("ReviseInventoryStatus")
    done: list[tuple[TradingListing, str | None]] = []
    errors: list[tuple[str, str, str, list[str], str]] = []
    with fake.lock:
        for index, status in enumerate(statuses):
            item_id = _text(status, "ItemID")
            sku = _text(status, "SKU")
            keys = [v for v in (item_id, sku) if v]
            if fail_one and index == 0:
                errors.append(
                    (
                        "10007",
                        "Internal error to the application.",
                        "Internal error to the application.",
                        keys,
                        "SystemError",
                    )
                )
                continue
            try:
                listing, variation = fake.locate_trading(item_id, sku)
                if not fake.spend_revision(listing.item_id):
                    raise TradingFault(
                        "240",
                        "The item cannot be listed or modified.",
                        f"Listing {listing.item_id} has been revised {fake.revisions_per_day}"
                        " times today, the most eBay allows a listing in one calendar day;"
                        " it can be revised again tomorrow.",
                        params=keys,
                    )
                _apply(listing, variation, status)
            except TradingFault as fault:
                errors.append((fault.code, fault.short, fault.long, keys, fault.classification))
                continue
            listing.revisions += 1
            done.append((listing, variation))
        root, _ = envelope("ReviseInventoryStatus", now, "Failure" if errors else "Success")
        for code, short, long, keys, classification in errors:
            error_element(root, code, short, long, params=keys, classification=classification)
        finish(root)
        for listing, variation in done:
            node = sub(root, "InventoryStatus")
            if variation is not None:
                var = listing.variations[variation]
                sub(node, "SKU", var.sku)
                sub(node, "ItemID", listing.item_id)
                amount(node, "StartPrice", var.price, listing.currency)
                sub(node, "Quantity", var.quantity)
            else:
                sub(node, "SKU", listing.sku or "")
                sub(node, "ItemID", listing.item_id)
                amount(node, "StartPrice", listing.price, listing.currency)
                sub(node, "Quantity", listing.quantity)
        for item_id in dict.fromkeys(listing.item_id for listing, _ in done):
            fees = sub(root, "Fees")
            sub(fees, "ItemID", item_id)
            fee = sub(fees, "Fee")
            sub(fee, "Name", "ListingFee")
            amount(fee, "Fee", Decimal(0), fake.currency)
        if done:
            fake.touch_listings()
    return serialize(root)


def _apply(listing: TradingListing, variation: str | None, status: etree._Element) -> None:
    quantity = _text(status, "Quantity")
    price = _text(status, "StartPrice")
    if quantity is None and price is None:
        raise TradingFault(
            "37",
            "Input data is invalid.",
            "Either Quantity or StartPrice is required.",
            params=[listing.item_id],
        )
    new_qty: int | None = None
    new_price: Decimal | None = None
    if quantity is not None:
        try:
            new_qty = int(quantity)
        except ValueError:
            raise _invalid("Quantity", quantity) from None
        if new_qty < 0:
            raise _invalid("Quantity", quantity)
    if price is not None:
        try:
            new_price = Decimal(price)
        except InvalidOperation:
            raise _invalid("StartPrice", price) from None
        if new_price <= 0:
            raise _invalid("StartPrice", price)
    if variation is not None:
        var = listing.variations[variation]
        if new_qty is not None:
            var.quantity = new_qty + var.sold  # the request gives what buyers can buy
        if new_price is not None:
            var.price = new_price
        listing.quantity = sum(v.quantity for v in listing.variations.values())
        listing.sold = sum(v.sold for v in listing.variations.values())
    else:
        if new_qty is not None:
            listing.quantity = new_qty + listing.sold
        if new_price is not None:
            listing.price = new_price


# -- CompleteSale ---------------------------------------------------------------------------


def complete_sale(fake: EbayFake, request: etree._Element, now: datetime) -> bytes:
    order_id = _text(request, "OrderID")
    line_id = _text(request, "OrderLineItemID")
    if line_id is None and _text(request, "ItemID") and _text(request, "TransactionID"):
        line_id = f"{_text(request, 'ItemID')}-{_text(request, 'TransactionID')}"
    if order_id is None and line_id is None:
        raise _invalid("OrderID", "")
    shipped = (_text(request, "Shipped") or "").lower() == "true"
    tracking = request.find("Shipment/ShipmentTrackingDetails")
    carrier = _text(tracking, "ShippingCarrierUsed")
    number = _text(tracking, "ShipmentTrackingNumber")
    if tracking is not None and (carrier is None or number is None):
        raise TradingFault(
            "37",
            "Input data is invalid.",
            "Both ShipmentTrackingNumber and ShippingCarrierUsed are required.",
        )
    shipped_at = parse_time(_text(request, "Shipment/ShippedTime")) or now
    with fake.lock:
        order = fake.find_order(order_id, line_id)
        if order is None:
            raise TradingFault(
                "20822",
                "Invalid ItemID or TransactionID",
                "The OrderID or OrderLineItemID is not valid for this seller.",
                params=[order_id or line_id or ""],
            )
        el = order.element
        if (el.findtext("OrderStatus") or "") == "Cancelled":
            raise TradingFault(
                "37",
                "Input data is invalid.",
                f"Order {order.order_id} is cancelled and cannot be marked shipped.",
            )
        txns = el.findall("TransactionArray/Transaction")
        targets = [
            t for t in txns if line_id is None or (t.findtext("OrderLineItemID") or "") == line_id
        ]
        if shipped:
            for txn in targets:
                _set(txn, "ShippedTime", format_time(shipped_at))
                if carrier and number:
                    details = txn.find("ShippingDetails")
                    if details is None:
                        details = sub(txn, "ShippingDetails")
                    track = sub(details, "ShipmentTrackingDetails")
                    sub(track, "ShippingCarrierUsed", carrier)
                    sub(track, "ShipmentTrackingNumber", number)
            if all(t.find("ShippedTime") is not None for t in txns):
                _set(el, "ShippedTime", format_time(shipped_at))
        fake.touch_order(order)
    root, _ = envelope("CompleteSale", now)
    finish(root)
    return serialize(root)


def _set(el: etree._Element, tag: str, text: str) -> None:
    node = el.find(tag)
    if node is None:
        node = sub(el, tag)
    node.text = text


def geteBay_official_time(fake: EbayFake, request: etree._Element, now: datetime) -> bytes:  # noqa: N802
    root, _ = envelope("GeteBayOfficialTime", now)
    finish(root)
    return serialize(root)


HANDLERS: dict[str, Callable[[EbayFake, etree._Element, datetime], bytes]] = {
    "GetOrders": get_orders,
    "GetMyeBaySelling": get_my_ebay_selling,
    "ReviseInventoryStatus": revise_inventory_status,
    "CompleteSale": complete_sale,
    "GeteBayOfficialTime": geteBay_official_time,
}
