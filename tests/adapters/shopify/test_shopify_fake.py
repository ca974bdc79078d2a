"""The Shopify fake on the wire, and the flows the adapter drives through it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
)

from channelsync.adapters.shopify import API_VERSION, ShopifyChannel
from channelsync.adapters.shopify import queries as q
from channelsync.core.channel import PriceUpdate
from channelsync.core.errors import AuthError, NotFound, Rejected, Unavailable
from channelsync.core.models import Money, OrderStatus, Shipment
from channelsync.sandbox.shopify import ShopifyFake
from channelsync.sandbox.shopify.schema import flavour_of, schema_for


def _post(
    fake: ShopifyFake, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    version = kw.pop("version", API_VERSION)
    token = kw.pop("token", fake.access_token)
    return httpx.post(
        f"{fake.url}/admin/api/{version}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )


def test_bad_token_is_refused_with_401(fake: ShopifyFake) -> None:
    response = _post(fake, "{ shop { currencyCode } }", token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    channel: ShopifyChannel = fake.channel(account="shopify-main", access_token="shpat_wrong")
    with pytest.raises(AuthError) as caught:
        channel.context()
    assert caught.value.status == 401
    assert "shpat_wrong" not in str(caught.value)
    channel.close()


def test_unknown_version_is_404(fake: ShopifyFake) -> None:
    assert _post(fake, "{ shop { currencyCode } }", version="2019-04").status_code == 404


def test_every_answer_reports_cost_and_refunds_the_unused_part(fake: ShopifyFake) -> None:
    fake.set_plan(bucket_size=2_000, restore_rate=100)
    for n in range(3):
        fake.seed_listing(f"COST-{n}", quantity=n, price="1.00")
    body = _post(fake, q.VARIANTS, {"first": 200, "locationId": "gid://shopify/Location/1"}).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 802
    assert cost["actualQueryCost"] == 2 + 3 * 4
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0
    assert status["restoreRate"] == 100.0
    assert 2000 - 14 <= status["currentlyAvailable"] <= 2000
    assert [v["sku"] for v in body["data"]["productVariants"]["nodes"]] == [
        "COST-0",
        "COST-1",
        "COST-2",
    ]


def test_bucket_exhaustion_answers_throttled_with_http_200(fake: ShopifyFake) -> None:
    fake.set_plan(bucket_size=100, restore_rate=1)
    response = _post(fake, q.VARIANTS, {"first": 200, "locationId": "gid://shopify/Location/1"})
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (802, None)
    assert cost["throttleStatus"]["maximumAvailable"] == 100.0
    assert fake.throttled == 1


def test_query_over_1000_points_is_refused(fake: ShopifyFake) -> None:
    query = "{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }"
    body = _post(fake, query).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 2 + 250 * (1 + 2 + 250)


def test_input_arrays_are_capped_at_250(fake: ShopifyFake) -> None:
    fake.seed_listing("CAP-1", quantity=1, price="1.00")
    ids = fake.ids("CAP-1")
    quantity = {
        "inventoryItemId": ids["inventory_item_id"],
        "locationId": ids["location_id"],
        "quantity": 5,
        "changeFromQuantity": None,
    }
    variables = {
        "input": {"name": "available", "reason": "correction", "quantities": [quantity] * 251}
    }
    body = _post(fake, q.stock_set("cap-key"), variables).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "MAX_INPUT_SIZE_EXCEEDED"}
    assert (
        error["message"]
        == "The input array size of 251 is greater than the maximum allowed of 250."
    )
    assert fake.quantity("CAP-1") == 1


def _stock_variables(fake: ShopifyFake, sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    ids = fake.ids(sku)
    entry = {
        "inventoryItemId": ids["inventory_item_id"],
        "locationId": ids["location_id"],
        "quantity": quantity,
    }
    entry.update(extra)
    return {"input": {"name": "available", "reason": "correction", "quantities": [entry]}}


def test_pinned_version_requires_idempotency_and_change_from_quantity(fake: ShopifyFake) -> None:
    fake.seed_listing("REQ-1", quantity=2, price="1.00")
    no_key = _post(
        fake, q.stock_set(None), _stock_variables(fake, "REQ-1", 5, changeFromQuantity=2)
    ).json()
    assert no_key["data"] == {"inventorySetQuantities": None}
    assert "@idempotent" in no_key["errors"][0]["message"]
    omitted = _post(fake, q.stock_set("k-omit"), _stock_variables(fake, "REQ-1", 5)).json()
    assert "changeFromQuantity" in omitted["errors"][0]["message"]
    assert fake.quantity("REQ-1") == 2


def test_idempotency_key_replays_and_refuses_other_parameters(fake: ShopifyFake) -> None:
    fake.seed_listing("KEY-1", quantity=2, price="1.00")
    first = _post(
        fake, q.stock_set("k1"), _stock_variables(fake, "KEY-1", 5, changeFromQuantity=2)
    ).json()
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    fake.set_quantity("KEY-1", 3)
    replay = _post(
        fake, q.stock_set("k1"), _stock_variables(fake, "KEY-1", 5, changeFromQuantity=2)
    ).json()
    assert replay["data"] == first["data"]
    assert fake.quantity("KEY-1") == 3
    other = _post(
        fake, q.stock_set("k1"), _stock_variables(fake, "KEY-1", 6, changeFromQuantity=3)
    ).json()
    [error] = other["data"]["inventorySetQuantities"]["userErrors"]
    assert error["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_legacy_versions_honour_compare_quantity(fake: ShopifyFake) -> None:
    fake.seed_listing("OLD-Q", quantity=4, price="1.00")
    required = _post(
        fake, q.stock_set(None), _stock_variables(fake, "OLD-Q", 7), version="2025-01"
    ).json()
    assert (
        required["data"]["inventorySetQuantities"]["userErrors"][0]["code"]
        == "COMPARE_QUANTITY_REQUIRED"
    )
    stale = _post(
        fake,
        q.stock_set(None),
        _stock_variables(fake, "OLD-Q", 7, compareQuantity=9),
        version="2025-01",
    ).json()
    [error] = stale["data"]["inventorySetQuantities"]["userErrors"]
    assert error == {
        "code": "COMPARE_QUANTITY_STALE",
        "field": ["input", "quantities", "0", "compareQuantity"],
        "message": "The compareQuantity value does not match persisted value.",
    }
    newer_field = _post(
        fake,
        q.stock_set(None),
        _stock_variables(fake, "OLD-Q", 7, changeFromQuantity=4),
        version="2025-01",
    ).json()
    assert "changeFromQuantity" in newer_field["errors"][0]["message"]
    assert fake.quantity("OLD-Q") == 4


def test_fulfillment_with_tracking_and_a_safe_retry(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    fake.seed_listing("SHIP-1", quantity=5, price="8.00")
    order_id = fake.place_order("SHIP-1", 2)
    shipment = Shipment(
        carrier="DHL", tracking_number="00340434", tracking_url="https://dhl.example/00340434"
    )
    channel.push_fulfillment(order_id, shipment)
    channel.push_fulfillment(order_id, shipment)  # a retry after a timeout: checks first
    order = fake.order(order_id)
    assert order["fulfillment_status"] == "fulfilled"
    [fulfillment] = order["fulfillments"]
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("DHL", "00340434")
    assert fake.calls["fulfillmentCreate"] == 1
    [polled] = [
        o
        for o in channel.fetch_orders(fake.state.stamp().replace(year=2000))
        if o.order_id == order_id
    ]
    assert polled.status is OrderStatus.SHIPPED
    assert polled.lines[0].quantity_shipped == 2
    assert [(s.carrier, s.tracking_number) for s in polled.shipments] == [("DHL", "00340434")]
    assert [d.topic for d in fake.deliveries] == []  # nobody subscribed


def test_partial_fulfillment_by_line(fake: ShopifyFake, channel: ShopifyChannel) -> None:
    fake.seed_listing("SHIP-2", quantity=5, price="8.00")
    order_id = fake.place_order("SHIP-2", 3)
    line_id = str(fake.order(order_id)["line_items"][0]["id"])
    channel.push_fulfillment(
        order_id, Shipment(carrier="UPS", tracking_number="1Z1", lines={line_id: 1})
    )
    order = fake.order(order_id)
    assert order["fulfillment_status"] == "partial"
    assert order["line_items"][0]["fulfillable_quantity"] == 2
    with pytest.raises(Rejected, match="no line"):
        channel.push_fulfillment(order_id, Shipment(carrier="UPS", lines={"999": 1}))
    with pytest.raises(NotFound):
        channel.push_fulfillment("424242", Shipment(carrier="UPS"))


def test_cancel_waits_for_the_job_and_is_idempotent(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    fake.seed_listing("CANCEL-1", quantity=5, price="3.00")
    order_id = fake.place_order("CANCEL-1", 2)
    channel.cancel_order(order_id, "customer")
    order = fake.order(order_id)
    assert order["cancel_reason"] == "customer"
    assert order["cancelled_at"] is not None
    assert fake.quantity("CANCEL-1") == 3  # no restock by default: the engine owns available
    channel.cancel_order(order_id, "customer")
    assert fake.calls["orderCancel"] == 1
    [polled] = [
        o
        for o in channel.fetch_orders(fake.state.stamp().replace(year=2000))
        if o.order_id == order_id
    ]
    assert polled.status is OrderStatus.CANCELLED
    assert polled.lines[0].quantity_cancelled == 2


def test_cancel_with_restock_and_a_slow_job(fake: ShopifyFake) -> None:
    fake.seed_listing("CANCEL-2", quantity=5, price="3.00")
    fake.state.cancel_delay = 0.3
    channel: ShopifyChannel = fake.channel(account="shopify-main", cancel_restock=True)
    order_id = fake.place_order("CANCEL-2", 2)
    channel.cancel_order(order_id)
    assert fake.quantity("CANCEL-2") == 5
    assert fake.calls["order"] >= 3  # checked first, then polled until the job finished
    timeout: ShopifyChannel = fake.channel(account="shopify-main", cancel_timeout=0.05)
    fake.state.cancel_delay = 5.0
    fake.seed_listing("CANCEL-3", quantity=5, price="3.00")
    slow_order = fake.place_order("CANCEL-3", 1)
    with pytest.raises(Unavailable, match="did not finish"):
        timeout.cancel_order(slow_order)
    channel.close()
    timeout.close()


def test_prices_by_product_with_item_errors(fake: ShopifyFake, channel: ShopifyChannel) -> None:
    fake.seed_listing("PRICE-1", quantity=1, price="10.00")
    fake.seed_listing("PRICE-2", quantity=1, price="20.00")
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    bogus = listings["PRICE-2"].model_copy(
        update={"ids": {**listings["PRICE-2"].ids, "variant_id": "gid://shopify/ProductVariant/1"}}
    )
    results = channel.push_prices(
        [
            PriceUpdate(sku="PRICE-1", price=Money.of("12.50", "USD"), listing=listings["PRICE-1"]),
            PriceUpdate(sku="PRICE-2", price=Money.of("21.00", "USD"), listing=bogus),
            PriceUpdate(sku="PRICE-3", price=Money.of("21.00", "EUR"), listing=listings["PRICE-1"]),
        ]
    )
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].error is not None
    assert results[1].error.code == "PRODUCT_VARIANT_DOES_NOT_EXIST"
    assert results[2].error is not None
    assert results[2].error.code == "CURRENCY"
    assert (fake.price("PRICE-1"), fake.price("PRICE-2")) == (Decimal("12.50"), Decimal("20.00"))
    assert fake.calls["productVariantsBulkUpdate"] == 2  # one call per product


def test_injected_faults_use_shopify_shapes(fake: ShopifyFake) -> None:
    fake.inject("throttle")
    throttled = _post(fake, "{ shop { currencyCode } }")
    # One answer for THROTTLED, injected or earned from the bucket: HTTP 200, the error
    # and the bucket's state (Shopify's GraphQL Admin API never answers it with 429).
    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert set(body["extensions"]["cost"]["throttleStatus"]) == {
        "maximumAvailable",
        "currentlyAvailable",
        "restoreRate",
    }
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    fake.inject("server_error")
    failed = _post(fake, "{ shop { currencyCode } }")
    assert failed.status_code == 500
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert [r.fault for r in fake.calls.records("shop")] == ["throttle", "server_error"]


# -- the fake's schema against Shopify's published one ------------------------------------------

#: Differences that are real changes after 2025-01 (checked in the 2026 reference pages).
NEWER_THAN_2025_01 = {
    ("InventoryQuantityInput", "changeFromQuantity"),
    ("OrderCancelPayload", "job"),
    ("Mutation", "returnProcess"),  # 2025-07 (changelog "Returns Processing APIs")
}
#: Mutations of the 2025-01 reference that the published subset leaves out (it keeps a few).
LEFT_OUT_OF_THE_SUBSET = {
    ("Mutation", "refundCreate"),
    ("Mutation", "returnCreate"),
    ("Mutation", "returnClose"),
}


def _type_text(t: Any) -> str:
    return str(t)


def test_fake_schema_matches_the_published_one(published_schema: GraphQLSchema) -> None:
    fake_schema = schema_for(flavour_of("2025-01"))
    checked = 0
    for name, fake_type in fake_schema.type_map.items():
        if name.startswith("__") or name in ("QueryRoot", "Shop", "Customer"):
            continue  # the published subset describes neither Shop nor Customer
        real = published_schema.type_map.get(name)
        if real is None or type(real) is not type(fake_type):
            continue
        if isinstance(fake_type, GraphQLEnumType) and isinstance(real, GraphQLEnumType):
            extra = set(fake_type.values) - set(real.values)
            assert not extra - {
                "IDEMPOTENCY_CONCURRENT_REQUEST",
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
                "CHANGE_FROM_QUANTITY_STALE",
            }, (name, extra)
            checked += 1
        elif isinstance(fake_type, (GraphQLObjectType, GraphQLInputObjectType)):
            assert isinstance(real, (GraphQLObjectType, GraphQLInputObjectType))
            for field_name, field in fake_type.fields.items():
                if (name, field_name) in NEWER_THAN_2025_01 | LEFT_OUT_OF_THE_SUBSET:
                    continue
                assert field_name in real.fields, f"{name}.{field_name} is not in Shopify's schema"
                assert _type_text(field.type) == _type_text(real.fields[field_name].type), (
                    name,
                    field_name,
                )
                checked += 1
    root_fake = fake_schema.query_type
    root_real = published_schema.query_type
    assert root_fake is not None
    assert root_real is not None
    for field_name in ("location", "order", "orders", "productVariants", "inventoryItem"):
        assert _type_text(root_fake.fields[field_name].type) == _type_text(
            root_real.fields[field_name].type
        )
    assert checked > 150
