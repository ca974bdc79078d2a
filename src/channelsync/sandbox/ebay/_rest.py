"""The eBay fake's REST side: OAuth, Sell Inventory, Sell Fulfillment, Notification, Post-Order.

JSON shapes and error ids follow the Sell Inventory v1 and Sell Fulfillment v1 OpenAPI
contracts (``x-response-codes``); errors are ``{"errors": [{errorId, domain, category,
message, ...}]}`` as eBay answers them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from lxml import etree
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelsync.adapters.ebay.mapping import format_time, parse_time
from channelsync.sandbox._base import FaultKind, request_state
from channelsync.sandbox.ebay import _aftersale
from channelsync.sandbox.ebay._state import Distribution, FakeOffer
from channelsync.sandbox.ebay._xml import sub

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.sandbox.ebay._fake import EbayFake

__all__ = ["fault_response", "operation_for", "routes"]

INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
MAX_BULK = 25

_OPERATIONS: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/identity/v1/oauth2/token$"), "getToken"),
    ("GET", re.compile(rf"^{INVENTORY}/inventory_item$"), "getInventoryItems"),
    ("GET", re.compile(rf"^{INVENTORY}/inventory_item/[^/]+$"), "getInventoryItem"),
    ("PUT", re.compile(rf"^{INVENTORY}/inventory_item/[^/]+$"), "createOrReplaceInventoryItem"),
    ("GET", re.compile(rf"^{INVENTORY}/offer$"), "getOffers"),
    ("GET", re.compile(rf"^{INVENTORY}/offer/[^/]+$"), "getOffer"),
    ("POST", re.compile(rf"^{INVENTORY}/bulk_update_price_quantity$"), "bulkUpdatePriceQuantity"),
    ("POST", re.compile(rf"^{INVENTORY}/bulk_get_inventory_item$"), "bulkGetInventoryItem"),
    ("GET", re.compile(rf"^{INVENTORY}/location$"), "getInventoryLocations"),
    ("GET", re.compile(rf"^{FULFILLMENT}/order$"), "getOrders"),
    ("GET", re.compile(rf"^{FULFILLMENT}/order/[^/]+$"), "getOrder"),
    (
        "GET",
        re.compile(rf"^{FULFILLMENT}/order/[^/]+/shipping_fulfillment$"),
        "getShippingFulfillments",
    ),
    (
        "POST",
        re.compile(rf"^{FULFILLMENT}/order/[^/]+/shipping_fulfillment$"),
        "createShippingFulfillment",
    ),
    ("GET", re.compile(r"^/commerce/notification/v1/public_key/[^/]+$"), "getPublicKey"),
    ("POST", re.compile(r"^/post-order/v2/cancellation$"), "createCancellation"),
    *((verb, re.compile(pattern), name) for verb, pattern, name in _aftersale.OPERATIONS),
]


def operation_for(method: str, path: str) -> str:
    """The operationId of a REST request."""
    for verb, pattern, name in _OPERATIONS:
        if verb == method and pattern.match(path):
            return name
    return f"{method} {path}"


def _error(
    status: int,
    error_id: int,
    domain: str,
    message: str,
    *,
    category: str = "REQUEST",
    long: str | None = None,
    params: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    entry: dict[str, Any] = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }
    if long:
        entry["longMessage"] = long
    if params:
        entry["parameters"] = [{"name": n, "value": v} for n, v in params]
    return JSONResponse({"errors": [entry]}, status_code=status, headers=headers)


def fault_response(kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
    """429 (errorId 2001) for throttling; 500 with the API's system error otherwise."""
    if kind == "throttle":
        body = {
            "errors": [
                {
                    "errorId": 2001,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Too many requests. The request limit has been reached for the"
                    " resource.",
                }
            ]
        }
        return 429, {"content-type": "application/json"}, json.dumps(body).encode()
    if operation in ("getOrders", "getOrder", "createShippingFulfillment"):
        error: dict[str, Any] = {
            "errorId": 30500,
            "domain": "API_FULFILLMENT",
            "category": "APPLICATION",
            "message": "System error",
        }
    else:
        error = {
            "errorId": 25001,
            "domain": "API_INVENTORY",
            "category": "APPLICATION",
            "message": "A system error has occurred. ",
        }
    return 500, {"content-type": "application/json"}, json.dumps({"errors": [error]}).encode()


def routes(fake: EbayFake) -> list[Route]:
    """Every REST route of the fake."""

    def bind(fn: Callable[[EbayFake, Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            result: Response = await fn(fake, request)
            return result

        return endpoint

    return [
        Route("/identity/v1/oauth2/token", bind(_token), methods=["POST"]),
        Route(f"{INVENTORY}/inventory_item", bind(_inventory_items), methods=["GET"]),
        Route(f"{INVENTORY}/inventory_item/{{sku}}", bind(_inventory_item), methods=["GET", "PUT"]),
        Route(f"{INVENTORY}/offer", bind(_offers), methods=["GET"]),
        Route(f"{INVENTORY}/offer/{{offer_id}}", bind(_offer), methods=["GET"]),
        Route(f"{INVENTORY}/bulk_update_price_quantity", bind(_bulk), methods=["POST"]),
        Route(f"{INVENTORY}/bulk_get_inventory_item", bind(_bulk_get), methods=["POST"]),
        Route(f"{INVENTORY}/location", bind(_locations), methods=["GET"]),
        Route(f"{FULFILLMENT}/order", bind(_orders), methods=["GET"]),
        Route(f"{FULFILLMENT}/order/{{order_id}}", bind(_order), methods=["GET"]),
        Route(
            f"{FULFILLMENT}/order/{{order_id}}/shipping_fulfillment",
            bind(_fulfillments),
            methods=["GET", "POST"],
        ),
        Route("/commerce/notification/v1/public_key/{key_id}", bind(_public_key), methods=["GET"]),
        *_aftersale.routes(fake),
    ]


# -- auth -----------------------------------------------------------------------------------


def _bearer(
    fake: EbayFake, request: Request, kind: str = "user", scheme: str = "Bearer"
) -> Response | None:
    header = request.headers.get("authorization", "")
    token = header[len(scheme) + 1 :] if header.startswith(f"{scheme} ") else None
    state = fake.token_state(token, kind)
    if state == "valid":
        return None
    return _error(
        401,
        1001,
        "OAuth",
        "Invalid access token",
        long="Invalid access token. Check the value of the Authorization HTTP request header.",
        headers={"www-authenticate": 'Bearer realm="ebay"'},
    )


async def _token(fake: EbayFake, request: Request) -> Response:
    header = request.headers.get("authorization", "")
    expected = base64.b64encode(f"{fake.APP_ID}:{fake.CERT_ID}".encode()).decode()
    if header != f"Basic {expected}":
        return JSONResponse(
            {"error": "invalid_client", "error_description": "client authentication failed"},
            status_code=401,
        )
    form = parse_qs((await request.body()).decode())
    grant = (form.get("grant_type") or [""])[0]
    if grant == "refresh_token":
        if (form.get("refresh_token") or [""])[0] != fake.REFRESH_TOKEN:
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "the provided authorization refresh token is invalid"
                    " or was issued to another client",
                },
                status_code=400,
            )
        token = fake.issue_token("user")
        return JSONResponse(
            {"access_token": token, "expires_in": 7200, "token_type": "User Access Token"}
        )
    if grant == "client_credentials":
        token = fake.issue_token("app")
        return JSONResponse(
            {"access_token": token, "expires_in": 7200, "token_type": "Application Access Token"}
        )
    return JSONResponse(
        {"error": "unsupported_grant_type", "error_description": f"grant type {grant!r}"},
        status_code=400,
    )


# -- Sell Inventory -------------------------------------------------------------------------


def _item_json(fake: EbayFake, sku: str) -> dict[str, Any]:
    record = fake.inventory[sku]
    ship: dict[str, Any] = {"quantity": record.quantity}
    if record.distributions:  # returned where quantity is set for one or more locations
        spread = []
        for d in record.distributions:
            entry: dict[str, Any] = {"merchantLocationKey": d.key, "quantity": d.quantity}
            if d.fulfillment_time is not None:
                entry["fulfillmentTime"] = dict(d.fulfillment_time)
            spread.append(entry)
        ship["availabilityDistributions"] = spread
    return {
        "sku": record.sku,
        "locale": record.locale,
        "product": {"title": record.title or record.sku},
        "condition": record.condition,
        "availability": {"shipToLocationAvailability": ship},
    }


def _distributions(fake: EbayFake, ship: dict[str, Any]) -> list[Distribution] | str:
    """A write's ``availabilityDistributions`` (the whole new list), or what is wrong.

    Each names an enabled merchant location of the seller once, with a quantity of 0 or
    more; an optional ``fulfillmentTime`` is kept as given.
    """
    raw = ship.get("availabilityDistributions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        return "Invalid value for availabilityDistributions."
    out: list[Distribution] = []
    for entry in raw:
        if not isinstance(entry, dict):
            return "Invalid value for availabilityDistributions."
        key = entry.get("merchantLocationKey")
        qty = entry.get("quantity")
        if not isinstance(key, str) or key not in fake.locations:
            return f"Invalid value for merchantLocationKey: {key!r} is not a location of yours."
        if not fake.locations[key].enabled:
            return f"Invalid value for merchantLocationKey: location {key} is disabled."
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            return f"Invalid value for quantity of merchantLocationKey {key}."
        if any(d.key == key for d in out):
            return f"Invalid value for availabilityDistributions: {key} is given twice."
        timing = entry.get("fulfillmentTime")
        if timing is not None and not (
            isinstance(timing, dict)
            and isinstance(timing.get("unit"), str)
            and isinstance(timing.get("value"), int)
            and not isinstance(timing.get("value"), bool)
            and set(timing) <= {"unit", "value"}
        ):
            return f"Invalid value for fulfillmentTime of merchantLocationKey {key}."
        out.append(Distribution(key=key, quantity=qty, fulfillment_time=timing if timing else None))
    return out


def _offer_json(fake: EbayFake, offer: FakeOffer) -> dict[str, Any]:
    body: dict[str, Any] = {
        "offerId": offer.offer_id,
        "sku": offer.sku,
        "marketplaceId": offer.marketplace_id,
        "format": "FIXED_PRICE",
        "listingDuration": "GTC",
        "pricingSummary": {"price": {"value": f"{offer.price:.2f}", "currency": offer.currency}},
        "status": offer.status,
    }
    if offer.available_quantity is not None:
        body["availableQuantity"] = offer.available_quantity
    if offer.listing_id:
        body["listing"] = {
            "listingId": offer.listing_id,
            "listingStatus": "ACTIVE",
            "soldQuantity": offer.sold,
        }
    return body


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def _inventory_items(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    limit = _int_param(request, "limit", 25, 1, 200)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    if limit is None or offset is None:
        return _error(400, 25709, "API_INVENTORY", "Invalid value for limit or offset.")
    with fake.lock:
        skus = sorted(fake.inventory)
        page = skus[offset * limit : (offset + 1) * limit]
        items = [_item_json(fake, s) for s in page]
    base = f"{INVENTORY}/inventory_item"
    body: dict[str, Any] = {
        "href": f"{base}?limit={limit}&offset={offset}",
        "limit": limit,
        "size": len(items),
        "total": len(skus),
        "inventoryItems": items,
    }
    if (offset + 1) * limit < len(skus):
        body["next"] = f"{base}?limit={limit}&offset={offset + 1}"
    if offset > 0:
        body["prev"] = f"{base}?limit={limit}&offset={offset - 1}"
    return JSONResponse(body)


async def _inventory_item(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    sku = request.path_params["sku"]
    if request.method == "GET":
        with fake.lock:
            if sku not in fake.inventory:
                return _error(
                    404,
                    25710,
                    "API_INVENTORY",
                    f"We didn't find the resource/entity you are"
                    f" requesting. Please verify the request ({sku}).",
                )
            return JSONResponse(_item_json(fake, sku))
    try:
        payload = json.loads(await request.body())
        ship = payload["availability"]["shipToLocationAvailability"]
        quantity = int(ship["quantity"])
        title = payload.get("product", {}).get("title")
    except (ValueError, KeyError, TypeError):
        return _error(400, 25709, "API_INVENTORY", "Invalid value for availability.")
    if quantity < 0:
        return _error(400, 25709, "API_INVENTORY", "Invalid value for quantity.")
    with fake.lock:
        spread = _distributions(fake, ship)
        if isinstance(spread, str):
            return _error(400, 25709, "API_INVENTORY", spread)
        record = fake.inventory.get(sku)
        if record is None:
            from channelsync.sandbox.ebay._state import InventoryRecord

            fake.inventory[sku] = InventoryRecord(
                sku=sku, title=title, quantity=quantity, distributions=spread
            )
        else:  # a complete replacement of the record
            record.quantity = quantity
            record.distributions = spread
            if title:
                record.title = title
    return Response(status_code=204)


async def _offers(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    sku = request.query_params.get("sku")
    if not sku:
        return _error(400, 25707, "API_INVENTORY", "This is an invalid value for a SKU.")
    with fake.lock:
        offers = [_offer_json(fake, o) for o in fake.offers.values() if o.sku == sku]
    if not offers:
        return _error(404, 25713, "API_INVENTORY", "This Offer is not available.")
    return JSONResponse(
        {
            "href": f"{INVENTORY}/offer?sku={sku}&limit=100&offset=0",
            "limit": 100,
            "size": len(offers),
            "total": len(offers),
            "offers": offers,
        }
    )


async def _offer(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    with fake.lock:
        offer = fake.offers.get(request.path_params["offer_id"])
        if offer is None:
            return _error(404, 25713, "API_INVENTORY", "This Offer is not available.")
        return JSONResponse(_offer_json(fake, offer))


async def _bulk(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _error(400, 25709, "API_INVENTORY", "Invalid value for header Content-Type.")
    try:
        payload = json.loads(await request.body())
        entries = payload["requests"]
        if not isinstance(entries, list):
            raise TypeError("requests")
    except (ValueError, KeyError, TypeError):
        return _error(400, 25709, "API_INVENTORY", "Invalid value for requests.")
    if not 1 <= len(entries) <= MAX_BULK:
        return _error(
            400,
            25709,
            "API_INVENTORY",
            f"Invalid value for requests. Between 1 and {MAX_BULK} requests are allowed.",
        )
    request_state(request.scope).items = len(entries)
    fail_first = fake.take_partial_failure("bulkUpdatePriceQuantity")
    responses: list[dict[str, Any]] = []
    with fake.lock:
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                responses.append(_pq_error(None, None, 400, 25709, "Invalid value for requests."))
                continue
            if fail_first and index == 0:
                responses.append(
                    _pq_error(
                        entry.get("sku"),
                        None,
                        500,
                        25001,
                        "A system error has occurred. ",
                        category="APPLICATION",
                    )
                )
                continue
            responses.extend(_apply_price_quantity(fake, entry))
    status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
    return JSONResponse({"responses": responses}, status_code=status)


async def _bulk_get(fake: EbayFake, request: Request) -> Response:
    """bulkGetInventoryItem: up to 25 SKUs, each answered on its own (200, 207)."""
    if (denied := _bearer(fake, request)) is not None:
        return denied
    if not request.headers.get("content-type", "").startswith("application/json"):
        return _error(400, 25709, "API_INVENTORY", "Invalid value for header Content-Type.")
    try:
        entries = json.loads(await request.body())["requests"]
        skus = [str(e["sku"]) for e in entries]
    except (ValueError, KeyError, TypeError):
        return _error(400, 25709, "API_INVENTORY", "Invalid value for requests.")
    if not 1 <= len(skus) <= MAX_BULK:
        return _error(
            400,
            25709,
            "API_INVENTORY",
            f"Invalid value for requests. Between 1 and {MAX_BULK} SKUs are allowed.",
        )
    request_state(request.scope).items = len(skus)
    responses: list[dict[str, Any]] = []
    with fake.lock:
        for sku in skus:
            if sku in fake.inventory:
                responses.append(
                    {"statusCode": 200, "sku": sku, "inventoryItem": _item_json(fake, sku)}
                )
            else:
                failed = _pq_error(
                    sku, None, 404, 25702, f"SKU {sku} is not available in the system."
                )
                responses.append(failed)
    status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
    return JSONResponse({"responses": responses}, status_code=status)


async def _locations(fake: EbayFake, request: Request) -> Response:
    """getInventoryLocations: the seller's merchant locations (``offset`` skips, ``limit``
    up to 100 a page)."""
    if (denied := _bearer(fake, request)) is not None:
        return denied
    limit = _int_param(request, "limit", 100, 1, 100)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    if limit is None or offset is None:
        return _error(400, 25709, "API_INVENTORY", "Invalid value for limit or offset.")
    with fake.lock:
        every = list(fake.locations.values())
    page = every[offset : offset + limit]
    base = f"{INVENTORY}/location"
    body: dict[str, Any] = {
        "href": f"{base}?limit={limit}&offset={offset}",
        "limit": limit,
        "offset": offset,
        "total": len(every),
        "locations": [
            {
                "merchantLocationKey": loc.key,
                "name": loc.name,
                "merchantLocationStatus": "ENABLED" if loc.enabled else "DISABLED",
                "locationTypes": [loc.location_type],
                "location": {"address": {"country": "DE"}},
            }
            for loc in page
        ],
    }
    if offset + limit < len(every):
        body["next"] = f"{base}?limit={limit}&offset={offset + limit}"
    return JSONResponse(body)


def _pq_error(
    sku: str | None,
    offer_id: str | None,
    status: int,
    error_id: int,
    message: str,
    *,
    category: str = "REQUEST",
) -> dict[str, Any]:
    out: dict[str, Any] = {"statusCode": status}
    if sku:
        out["sku"] = sku
    if offer_id:
        out["offerId"] = offer_id
    out["errors"] = [
        {
            "errorId": error_id,
            "domain": "API_INVENTORY",
            "subdomain": "Selling",
            "category": category,
            "message": message,
        }
    ]
    return out


def _apply_price_quantity(fake: EbayFake, entry: dict[str, Any]) -> list[dict[str, Any]]:
    sku = entry.get("sku")
    ship = entry.get("shipToLocationAvailability")
    offers = entry.get("offers") or []
    out: list[dict[str, Any]] = []
    spread: list[Distribution] = []
    if ship is not None:
        quantity = ship.get("quantity") if isinstance(ship, dict) else None
        if not sku or sku not in fake.inventory:
            return [_pq_error(sku, None, 404, 25702, f"SKU {sku} is not available in the system.")]
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            return [_pq_error(sku, None, 400, 25709, "Invalid value for quantity.")]
        checked_spread = _distributions(fake, ship)
        if isinstance(checked_spread, str):
            return [_pq_error(sku, None, 400, 25709, checked_spread)]
        spread = checked_spread
    checked: list[tuple[FakeOffer, dict[str, Any]]] = []
    for spec in offers:
        offer_id = spec.get("offerId") if isinstance(spec, dict) else None
        offer = fake.offers.get(str(offer_id)) if offer_id else None
        if offer is None or (sku and offer.sku != sku):
            out.append(_pq_error(sku, offer_id, 404, 25713, "This Offer is not available."))
            continue
        qty = spec.get("availableQuantity")
        if qty is not None and (not isinstance(qty, int) or qty < 0):
            out.append(
                _pq_error(offer.sku, offer_id, 400, 25709, "Invalid value for availableQuantity.")
            )
            continue
        price = spec.get("price")
        if price is not None:
            try:
                value = Decimal(str(price["value"]))
                currency = str(price["currency"])
            except (KeyError, TypeError, InvalidOperation):
                out.append(_pq_error(offer.sku, offer_id, 400, 25709, "Invalid value for price."))
                continue
            if currency != offer.currency or value <= 0:
                out.append(_pq_error(offer.sku, offer_id, 400, 25709, "Invalid value for price."))
                continue
        checked.append((offer, spec))
    listing_ids = {o.listing_id for o, _ in checked if o.listing_id} or {
        o.listing_id
        for o in fake.offers.values()
        if o.sku == sku and o.status == "PUBLISHED" and o.listing_id
    }
    for listing_id in sorted(listing_ids):
        if not fake.spend_revision(listing_id):
            return [
                _pq_error(
                    sku,
                    None,
                    400,
                    25001,
                    f"Listing {listing_id} has been revised {fake.revisions_per_day} times"
                    " today, the most eBay allows a listing in one calendar day.",
                )
            ]
    if ship is not None and sku is not None:
        # The container replaces the ship-to-home record: its quantity, and the whole
        # list of distributions (none given: none kept).
        fake.inventory[sku].quantity = ship["quantity"]
        fake.inventory[sku].distributions = spread
        out.insert(0, {"statusCode": 200, "sku": sku, "warnings": []})
    for offer, spec in checked:
        if spec.get("availableQuantity") is not None:
            offer.available_quantity = spec["availableQuantity"]
        if spec.get("price") is not None:
            offer.price = Decimal(str(spec["price"]["value"]))
        out.append({"statusCode": 200, "sku": offer.sku, "offerId": offer.offer_id, "warnings": []})
    if not out:
        out.append(
            _pq_error(
                sku,
                None,
                400,
                25709,
                "Nothing to update: give shipToLocationAvailability or offers.",
            )
        )
    return out


# -- Sell Fulfillment -----------------------------------------------------------------------


def _amount_json(el: etree._Element | None) -> dict[str, str] | None:
    if el is None or not (el.text or "").strip():
        return None
    return {"value": el.text.strip(), "currency": el.get("currencyID", "")}  # type: ignore[union-attr]


def _iso(text: str | None) -> str | None:
    when = parse_time(text)
    return format_time(when) if when else None


def order_json(
    order_el: etree._Element,
    modified: datetime,
    seller: str,
    refunds: tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """A Trading ``<Order>`` as the Fulfillment API's ``Order`` (with its issueRefund refunds:
    order level in ``paymentSummary.refunds``, line level in ``lineItems[].refunds``)."""
    txns = order_el.findall("TransactionArray/Transaction")
    line_items = []
    for txn in txns:
        shipped = txn.find("ShippedTime") is not None or order_el.find("ShippedTime") is not None
        item: dict[str, Any] = {
            "lineItemId": txn.findtext("TransactionID") or "",
            "legacyItemId": txn.findtext("Item/ItemID") or "",
            "title": txn.findtext("Item/Title") or "",
            "quantity": int(txn.findtext("QuantityPurchased") or "0"),
            "soldFormat": "FIXED_PRICE",
            "lineItemFulfillmentStatus": "FULFILLED" if shipped else "NOT_STARTED",
        }
        sku = txn.findtext("Variation/SKU") or txn.findtext("Item/SKU")
        if sku:
            item["sku"] = sku
        cost = _amount_json(txn.find("TransactionPrice"))
        if cost:
            qty = Decimal(item["quantity"])
            item["lineItemCost"] = {
                "value": f"{Decimal(cost['value']) * qty:.2f}",
                "currency": cost["currency"],
            }
        line_items.append(item)
    statuses = {li["lineItemFulfillmentStatus"] for li in line_items}
    fulfillment = (
        "FULFILLED"
        if statuses == {"FULFILLED"}
        else "IN_PROGRESS"
        if "FULFILLED" in statuses
        else "NOT_STARTED"
    )
    cancelled = (order_el.findtext("OrderStatus") or "") == "Cancelled"
    address = order_el.find("ShippingAddress")
    contact: dict[str, Any] = {}
    if address is not None:
        contact = {
            k: v
            for k, v in {
                "addressLine1": address.findtext("Street1"),
                "addressLine2": address.findtext("Street2"),
                "city": address.findtext("CityName"),
                "stateOrProvince": address.findtext("StateOrProvince"),
                "postalCode": address.findtext("PostalCode"),
                "countryCode": address.findtext("Country"),
            }.items()
            if v
        }
    body: dict[str, Any] = {
        "orderId": order_el.findtext("OrderID") or "",
        "legacyOrderId": order_el.findtext("OrderID") or "",
        "creationDate": _iso(order_el.findtext("CreatedTime")),
        "lastModifiedDate": format_time(modified),
        "orderFulfillmentStatus": fulfillment,
        "orderPaymentStatus": "PAID" if order_el.find("PaidTime") is not None else "PENDING",
        "sellerId": seller,
        "buyer": {"username": order_el.findtext("BuyerUserID") or ""},
        "cancelStatus": {
            "cancelState": "CANCELED" if cancelled else "NONE_REQUESTED",
            "cancelRequests": [],
        },
        "fulfillmentStartInstructions": [
            {
                "fulfillmentInstructionsType": "SHIP_TO",
                "shippingStep": {
                    "shipTo": {
                        "fullName": (address.findtext("Name") if address is not None else "") or "",
                        "contactAddress": contact,
                    }
                },
            }
        ],
        "lineItems": line_items,
        "salesRecordReference": order_el.findtext("ShippingDetails/SellingManagerSalesRecordNumber")
        or "",
    }
    total = _amount_json(order_el.find("Total"))
    if total:
        body["pricingSummary"] = {"total": total}
    if refunds is not None:
        order_level, by_line = refunds
        body["paymentSummary"] = {"refunds": order_level}
        for item in line_items:
            item["refunds"] = by_line.get(str(item["lineItemId"]), [])
    return body


_RANGE = re.compile(r"^(lastmodifieddate|creationdate):\[([^.\]]*\.?[^.\]]*)\.\.([^\]]*)\]$")


async def _orders(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    limit = _int_param(request, "limit", 50, 1, 1000)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    if limit is None:
        return _error(
            400, 31100, "API_FULFILLMENT", f"Invalid limit: {request.query_params.get('limit')}"
        )
    if offset is None:
        return _error(
            400, 31000, "API_FULFILLMENT", f"Invalid offset: {request.query_params.get('offset')}"
        )
    now = fake.clock()
    field, start, end = "lastmodifieddate", now - timedelta(days=90), now
    raw = request.query_params.get("filter")
    if raw:
        match = _RANGE.match(raw.split(",")[0].strip())
        if not match:
            return _error(400, 30700, "API_FULFILLMENT", f"Invalid filter name: {raw}")
        field = match.group(1)
        parsed_start = parse_time(match.group(2))
        parsed_end = parse_time(match.group(3)) if match.group(3) else now
        if parsed_start is None or parsed_end is None:
            return _error(400, 30810, "API_FULFILLMENT", "Invalid date format")
        if parsed_end < parsed_start:
            return _error(400, 30840, "API_FULFILLMENT", "Start date should be before end date")
        start, end = parsed_start, parsed_end
    with fake.lock:
        chosen = []
        for order in fake.orders.values():
            found = fake.searchable(order)  # the search index lags behind the order
            if found is None:
                continue
            modified, element = found
            when = (
                modified
                if field == "lastmodifieddate"
                else parse_time(element.findtext("CreatedTime")) or modified
            )
            if start <= when <= end:
                chosen.append((modified, order.order_id, element))
        chosen.sort(key=lambda o: (o[0], o[1]))
        page = [
            order_json(
                el,
                modified,
                fake.SELLER,
                _aftersale.AfterSale(fake).refunds_json(order_id),
            )
            for modified, order_id, el in chosen[offset : offset + limit]
        ]
    body: dict[str, Any] = {
        "href": f"{FULFILLMENT}/order?limit={limit}&offset={offset}",
        "limit": limit,
        "offset": offset,
        "total": len(chosen),
        "orders": page,
    }
    if offset + limit < len(chosen):
        body["next"] = f"{FULFILLMENT}/order?limit={limit}&offset={offset + limit}"
    return JSONResponse(body)


async def _order(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    order_id = request.path_params["order_id"]
    with fake.lock:
        order = fake.orders.get(order_id)
        if order is None:
            return _error(400, 32100, "API_FULFILLMENT", f"Invalid order ID: {order_id}")
        after = _aftersale.AfterSale(fake)
        after.settle_refunds(order_id)
        return JSONResponse(
            order_json(order.element, order.modified, fake.SELLER, after.refunds_json(order_id))
        )


async def _fulfillments(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request)) is not None:
        return denied
    order_id = request.path_params["order_id"]
    with fake.lock:
        order = fake.orders.get(order_id)
        if order is None:
            return _error(400, 32100, "API_FULFILLMENT", "Invalid order Id")
        if request.method == "GET":
            return JSONResponse(
                {"fulfillments": list(order.fulfillments), "total": len(order.fulfillments)}
            )
    try:
        payload = json.loads(await request.body())
        lines = payload["lineItems"]
        carrier = payload.get("shippingCarrierCode")
        number = payload.get("trackingNumber")
        if not isinstance(lines, list) or not lines:
            raise TypeError("lineItems")
    except (ValueError, KeyError, TypeError):
        return _error(400, 32600, "API_FULFILLMENT", "Invalid input data")
    if bool(carrier) != bool(number):
        return _error(400, 32300, "API_FULFILLMENT", "Invalid shipment tracking number or carrier")
    shipped_raw = payload.get("shippedDate")
    shipped_at = parse_time(shipped_raw) if shipped_raw else fake.clock()
    if shipped_at is None:
        return _error(400, 32500, "API_FULFILLMENT", "Invalid shipped date")
    with fake.lock:
        txns = {
            (t.findtext("TransactionID") or ""): t
            for t in order.element.findall("TransactionArray/Transaction")
        }
        for line in lines:
            if not isinstance(line, dict) or str(line.get("lineItemId")) not in txns:
                return _error(400, 32200, "API_FULFILLMENT", "Invalid line item id")
        for line in lines:
            txn = txns[str(line["lineItemId"])]
            _set_text(txn, "ShippedTime", format_time(shipped_at))
            if carrier and number:
                details = txn.find("ShippingDetails")
                if details is None:
                    details = sub(txn, "ShippingDetails")
                track = sub(details, "ShipmentTrackingDetails")
                sub(track, "ShippingCarrierUsed", str(carrier))
                sub(track, "ShipmentTrackingNumber", str(number))
        if all(t.find("ShippedTime") is not None for t in txns.values()):
            _set_text(order.element, "ShippedTime", format_time(shipped_at))
        fulfillment_id = fake.next_fulfillment_id()
        record: dict[str, object] = {
            "fulfillmentId": fulfillment_id,
            "lineItems": [
                {"lineItemId": str(x["lineItemId"]), "quantity": int(x.get("quantity") or 1)}
                for x in lines
            ],
            "shippedDate": format_time(shipped_at),
        }
        if carrier:
            record["shippingCarrierCode"] = str(carrier)
            record["shipmentTrackingNumber"] = str(number)
        order.fulfillments.append(record)
        fake.touch_order(order)
    location = (
        f"{fake.url or ''}{FULFILLMENT}/order/{order_id}/shipping_fulfillment/{fulfillment_id}"
    )
    return JSONResponse({}, status_code=201, headers={"location": location})


def _set_text(el: etree._Element, tag: str, text: str) -> None:
    node = el.find(tag)
    if node is None:
        node = sub(el, tag)
    node.text = text


# -- Notification API and Post-Order --------------------------------------------------------


async def _public_key(fake: EbayFake, request: Request) -> Response:
    if (denied := _bearer(fake, request, kind="app")) is not None:
        return denied
    if request.path_params["key_id"] != fake.key_id:
        return _error(404, 195001, "API_NOTIFICATION", "The specified public key was not found.")
    return JSONResponse({"key": fake.public_key_pem(), "algorithm": "ECDSA", "digest": "SHA1"})
