"""The fake against WooCommerce's published shapes: payload keys, errors, paging, auth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.conftest import load_conformance

from channelsync.adapters.woocommerce._oauth import OAuth1QueryAuth

API = "/wp-json/wc/v3"


@pytest.fixture
def http(fake: Any) -> Iterator[httpx.Client]:
    # Plain HTTP: WooCommerce reads an OAuth 1.0a signature, as the official client sends.
    auth = OAuth1QueryAuth(fake.consumer_key, fake.consumer_secret)
    with httpx.Client(base_url=fake.url, auth=auth) as client:
        yield client


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(ours: dict[str, Any], published: dict[str, Any], where: str) -> None:
    """Every published key is there, with the same JSON type (null matches anything)."""
    missing = sorted(set(published) - set(ours))
    assert not missing, f"{where}: missing {missing}"
    for key, value in published.items():
        if value is None or ours[key] is None or key == "status":
            continue
        assert _kind(ours[key]) == _kind(value), f"{where}.{key}: {ours[key]!r} vs {value!r}"
        if isinstance(value, dict) and value and key not in ("_links", "image"):
            assert_same_shape(ours[key], value, f"{where}.{key}")
        if isinstance(value, list) and value and isinstance(value[0], dict) and ours[key]:
            assert_same_shape(ours[key][0], value[0], f"{where}.{key}[0]")


def test_payload_shapes_match_the_published_examples(fake: Any, http: httpx.Client) -> None:
    fake.seed_listing("SHAPE-1", quantity=3, price="21.99")
    parent = fake.seed_variable("SHAPE-P", {"SHAPE-V": (2, "9.00")})
    product = fake.product_id("SHAPE-1")
    variation = fake.product_id("SHAPE-V")
    order_id = fake.place_order("SHAPE-V")
    line = fake.order_json(order_id)["line_items"][0]["id"]
    fake.channel().refund_order(order_id, fake_money("9.00"), reason="x", lines={str(line): 1})

    assert_same_shape(
        http.get(f"{API}/products/{product}").json(),
        load_conformance("woocommerce", "products.retrieve.response.json"),
        "product",
    )
    assert_same_shape(
        http.get(f"{API}/products/{parent}/variations/{variation}").json(),
        load_conformance("woocommerce", "product-variations.retrieve.response.json"),
        "variation",
    )
    order = http.get(f"{API}/orders/{order_id}").json()
    published = load_conformance("woocommerce", "orders.retrieve.response.json")
    assert_same_shape(order, published, "order")
    assert order["refunds"][0]["total"] == "-9.00"
    assert_same_shape(
        http.get(f"{API}/orders/{order_id}/refunds").json()[0],
        load_conformance("woocommerce", "order-refunds.list.response.json")[1],
        "refund",
    )
    assert_same_shape(
        http.post(f"{API}/orders/{order_id}/notes", json={"note": "Order ok!!!"}).json(),
        load_conformance("woocommerce", "order-notes.create.response.json"),
        "note",
    )


def fake_money(amount: str) -> Any:
    from channelsync.core.models import Money

    return Money.of(amount, "EUR")


def test_seeded_published_order_keeps_its_instants_in_the_shops_timezone(
    fake: Any, http: httpx.Client
) -> None:
    published = load_conformance("woocommerce", "orders.list.response.json")[1]
    order_id = fake.seed_order(published)
    assert order_id == "723"
    got = http.get(f"{API}/orders/723").json()
    assert got["date_created_gmt"] == "2017-03-21T19:16:00"
    assert got["date_created"] == "2017-03-21T20:16:00"  # Europe/Berlin, CET in March
    assert got["date_completed_gmt"] == "2017-03-21T19:54:51"
    assert got["line_items"] == published["line_items"]
    assert got["refunds"] == published["refunds"]
    assert got["billing"] == published["billing"]
    assert fake.seed_order({"line_items": []}) not in ("723", "726", "724")


def test_batch_limit_and_per_item_errors_in_the_real_shape(fake: Any, http: httpx.Client) -> None:
    fake.seed_listing("B-1", quantity=1, price="1.00")
    good = fake.product_id("B-1")
    too_many = http.post(
        f"{API}/products/batch", json={"update": [{"id": good}] * 60, "delete": [1] * 41}
    )
    assert too_many.status_code == 413
    assert too_many.json() == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    answer = http.post(
        f"{API}/products/batch",
        json={
            "update": [
                {"id": 990001, "stock_quantity": 5},
                {"id": good, "manage_stock": True, "stock_quantity": 5},
                {"id": good, "stock_quantity": "five"},
                {"id": good, "regular_price": 7.5},
            ]
        },
    )
    assert answer.status_code == 200
    update = answer.json()["update"]
    assert update[0] == {
        "id": 990001,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert (update[1]["id"], update[1]["stock_quantity"], update[1]["stock_status"]) == (
        good,
        5,
        "instock",
    )
    assert update[2]["error"]["code"] == "rest_invalid_param"
    assert update[2]["error"]["data"]["params"] == {
        "stock_quantity": "stock_quantity is not of type integer."
    }
    assert update[3]["error"]["data"]["params"] == {
        "regular_price": "regular_price is not of type string."
    }
    assert fake.quantity("B-1") == 5


def test_published_batch_request_runs(fake: Any, http: httpx.Client) -> None:
    request = load_conformance("woocommerce", "products.batch.request.json")
    answer = http.post(f"{API}/products/batch", json=request).json()
    assert [p["name"] for p in answer["create"]] == ["Woo Single #1", "New Premium Quality"]
    assert [p["regular_price"] for p in answer["create"]] == ["21.99", "21.99"]
    assert answer["update"][0]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert answer["delete"][0]["id"] == 794
    parent = fake.seed_variable("VB", {"VB-1": (1, "9.00")})
    variations = load_conformance("woocommerce", "product-variations.batch.request.json")
    answer = http.post(f"{API}/products/{parent}/variations/batch", json=variations).json()
    assert [v["regular_price"] for v in answer["create"]] == ["10.00", "10.00"]
    assert answer["update"][0]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"


def test_paging_headers_and_per_page_cap(fake: Any, http: httpx.Client) -> None:
    for i in range(25):
        fake.seed_listing(f"PG-{i:02d}", quantity=1, price="1.00")
    page = http.get(f"{API}/products", params={"per_page": 10, "page": 2, "orderby": "id"})
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"]) == ("25", "3")
    assert 'rel="prev"' in page.headers["Link"]
    assert 'rel="next"' in page.headers["Link"]
    assert len(page.json()) == 10
    assert "consumer_secret" not in page.headers["Link"]
    too_big = http.get(f"{API}/products", params={"per_page": 101})
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "rest_invalid_param"
    assert too_big.json()["data"]["params"] == {
        "per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"
    }
    bad_order = http.get(f"{API}/orders", params={"orderby": "total"})
    assert bad_order.json()["message"] == "Invalid parameter(s): orderby"


def test_authentication(fake: Any) -> None:
    with httpx.Client(base_url=fake.url) as anonymous:
        listed = anonymous.get(f"{API}/orders")
        assert listed.status_code == 401
        assert listed.json() == {
            "code": "woocommerce_rest_cannot_view",
            "message": "Sorry, you cannot list resources.",
            "data": {"status": 401},
        }
        batch = anonymous.post(f"{API}/products/batch", json={})
        assert batch.json()["code"] == "woocommerce_rest_cannot_batch"
        # Over plain HTTP WooCommerce reads no Basic or query-string keys: anonymous.
        basic = anonymous.get(f"{API}/orders", auth=(fake.consumer_key, fake.consumer_secret))
        assert basic.json()["code"] == "woocommerce_rest_cannot_view"
        keys = {"consumer_key": fake.consumer_key, "consumer_secret": fake.consumer_secret}
        assert anonymous.get(f"{API}/orders", params=keys).status_code == 401
        # It checks an OAuth 1.0a signature instead.
        signed = anonymous.get(
            f"{API}/orders", auth=OAuth1QueryAuth(fake.consumer_key, fake.consumer_secret)
        )
        assert signed.status_code == 200
        forged = anonymous.get(f"{API}/orders", auth=OAuth1QueryAuth(fake.consumer_key, "cs_x"))
        assert forged.status_code == 401
        assert forged.json()["message"] == "Invalid signature - provided signature does not match."
        stale = anonymous.get(
            f"{API}/orders",
            auth=OAuth1QueryAuth(
                fake.consumer_key, fake.consumer_secret, clock=lambda: time.time() - 3600
            ),
        )
        assert stale.json()["message"] == "Invalid timestamp."
        partial = anonymous.get(f"{API}/orders", params={"oauth_consumer_key": fake.consumer_key})
        assert partial.json()["message"] == "Missing OAuth parameter oauth_timestamp"
        replayed_url = signed.request.url
        replay = anonymous.get(replayed_url)
        assert replay.json()["message"] == "Invalid nonce - nonce has already been used."

        # Basic over HTTP only where the fake is told to allow it (loopback clients).
        fake.allow_basic_over_http = True
        wrong = anonymous.get(f"{API}/orders", auth=(fake.consumer_key, "cs_wrong"))
        assert wrong.status_code == 401
        assert wrong.json()["message"] == "Consumer secret is invalid."
        assert wrong.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')
        in_query = anonymous.get(f"{API}/orders", params=keys)
        assert in_query.status_code == 200
        fake.key_permissions = "read"
        refused = anonymous.post(
            f"{API}/products/batch", json={}, auth=(fake.consumer_key, fake.consumer_secret)
        )
        assert refused.json()["message"] == "The API key provided does not have write permissions."


def test_unknown_routes_and_the_tracking_extension(fake: Any, http: httpx.Client) -> None:
    fake.seed_listing("TR", quantity=3, price="1.00")
    order_id = fake.place_order("TR")
    path = f"/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"
    off = http.get(path)
    assert off.status_code == 404
    assert off.json() == load_conformance("woocommerce", "error.wp-rest.response.json")
    fake.tracking_extension = True
    created = http.post(path, json={"tracking_provider": "UPS", "tracking_number": "1Z1"})
    assert created.status_code == 201
    assert created.json()["tracking_link"] == "https://www.ups.com/track?tracknum=1Z1"
    missing = http.post(path, json={"tracking_provider": "UPS"})
    assert missing.json()["code"] == "rest_missing_callback_param"
    assert http.get(f"{API}/coupons").json()["code"] == "rest_no_route"


def test_faults_answer_in_wordpress_shapes(fake: Any, http: httpx.Client) -> None:
    fake.inject("throttle", operation="orders")
    throttled = http.get(f"{API}/orders")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["data"] == {"status": 429}
    fake.inject("server_error")
    broken = http.get(f"{API}/products")
    assert broken.status_code == 500
    assert broken.json()["code"] == "internal_server_error"
    assert [r.fault for r in fake.calls.records()] == ["throttle", "server_error"]


def test_stock_rules_of_orders(fake: Any) -> None:
    fake.seed_variable("SR", {"SR-1": (5, "2.00")}, title="Shirt")
    order_id = fake.place_order("SR-1", 2)
    assert fake.quantity("SR-1") == 3
    notes = [n["note"] for n in fake.notes(order_id)]
    assert "Stock levels reduced: Shirt (SR-1) 5&rarr;3" in notes
    fake.set_order_status(order_id, "cancelled")
    assert fake.quantity("SR-1") == 5
    fake.set_order_status(order_id, "processing")
    assert fake.quantity("SR-1") == 3
    parent = fake.seed_product(sku="PS", type="variable", manage_stock=True, stock_quantity=8)
    fake.seed_product(type="variation", parent_id=parent, sku="PS-1", regular_price="3.00")
    fake.place_order("PS-1", 3)
    assert (fake.quantity("PS-1"), fake.quantity("PS")) == (5, 5)
