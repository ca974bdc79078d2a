"""REST requests of the adapter and answers of the fake, checked against eBay's OAS3 contracts.

The contracts are ../shared/conformance/ebay/schemas/ (Sell Inventory v1 subset, Sell
Fulfillment v1); the test skips visibly when the corpus is absent.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from openapi_schema_validator import OAS30Validator
from tests.conftest import load_conformance

from channelsync.core.channel import PriceUpdate, StockUpdate
from channelsync.core.models import Money, utcnow
from channelsync.sandbox.ebay import EbayFake


class Recorder(httpx.HTTPTransport):
    """An httpx transport that keeps every request and answer."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator({**schema, "components": spec["components"]})


def _response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    op = spec["paths"][path][method]
    answer = op["responses"].get(status) or op["responses"]["200"]
    content = answer.get("content") or op["responses"]["200"]["content"]
    return dict(content["application/json"]["schema"])


def _request_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return dict(spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


def _check(validator: OAS30Validator, body: Any) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_inventory_requests_and_answers_follow_the_contract(fake: EbayFake) -> None:
    spec = load_conformance("ebay", "schemas/sell_inventory_v1_oas3.subset.json")
    fake.seed_listing("OAS-1", quantity=2, price="4.00", world="inventory_api")
    fake.seed_listing("OAS-2", quantity=2, price="4.00", world="inventory_api")
    recorder = Recorder()
    channel = fake.channel(transport=recorder)
    listings = {x.sku: x for x in channel.fetch_listings()}
    channel.push_stock([StockUpdate(sku=s, quantity=5, listing=x) for s, x in listings.items()])
    channel.push_prices(
        [PriceUpdate(sku="OAS-1", price=Money.of("4.50", "EUR"), listing=listings["OAS-1"])]
    )
    gone = listings["OAS-2"].model_copy(update={"sku": "OAS-GONE"})
    channel.push_stock([StockUpdate(sku="OAS-GONE", quantity=1, listing=gone)])  # a 207
    routes = {
        "getInventoryItems": ("/inventory_item", "get"),
        "getOffers": ("/offer", "get"),
        "bulkUpdatePriceQuantity": ("/bulk_update_price_quantity", "post"),
    }
    checked: dict[str, set[int]] = {}
    for request, response in recorder.exchanges:
        path = request.url.path.removeprefix("/sell/inventory/v1")
        name = next((n for n, (p, _) in routes.items() if p == path), None)
        if name is None:
            continue
        route, method = routes[name]
        if method == "post":
            _check(
                _validator(spec, _request_schema(spec, route, method)), json.loads(request.content)
            )
        body = json.loads(response.content)
        _check(
            _validator(spec, _response_schema(spec, route, method, str(response.status_code))), body
        )
        checked.setdefault(name, set()).add(response.status_code)
    assert checked == {
        "getInventoryItems": {200},
        "getOffers": {200},
        "bulkUpdatePriceQuantity": {200, 207},
    }


def test_fulfillment_answers_of_the_fake_follow_the_contract(fake: EbayFake) -> None:
    spec = load_conformance("ebay", "schemas/sell_fulfillment_v1_oas3.json")
    fake.seed_listing("F-1", quantity=5, price="4.00")
    order_id = fake.place_order("F-1", 2)
    channel = fake.channel()
    token = channel.tokens.user_token()
    client = httpx.Client(base_url=fake.url or "", headers={"authorization": f"Bearer {token}"})
    since = (utcnow() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    listed = client.get(
        "/sell/fulfillment/v1/order", params={"filter": f"lastmodifieddate:[{since}..]"}
    )
    assert listed.status_code == 200
    _check(_validator(spec, _response_schema(spec, "/order", "get", "200")), listed.json())
    assert [o["orderId"] for o in listed.json()["orders"]] == [order_id]
    one = client.get(f"/sell/fulfillment/v1/order/{order_id}")
    _check(_validator(spec, _response_schema(spec, "/order/{orderId}", "get", "200")), one.json())
    line = one.json()["lineItems"][0]
    assert (line["sku"], line["quantity"], line["lineItemCost"]) == (
        "F-1",
        2,
        {"value": "8.00", "currency": "EUR"},
    )
    request = {
        "lineItems": [{"lineItemId": line["lineItemId"], "quantity": 2}],
        "shippingCarrierCode": "DHL",
        "trackingNumber": "0034043416",
    }
    _check(
        _validator(spec, _request_schema(spec, "/order/{orderId}/shipping_fulfillment", "post")),
        request,
    )
    created = client.post(
        f"/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment", json=request
    )
    assert created.status_code == 201
    assert "/shipping_fulfillment/" in created.headers["location"]
    fulfillments = client.get(f"/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment")
    _check(
        _validator(
            spec, _response_schema(spec, "/order/{orderId}/shipping_fulfillment", "get", "200")
        ),
        fulfillments.json(),
    )
    assert fulfillments.json()["fulfillments"][0]["shipmentTrackingNumber"] == "0034043416"
    (order,) = [o for o in channel.fetch_orders(utcnow() - timedelta(minutes=5))]
    assert order.status.value == "shipped"  # the same order, seen through Trading
    bad = client.post(
        f"/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment",
        json={"lineItems": [{"lineItemId": "nope", "quantity": 1}]},
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["errorId"] == 32200
    client.close()


def test_location_requests_and_answers_follow_the_contract(fake: EbayFake) -> None:
    """Per-location pushes: bulkGetInventoryItem, then bulkUpdatePriceQuantity carrying
    ``availabilityDistributions``; getInventoryItems answers with them."""
    spec = load_conformance("ebay", "schemas/sell_inventory_v1_oas3.subset.json")
    fake.add_location("WH-BER")
    fake.add_location("WH-HAM")
    fake.seed_listing(
        "LOC-1",
        quantity=13,
        price="4.00",
        world="inventory_api",
        levels={"WH-BER": 4, "WH-HAM": 9},
    )
    recorder = Recorder()
    channel = fake.channel(transport=recorder)
    listings = {x.sku: x for x in channel.fetch_listings()}
    results = channel.push_stock(
        [StockUpdate(sku="LOC-1", quantity=2, listing=listings["LOC-1"], location="WH-HAM")]
    )
    assert [(r.ok, r.location) for r in results] == [(True, "WH-HAM")]
    gone = listings["LOC-1"].model_copy(update={"sku": "LOC-GONE"})
    missing = channel.push_stock(
        [StockUpdate(sku="LOC-GONE", quantity=1, listing=gone, location="WH-BER")]
    )  # bulkGetInventoryItem answers 207
    assert [r.ok for r in missing] == [False]
    routes = {
        "getInventoryItems": ("/inventory_item", "get"),
        "bulkGetInventoryItem": ("/bulk_get_inventory_item", "post"),
        "bulkUpdatePriceQuantity": ("/bulk_update_price_quantity", "post"),
    }
    checked: dict[str, set[int]] = {}
    for request, response in recorder.exchanges:
        path = request.url.path.removeprefix("/sell/inventory/v1")
        name = next((n for n, (p, _) in routes.items() if p == path), None)
        if name is None:
            continue
        route, method = routes[name]
        if method == "post":
            _check(
                _validator(spec, _request_schema(spec, route, method)), json.loads(request.content)
            )
        body = json.loads(response.content)
        _check(
            _validator(spec, _response_schema(spec, route, method, str(response.status_code))), body
        )
        checked.setdefault(name, set()).add(response.status_code)
    assert checked == {
        "getInventoryItems": {200},
        "bulkGetInventoryItem": {200, 207},
        "bulkUpdatePriceQuantity": {200},
    }
    sent = next(
        json.loads(req.content)
        for req, _ in recorder.exchanges
        if req.url.path.endswith("/bulk_update_price_quantity")
    )
    assert sent["requests"][0]["shipToLocationAvailability"] == {
        "quantity": 6,
        "availabilityDistributions": [
            {"merchantLocationKey": "WH-BER", "quantity": 4},
            {"merchantLocationKey": "WH-HAM", "quantity": 2},
        ],
    }
    assert sent["requests"][0]["offers"][0]["availableQuantity"] == 6
