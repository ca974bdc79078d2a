"""The Amazon fake's fidelity: Amazon's models, static sandbox cases, auth and error shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.conftest import conformance_dir, load_conformance

from channelsync.core.channel import StockUpdate
from channelsync.core.models import OrderStatus, Shipment, utcnow
from channelsync.sandbox.amazon import AmazonFake, SpApiModelValidator

STATIC_CASES = {
    "orders-2026-01-01.searchOrders.sandbox-static.json": "searchOrders",
    "orders-2026-01-01.getOrder.sandbox-static.json": "getOrder",
    "orders-v0.confirmShipment.sandbox-static.json": "confirmShipment",
    "listings-2021-08-01.getListingsItem.sandbox-static.json": "getListingsItem",
    "listings-2021-08-01.searchListingsItems.sandbox-static.json": "searchListingsItems",
    "listings-2021-08-01.patchListingsItem.sandbox-static.json": "patchListingsItem",
    "feeds-2021-06-30.createFeedDocument.sandbox-static.json": "createFeedDocument",
    "feeds-2021-06-30.createFeed.sandbox-static.json": "createFeed",
    "feeds-2021-06-30.getFeed.sandbox-static.json": "getFeed",
    "feeds-2021-06-30.getFeedDocument.sandbox-static.json": "getFeedDocument",
}


def _validator() -> SpApiModelValidator:
    return SpApiModelValidator(conformance_dir("amazon"))


@pytest.mark.parametrize(("name", "operation"), sorted(STATIC_CASES.items()))
def test_validator_accepts_amazons_own_sandbox_answers(name: str, operation: str) -> None:
    validator = _validator()
    cases = load_conformance("amazon", name)
    checked = 0
    for status, entries in cases.items():
        for case in entries:
            body = case["response"] or None
            assert validator.check_response(operation, int(status), body) == [], (status, case)
            checked += 1
    assert checked >= 2
    assert validator.problems == []


def test_validator_catches_a_drifting_answer() -> None:
    validator = _validator()
    problems = validator.check_response("searchOrders", 200, {"orders": [{"orderId": 5}]})
    assert any("orderId" in p for p in problems)
    assert any("salesChannel" in p for p in problems)
    assert validator.problems  # recorded for the test that owns the fake
    listings = {"sellerId": "A1"}
    assert validator.check_request("searchListingsItems", path=listings, query={}) == [
        "query parameter marketplaceIds is required"
    ]
    assert validator.check_request(
        "searchListingsItems", path=listings, query={"pageSize": "50", "marketplaceIds": "X"}
    ) == ["pageSize: 50 is above 20"]
    (problem,) = validator.check_request(
        "searchOrders", path={}, query={"fulfillmentStatuses": "SHIPPED,NOPE"}
    )
    assert problem.startswith("fulfillmentStatuses: 'NOPE' is not one of")


def test_traffic_is_checked_against_amazon_models(amazon_fake: AmazonFake) -> None:
    """Every operation the adapter uses went through the validator (problems: none)."""
    if amazon_fake.validator is None:
        pytest.skip("conformance corpus absent: the fake ran without Amazon's models")
    channel = amazon_fake.channel(feed_processing_estimate=0.001)
    for i in range(8):
        amazon_fake.seed_listing(f"V-{i}", quantity=3, price="4.50")
    order_id = amazon_fake.place_order("V-0", 2)
    list(channel.fetch_listings())
    list(channel.fetch_orders(utcnow() - timedelta(minutes=1)))
    channel.push_stock([StockUpdate(sku="V-1", quantity=1)])
    channel.push_stock([StockUpdate(sku=f"V-{i}", quantity=2) for i in range(8)])
    channel.push_fulfillment(order_id, Shipment(carrier="DHL", tracking_number="JD1"))
    checked = amazon_fake.validator.checked
    for operation in (
        "searchListingsItems",
        "searchOrders",
        "patchListingsItem",
        "getOrder",
        "confirmShipment",
        "createFeedDocument",
        "createFeed",
        "getFeed",
        "getFeedDocument",
    ):
        assert checked.get(f"request:{operation}", 0) >= 1, operation
        assert checked.get(f"response:{operation}", 0) >= 1, operation
    assert checked["document:listings-feed-message"] == 8
    assert checked["document:processing-report"] == 1
    assert amazon_fake.validator.problems == []


def test_model_violations_get_amazons_400(amazon_fake: AmazonFake) -> None:
    if amazon_fake.validator is None:
        pytest.skip("conformance corpus absent: the fake ran without Amazon's models")
    channel = amazon_fake.channel()
    gateway = channel.client.gateway
    from channelsync.core.errors import Rejected

    with pytest.raises(Rejected) as caught:
        gateway.search_listings({"marketplaceIds": "A1PA6795UKMFR9", "pageSize": 50})
    assert caught.value.status == 400
    assert caught.value.code == "InvalidInput"
    assert "pageSize" in caught.value.message


def test_conformance_orders_round_trip_through_the_fake(amazon_fake: AmazonFake) -> None:
    bodies = list(
        load_conformance("amazon", "orders-2026-01-01.searchOrders.response-200.example.json")[
            "orders"
        ]
    )
    bodies.append(
        load_conformance("amazon", "orders-2026-01-01.getOrder.response-200.example.json")["order"]
    )
    for case in load_conformance("amazon", "orders-2026-01-01.getOrder.sandbox-static.json")["200"]:
        bodies.append(case["response"]["order"])
    ids = [amazon_fake.seed_order(b) for b in bodies]
    channel = amazon_fake.channel()
    # They come from US, UK, BR and TR: not this EU seller's search, but getOrder reads them.
    assert list(channel.fetch_orders(datetime(2024, 1, 1, tzinfo=UTC))) == []
    orders = {oid: channel.fetch_order(oid) for oid in ids}
    assert len(orders) == 5  # search example (1) + getOrder example (1) + static cases (3)
    uk = orders["202-1234567-8901234"]
    assert uk.customer is not None
    assert uk.customer.name == "James Wilson"
    assert uk.shipments[0].tracking_number == "RR123456789GB"
    assert orders["114-9876543-1234567"].customer is None
    assert orders["028-1234567-8901234"].status is OrderStatus.SHIPPED


def test_included_data_is_honoured(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("INC-1", quantity=3, price="1.00")
    order_id = amazon_fake.place_order("INC-1")
    lean = amazon_fake.channel(included_data=["FULFILLMENT"])
    order = lean.fetch_order(order_id)
    assert (order.customer, order.shipping_address, order.total) == (None, None, None)
    assert order.status is OrderStatus.OPEN
    full = amazon_fake.channel().fetch_order(order_id)
    assert full.customer is not None
    assert full.total is not None


def test_lwa_and_sp_api_auth_errors_have_amazons_shape(amazon_fake: AmazonFake) -> None:
    assert amazon_fake.url is not None
    wrong = httpx.post(
        f"{amazon_fake.url}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": amazon_fake.refresh_token,
            "client_id": amazon_fake.lwa_client_id,
            "client_secret": "wrong",
        },
    )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error_description": "Client authentication failed",
        "error": "invalid_client",
    }
    good = httpx.post(
        f"{amazon_fake.url}/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": amazon_fake.refresh_token,
            "client_id": amazon_fake.lwa_client_id,
            "client_secret": amazon_fake.lwa_client_secret,
        },
    ).json()
    shape = load_conformance("amazon", "lwa-token.refresh_token-grant.response.json")
    assert set(good) == set(shape)
    assert good["token_type"] == "bearer"
    assert good["expires_in"] == 3600
    missing = httpx.get(f"{amazon_fake.url}/orders/2026-01-01/orders/1")
    assert missing.status_code == 403
    assert missing.json() == load_conformance("amazon", "error.unauthorized.response.json")
    assert missing.headers["x-amzn-requestid"]


def test_confirm_shipment_static_cases(amazon_fake: AmazonFake) -> None:
    cases = load_conformance("amazon", "orders-v0.confirmShipment.sandbox-static.json")
    amazon_fake.seed_order(
        {
            "orderId": "902-1106328-1059050",
            "createdTime": "2022-02-10T00:00:00Z",
            "lastUpdatedTime": "2022-02-10T00:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "orderItemId": "79039765272157",
                    "quantityOrdered": 1,
                    "product": {"sellerSku": "X"},
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 1},
                }
            ],
        }
    )
    gateway = amazon_fake.channel().client.gateway
    from channelsync.core.errors import Rejected

    bad = cases["400"][0]["request"]["parameters"]["body"]["value"]
    with pytest.raises(Rejected) as caught:
        gateway.confirm_shipment("902-1106328-1059050", bad)
    assert (caught.value.status, caught.value.code) == (400, "InvalidInput")
    good = cases["204"][0]["request"]["parameters"]["body"]["value"]
    assert gateway.confirm_shipment("902-1106328-1059050", good).status == 204
    stored = amazon_fake.order("902-1106328-1059050")
    assert stored["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert stored["packages"][0]["trackingNumber"] == "112345678"


def test_seed_order_refuses_what_is_not_an_order(amazon_fake: AmazonFake) -> None:
    with pytest.raises(ValueError, match="orderItems"):
        amazon_fake.seed_order({"orderId": "1", "createdTime": "x", "lastUpdatedTime": "x"})


def test_the_fake_works_without_the_conformance_corpus(tmp_path: Path) -> None:
    fake = AmazonFake()
    assert fake.validator is None
    fake.seed_listing("N-1", quantity=2, price="3.00")
    assert fake.quantity("N-1") == 2
    order_id = fake.place_order("N-1")
    assert fake.quantity("N-1") == 1
    assert fake.order(order_id)["orderItems"][0]["product"]["sellerSku"] == "N-1"
    with pytest.raises(ValueError, match="cannot sell"):
        fake.place_order("N-1", 5)
