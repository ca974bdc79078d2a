"""Stock per location on Shopify: the adapter against the fake's several locations.

The two-warehouse case of issue 13 at the adapter level (berlin 4, hamburg 9), pushes
across locations within Shopify's 250 quantities a call, compare-and-swap per location,
items not stocked at a location, orders assigned (or split) to locations, fulfilments and
refunds per location, and the doctor's location checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import channelsync as cs
from channelsync.adapters.shopify import ShopifyChannel
from channelsync.adapters.shopify._plugin import location_checks
from channelsync.adapters.shopify.mapping import LineLocation, line_locations, listing_from_variant
from channelsync.adapters.shopify.payloads import (
    GqlVariant,
    InventoryLevel,
    LocatedFulfillmentOrder,
)
from channelsync.core.channel import RefundOperation, StockUpdate
from channelsync.core.errors import Unavailable
from channelsync.core.models import Listing, Money, Order, Shipment
from channelsync.sandbox.shopify import ShopifyFake

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
PRIMARY = "gid://shopify/Location/1"


@pytest.fixture
def warehouses(fake: ShopifyFake) -> tuple[str, str]:
    """Two more locations, berlin and hamburg, with MUG stocked 4 and 9 there."""
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("MUG", quantity=4, price="12.00", location=berlin)
    fake.seed_listing("MUG", quantity=9, price="12.00", location=hamburg)
    return berlin, hamburg


def _listings(channel: ShopifyChannel) -> dict[str, Listing]:
    return {lst.sku: lst for lst in channel.fetch_listings()}


def _orders(channel: ShopifyChannel) -> list[Order]:
    found = list(channel.fetch_orders(SINCE))
    assert all(isinstance(o, Order) for o in found), found
    return [o for o in found if isinstance(o, Order)]


# -- the two warehouses ------------------------------------------------------------------------


def test_two_warehouses_import_push_and_order(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    listing = _listings(channel)["MUG"]
    assert listing.levels == {berlin: 4, hamburg: 9}
    # Not stocked at the account's default location (the primary one): no single figure.
    assert (listing.quantity, listing.manages_stock) == (None, True)
    assert listing.ids["location_id"] == PRIMARY
    assert fake.calls["locations"] == 1
    assert fake.calls["productVariants"] == 1
    # Two locations with stock (the primary has none): 5 + 2 x 2 = 9 points a variant,
    # 110 variants a page.
    assert channel.client.throttle.estimate("VariantsLevels", 0) == 2 + 110 * 9

    results = channel.push_stock(
        [
            StockUpdate(sku="MUG", quantity=3, listing=listing, expected=4, location=berlin),
            StockUpdate(sku="MUG", quantity=8, listing=listing, expected=9, location=hamburg),
        ]
    )
    assert [(r.sku, r.location, r.ok, r.quantity) for r in results] == [
        ("MUG", berlin, True, 3),
        ("MUG", hamburg, True, 8),
    ]
    assert [r.items for r in fake.calls.records("inventorySetQuantities")] == [2]  # one call
    assert fake.levels("MUG") == {berlin: 3, hamburg: 8}
    assert fake.quantity("MUG") == 11

    order_id = fake.place_order("MUG", 2, location=berlin)
    [order] = _orders(channel)
    assert order.order_id == order_id
    assert [(ln.sku, ln.quantity, ln.location_id) for ln in order.lines] == [("MUG", 2, berlin)]
    assert fake.quantities("MUG", location=berlin) == {"available": 1, "committed": 2, "on_hand": 3}
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 8,
        "committed": 0,
        "on_hand": 8,
    }
    assert fake.calls["order"] == 0  # one fulfillment order: the orders page said where


def test_default_location_gives_the_listing_its_one_quantity(
    fake: ShopifyFake, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    channel: ShopifyChannel = fake.channel(account="shopify-main", location_id=berlin)
    listing = _listings(channel)["MUG"]
    assert (listing.quantity, listing.levels) == (4, {berlin: 4, hamburg: 9})
    # An update without a location sets the default location, as before locations.
    [result] = channel.push_stock([StockUpdate(sku="MUG", quantity=6, listing=listing, expected=4)])
    assert (result.ok, result.location, result.quantity) == (True, None, 6)
    assert fake.levels("MUG") == {berlin: 6, hamburg: 9}
    channel.close()


def test_a_shop_with_one_location_reads_its_level_alone(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    fake.seed_listing("ONE", quantity=5, price="3.00")
    fake.seed_listing("UNTRACKED", quantity=0, price="3.00", tracked=False)
    listings = _listings(channel)
    assert (listings["ONE"].quantity, listings["ONE"].levels) == (5, {PRIMARY: 5})
    assert listings["UNTRACKED"].levels == {PRIMARY: None}
    assert listings["UNTRACKED"].manages_stock is False
    assert fake.calls["productVariants"] == 1
    assert fake.calls["locations"] == 1
    # The one location's level, 4 points a variant: the page of 200 asks 802.
    assert channel.client.throttle.estimate("Variants", 0) == 802
    assert channel.client.throttle.estimate("VariantsLevels", 0) == 0  # never sent


def test_untracked_items_have_levels_without_quantities(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    fake.seed_listing("GIFT", quantity=0, price="5.00", tracked=False, location=berlin)
    fake.seed_listing("GIFT", quantity=0, price="5.00", tracked=False, location=hamburg)
    listing = _listings(channel)["GIFT"]
    assert listing.levels == {berlin: None, hamburg: None}
    assert listing.manages_stock is False


def test_an_item_stocked_at_more_locations_than_a_page_reads_the_rest(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    places = [fake.add_location(f"store-{n:02d}") for n in range(24)]
    for n, place in enumerate(places):
        fake.seed_listing("WIDE", quantity=n, price="1.00", location=place)
    fake.seed_listing("NARROW", quantity=7, price="1.00", location=places[3])
    listings = _listings(channel)
    assert listings["WIDE"].levels == {place: n for n, place in enumerate(places)}
    assert listings["NARROW"].levels == {places[3]: 7}
    # 25 locations: the page asks 20 levels a variant, the other 4 come from ItemLevels.
    assert fake.calls["inventoryItem"] == 1


# -- pushes across locations -------------------------------------------------------------------


def test_250_quantities_a_call_across_locations(fake: ShopifyFake, channel: ShopifyChannel) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    skus = [f"TWO-{n:03d}" for n in range(126)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00", location=berlin)
        fake.seed_listing(sku, quantity=1, price="1.00", location=hamburg)
    listings = _listings(channel)
    updates = [
        StockUpdate(sku=sku, quantity=n % 7, listing=listings[sku], expected=1, location=where)
        for n, sku in enumerate(skus)
        for where in (berlin, hamburg)
    ]
    results = channel.push_stock(updates)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert [(r.sku, r.location) for r in results] == [(u.sku, u.location) for u in updates]
    # 252 quantities: a full call of 250 and one of 2, never the two locations apart.
    assert [r.items for r in fake.calls.records("inventorySetQuantities")] == [250, 2]
    assert fake.levels("TWO-010") == {berlin: 3, hamburg: 3}
    assert fake.levels("TWO-125") == {berlin: 6, hamburg: 6}


def test_compare_and_swap_is_per_location(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    listing = _listings(channel)["MUG"]
    fake.place_order("MUG", 1, location=hamburg)  # a sale Shopify counted at hamburg
    results = channel.push_stock(
        [
            StockUpdate(sku="MUG", quantity=5, listing=listing, expected=4, location=berlin),
            StockUpdate(sku="MUG", quantity=10, listing=listing, expected=9, location=hamburg),
        ]
    )
    ok, conflict = results
    assert (ok.ok, ok.location, ok.quantity) == (True, berlin, 5)
    assert (conflict.ok, conflict.location) == (False, hamburg)
    assert conflict.error is not None
    assert conflict.error.conflict is True
    assert conflict.error.current == 8
    assert "hamburg" in conflict.error.message
    assert fake.levels("MUG") == {berlin: 5, hamburg: 8}  # the sale stands
    assert fake.calls["inventorySetQuantities"] == 2  # refused whole, berlin sent again
    assert fake.calls["inventoryItem"] == 1  # the re-read of hamburg's level


def test_two_updates_of_one_sku_and_location_keep_the_last(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, _ = warehouses
    listing = _listings(channel)["MUG"]
    first, last = channel.push_stock(
        [
            StockUpdate(sku="MUG", quantity=1, listing=listing, location=berlin),
            StockUpdate(sku="MUG", quantity=2, listing=listing, location=berlin),
        ]
    )
    assert (first.ok, first.error.code if first.error else None) == (False, "SUPERSEDED")
    assert (last.ok, last.quantity) == (True, 2)
    assert fake.quantity("MUG", location=berlin) == 2
    assert [r.items for r in fake.calls.records("inventorySetQuantities")] == [1]


# -- locations where the item is not stocked ---------------------------------------------------


def test_not_stocked_at_a_location_fails_alone_saying_how(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("BERLIN-ONLY", quantity=4, price="2.00", location=berlin)
    listing = _listings(channel)["BERLIN-ONLY"]
    assert listing.levels == {berlin: 4}
    [zero] = channel.push_stock(
        [StockUpdate(sku="BERLIN-ONLY", quantity=0, listing=listing, location=hamburg)]
    )
    # 0 is what hamburg shows without the item: nothing to do.
    assert (zero.ok, zero.location, zero.quantity) == (True, hamburg, 0)
    five, here = channel.push_stock(
        [
            StockUpdate(sku="BERLIN-ONLY", quantity=5, listing=listing, location=hamburg),
            StockUpdate(
                sku="BERLIN-ONLY", quantity=6, listing=listing, expected=4, location=berlin
            ),
        ]
    )
    assert (five.ok, five.location) == (False, hamburg)
    assert five.error is not None
    assert five.error.code == "ITEM_NOT_STOCKED_AT_LOCATION"
    assert five.error.retryable is False
    assert f"hamburg ({hamburg})" in five.error.message
    assert "activate_locations = true" in five.error.message
    assert (here.ok, here.quantity) == (True, 6)
    assert fake.levels("BERLIN-ONLY") == {berlin: 6}
    assert fake.calls["inventoryActivate"] == 0


def test_activate_locations_stocks_the_item_there(fake: ShopifyFake) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("BERLIN-ONLY", quantity=4, price="2.00", location=berlin)
    channel: ShopifyChannel = fake.channel(account="shopify-main", activate_locations=True)
    listing = _listings(channel)["BERLIN-ONLY"]
    update = StockUpdate(
        sku="BERLIN-ONLY", quantity=5, listing=listing, location=hamburg, idempotency_key="k1"
    )
    [result] = channel.push_stock([update])
    assert (result.ok, result.location, result.quantity) == (True, hamburg, 5)
    assert fake.levels("BERLIN-ONLY") == {berlin: 4, hamburg: 5}
    assert fake.calls["inventoryActivate"] == 1
    assert [k for k in fake.state.idempotency if k.startswith("inventoryActivate:")] != []
    # Stocked now: the next push is an ordinary compare-and-swap write.
    [again] = channel.push_stock([update.model_copy(update={"quantity": 7, "expected": 5})])
    assert (again.ok, again.quantity) == (True, 7)
    assert fake.calls["inventoryActivate"] == 1
    channel.close()


def test_a_location_the_shop_does_not_have_is_refused_clearly(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    listing = _listings(channel)["MUG"]
    [result] = channel.push_stock(
        [StockUpdate(sku="MUG", quantity=1, listing=listing, location="424242")]
    )
    assert (result.ok, result.location) == (False, "424242")
    assert result.error is not None
    assert result.error.code == "INVALID_LOCATION"
    assert "gid://shopify/Location/424242" in result.error.message
    assert "locations mapping" in result.error.message


# -- orders at locations -----------------------------------------------------------------------


def test_checkout_routes_to_a_location_with_every_unit(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    small = fake.place_order("MUG", 3)  # berlin has 3: the first location that can
    large = fake.place_order("MUG", 6)  # berlin has 1 left: hamburg
    lines = {o.order_id: o.lines[0].location_id for o in _orders(channel)}
    assert lines == {small: berlin, large: hamburg}
    assert fake.levels("MUG") == {berlin: 1, hamburg: 3}


def test_a_line_split_over_two_locations_counts_where_most_units_are(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str], caplog: Any
) -> None:
    berlin, hamburg = warehouses
    order_id = fake.place_order("MUG", 11)  # no location has 11: Shopify splits 4 + 7
    assert fake.quantities("MUG", location=berlin) == {"available": 0, "committed": 4, "on_hand": 4}
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 2,
        "committed": 7,
        "on_hand": 9,
    }
    [order] = _orders(channel)
    [line] = order.lines
    assert line.location_id == hamburg
    assert line.channel_ids["location_units"] == f"{hamburg}=7,{berlin}=4"
    assert fake.calls["order"] == 1  # one OrderLocations for the two fulfillment orders
    assert f"order {order_id} line {line.line_id} is split over 2 locations" in caplog.text


def test_an_order_of_two_lines_at_two_locations(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    fake.seed_listing("TEE", quantity=5, price="20.00", location=hamburg)
    mug = fake.order(fake.place_order("MUG", 1, location=berlin))["line_items"][0]
    tee = fake.order(fake.place_order("TEE", 1, location=hamburg))["line_items"][0]
    two_lines = {
        "line_items": [
            {**mug, "id": 71, "admin_graphql_api_id": None},
            {**tee, "id": 72, "admin_graphql_api_id": None},
        ],
        "financial_status": "paid",
    }
    fake.state.orders.clear()
    fake.state.fulfillment_orders.clear()
    with fake.lock:
        order_id = fake.state.store_order(
            two_lines, location=berlin, shares={"71": {berlin: 1}, "72": {hamburg: 1}}
        )
    [order] = _orders(channel)
    assert order.order_id == order_id
    assert {ln.sku: ln.location_id for ln in order.lines} == {"MUG": berlin, "TEE": hamburg}
    assert all("location_units" not in ln.channel_ids for ln in order.lines)


def test_an_order_not_routed_yet_carries_no_location_until_it_is(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, _ = warehouses
    order_id = fake.place_order("MUG", 1, location=berlin)
    routed = fake.state.fulfillment_orders[order_id]
    fake.state.fulfillment_orders[order_id] = []  # Shopify routes in the background
    [before] = _orders(channel)
    assert [ln.location_id for ln in before.lines] == [None]
    fake.state.fulfillment_orders[order_id] = routed
    [after] = _orders(channel)
    assert [ln.location_id for ln in after.lines] == [berlin]


def test_fulfilment_of_a_split_order_is_one_fulfillment_per_location(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    order_id = fake.place_order("MUG", 11)
    shipment = Shipment(carrier="DHL", tracking_number="JJD01", shipped_at=None)
    channel.push_fulfillment(order_id, shipment)
    assert fake.calls["fulfillmentCreate"] == 2
    shop_order = fake.order(order_id)
    assert shop_order["fulfillment_status"] == "fulfilled"
    assert sorted(f["location_id"] for f in shop_order["fulfillments"]) == sorted(
        [berlin.rsplit("/", 1)[1], hamburg.rsplit("/", 1)[1]]
    )
    assert fake.quantities("MUG", location=berlin) == {"available": 0, "committed": 0, "on_hand": 0}
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 2,
        "committed": 0,
        "on_hand": 2,
    }
    channel.push_fulfillment(order_id, shipment)  # a retry: nothing left, nothing sent
    assert fake.calls["fulfillmentCreate"] == 2


def test_a_retry_after_one_location_shipped_fulfils_only_the_rest(
    fake: ShopifyFake,
    channel: ShopifyChannel,
    warehouses: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    berlin, hamburg = warehouses
    order_id = fake.place_order("MUG", 11)  # berlin 4, hamburg 7
    line_id = str(fake.order(order_id)["line_items"][0]["id"])
    shipment = Shipment(carrier="DHL", tracking_number="JJD02", lines={line_id: 5})
    real = channel.client.create_fulfillment
    calls: list[dict[str, Any]] = []

    def second_call_times_out(fulfillment: dict[str, Any]) -> Any:
        calls.append(fulfillment)
        if len(calls) == 2:
            raise Unavailable("timed out", channel="shopify-main", operation="CreateFulfillment")
        return real(fulfillment)

    monkeypatch.setattr(channel.client, "create_fulfillment", second_call_times_out)
    with pytest.raises(Unavailable):
        channel.push_fulfillment(order_id, shipment)  # berlin's 4 shipped, hamburg's 1 not
    assert fake.quantities("MUG", location=berlin)["committed"] == 0  # type: ignore[index]
    channel.push_fulfillment(order_id, shipment)  # the retry: hamburg ships 5 - 4 = 1
    [line] = fake.order(order_id)["line_items"]
    assert line["fulfillable_quantity"] == 11 - 5
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 2,
        "committed": 6,
        "on_hand": 8,
    }
    assert len(calls) == 3


def test_refund_restocks_at_the_location_of_the_line(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    order_id = fake.place_order("MUG", 3, location=hamburg)
    line_id = str(fake.order(order_id)["line_items"][0]["id"])
    receipt = channel.refund(
        RefundOperation(
            order_id=order_id,
            amount=Money(amount=Decimal("12.00"), currency="USD"),
            lines={line_id: 1},
            cancelled={line_id: 1},
            reason="out_of_stock",
            idempotency_key="refund-1",
        )
    )
    assert receipt.refund is not None
    [refund] = fake.order(order_id)["refunds"]
    [refund_line] = refund["refund_line_items"]
    assert (refund_line["restock_type"], refund_line["location_id"]) == (
        "cancel",
        hamburg.rsplit("/", 1)[1],
    )
    # The cancelled unit goes back to hamburg's available; berlin is untouched.
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 7,
        "committed": 2,
        "on_hand": 9,
    }
    assert fake.quantities("MUG", location=berlin) == {"available": 4, "committed": 0, "on_hand": 4}


def test_cancelling_a_split_order_releases_both_locations(
    fake: ShopifyFake, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    channel: ShopifyChannel = fake.channel(account="shopify-main", cancel_restock=True)
    order_id = fake.place_order("MUG", 11)
    channel.cancel_order(order_id, "customer")
    assert fake.quantities("MUG", location=berlin) == {"available": 4, "committed": 0, "on_hand": 4}
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 9,
        "committed": 0,
        "on_hand": 9,
    }
    channel.close()


# -- doctor ----------------------------------------------------------------------------------


def test_doctor_warns_of_stocked_locations_the_account_does_not_sync(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    [check] = location_checks(channel, {"locations": {"berlin": berlin}})
    assert (check.name, check.status) == ("locations", "warn")
    assert f"hamburg ({hamburg})" in check.detail
    assert "berlin" not in check.detail
    [ok] = location_checks(channel, {"locations": {"berlin": berlin, "hamburg": hamburg}})
    assert ok.status == "ok"
    assert ok.detail == "3 location(s); stock kept at berlin (berlin), hamburg (hamburg)"
    # Without a mapping the account syncs its default location only.
    [single] = location_checks(channel, {})
    assert single.status == "warn"
    assert "the account's one synced location (Shop location)" in single.detail
    assert f"berlin ({berlin}), hamburg ({hamburg})" in single.detail


def test_doctor_fails_a_mapping_to_a_location_the_shop_lacks(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    number = hamburg.rsplit("/", 1)[1]
    checks = location_checks(
        channel, {"locations": {"berlin": berlin, "hamburg": number, "munich": "999"}}
    )
    assert [(c.status, c.detail) for c in checks] == [
        ("warn", f"locations.hamburg = '{number}' is not a location GID"),
        ("warn", "locations.munich = '999' is not a location GID"),
        ("fail", "the shop has no active location munich (gid://shopify/Location/999)"),
    ]
    assert checks[0].fix is not None
    assert hamburg in checks[0].fix
    listed = location_checks(channel, {"locations": ["berlin", "hamburg"]})
    assert [c.status for c in listed] == ["warn", "warn"]
    assert "Shopify keeps a quantity per location" in listed[0].detail


# -- mapping (pure) --------------------------------------------------------------------------


def _fo(status: str, location: str | None, units: dict[str, int]) -> LocatedFulfillmentOrder:
    return LocatedFulfillmentOrder.model_validate(
        {
            "status": status,
            "assignedLocation": {"location": {"id": location} if location else None},
            "lineItems": {
                "nodes": [
                    {"totalQuantity": n, "lineItem": {"id": f"gid://shopify/LineItem/{line}"}}
                    for line, n in units.items()
                ]
            },
        }
    )


def test_line_locations_take_the_location_with_most_units() -> None:
    a, b = "gid://shopify/Location/11", "gid://shopify/Location/22"
    found = line_locations(
        [
            _fo("OPEN", a, {"1": 2, "2": 1}),
            _fo("CLOSED", b, {"1": 3}),  # fulfilled there: still where its units went
            _fo("CANCELLED", b, {"2": 5, "3": 1}),  # cancelled: counts only for line 3
            _fo("OPEN", None, {"4": 1}),  # its location was deleted: says nothing
        ]
    )
    assert found == {
        "gid://shopify/LineItem/1": LineLocation(b, ((b, 3), (a, 2))),
        "gid://shopify/LineItem/2": LineLocation(a, ((a, 1),)),
        "gid://shopify/LineItem/3": LineLocation(b, ((b, 1),)),
    }
    assert found["gid://shopify/LineItem/1"].split
    assert not found["gid://shopify/LineItem/2"].split
    # Equal shares: the first fulfillment order's location.
    tie = line_locations([_fo("OPEN", a, {"9": 2}), _fo("OPEN", b, {"9": 2})])
    assert tie["gid://shopify/LineItem/9"].location_id == a


def test_listing_levels_from_a_variant() -> None:
    a, b = "gid://shopify/Location/11", "gid://shopify/Location/22"
    variant = GqlVariant.model_validate(
        {
            "id": "gid://shopify/ProductVariant/5",
            "legacyResourceId": "5",
            "sku": "MUG",
            "price": "9.50",
            "product": {"id": "gid://shopify/Product/4"},
            "inventoryItem": {
                "id": "gid://shopify/InventoryItem/6",
                "tracked": True,
                "inventoryLevels": {
                    "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
                    "nodes": [
                        {
                            "location": {"id": a},
                            "quantities": [{"name": "available", "quantity": -2}],
                        }
                    ],
                },
            },
        }
    )
    more = [
        InventoryLevel.model_validate(
            {"location": {"id": b}, "quantities": [{"name": "available", "quantity": 9}]}
        )
    ]
    listing = listing_from_variant(
        variant, account="shopify-main", location_id=b, currency="EUR", more_levels=more
    )
    assert listing is not None
    assert listing.levels == {a: -2, b: 9}  # an oversold location reads below 0
    assert (listing.quantity, listing.manages_stock) == (9, True)
    assert listing.ids["location_id"] == b
    assert listing.price == Money(amount=Decimal("9.50"), currency="EUR")


# -- through the engine ------------------------------------------------------------------------


def test_two_warehouses_through_the_engine(
    fake: ShopifyFake, store: cs.Store, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    fake.set_quantity("MUG", 0, location=berlin)  # Shopify shows none yet
    fake.set_quantity("MUG", 0, location=hamburg)
    fake.seed_listing("TEE", quantity=0, price="20.00", location=berlin)
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    engine = cs.SyncEngine(
        store,
        channels=[channel],
        locations={"shopify-main": {"berlin": berlin, "hamburg": hamburg}},
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    engine.set_on_hand("TEE", 5, location="berlin")
    engine.set_on_hand("TEE", 3, location="hamburg")  # TEE is not stocked at hamburg
    report = engine.run_once()
    assert fake.levels("MUG") == {berlin: 4, hamburg: 9}
    assert fake.levels("TEE") == {berlin: 5}
    # Four quantities over two locations in one call; Shopify refused all of it for TEE at
    # hamburg (not stocked there), so the other three went again without it.
    assert [r.items for r in fake.calls.records("inventorySetQuantities")] == [4, 3]
    account = report.accounts["shopify-main"]
    assert (account.pushes_ok, account.pushes_failed) == (3, 1)

    order_id = fake.place_order("MUG", 3, location=hamburg)
    engine.run_once()
    view = engine.stock("MUG")
    assert (view.on_hand, view.committed) == (13, 3)
    assert (view.at("hamburg").on_hand, view.at("hamburg").committed) == (9, 3)
    assert (view.at("berlin").on_hand, view.at("berlin").committed) == (4, 0)
    assert fake.levels("MUG") == {berlin: 4, hamburg: 6}  # the sale stands, nothing doubled
    line = engine.order("shopify-main", order_id).lines[0]
    assert line.location_id == hamburg
    channel.close()


def test_import_reports_a_stocked_location_no_location_of_ours_is_mapped_to(
    fake: ShopifyFake, store: cs.Store, warehouses: tuple[str, str]
) -> None:
    berlin, hamburg = warehouses
    fake.seed_listing("TEE", quantity=2, price="20.00", location=hamburg)
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    engine = cs.SyncEngine(store, channels=[channel], locations={"shopify-main": {"b": berlin}})
    result = engine.import_listings()["shopify-main"]
    assert not isinstance(result, Exception)
    assert result.unmapped_locations == {hamburg: 2}  # MUG and TEE are stocked there
    channel.close()


def test_doctor_of_the_command_sees_the_accounts_locations(
    fake: ShopifyFake, channel: ShopifyChannel, warehouses: tuple[str, str]
) -> None:
    from channelsync.cli._doctor import _adapter_checks
    from channelsync.config._settings import AccountSettings

    berlin, hamburg = warehouses
    mapped = AccountSettings.model_validate(
        {"kind": "shopify", "shop": fake.shop, "locations": {"berlin": berlin, "hamburg": hamburg}}
    )
    checks = _adapter_checks("shopify-main", mapped, channel, datetime.now(UTC).date())
    assert [(c.name, c.status) for c in checks if c.name == "locations"] == [("locations", "ok")]
    single = AccountSettings.model_validate({"kind": "shopify", "shop": fake.shop})
    checks = _adapter_checks("shopify-main", single, channel, datetime.now(UTC).date())
    assert [(c.name, c.status) for c in checks if c.name == "locations"] == [("locations", "warn")]
