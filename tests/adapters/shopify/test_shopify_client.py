"""The wire: error mapping, throttle handling, pacing, secrets, and the documents' fidelity.

Every GraphQL document the adapter sends is validated with graphql-core against
Shopify's published 2025-01 Admin schema (../shared/conformance), and against the fake's
own schema of the pinned version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLSchema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from tests.conftest import load_conformance

from channelsync.adapters.shopify import API_VERSION, ShopifyChannel, ShopifyConfig
from channelsync.adapters.shopify import queries as q
from channelsync.adapters.shopify.payloads import GraphQLResponse
from channelsync.core.channel import StockUpdate
from channelsync.core.errors import AuthError, NotFound, RateLimited, Rejected, Unavailable
from channelsync.core.models import Listing
from channelsync.sandbox.shopify.schema import flavour_of, schema_for

TOKEN = "shpat_very_secret_token"
Handler = Callable[[httpx.Request], httpx.Response]


def _channel(handler: Handler, **overrides: Any) -> ShopifyChannel:
    config: dict[str, Any] = {
        "account": "shopify-main",
        "shop": "wire-test.myshopify.com",
        "access_token": TOKEN,
        "webhook_secret": "shpss_secret",
    }
    config.update(overrides)
    return ShopifyChannel(ShopifyConfig(**config), transport=httpx.MockTransport(handler))


def _cost(
    requested: float, available: float, rate: float = 100.0, maximum: float = 2000.0
) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": maximum,
                "currentlyAvailable": available,
                "restoreRate": rate,
            },
        }
    }


THROTTLED_BODY = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ],
    "extensions": _cost(752, 666, rate=50.0, maximum=1000.0),
}


@pytest.mark.parametrize("status", [200, 429])
def test_throttled_becomes_rate_limited_with_the_restore_time(status: int) -> None:
    channel = _channel(lambda _r: httpx.Response(status, json=THROTTLED_BODY))
    with pytest.raises(RateLimited) as caught:
        channel.context()
    error = caught.value
    assert error.retry_after == pytest.approx((752 - 666) / 50.0)
    assert (error.code, error.status, error.operation) == ("THROTTLED", status, "ShopContext")
    # The local bucket adopted what Shopify reported.
    assert channel.client.throttle.bucket.capacity == 1000.0
    assert channel.client.throttle.bucket.rate == 50.0


def test_429_without_a_body_honours_retry_after() -> None:
    channel = _channel(lambda _r: httpx.Response(429, headers={"Retry-After": "2.0"}, text=""))
    with pytest.raises(RateLimited) as caught:
        channel.context()
    assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            401,
            {
                "errors": "[API] Invalid API key or access token"
                " (unrecognized login or wrong password)"
            },
            AuthError,
            None,
        ),
        (
            403,
            {"errors": "[API] This action requires merchant approval for read_orders scope."},
            AuthError,
            None,
        ),
        (402, {"errors": "Unavailable Shop"}, AuthError, None),
        (423, {"errors": "Locked"}, AuthError, None),
        (404, {"errors": "Not Found"}, NotFound, None),
        (
            500,
            {
                "errors": [
                    {
                        "message": "Internal error",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "r-500"},
                    }
                ]
            },
            Unavailable,
            "INTERNAL_SERVER_ERROR",
        ),
        (502, "<html>Bad Gateway</html>", Unavailable, None),
        (503, {"errors": "Service Unavailable"}, Unavailable, None),
        (
            200,
            {
                "errors": [
                    {
                        "message": "Internal error. Looks like something went wrong on our end.",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "r-1"},
                    }
                ]
            },
            Unavailable,
            "INTERNAL_SERVER_ERROR",
        ),
        (
            200,
            {
                "errors": [
                    {
                        "message": "Access denied for orders field.",
                        "extensions": {"code": "ACCESS_DENIED"},
                    }
                ]
            },
            AuthError,
            "ACCESS_DENIED",
        ),
        (
            200,
            {
                "errors": [
                    {
                        "message": "Query cost is 1502, which exceeds the single query max"
                        " cost limit (1000).",
                        "extensions": {"code": "MAX_COST_EXCEEDED"},
                    }
                ]
            },
            Rejected,
            "MAX_COST_EXCEEDED",
        ),
        (
            200,
            {
                "errors": [
                    {
                        "message": "Field 'nope' doesn't exist on type 'Shop'",
                        "extensions": {"code": "undefinedField"},
                    }
                ]
            },
            Rejected,
            "undefinedField",
        ),
        (200, "not json at all", Unavailable, None),
    ],
)
def test_answers_map_to_channelsync_errors(
    status: int, body: Any, error: type[Exception], code: str | None
) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"x-request-id": "req-9"})
        return httpx.Response(status, json=body, headers={"x-request-id": "req-9"})

    channel = _channel(handler)
    with pytest.raises(error) as caught:
        channel.context()
    err: Any = caught.value
    assert err.code == code
    assert err.request_id == "req-9"
    assert TOKEN not in str(err)
    assert TOKEN not in (err.raw or "")


def test_transport_timeout_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(Unavailable, match="timed out"):
        _channel(handler).context()


def test_requests_carry_the_token_header_and_the_pinned_path() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "data": {
                    "shop": {"currencyCode": "EUR"},
                    "location": {"id": "gid://shopify/Location/7", "name": "Main"},
                },
                "extensions": _cost(2, 1990),
            },
        )

    channel = _channel(handler)
    ctx = channel.context()
    assert ctx.shop.currency_code == "EUR"
    [request] = seen
    assert request.url == f"https://wire-test.myshopify.com/admin/api/{API_VERSION}/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    body = json.loads(request.content)
    assert body["operationName"] == "ShopContext"
    assert body["variables"] == {"locationId": None}
    assert channel.client.throttle.bucket.available == pytest.approx(1990, abs=5)


def test_secrets_stay_out_of_reprs() -> None:
    channel = _channel(lambda _r: httpx.Response(500))
    for text in (repr(channel), repr(channel.config), str(channel.config), repr(channel.client)):
        assert TOKEN not in text
        assert "shpss_secret" not in text


def test_pacing_waits_for_the_reported_bucket() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "data": {
                    "shop": {"currencyCode": "USD"},
                    "location": {"id": "gid://shopify/Location/1"},
                },
                "extensions": _cost(2, 0, rate=50.0, maximum=100.0),
            },
        )

    channel = ShopifyChannel(
        ShopifyConfig(account="a", shop="pace.myshopify.com", access_token="t"),
        transport=httpx.MockTransport(handler),
        clock=lambda: now[0],
        sleep=sleep,
    )
    channel.client.shop_context(None)  # the shop says: empty bucket, 50 points/s
    channel.client.shop_context(None)  # needs 2 points: waits 2/50 s first
    assert slept == [pytest.approx(0.04)]


def test_conformance_envelope_parses() -> None:
    body = load_conformance(
        "shopify", "graphql/admin-api-client-readme.product-query.response.json"
    )
    response = GraphQLResponse.model_validate(body)
    cost = response.cost
    assert cost is not None
    assert cost.throttle_status is not None
    assert (cost.requested_query_cost, cost.actual_query_cost) == (1, 1)
    status = cost.throttle_status
    assert (status.maximum_available, status.currently_available, status.restore_rate) == (
        1000.0,
        999,
        50.0,
    )


# -- fidelity: documents against Shopify's published schema -----------------------------------

DOCUMENTS = {
    "ShopContext": q.SHOP_CONTEXT,
    "Orders": q.ORDERS,
    "OrderLineItems": q.ORDER_LINE_ITEMS,
    "OrderQuantities": q.ORDER_QUANTITIES,
    "Variants": q.VARIANTS,
    "VariantsLevels": q.VARIANTS_LEVELS,
    "ItemLevels": q.ITEM_LEVELS,
    "Locations": q.LOCATIONS,
    "OrderLocations": q.ORDER_LOCATIONS,
    "ActivateInventory": q.INVENTORY_ACTIVATE,
    "ActivateInventory+idempotent": q.inventory_activate("6a1f3f8e-1b2c-4d5e-8f90-123456789abc"),
    "SetStock": q.stock_set(None),
    "SetStock+idempotent": q.stock_set("3f5b6ebf-143c-4da5-8d0f-fb8553bfd85d"),
    "CurrentLevels": q.current_levels(3),
    "SetPrices": q.PRICES_SET,
    "FulfillmentState": q.FULFILLMENT_STATE,
    "CreateFulfillment": q.FULFILLMENT_CREATE,
    "OrderState": q.ORDER_STATE,
    "CancelOrder (before 2025-10)": q.ORDER_CANCEL_LEGACY,
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_documents_validate_against_the_published_schema(
    name: str, published_schema: GraphQLSchema
) -> None:
    errors = validate(published_schema, parse(DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]


def test_cancel_document_differs_from_2025_01_only_by_refund_method(
    published_schema: GraphQLSchema,
) -> None:
    errors = validate(published_schema, parse(q.ORDER_CANCEL))
    assert sorted(e.message for e in errors) == [
        "Argument 'Mutation.orderCancel(refund:)' of type 'Boolean!' is required, but it was"
        " not provided.",
        "Unknown argument 'refundMethod' on field 'Mutation.orderCancel'.",
        "Unknown type 'OrderCancelRefundMethodInput'.",
    ]


FAKE_CASES = [
    (version, name, DOCUMENTS[name])
    for version in (API_VERSION, "2025-01")
    for name in sorted(DOCUMENTS)
    if not name.startswith("CancelOrder")
] + [
    (API_VERSION, "CancelOrder", q.ORDER_CANCEL),
    ("2025-01", "CancelOrder", q.ORDER_CANCEL_LEGACY),
]


@pytest.mark.parametrize(
    ("version", "document"),
    [pytest.param(v, d, id=f"{v}-{n}") for v, n, d in FAKE_CASES],
)
def test_documents_validate_against_the_fake(version: str, document: str) -> None:
    errors = validate(schema_for(flavour_of(version)), parse(document))
    assert errors == [], [e.message for e in errors]


def _captured_stock_call(api_version: str) -> tuple[str, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "data": {
                    "inventorySetQuantities": {
                        "inventoryAdjustmentGroup": {
                            "id": "gid://shopify/InventoryAdjustmentGroup/1",
                            "changes": [],
                        },
                        "userErrors": [],
                    }
                },
                "extensions": _cost(10, 1990),
            },
        )

    channel = _channel(handler, api_version=api_version)
    ids = {
        "variant_id": "gid://shopify/ProductVariant/1",
        "product_id": "gid://shopify/Product/1",
        "inventory_item_id": "gid://shopify/InventoryItem/30322695",
        "location_id": "gid://shopify/Location/124656943",
    }
    listing = Listing(kind="shopify", account="shopify-main", sku="S", listing_id="1", ids=ids)
    channel.push_stock(
        [StockUpdate(sku="S", quantity=11, listing=listing, expected=1, idempotency_key="k")]
    )
    [body] = sent
    return body["query"], body["variables"]


def test_stock_variables_of_2025_01_validate_against_the_published_schema(
    published_schema: GraphQLSchema,
) -> None:
    schema = published_schema
    document, variables = _captured_stock_call("2025-01")
    operation = parse(document).definitions[0]
    coerced = get_variable_values(schema, operation.variable_definitions, variables)  # type: ignore[attr-defined]
    assert not isinstance(coerced, list), [e.message for e in coerced]
    [quantity] = variables["input"]["quantities"]
    assert quantity["compareQuantity"] == 1
    assert variables["input"]["ignoreCompareQuantity"] is False
    assert "@idempotent" not in document


def test_stock_variables_of_the_pinned_version_use_change_from_quantity(
    published_schema: GraphQLSchema,
) -> None:
    document, variables = _captured_stock_call(API_VERSION)
    assert "@idempotent(key: " in document
    [quantity] = variables["input"]["quantities"]
    assert quantity["changeFromQuantity"] == 1
    assert "ignoreCompareQuantity" not in variables["input"]
    operation: Any = parse(document).definitions[0]
    # changeFromQuantity is newer than the published 2025-01 schema, which refuses it...
    old = get_variable_values(published_schema, operation.variable_definitions, variables)
    assert isinstance(old, list)
    assert "changeFromQuantity" in old[0].message
    # ...and the fake's schema of the pinned version, built from the 2026 reference, takes it.
    new = get_variable_values(
        schema_for(flavour_of(API_VERSION)), operation.variable_definitions, variables
    )
    assert not isinstance(new, list)
