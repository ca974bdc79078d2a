"""EbayChannel against the eBay fake: both listing worlds, batching, errors, orders, XML."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from channelsync.adapters.ebay import EbayChannel
from channelsync.adapters.ebay.mapping import revise_inventory_status_request
from channelsync.core.channel import PriceUpdate, StockUpdate
from channelsync.core.errors import AuthError, NotFound, RateLimited, Rejected, Unavailable
from channelsync.core.models import Listing, Money, OrderStatus, Shipment, utcnow
from channelsync.sandbox.ebay import EbayFake


def _listings(channel: EbayChannel) -> dict[str, Listing]:
    return {lst.sku: lst for lst in channel.fetch_listings()}


def test_fetch_listings_tells_the_two_worlds_apart(fake: EbayFake) -> None:
    fake.seed_listing("TR-1", quantity=4, price="10.00", title="Trading listing")
    fake.seed_listing("INV-1", quantity=6, price="12.50", world="inventory_api")
    fake.seed_listing("VAR-S", quantity=2, price="5.00", group="Shirt", title="S")
    fake.seed_listing("VAR-M", quantity=3, price="5.50", group="Shirt", title="M")
    channel = fake.channel()
    found = _listings(channel)
    assert set(found) == {"TR-1", "INV-1", "VAR-S", "VAR-M"}  # INV-1 once, not twice
    assert found["TR-1"].ids == {
        "world": "trading",
        "item_id": fake.item_id("TR-1"),
        "tracking": "ItemID",
    }
    assert found["INV-1"].ids["world"] == "inventory_api"
    assert found["INV-1"].ids["item_id"] == fake.item_id("INV-1")
    assert found["INV-1"].quantity == 6
    assert found["INV-1"].price == Money.of("12.50", "EUR")
    assert found["VAR-M"].ids["variation_sku"] == "VAR-M"
    assert found["VAR-M"].listing_id == found["VAR-S"].listing_id
    assert (found["VAR-M"].quantity, found["VAR-M"].price) == (3, Money.of("5.50", "EUR"))


@pytest.mark.slow
def test_thousand_listings_per_world_take_250_and_40_calls(fake: EbayFake) -> None:
    for i in range(1000):
        fake.seed_listing(f"T-{i:04d}", quantity=1, price="2.00")
        fake.seed_listing(f"I-{i:04d}", quantity=1, price="2.00", world="inventory_api")
    channel = fake.channel()
    found = _listings(channel)
    assert len(found) == 2000
    trading = [StockUpdate(sku=s, quantity=9, listing=x) for s, x in found.items() if s[0] == "T"]
    before = fake.calls["ReviseInventoryStatus"]
    results = channel.push_stock(trading)
    assert all(r.ok for r in results)
    assert len(results) == 1000
    assert fake.calls["ReviseInventoryStatus"] - before == 250
    assert {r.items for r in fake.calls.records("ReviseInventoryStatus")} == {4}
    inventory = [StockUpdate(sku=s, quantity=9, listing=x) for s, x in found.items() if s[0] == "I"]
    results = channel.push_stock(inventory)
    assert all(r.ok for r in results)
    assert fake.calls["bulkUpdatePriceQuantity"] == 40
    assert {r.items for r in fake.calls.records("bulkUpdatePriceQuantity")} == {25}
    assert channel.call_counts["ReviseInventoryStatus"] == 250
    assert channel.call_counts["bulkUpdatePriceQuantity"] == 40
    assert {fake.quantity(f"T-{i:04d}") for i in range(0, 1000, 97)} == {9}
    assert {fake.quantity(f"I-{i:04d}") for i in range(0, 1000, 97)} == {9}


def test_one_failing_item_of_a_mixed_batch_is_reported_alone(fake: EbayFake) -> None:
    for sku in ("M-1", "M-2", "M-3"):
        fake.seed_listing(sku, quantity=1, price="3.00")
    fake.seed_listing("M-INV", quantity=1, price="3.00", world="inventory_api")
    channel = fake.channel()
    found = _listings(channel)
    gone = found["M-2"].model_copy(update={"ids": {**found["M-2"].ids, "item_id": "999999999999"}})
    gone_inv = Listing(
        kind="ebay",
        account="ebay-de",
        sku="M-GONE",
        listing_id="x",
        ids={"world": "inventory_api", "offer_id": "404404"},
    )
    results = {
        r.sku: r
        for r in channel.push_stock(
            [
                StockUpdate(sku="M-1", quantity=5, listing=found["M-1"]),
                StockUpdate(sku="M-2", quantity=5, listing=gone),
                StockUpdate(sku="M-3", quantity=5, listing=found["M-3"]),
                StockUpdate(sku="M-INV", quantity=5, listing=found["M-INV"]),
                StockUpdate(sku="M-GONE", quantity=5, listing=gone_inv),
            ]
        )
    }
    assert {s for s, r in results.items() if r.ok} == {"M-1", "M-3", "M-INV"}
    assert results["M-2"].error is not None
    assert results["M-2"].error.code == "17"
    assert "cannot be accessed" in results["M-2"].error.message
    assert results["M-GONE"].error is not None
    assert results["M-GONE"].error.code == "25702"
    assert [fake.quantity(s) for s in ("M-1", "M-2", "M-3", "M-INV")] == [5, 1, 5, 5]
    assert fake.calls["ReviseInventoryStatus"] == 1
    assert fake.calls["bulkUpdatePriceQuantity"] == 1


def test_each_world_refuses_the_other_worlds_write(fake: EbayFake) -> None:
    fake.seed_listing("W-TR", quantity=1, price="3.00")
    fake.seed_listing("W-INV", quantity=1, price="3.00", world="inventory_api")
    channel = fake.channel()
    found = _listings(channel)
    swapped = {
        "W-TR": found["W-TR"].model_copy(
            update={"ids": {"world": "inventory_api", "offer_id": "1"}}
        ),
        "W-INV": found["W-INV"].model_copy(
            update={"ids": {"world": "trading", "item_id": found["W-INV"].ids["item_id"]}}
        ),
    }
    results = {
        r.sku: r
        for r in channel.push_stock(
            [StockUpdate(sku=s, quantity=2, listing=x) for s, x in swapped.items()]
        )
    }
    assert results["W-INV"].error is not None
    assert results["W-INV"].error.code == "240"
    assert "Inventory API" in results["W-INV"].error.message
    assert results["W-TR"].error is not None
    assert results["W-TR"].error.code == "25702"
    assert (fake.quantity("W-TR"), fake.quantity("W-INV")) == (1, 1)


def test_partial_failure_fault_fails_one_item_retryably(fake: EbayFake) -> None:
    for sku in ("P-1", "P-2"):
        fake.seed_listing(sku, quantity=1, price="3.00")
    channel = fake.channel()
    found = _listings(channel)
    fake.inject("partial_failure", operation="ReviseInventoryStatus")
    results = channel.push_stock([StockUpdate(sku=s, quantity=4, listing=found[s]) for s in found])
    assert [r.ok for r in results] == [False, True]
    assert results[0].error is not None
    assert results[0].error.code == "10007"
    assert results[0].error.retryable is True


def test_prices_by_both_routes_and_wrong_currency_refused(fake: EbayFake) -> None:
    fake.seed_listing("PR-TR", quantity=1, price="3.00")
    fake.seed_listing("PR-V", quantity=1, price="3.00", group="Mug")
    fake.seed_listing("PR-INV", quantity=1, price="3.00", world="inventory_api")
    channel = fake.channel()
    found = _listings(channel)
    results = {
        r.sku: r
        for r in channel.push_prices(
            [
                PriceUpdate(sku="PR-TR", price=Money.of("4.25", "EUR"), listing=found["PR-TR"]),
                PriceUpdate(sku="PR-V", price=Money.of("5.25", "EUR"), listing=found["PR-V"]),
                PriceUpdate(sku="PR-INV", price=Money.of("6.25", "EUR"), listing=found["PR-INV"]),
                PriceUpdate(sku="PR-USD", price=Money.of("1.00", "USD"), listing=found["PR-TR"]),
            ]
        )
    }
    assert [results[s].ok for s in ("PR-TR", "PR-V", "PR-INV")] == [True, True, True]
    assert results["PR-USD"].error is not None
    assert results["PR-USD"].error.code == "CURRENCY"
    assert [fake.price(s) for s in ("PR-TR", "PR-V", "PR-INV")] == [
        Decimal("4.25"),
        Decimal("5.25"),
        Decimal("6.25"),
    ]


def test_unknown_sku_without_listing_is_an_item_error_and_no_call(fake: EbayFake) -> None:
    channel = fake.channel()
    (result,) = channel.push_stock([StockUpdate(sku="NOPE", quantity=1)])
    assert result.error is not None
    assert result.error.code == "NO_LISTING"
    assert fake.calls.total == 0


def test_more_than_four_inventory_status_is_refused_by_the_fake(fake: EbayFake) -> None:
    channel = fake.channel()
    data = {"InventoryStatus": [{"ItemID": str(i), "Quantity": "1"} for i in range(5)]}
    with pytest.raises(Rejected) as caught:
        channel.trading.call("ReviseInventoryStatus", data)
    assert caught.value.code == "21916254"
    with pytest.raises(ValueError, match="1 to 4"):
        revise_inventory_status_request([{"ItemID": str(i)} for i in range(5)])


def test_tokens_are_checked_and_an_expired_oauth_token_is_refreshed(fake: EbayFake) -> None:
    fake.seed_listing("TOK-1", quantity=1, price="3.00")
    channel = fake.channel()
    fake.expire_tokens()
    assert [x.sku for x in channel.fetch_listings()] == ["TOK-1"]
    assert channel.tokens.refreshes == 1
    bad = fake.channel(user_token="v^1.1#forged", refresh_token=None)
    with pytest.raises(AuthError) as caught:
        list(bad.fetch_listings())
    assert caught.value.code == "21916984"
    wrong_refresh = fake.channel(refresh_token="v^1.1#stolen")
    fake.expire_tokens()
    with pytest.raises(AuthError, match="refresh_token grant"):
        list(wrong_refresh.fetch_orders(utcnow() - timedelta(hours=1)))


def test_auth_n_auth_account_reaches_trading_only(fake: EbayFake) -> None:
    fake.seed_listing("AA-TR", quantity=2, price="3.00")
    fake.seed_listing("AA-INV", quantity=2, price="3.00", world="inventory_api")
    channel = fake.channel(auth="auth_n_auth")
    found = _listings(channel)
    # Without OAuth the Inventory API listing is seen only as a Trading listing it cannot be.
    assert set(found) == {"AA-TR", "AA-INV"}
    assert found["AA-INV"].ids["world"] == "trading"
    result = {r.sku: r for r in channel.push_stock([StockUpdate(sku="AA-TR", quantity=1)])}
    assert result["AA-TR"].ok
    assert fake.quantity("AA-TR") == 1


def test_faults_map_to_transient_errors(fake: EbayFake) -> None:
    fake.seed_listing("F-INV", quantity=1, price="3.00", world="inventory_api")
    channel = fake.channel()
    found = _listings(channel)
    fake.inject("throttle", operation="bulkUpdatePriceQuantity")
    with pytest.raises(RateLimited) as throttled:
        channel.push_stock([StockUpdate(sku="F-INV", quantity=2, listing=found["F-INV"])])
    assert throttled.value.status == 429
    assert throttled.value.code == "2001"
    fake.inject("server_error", operation="GetOrders")
    with pytest.raises(Unavailable) as down:
        list(channel.fetch_orders(utcnow() - timedelta(hours=1)))
    assert down.value.code == "10007"


def test_orders_page_oldest_first_and_map_lines(fake: EbayFake) -> None:
    fake.seed_listing("O-1", quantity=50, price="7.00")
    fake.seed_listing("O-V", quantity=50, price="8.00", group="Cup", title="Blau")
    channel = fake.channel(order_page_size=2)
    since = utcnow() - timedelta(minutes=1)
    ids = [fake.place_order("O-1", 2), fake.place_order("O-V"), fake.place_order("O-1")]
    orders = list(channel.fetch_orders(since))
    assert [o.order_id for o in orders] == ids
    assert fake.calls["GetOrders"] == 2  # two pages of two
    first = orders[0]
    assert first.status is OrderStatus.OPEN
    assert first.total == Money.of("18.99", "EUR")
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in first.lines] == [
        ("O-1", 2, Money.of("7.00", "EUR"))
    ]
    assert orders[1].lines[0].sku == "O-V"
    assert orders[1].lines[0].title == "Blau"
    assert fake.quantity("O-1") == 47


def test_fulfillment_by_order_and_by_line_with_escaped_tracking(fake: EbayFake) -> None:
    fake.seed_listing("S-1", quantity=5, price="7.00")
    channel = fake.channel()
    since = utcnow() - timedelta(minutes=1)
    whole = fake.place_order("S-1")
    line_order = fake.place_order("S-1")
    channel.push_fulfillment(whole, Shipment(carrier="Deutsche Post & DHL", tracking_number="<1>"))
    line_id = next(o for o in channel.fetch_orders(since) if o.order_id == line_order).lines[0]
    channel.push_fulfillment(
        line_order, Shipment(carrier="Hermes", tracking_number="H1", lines={line_id.line_id: 1})
    )
    orders = {o.order_id: o for o in channel.fetch_orders(since)}
    assert orders[whole].status is OrderStatus.SHIPPED
    assert orders[whole].shipments[0].carrier == "Deutsche Post & DHL"
    assert orders[whole].shipments[0].tracking_number == "<1>"
    assert orders[line_order].status is OrderStatus.SHIPPED
    assert orders[line_order].shipments[0].tracking_number == "H1"
    with pytest.raises(NotFound) as caught:
        channel.push_fulfillment("99-99999-99999", Shipment(carrier="DHL"))
    assert caught.value.code == "20822"


def test_cancel_order_through_post_order(fake: EbayFake) -> None:
    fake.seed_listing("C-1", quantity=5, price="7.00")
    channel = fake.channel()
    since = utcnow() - timedelta(minutes=1)
    order_id = fake.place_order("C-1")
    channel.cancel_order(order_id, "out of stock")
    assert fake.cancellations[0]["reason"] == "OUT_OF_STOCK_OR_CANNOT_FULFILL"
    (order,) = list(channel.fetch_orders(since))
    assert order.status is OrderStatus.CANCELLED
    shipped = fake.place_order("C-1")
    channel.push_fulfillment(shipped, Shipment(carrier="DHL", tracking_number="1"))
    with pytest.raises(Rejected, match="ITEM_LEVEL_ELIGIBILITY_FAILURE") as caught:
        channel.cancel_order(shipped, "buyer asked")
    assert caught.value.code == "ITEM_LEVEL_ELIGIBILITY_FAILURE"
    assert [c["orderId"] for c in fake.cancellations] == [order_id]


def test_xml_with_ampersand_angle_brackets_and_umlauts_round_trips(fake: EbayFake) -> None:
    title = 'Kaffeebecher „Öl & Wasser“ <groß> 100% "Bio"'
    fake.seed_listing("RT-1", quantity=3, price="9.90", title=title)
    since = utcnow() - timedelta(minutes=1)
    fake.seed_order(
        """<Order xmlns="urn:ebay:apis:eBLBaseComponents">
          <OrderID>27-12345-67890</OrderID>
          <OrderStatus>Completed</OrderStatus>
          <CheckoutStatus><Status>Complete</Status></CheckoutStatus>
          <CreatedTime>2026-11-23T08:00:00.000Z</CreatedTime>
          <ShippingAddress>
            <Name>Zoë &amp; Jürgen Öztürk</Name>
            <Street1>Straße &lt;des 17. Juni&gt; 5</Street1>
            <CityName>München</CityName><PostalCode>80331</PostalCode>
            <Country>DE</Country>
          </ShippingAddress>
          <Total currencyID="EUR">9.90</Total>
          <TransactionArray><Transaction>
            <Item><ItemID>1</ItemID><SKU>RT-1</SKU>
              <Title>Kaffeebecher „Öl &amp; Wasser“ &lt;groß&gt; 100% "Bio"</Title></Item>
            <QuantityPurchased>1</QuantityPurchased>
            <TransactionID>5</TransactionID>
            <TransactionPrice currencyID="EUR">9.90</TransactionPrice>
            <OrderLineItemID>1-5</OrderLineItemID>
          </Transaction></TransactionArray>
          <PaidTime>2026-11-23T08:01:00.000Z</PaidTime>
        </Order>"""
    )
    channel = fake.channel()
    assert _listings(channel)["RT-1"].title == title
    (order,) = list(channel.fetch_orders(since))
    assert order.lines[0].title == title
    assert order.shipping_address is not None
    assert order.shipping_address.name == "Zoë & Jürgen Öztürk"
    assert order.shipping_address.lines == ("Straße <des 17. Juni> 5",)
    assert order.shipping_address.city == "München"
    channel.push_fulfillment(
        order.order_id, Shipment(carrier="Müller & Söhne <Spedition>", tracking_number="Ä&1")
    )
    (shipped,) = [o for o in channel.fetch_orders(since) if o.order_id == order.order_id]
    assert shipped.shipments[0].carrier == "Müller & Söhne <Spedition>"
    assert shipped.shipments[0].tracking_number == "Ä&1"


def test_order_window_is_clamped_to_ninety_days_and_lag(fake: EbayFake) -> None:
    channel = fake.channel(order_window_days=30, mod_time_lag_seconds=120)
    assert list(channel.fetch_orders(utcnow() - timedelta(days=400))) == []
    assert fake.calls["GetOrders"] == 3  # 90 days in windows of 30
    assert list(channel.fetch_orders(utcnow() - timedelta(seconds=60))) == []
    assert fake.calls["GetOrders"] == 3  # nothing older than the 2-minute lag to ask for
