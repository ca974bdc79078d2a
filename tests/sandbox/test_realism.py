"""The fakes' real-world behaviours (on by default), checked with the vendors' own clients
where one exists (``woocommerce``, ``ShopifyAPI``; python-amazon-sp-api and ebaysdk are the
adapters' own gateways), on a ManualClock so minutes pass in no time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from channelsync.core.channel import StockUpdate
from channelsync.sandbox import ManualClock, Sandbox

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox's hand-moved clock (overrides the shared one)."""
    return ManualClock()


@pytest.fixture
def sb(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock) as sandbox:
        yield sandbox


# -- Amazon -----------------------------------------------------------------------------------


def test_amazon_applies_an_accepted_patch_minutes_later(sb: Sandbox, clock: ManualClock) -> None:
    fake = sb.amazon
    assert (fake.patch_apply_delay, fake.feed_processing_seconds) == (180.0, 120.0)
    fake.seed_listing("AZ-1", quantity=10, price="5.00")
    channel = fake.channel(clock=clock, sleep=clock.sleep)
    listing = channel.fetch_listing("AZ-1")
    [result] = channel.push_stock([StockUpdate(sku="AZ-1", quantity=3, listing=listing)])
    assert result.ok  # ACCEPTED
    assert channel.fetch_listing("AZ-1").quantity == 10  # read back: still the old value
    fake.place_order("AZ-1", 2)  # buyers buy what it shows meanwhile
    clock.advance(179)
    assert fake.quantity("AZ-1") == 8
    clock.advance(1)
    assert fake.quantity("AZ-1") == 3  # the absolute value lands, over the sale
    assert channel.fetch_listing("AZ-1").quantity == 3


def test_amazon_feeds_take_their_processing_time(sb: Sandbox, clock: ManualClock) -> None:
    fake = sb.amazon
    skus = [f"AF-{i:03d}" for i in range(60)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="5.00")
    # Told a feed takes a second, the channel picks the feed route for 60 SKUs.
    channel = fake.channel(
        clock=clock, sleep=clock.sleep, feed_poll_interval=30.0, feed_processing_estimate=1.0
    )
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    started = clock()
    results = channel.push_stock(
        [StockUpdate(sku=s, quantity=7, listing=listings[s]) for s in skus]
    )
    assert channel.last_routes == ["feed"]
    assert all(r.ok for r in results)
    assert (clock() - started).total_seconds() >= 120  # polled until Amazon was done
    assert fake.calls["getFeed"] >= 4
    assert {fake.quantity(s) for s in skus} == {7}


def test_amazon_order_search_lags_and_lastupdatedbefore_must_be_two_minutes_old(
    sb: Sandbox, clock: ManualClock
) -> None:
    fake = sb.amazon
    fake.seed_listing("AO-1", quantity=5, price="5.00")
    channel = fake.channel(clock=clock, sleep=clock.sleep)
    since = clock()
    clock.advance(1)
    order_id = fake.place_order("AO-1")
    assert [o.order_id for o in channel.fetch_orders(since)] == []  # not indexed yet
    assert channel.read_order(order_id).order_id == order_id  # getOrder reads it at once
    clock.advance(120)
    assert [o.order_id for o in channel.fetch_orders(since)] == [order_id]
    with httpx.Client(base_url=fake.url) as http:
        headers = {"x-amz-access-token": _lwa(http, fake)}
        too_new = http.get(
            "/orders/2026-01-01/orders",
            params={
                "lastUpdatedAfter": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastUpdatedBefore": clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "marketplaceIds": fake.marketplace_ids[0],
            },
            headers=headers,
        )
        assert too_new.status_code == 400
        assert too_new.json()["errors"][0]["code"] == "InvalidInput"
        # Orders v0 getOrders is not served: answered in SP-API's error shape.
        v0 = http.get("/orders/v0/orders", params={"MarketplaceIds": "x"}, headers=headers)
        assert v0.status_code == 404
        assert v0.headers["content-type"].startswith("application/json")
        assert v0.json()["errors"][0]["code"] == "NotFound"
        assert "x-amzn-requestid" in v0.headers


def _lwa(http: httpx.Client, fake: Any) -> str:
    answer = http.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": fake.refresh_token,
            "client_id": fake.lwa_client_id,
            "client_secret": fake.lwa_client_secret,
        },
    )
    return str(answer.json()["access_token"])


def test_amazon_publishes_order_change_to_the_sandbox_sqs(clock: ManualClock) -> None:
    from channelsync.adapters.amazon.webhooks import OrderChangeReader

    with Sandbox(channels=["amazon"], clock=clock, amazon_notifications=True) as sb:
        assert sb.sqs is not None
        assert sb.sqs.endpoint_url is not None
        assert sb.sqs.endpoint_url.startswith("http://127.0.0.1:")
        sb.amazon.seed_listing("AN-1", quantity=5, price="5.00")
        order_id = sb.amazon.place_order("AN-1", 2)
        sb.sqs.flush()
        channel = sb.amazon.channel(
            clock=clock,
            notifications_queue_url=sb.sqs.queue_url,
            notifications_endpoint_url=sb.sqs.endpoint_url,
            notifications_region=sb.sqs.region,
            aws_access_key_id=sb.sqs.access_key_id,
            aws_secret_access_key=sb.sqs.secret_access_key,
        )
        handled: list[Any] = []
        reader = OrderChangeReader.for_channel(channel, handler=handled.append, wait_seconds=1)
        assert reader is not None
        received = deleted = 0
        for _ in range(5):  # SQS may answer a receive empty while a message is on its way
            result = reader.poll()
            received, deleted = received + result.received, deleted + result.deleted
            if handled:
                break
        assert [o.order_id for o in handled] == [order_id]
        assert (received, deleted) == (1, 1)


# -- eBay -------------------------------------------------------------------------------------


def test_ebay_caps_revisions_per_listing_per_day(sb: Sandbox, clock: ManualClock) -> None:
    fake = sb.ebay
    assert (fake.revisions_per_day, fake.revise_burst, fake.revise_window) == (250, 6000, 15.0)
    assert fake.daily_call_quota == 5000
    fake.revisions_per_day = 3  # explicitly lowered: three writes make the point
    fake.seed_listing("EB-1", quantity=1, price="5.00")
    channel = fake.channel(clock=clock)
    listing = next(iter(channel.fetch_listings()))
    outcomes = [
        channel.push_stock([StockUpdate(sku="EB-1", quantity=q, listing=listing)])[0]
        for q in (2, 3, 4, 5)
    ]
    assert [r.ok for r in outcomes] == [True, True, True, False]
    assert outcomes[3].error is not None
    assert outcomes[3].error.code == "240"
    assert "revised 3 times today" in outcomes[3].error.message
    assert fake.quantity("EB-1") == 4
    clock.advance(24 * 3600)  # the next eBay day
    assert channel.push_stock([StockUpdate(sku="EB-1", quantity=5, listing=listing)])[0].ok


def test_ebay_blocks_bursts_of_revise_calls(sb: Sandbox, clock: ManualClock) -> None:
    fake = sb.ebay
    fake.revise_burst = 2  # explicitly lowered from 6,000 per 15 s
    for i in range(3):
        fake.seed_listing(f"EBB-{i}", quantity=1, price="5.00")
    channel = fake.channel(clock=clock)
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    ok = [
        channel.push_stock([StockUpdate(sku=s, quantity=2, listing=listings[s])])[0].ok
        for s in ("EBB-0", "EBB-1")
    ]
    assert ok == [True, True]
    with pytest.raises(cs_errors().RateLimited):
        channel.push_stock([StockUpdate(sku="EBB-2", quantity=2, listing=listings["EBB-2"])])


def cs_errors() -> Any:
    import channelsync.core.errors as errors

    return errors


def test_ebay_order_searches_lag_and_unserved_calls_answer_as_trading(
    sb: Sandbox, clock: ManualClock
) -> None:
    fake = sb.ebay
    fake.seed_listing("EO-1", quantity=5, price="5.00")
    channel = fake.channel(clock=clock, mod_time_lag_seconds=0)
    since = clock()
    clock.advance(1)
    order_id = fake.place_order("EO-1")
    assert list(channel.fetch_orders(since)) == []  # GetOrders by time: not yet
    assert channel.read_order(order_id) is not None  # by id: at once
    clock.advance(max(fake.order_search_lag))
    assert [o.order_id for o in channel.fetch_orders(since)] == [order_id]
    with httpx.Client(base_url=fake.url) as http:
        answer = http.post(
            "/ws/api.dll",
            content=b'<?xml version="1.0"?><GetSellerListRequest xmlns="urn:ebay:apis:'
            b'eBLBaseComponents"/>',
            headers={
                "X-EBAY-API-CALL-NAME": "GetSellerList",
                "X-EBAY-API-SITEID": "77",
                "X-EBAY-API-COMPATIBILITY-LEVEL": "1423",
                "X-EBAY-API-APP-NAME": fake.APP_ID,
            },
        )
    assert answer.status_code == 200
    assert b"<Ack>Failure</Ack>" in answer.content
    assert b"<ErrorCode>2</ErrorCode>" in answer.content


# -- Shopify ----------------------------------------------------------------------------------


def _shopify(fake: Any) -> Any:
    import shopify

    session = shopify.Session(fake.shop, "2026-01", fake.access_token)
    shopify.ShopifyResource.activate_session(session)
    shopify.ShopifyResource.set_site(f"{fake.url}/admin/api/2026-01")  # the loopback fake
    return shopify


QUANTITIES = """
query ($sku: String!, $location: ID!) { productVariants(first: 1, query: $sku) { nodes {
  inventoryItem { inventoryLevel(locationId: $location) {
  quantities(names: ["available", "committed", "on_hand"]) { name quantity } } } } } }
"""


def test_shopify_commits_units_of_unfulfilled_orders(sb: Sandbox) -> None:
    fake = sb.shopify
    fake.seed_listing("SC-1", quantity=5, price="5.00")
    fake.place_order("SC-1", 2)
    shopify = _shopify(fake)
    try:
        variables = {"sku": "sku:SC-1", "location": "gid://shopify/Location/1"}
        body = json.loads(shopify.GraphQL().execute(QUANTITIES, variables))
    finally:
        shopify.ShopifyResource.clear_session()
    [variant] = body["data"]["productVariants"]["nodes"]
    level = variant["inventoryItem"]["inventoryLevel"]
    got = {q["name"]: q["quantity"] for q in level["quantities"]}
    assert got == {"available": 3, "committed": 2, "on_hand": 5}
    assert fake.quantities("SC-1") == {"available": 3, "committed": 2, "on_hand": 5}


def test_shopify_throttled_has_one_answer(sb: Sandbox) -> None:
    fake = sb.shopify
    shopify = _shopify(fake)
    try:
        fake.inject("throttle")
        injected = json.loads(shopify.GraphQL().execute("{ shop { currencyCode } }"))
        fake.set_plan(bucket_size=1, restore_rate=1)
        shopify.GraphQL().execute("{ shop { currencyCode } }")  # the bucket's last point
        earned = json.loads(shopify.GraphQL().execute("{ shop { currencyCode } }"))
    finally:
        shopify.ShopifyResource.clear_session()
    for body in (injected, earned):
        assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert set(injected["extensions"]["cost"]) == set(earned["extensions"]["cost"])


# -- WooCommerce ------------------------------------------------------------------------------


def test_woocommerce_speaks_oauth1_over_http_with_the_official_client(sb: Sandbox) -> None:
    from woocommerce import API

    fake = sb.woocommerce
    fake.seed_listing("WC-1", quantity=4, price="5.00")
    api = API(url=fake.url, consumer_key=fake.consumer_key, consumer_secret=fake.consumer_secret)
    listed = api.get("products", params={"sku": "WC-1"})
    assert listed.status_code == 200
    assert [p["stock_quantity"] for p in listed.json()] == [4]
    product = listed.json()[0]["id"]
    updated = api.put(f"products/{product}", {"stock_quantity": 9})
    assert updated.status_code == 200
    assert fake.quantity("WC-1") == 9
    forged = API(url=fake.url, consumer_key=fake.consumer_key, consumer_secret="cs_wrong")
    assert forged.get("products").json()["code"] == "woocommerce_rest_authentication_error"
    basic = httpx.get(
        f"{fake.url}/wp-json/wc/v3/products", auth=(fake.consumer_key, fake.consumer_secret)
    )
    assert basic.json()["code"] == "woocommerce_rest_cannot_view"  # no Basic without TLS


def test_woocommerce_holds_stock_for_unpaid_checkouts(sb: Sandbox, clock: ManualClock) -> None:
    fake = sb.woocommerce
    assert fake.hold_stock_minutes == 60.0
    fake.seed_listing("WH-1", quantity=5, price="5.00")
    first = fake.begin_checkout("WH-1", 3)
    assert (fake.quantity("WH-1"), fake.held("WH-1")) == (5, 3)  # stock_quantity unchanged
    with pytest.raises(ValueError, match="Not enough units of WH-1"):
        fake.place_order("WH-1", 3)  # only 2 can be bought meanwhile
    fake.place_order("WH-1", 1)
    assert fake.quantity("WH-1") == 4
    second = fake.begin_checkout("WH-1", 1)
    fake.pay(second)  # paid: the stock drops, the hold goes
    assert (fake.quantity("WH-1"), fake.held("WH-1")) == (3, 3)
    clock.advance(60 * 60)  # the hold runs out: WooCommerce cancels the unpaid order
    assert fake.held("WH-1") == 0
    assert fake.order_json(first)["status"] == "cancelled"
    assert fake.quantity("WH-1") == 3
