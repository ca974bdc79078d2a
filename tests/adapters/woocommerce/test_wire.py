"""What the adapter sends, checked against WooCommerce's published route arguments.

``schemas/wc-v3-index.routes-and-args.json`` is ``GET /wp-json/wc/v3`` of the 2017 docs:
every route, its methods and its arguments with types and enums. Arguments added since are
allowed by name below, each with where WooCommerce defines it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from tests.conftest import load_conformance

from channelsync.core.channel import PriceUpdate, StockUpdate
from channelsync.core.models import Money, Shipment, utcnow

#: OAuth 1.0a parameters the client signs with over plain HTTP (WC_REST_Authentication).
OAUTH_PARAMS = frozenset(
    {
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature_method",
        "oauth_signature",
    }
)

#: Arguments newer than the published index: name -> (type, enum or None, source).
LATER_ARGS: dict[tuple[str, str], dict[str, Any]] = {
    # class-wc-rest-crud-controller.php get_collection_params() (WooCommerce 5.8+)
    ("GET", "/wc/v3/orders"): {
        "modified_after": {"type": "string"},
        "dates_are_gmt": {"type": "boolean"},
        "orderby": {
            "type": "string",
            "enum": ["date", "id", "include", "title", "slug", "modified"],
        },
    },
    # class-wc-rest-order-refunds-controller.php get_item_schema() (api_restock, 5.x)
    ("POST", "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds"): {"api_restock": {"type": "boolean"}},
}


class Recording(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(request)
        return super().handle_request(request)


def _routes() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    index = load_conformance("woocommerce", "schemas/wc-v3-index.routes-and-args.json")
    compiled = []
    for route, spec in index["routes"].items():
        for endpoint in spec["endpoints"]:
            for method in endpoint["methods"]:
                compiled.append((re.compile(f"^{route}$"), method, {"route": route, **endpoint}))
    return compiled


def _check(name: str, value: Any, spec: dict[str, Any], where: str, *, query: bool) -> None:
    """Query values are text (WordPress casts them); JSON values must have the JSON type."""
    kind = spec.get("type")
    if kind == "integer":
        ok = value.isdigit() if query else isinstance(value, int) and not isinstance(value, bool)
        assert ok, f"{where}: {name}={value!r} is not an integer"
    elif kind == "boolean":
        ok = value in ("true", "false", "1", "0") if query else isinstance(value, bool)
        assert ok, f"{where}: {name}={value!r} is not a boolean"
    elif kind == "string":
        assert isinstance(value, str), f"{where}: {name}={value!r} is not a string"
    elif kind == "array":
        ok = all(p.isdigit() for p in value.split(",")) if query else isinstance(value, list)
        assert ok, f"{where}: {name}={value!r} is not an array"
    if "enum" in spec:
        assert value in spec["enum"], f"{where}: {name}={value!r} not in {spec['enum']}"


def test_every_request_matches_a_published_route_and_its_arguments(fake: Any) -> None:
    fake.seed_listing("W-1", quantity=4, price="5.00")
    fake.seed_variable("W-P", {"W-V": (2, "6.00")})
    recording = Recording()
    channel = fake.channel(transport=recording)
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    order_id = fake.place_order("W-1")
    other = fake.place_order("W-V")
    list(channel.fetch_orders(utcnow() - timedelta(hours=1)))
    channel.push_stock([StockUpdate(sku=s, quantity=3, listing=lst) for s, lst in listings.items()])
    channel.push_prices(
        [
            PriceUpdate(sku=s, price=Money.of("7.25", "EUR"), listing=lst)
            for s, lst in listings.items()
        ]
    )
    line = fake.order_json(order_id)["line_items"][0]["id"]
    channel.refund_order(order_id, Money.of("1.00", "EUR"), reason="r", lines={str(line): 1})
    channel.push_fulfillment(order_id, Shipment(carrier="DHL", tracking_number="J1"))
    channel.cancel_order(other, reason="test")

    routes = _routes()
    checked = 0
    for request in recording.sent:
        path = request.url.path.removeprefix("/wp-json")
        if not path.startswith("/wc/v3/"):
            assert path.startswith("/wc-shipment-tracking/v3/orders/")  # the extension
            continue
        matches = [
            ep for pattern, method, ep in routes if method == request.method and pattern.match(path)
        ]
        assert matches, f"no published route for {request.method} {path}"
        endpoint = matches[0]
        args = {**endpoint["args"], **LATER_ARGS.get((request.method, endpoint["route"]), {})}
        where = f"{request.method} {path}"
        for name, value in parse_qsl(request.url.query.decode()):
            if name in OAUTH_PARAMS:
                continue  # WordPress's authentication reads them, not the route
            assert name in args, f"{where}: unknown query argument {name!r}"
            _check(name, value, args[name], where, query=True)
        if request.content:
            body = json.loads(request.content)
            if path.endswith("/batch"):
                assert set(body) <= {"create", "update", "delete"}
                for item in body["update"]:
                    for name, value in item.items():
                        if name == "id":
                            assert isinstance(value, int)
                            continue
                        assert name in args, f"{where}: unknown item field {name!r}"
                        _check(name, value, args[name], where, query=False)
            else:
                for name, value in body.items():
                    assert name in args, f"{where}: unknown body field {name!r}"
                    _check(name, value, args[name], where, query=False)
        checked += 1
    operations = {(r.method, r.url.path.split("/wc/v3/")[-1].split("/")[0]) for r in recording.sent}
    assert {
        ("GET", "orders"),
        ("GET", "products"),
        ("POST", "products"),
        ("PUT", "orders"),
        ("POST", "orders"),
    } <= operations
    assert checked >= 12
