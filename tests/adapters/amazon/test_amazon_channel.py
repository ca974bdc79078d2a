"""``AmazonChannel`` against the Amazon fake: routes, pacing, orders, fulfillment, errors."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channelsync.adapters.amazon import AmazonChannel
from channelsync.adapters.amazon.channel import choose_route, route_threshold
from channelsync.core.channel import PriceUpdate, StockUpdate
from channelsync.core.errors import (
    AuthError,
    ItemError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    WebhookVerificationError,
)
from channelsync.core.models import Listing, Money, OrderStatus, Shipment, utcnow
from channelsync.sandbox.amazon import AmazonFake


def _listing(sku: str, product_type: str = "PRODUCT", fba: bool = False) -> Listing:
    return Listing(
        kind="amazon",
        account="amazon-eu",
        sku=sku,
        listing_id=sku,
        fulfilled_by="channel" if fba else "merchant",
        ids={"productType": product_type, "marketplaceId": "A1PA6795UKMFR9"},
    )


# -- routes ---------------------------------------------------------------------------------


def test_route_threshold_follows_the_published_limits() -> None:
    # patchListingsItem 5/s burst 5 vs a feed expected to take 300 s: 5 + 5 * 300.
    assert route_threshold(patch_rate=5, patch_tokens=5, feed_seconds=300) == 1505
    assert choose_route(1505, patch_rate=5, patch_tokens=5, feed_seconds=300) == "patch"
    assert choose_route(1506, patch_rate=5, patch_tokens=5, feed_seconds=300) == "feed"
    # With slow round trips the patch route is bounded by latency instead.
    assert route_threshold(patch_rate=5, patch_tokens=5, feed_seconds=300, patch_latency=0.5) == 600
    assert (
        choose_route(601, patch_rate=5, patch_tokens=5, feed_seconds=300, patch_latency=0.5)
        == "feed"
    )
    assert choose_route(0, patch_rate=5, patch_tokens=0, feed_seconds=1) == "patch"


def test_limits() -> None:
    from channelsync.adapters.amazon import AmazonConfig

    channel = AmazonChannel(
        AmazonConfig(
            account="amazon-eu",
            seller_id="A1",
            marketplace_ids=["A1PA6795UKMFR9"],
            lwa_client_id="id",
            lwa_client_secret="secret",
            refresh_token="Atzr|x",
        )
    )
    limits = channel.limits
    assert limits.min_poll_interval == 180.0
    assert limits.stock_batch == 25_000
    assert limits.page_size == 100
    rates = {r.operation: (r.per_second, r.burst) for r in limits.rate_limits}
    assert rates["patchListingsItem"] == (5, 5)
    assert rates["searchOrders"] == (0.0056, 20)
    assert rates["createFeed"] == (0.0083, 15)
    assert channel.route_for(20) == "patch"
    assert channel.route_for(10_000) == "feed"
    channel.close()


def test_twenty_skus_go_through_patches_never_above_five_per_second(
    amazon_fake: AmazonFake,
) -> None:
    channel = amazon_fake.channel()
    skus = [f"P-{i:02d}" for i in range(20)]
    for sku in skus:
        amazon_fake.seed_listing(sku, quantity=1, price="9.99")
    results = channel.push_stock(
        [StockUpdate(sku=s, quantity=i + 2, listing=_listing(s)) for i, s in enumerate(skus)]
    )
    assert [r.ok for r in results] == [True] * 20
    assert [r.quantity for r in results] == list(range(2, 22))
    assert channel.last_routes == ["patch"]
    assert amazon_fake.calls["patchListingsItem"] == 20
    assert amazon_fake.calls["createFeed"] == 0
    assert [amazon_fake.quantity(s) for s in skus] == list(range(2, 22))
    records = amazon_fake.calls.records("patchListingsItem")
    assert all(r.status == 200 for r in records), "the fake throttled a paced patch"
    times = [r.at.timestamp() for r in records]
    # A 5/s, burst-5 bucket: any k+1 consecutive requests span at least (k + 1 - 5) / 5 s,
    # so no one-second window after the initial burst holds more than five.
    for i in range(len(times)):
        for j in range(i + 5, len(times)):
            assert times[j] - times[i] >= (j - i + 1 - 5) / 5 - 0.05, (i, j)
    sustained = (len(times) - 5) / (times[-1] - times[0])
    assert sustained <= 5.1


@pytest.mark.slow
def test_ten_thousand_skus_go_through_one_feed(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel()
    skus = [f"F-{i:05d}" for i in range(10_000)]
    for sku in skus:
        amazon_fake.seed_listing(sku, quantity=0, price="5.00", product_type="SHOES")
    updates = [
        StockUpdate(sku=s, quantity=i % 50, listing=_listing(s, "SHOES"))
        for i, s in enumerate(skus)
    ]
    results = channel.push_stock(updates)
    assert channel.last_routes == ["feed"]
    assert amazon_fake.calls["createFeed"] == 1
    assert amazon_fake.calls["createFeedDocument"] == 1
    assert amazon_fake.calls["uploadFeedDocument"] == 1
    assert amazon_fake.calls["patchListingsItem"] == 0
    assert len(results) == 10_000
    assert all(r.ok for r in results)
    assert [amazon_fake.quantity(s) for s in ("F-00000", "F-00049", "F-00050", "F-09999")] == [
        0,
        49,
        0,
        49,
    ]


def test_feed_reports_exactly_the_invalid_messages(amazon_fake: AmazonFake) -> None:
    # A feed expected to take no time makes anything beyond the patch burst go by feed.
    channel = amazon_fake.channel(feed_processing_estimate=0.001)
    good = [f"G-{i:02d}" for i in range(40)]
    for sku in good:
        amazon_fake.seed_listing(sku, quantity=3, price="5.00")
    missing = ["NOPE-1", "NOPE-2", "NOPE-3"]
    updates = [StockUpdate(sku=s, quantity=7) for s in good[:20] + missing + good[20:]]
    results = {r.sku: r for r in channel.push_stock(updates)}
    assert channel.last_routes == ["feed"]
    failed = {sku for sku, r in results.items() if not r.ok}
    assert failed == set(missing)
    for sku in missing:
        error = results[sku].error
        assert isinstance(error, ItemError)
        assert error.code == "4000002"
        assert sku in error.message
    assert {amazon_fake.quantity(s) for s in good} == {7}


def test_feed_partial_failure_hits_one_message(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel(feed_processing_estimate=0.001)
    skus = [f"Q-{i}" for i in range(8)]
    for sku in skus:
        amazon_fake.seed_listing(sku, quantity=1, price="5.00")
    amazon_fake.inject("partial_failure", operation="createFeed")
    results = channel.push_stock([StockUpdate(sku=s, quantity=4) for s in skus])
    assert [r.sku for r in results if not r.ok] == ["Q-0"]
    assert results[0].error is not None
    assert results[0].error.code == "5000"
    assert [amazon_fake.quantity(s) for s in skus] == [1] + [4] * 7


def test_feed_document_is_uploaded_as_utf8(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel(feed_processing_estimate=0.001)
    skus = [f"ÜMLAUT-€-{i}" for i in range(7)]
    for sku in skus:
        amazon_fake.seed_listing(sku, quantity=0, price="5.00")
    results = channel.push_stock([StockUpdate(sku=s, quantity=2) for s in skus])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert channel.last_routes == ["feed"]
    assert {amazon_fake.quantity(s) for s in skus} == {2}


def test_fba_listings_are_never_pushed(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("FBA-1", quantity=30, price="9.00", fulfilled_by="AMAZON")
    amazon_fake.seed_listing("MFN-1", quantity=3, price="9.00")
    channel = amazon_fake.channel()
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    assert listings["FBA-1"].fulfilled_by == "channel"
    assert listings["MFN-1"].fulfilled_by == "merchant"
    # Without a listing on the update, the one fetch_listings saw is used.
    results = channel.push_stock(
        [StockUpdate(sku="FBA-1", quantity=0), StockUpdate(sku="MFN-1", quantity=8)]
    )
    assert results[0].ok is False
    assert results[0].error is not None
    assert results[0].error.code == "FULFILLED_BY_AMAZON"
    assert results[1].ok is True
    assert amazon_fake.calls["patchListingsItem"] == 1
    assert amazon_fake.quantity("FBA-1") == 30
    assert amazon_fake.fulfilled_by("FBA-1") == "AMAZON"


def test_push_prices_by_marketplace_currency(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("PR-1", quantity=1, price="10.00")
    channel = amazon_fake.channel()
    results = channel.push_prices(
        [
            PriceUpdate(sku="PR-1", price=Money.of("12.49", "EUR")),
            PriceUpdate(sku="PR-2", price=Money.of("12.49", "GBP")),
        ]
    )
    assert results[0].ok
    assert results[1].error is not None
    assert results[1].error.code == "CURRENCY_MISMATCH"
    for market in ("A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"):
        assert str(amazon_fake.price("PR-1", market)) == "12.49"
    (listing,) = [lst for lst in channel.fetch_listings() if lst.sku == "PR-1"]
    assert listing.price == Money.of("12.49", "EUR")


def test_patch_issues_become_item_errors(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("ISSUE-1", quantity=1, price="10.00")
    amazon_fake.seed_listing("ISSUE-2", quantity=1, price="10.00")
    amazon_fake.inject("partial_failure", operation="patchListingsItem")
    channel = amazon_fake.channel()
    results = channel.push_stock(
        [StockUpdate(sku="ISSUE-1", quantity=5), StockUpdate(sku="ISSUE-2", quantity=6)]
    )
    assert results[0].ok is False
    assert results[0].error is not None
    assert results[0].error.code == "5000"
    assert results[1].ok is True
    assert (amazon_fake.quantity("ISSUE-1"), amazon_fake.quantity("ISSUE-2")) == (1, 6)


def test_throttled_patch_keeps_what_went_through(amazon_fake: AmazonFake) -> None:
    for i in range(4):
        amazon_fake.seed_listing(f"T-{i}", quantity=0, price="1.00")
    channel = amazon_fake.channel()
    amazon_fake.override(
        "patchListingsItem",
        429,
        b"",
        headers={"x-amzn-RateLimit-Limit": "5.0"},
        skip=1,  # the second patch is throttled, with a 429 that has no error body
    )
    results = channel.push_stock([StockUpdate(sku=f"T-{i}", quantity=3) for i in range(4)])
    assert results[0].ok
    assert [r.ok for r in results[1:]] == [False, False, False]
    assert all(r.error is not None and r.error.retryable for r in results[1:])
    assert results[1].error is not None
    assert results[1].error.code == "QuotaExceeded"


def test_server_rate_limit_header_is_adopted(amazon_fake: AmazonFake) -> None:
    amazon_fake.set_rate_limit("patchListingsItem", 10.0, 5)
    amazon_fake.seed_listing("RL-1", quantity=1, price="1.00")
    channel = amazon_fake.channel()
    # Paced at 95% of the rate: Amazon counts arrivals, which jitter.
    assert channel.client.buckets["patchListingsItem"].rate == pytest.approx(4.75)
    assert channel.push_stock([StockUpdate(sku="RL-1", quantity=2)])[0].ok
    assert channel.client.buckets["patchListingsItem"].rate == pytest.approx(9.5)


# -- orders ---------------------------------------------------------------------------------


def test_orders_come_oldest_change_first_across_pages(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("O-1", quantity=1000, price="3.00")
    ids = [amazon_fake.place_order("O-1") for _ in range(205)]
    amazon_fake.cancel(ids[0])  # the oldest order changes last
    channel = amazon_fake.channel()
    orders = list(channel.fetch_orders(utcnow() - timedelta(minutes=5)))
    assert amazon_fake.calls["searchOrders"] == 3
    assert len(orders) == 205
    assert orders[-1].order_id == ids[0]
    assert orders[-1].status is OrderStatus.CANCELLED
    assert orders[-1].lines[0].quantity_cancelled == 1
    assert [o.order_id for o in orders[:-1]] == ids[1:]
    assert [o.updated_at for o in orders] == sorted(o.updated_at for o in orders)


def test_order_without_buyer_or_totals_through_the_api(amazon_fake: AmazonFake) -> None:
    now = utcnow()
    amazon_fake.seed_order(
        {
            "orderId": "305-1111111-2222222",
            "createdTime": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "lastUpdatedTime": (now - timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "fulfillment": {"fulfillmentStatus": "PENDING", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "orderItemId": "11111111111111",
                    "quantityOrdered": 3,
                    "product": {"asin": "B000000001", "sellerSku": "PENDING-SKU"},
                }
            ],
        }
    )
    (order,) = amazon_fake.channel().fetch_orders(now - timedelta(minutes=5))
    assert order.status is OrderStatus.PENDING
    assert (order.total, order.customer, order.shipping_address) == (None, None, None)
    assert order.currency == "EUR"
    assert [(ln.sku, ln.quantity_open) for ln in order.lines] == [("PENDING-SKU", 3)]


def test_fba_order_lines_are_flagged(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("FBA-2", quantity=10, price="20.00", fulfilled_by="AMAZON")
    order_id = amazon_fake.place_order("FBA-2", 2)
    order = amazon_fake.channel().fetch_order(order_id)
    assert [ln.fulfilled_by_channel for ln in order.lines] == [True]
    assert "fba" in order.tags


def test_fetch_orders_in_the_future_sends_nothing(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel()
    assert list(channel.fetch_orders(utcnow() + timedelta(hours=1))) == []
    assert amazon_fake.calls["searchOrders"] == 0


def test_push_fulfillment_confirms_once(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("SHIP-1", quantity=5, price="4.00")
    order_id = amazon_fake.place_order("SHIP-1", 3)
    channel = amazon_fake.channel()
    line_id = channel.fetch_order(order_id).lines[0].line_id
    first = Shipment(
        carrier="DHL",
        tracking_number="JJD000390007",
        shipped_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        lines={line_id: 1},
    )
    channel.push_fulfillment(order_id, first)
    order = channel.fetch_order(order_id)
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    assert order.lines[0].quantity_shipped == 1
    channel.push_fulfillment(order_id, first)  # a repeat: already on the order
    assert amazon_fake.calls["confirmShipment"] == 1
    channel.push_fulfillment(order_id, Shipment(carrier="Hermes Lokal", tracking_number="H2"))
    order = channel.fetch_order(order_id)
    assert order.status is OrderStatus.SHIPPED
    assert [(s.carrier, s.tracking_number) for s in order.shipments] == [
        ("DHL", "JJD000390007"),
        ("Hermes Lokal", "H2"),
    ]
    stored = amazon_fake.order(order_id)
    assert stored["packages"][0]["shipTime"] == "2026-11-23T09:00:00.000Z"


def test_push_fulfillment_refuses_fba_and_unknown_orders(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("FBA-3", quantity=5, price="4.00", fulfilled_by="AMAZON")
    order_id = amazon_fake.place_order("FBA-3")
    channel = amazon_fake.channel()
    with pytest.raises(Rejected, match="fulfilled by Amazon"):
        channel.push_fulfillment(order_id, Shipment(carrier="DHL", tracking_number="1"))
    with pytest.raises(NotFound) as caught:
        channel.push_fulfillment(
            "305-0000000-0000000", Shipment(carrier="DHL", tracking_number="1")
        )
    assert caught.value.code == "NotFound"
    assert caught.value.request_id
    assert amazon_fake.calls["confirmShipment"] == 0


def test_cancel_and_webhooks_are_not_offered(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel()
    with pytest.raises(Rejected, match="Seller Central"):
        channel.cancel_order("305-1")
    with pytest.raises(WebhookVerificationError, match="SQS"):
        channel.parse_webhook({}, b"{}")


# -- errors and auth -------------------------------------------------------------------------


def test_wrong_lwa_secret_is_an_auth_error(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel(lwa_client_secret="not-the-secret")
    with pytest.raises(AuthError) as caught:
        list(channel.fetch_listings())
    assert caught.value.status == 401
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value)
    assert "not-the-secret" not in (caught.value.raw or "")
    assert "not-the-secret" not in repr(channel.config)
    bad_token = amazon_fake.channel(refresh_token="Atzr|revoked")
    with pytest.raises(AuthError) as caught:
        bad_token.fetch_order("305-1")
    assert (caught.value.status, caught.value.code) == (400, "invalid_grant")


def test_wrong_secret_is_refused_even_after_a_good_token(amazon_fake: AmazonFake) -> None:
    # The SDK's module-global cache is keyed by refresh token only: a second account with
    # the same refresh token and a wrong secret would silently reuse the first one's token.
    amazon_fake.seed_listing("A-1", quantity=1, price="1.00")
    assert [lst.sku for lst in amazon_fake.channel().fetch_listings()] == ["A-1"]
    with pytest.raises(AuthError):
        list(amazon_fake.channel(lwa_client_secret="wrong").fetch_listings())


def test_expired_token_is_refused_then_refreshed(amazon_fake: AmazonFake) -> None:
    amazon_fake.seed_listing("E-1", quantity=1, price="1.00")
    channel = amazon_fake.channel()
    assert len(list(channel.fetch_listings())) == 1
    amazon_fake.expire_tokens()
    with pytest.raises(AuthError) as caught:
        list(channel.fetch_listings())
    assert caught.value.status == 403
    assert caught.value.code == "Unauthorized"
    assert "expired" in caught.value.message
    assert len(list(channel.fetch_listings())) == 1  # the refused token was dropped
    assert channel.client.gateway.tokens.refreshes == 2


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (429, b"", RateLimited, "QuotaExceeded"),
        (429, b'{"message": "Too Many Requests"}', RateLimited, "QuotaExceeded"),
        (503, b"<html><body>Service Unavailable</body></html>", Unavailable, None),
        (500, b"", Unavailable, None),
        (
            400,
            b'{"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}',
            Rejected,
            "InvalidInput",
        ),
    ],
)
def test_error_bodies_without_errors_key_still_raise(
    amazon_fake: AmazonFake, status: int, body: bytes, error: type[Exception], code: str | None
) -> None:
    # python-amazon-sp-api turns these into an empty ApiResponse; the gateway must not.
    amazon_fake.override("searchOrders", status, body, headers={"x-amzn-RequestId": "req-1"})
    channel = amazon_fake.channel()
    with pytest.raises(error) as caught:
        list(channel.fetch_orders(utcnow() - timedelta(minutes=1)))
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.request_id == "req-1"  # type: ignore[attr-defined]
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == pytest.approx(1 / 0.0056)


def test_throttle_answer_carries_amazons_shape(amazon_fake: AmazonFake) -> None:
    amazon_fake.inject("throttle", operation="getOrder")
    with pytest.raises(RateLimited) as caught:
        amazon_fake.channel().fetch_order("305-1")
    assert caught.value.code == "QuotaExceeded"
    assert caught.value.message.startswith("You exceeded your quota")
    assert caught.value.retry_after == pytest.approx(1 / 0.5)


def test_fake_enforces_its_own_buckets(amazon_fake: AmazonFake) -> None:
    amazon_fake.set_rate_limit("getOrder", 0.01, 2)
    amazon_fake.seed_listing("B-1", quantity=5, price="1.00")
    order_id = amazon_fake.place_order("B-1")
    channel = amazon_fake.channel()
    channel.client.buckets["getOrder"].capacity = 10  # a client that does not pace
    channel.client.buckets["getOrder"].sync(10)
    channel.fetch_order(order_id)
    channel.fetch_order(order_id)
    with pytest.raises(RateLimited) as caught:
        channel.fetch_order(order_id)
    assert caught.value.status == 429
    last = amazon_fake.calls.records("getOrder")[-1]
    assert last.status == 429


def test_fake_upload_checks_content_type_and_serves_gzip(amazon_fake: AmazonFake) -> None:
    import httpx

    channel = amazon_fake.channel()
    doc = channel.client.create_feed_document("application/json; charset=UTF-8")
    refused = httpx.put(doc.url, content=b"{}", headers={"content-type": "text/plain"})
    assert refused.status_code == 403
    assert b"SignatureDoesNotMatch" in refused.content
    assert (
        httpx.put(
            doc.url, content=b"{}", headers={"content-type": "application/json; charset=UTF-8"}
        ).status_code
        == 200
    )
    feed = channel.client.create_feed("JSON_LISTINGS_FEED", doc.feed_document_id)
    while (status := channel.client.get_feed(feed.feed_id)).processing_status != "FATAL":
        assert status.processing_status == "IN_PROGRESS"
    assert status.result_feed_document_id is not None
    meta = channel.client.gateway.get_feed_document(status.result_feed_document_id).body
    assert meta["compressionAlgorithm"] == "GZIP"
    report: dict[str, Any] = json.loads(gzip.decompress(httpx.get(meta["url"]).content))
    assert report["issues"][0]["code"] == "4000000"
    assert report["summary"]["messagesProcessed"] == 0


def test_listings_page_through_twenty_at_a_time(amazon_fake: AmazonFake) -> None:
    for i in range(45):
        amazon_fake.seed_listing(f"L-{i:02d}", quantity=i, price="2.00", product_type="TOYS")
    listings = list(amazon_fake.channel().fetch_listings())
    assert [lst.sku for lst in listings] == [f"L-{i:02d}" for i in range(45)]
    assert [lst.quantity for lst in listings] == list(range(45))
    assert {lst.ids["productType"] for lst in listings} == {"TOYS"}
    assert amazon_fake.calls["searchListingsItems"] == 3


def test_a_timeout_is_unavailable(amazon_fake: AmazonFake) -> None:
    amazon_fake.client_timeout = 0.3
    channel = amazon_fake.channel()
    amazon_fake.inject("timeout", operation="getOrder")
    with pytest.raises(Unavailable, match="timed out"):
        channel.fetch_order("305-1")
