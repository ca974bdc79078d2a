"""Stock per merchant location on eBay: Inventory API ``availabilityDistributions``.

The two-warehouse case of issue 13 for eBay (WH-BER 4, WH-HAM 9): import with levels per
merchant location key, pushes that write one location without losing the others (eBay
replaces the whole list a write carries), results per SKU and location, Trading listings
refused per location, sales and orders, the doctor's location checks, and the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import channelsync as cs
from channelsync.adapters.ebay import EbayChannel
from channelsync.adapters.ebay._plugin import location_checks
from channelsync.adapters.ebay.mapping import distributions_request
from channelsync.adapters.ebay.payloads import AvailabilityDistribution, TimeDuration
from channelsync.core.channel import StockUpdate
from channelsync.core.models import Listing, Order, utcnow
from channelsync.sandbox import Sandbox
from channelsync.sandbox.ebay import EbayFake

BER, HAM = "WH-BER", "WH-HAM"


@pytest.fixture
def warehouses(fake: EbayFake) -> EbayFake:
    """Two merchant locations, MUG listed through the Inventory API with 4 and 9 there."""
    fake.add_location(BER, name="Berlin")
    fake.add_location(HAM, name="Hamburg")
    fake.seed_listing(
        "MUG", quantity=13, price="12.00", world="inventory_api", levels={BER: 4, HAM: 9}
    )
    return fake


def _listings(channel: EbayChannel) -> dict[str, Listing]:
    return {lst.sku: lst for lst in channel.fetch_listings()}


def _put_item(fake: EbayFake, sku: str, body: dict[str, object]) -> httpx.Response:
    """createOrReplaceInventoryItem, as a seller's other tool would send it."""
    channel = fake.channel(account="other-tool")
    token = channel.tokens.user_token()
    channel.close()
    with httpx.Client(base_url=fake.url or "", headers={"authorization": f"Bearer {token}"}) as c:
        return c.put(f"/sell/inventory/v1/inventory_item/{sku}", json=body)


# -- import ------------------------------------------------------------------------------------


def test_import_reads_levels_per_merchant_location(warehouses: EbayFake) -> None:
    warehouses.seed_listing("CUP", quantity=3, price="5.00", world="inventory_api")
    warehouses.seed_listing("TR-1", quantity=2, price="5.00")
    channel = warehouses.channel()
    found = _listings(channel)
    assert found["MUG"].levels == {BER: 4, HAM: 9}
    assert found["MUG"].quantity == 13
    assert found["CUP"].levels == {}  # one ship-to-home quantity, no locations
    assert found["TR-1"].levels == {}  # Trading has no locations
    channel.close()


def test_read_levels_asks_25_skus_a_call(warehouses: EbayFake) -> None:
    for i in range(30):
        warehouses.seed_listing(
            f"S-{i:02d}", quantity=i + 1, price="2.00", world="inventory_api", levels={HAM: i + 1}
        )
    warehouses.seed_listing("TR-1", quantity=2, price="5.00")
    channel = warehouses.channel()
    listings = list(_listings(channel).values())
    before = warehouses.calls["bulkGetInventoryItem"]
    levels = channel.read_levels(listings)
    assert warehouses.calls["bulkGetInventoryItem"] - before == 2  # 31 SKUs: 25 + 6
    assert levels["MUG"] == {BER: 4, HAM: 9}
    assert levels["S-29"] == {HAM: 30}
    assert "TR-1" not in levels
    assert len(levels) == 31
    channel.close()


# -- pushes ------------------------------------------------------------------------------------


def test_a_push_to_one_location_keeps_the_other(warehouses: EbayFake) -> None:
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    results = channel.push_stock([StockUpdate(sku="MUG", quantity=2, listing=mug, location=BER)])
    assert [(r.sku, r.location, r.ok, r.quantity) for r in results] == [("MUG", BER, True, 2)]
    assert warehouses.levels("MUG") == {BER: 2, HAM: 9}
    assert warehouses.quantity("MUG") == 11  # the ship-to-home total is their sum
    assert (
        warehouses.calls["bulkGetInventoryItem"],
        warehouses.calls["bulkUpdatePriceQuantity"],
    ) == (
        1,
        1,
    )
    channel.close()


def test_a_location_set_meanwhile_elsewhere_is_not_overwritten(warehouses: EbayFake) -> None:
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]  # levels as imported: 4 and 9
    # The seller's other tool sets hamburg to 7 (with a fulfillment time) after the import.
    answer = _put_item(
        warehouses,
        "MUG",
        {
            "availability": {
                "shipToLocationAvailability": {
                    "quantity": 11,
                    "availabilityDistributions": [
                        {"merchantLocationKey": BER, "quantity": 4},
                        {
                            "merchantLocationKey": HAM,
                            "quantity": 7,
                            "fulfillmentTime": {"unit": "BUSINESS_DAY", "value": 2},
                        },
                    ],
                }
            },
            "product": {"title": "MUG"},
        },
    )
    assert answer.status_code == 204
    results = channel.push_stock([StockUpdate(sku="MUG", quantity=1, listing=mug, location=BER)])
    assert [r.ok for r in results] == [True]
    # Read just before the write: hamburg keeps 7 (not the 9 imported) and its timing.
    assert warehouses.levels("MUG") == {BER: 1, HAM: 7}
    assert warehouses.quantity("MUG") == 8
    assert warehouses.inventory["MUG"].distributions[1].fulfillment_time == {
        "unit": "BUSINESS_DAY",
        "value": 2,
    }
    channel.close()


def test_every_location_of_a_sku_goes_in_one_request(warehouses: EbayFake) -> None:
    for i in range(30):
        warehouses.seed_listing(
            f"S-{i:02d}", quantity=2, price="2.00", world="inventory_api", levels={BER: 1, HAM: 1}
        )
    channel = warehouses.channel()
    found = _listings(channel)
    updates = [
        StockUpdate(sku=s, quantity=q, listing=found[s], location=where)
        for s in sorted(found)
        if s.startswith("S-")
        for where, q in ((BER, 5), (HAM, 6))
    ]
    results = channel.push_stock(updates)
    assert len(results) == 60
    assert all(r.ok for r in results)
    assert {(r.sku, r.location, r.quantity) for r in results} == {
        (u.sku, u.location, u.quantity) for u in updates
    }
    # 30 SKUs: one request each (both locations), 25 a call.
    assert [r.items for r in warehouses.calls.records("bulkUpdatePriceQuantity")] == [25, 5]
    assert warehouses.calls["bulkGetInventoryItem"] == 2
    assert warehouses.levels("S-07") == {BER: 5, HAM: 6}
    assert warehouses.quantity("S-07") == 11
    assert warehouses.levels("MUG") == {BER: 4, HAM: 9}  # not in the push: untouched
    channel.close()


def test_a_new_location_is_added_after_the_existing_ones(warehouses: EbayFake) -> None:
    warehouses.add_location("WH-MUC")
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    results = channel.push_stock(
        [StockUpdate(sku="MUG", quantity=5, listing=mug, location="WH-MUC")]
    )
    assert [(r.ok, r.location) for r in results] == [(True, "WH-MUC")]
    assert warehouses.levels("MUG") == {BER: 4, HAM: 9, "WH-MUC": 5}
    assert warehouses.quantity("MUG") == 18
    channel.close()


def test_an_unknown_or_disabled_location_fails_alone(warehouses: EbayFake) -> None:
    warehouses.add_location("WH-OLD")
    warehouses.seed_listing(
        "CUP", quantity=2, price="5.00", world="inventory_api", levels={"WH-OLD": 2}
    )
    warehouses.disable_location("WH-OLD")
    channel = warehouses.channel()
    found = _listings(channel)
    results = channel.push_stock(
        [
            StockUpdate(sku="MUG", quantity=3, listing=found["MUG"], location="WH-NOPE"),
            StockUpdate(sku="CUP", quantity=1, listing=found["CUP"], location="WH-OLD"),
        ]
    )
    by = {r.sku: r for r in results}
    assert (by["MUG"].ok, by["MUG"].location) == (False, "WH-NOPE")
    assert by["MUG"].error is not None
    assert by["MUG"].error.code == "25709"
    assert "'WH-NOPE' is not a location of yours" in by["MUG"].error.message
    assert (by["CUP"].ok, by["CUP"].location) == (False, "WH-OLD")
    assert by["CUP"].error is not None
    assert "disabled" in by["CUP"].error.message
    assert warehouses.levels("MUG") == {BER: 4, HAM: 9}  # nothing lost
    assert warehouses.levels("CUP") == {"WH-OLD": 2}
    channel.close()


def test_a_sku_eBay_does_not_know_fails_per_location(warehouses: EbayFake) -> None:
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    gone = mug.model_copy(update={"sku": "GONE"})
    results = channel.push_stock(
        [
            StockUpdate(sku="GONE", quantity=1, listing=gone, location=BER),
            StockUpdate(sku="GONE", quantity=2, listing=gone, location=HAM),
            StockUpdate(sku="MUG", quantity=3, listing=mug, location=HAM),
        ]
    )
    assert [(r.sku, r.location, r.ok) for r in results] == [
        ("GONE", BER, False),
        ("GONE", HAM, False),
        ("MUG", HAM, True),
    ]
    assert results[0].error is not None
    assert results[0].error.code == "25702"
    assert warehouses.levels("MUG") == {BER: 4, HAM: 3}
    channel.close()


def test_trading_listings_refuse_a_location(warehouses: EbayFake) -> None:
    warehouses.seed_listing("TR-1", quantity=4, price="10.00")
    channel = warehouses.channel()
    tr = _listings(channel)["TR-1"]
    results = channel.push_stock([StockUpdate(sku="TR-1", quantity=1, listing=tr, location=BER)])
    (result,) = results
    assert (result.ok, result.location) == (False, BER)
    assert result.error is not None
    assert result.error.code == "NO_LOCATIONS"
    assert not result.error.retryable
    assert "keeps one quantity" in result.error.message
    assert warehouses.quantity("TR-1") == 4
    assert warehouses.calls["ReviseInventoryStatus"] == 0
    # The same listing, pooled, is pushed as always.
    assert [
        r.ok for r in channel.push_stock([StockUpdate(sku="TR-1", quantity=1, listing=tr)])
    ] == [True]
    assert warehouses.quantity("TR-1") == 1
    channel.close()


def test_pooled_and_located_updates_of_one_sku_keep_the_located(warehouses: EbayFake) -> None:
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    results = channel.push_stock(
        [
            StockUpdate(sku="MUG", quantity=20, listing=mug),
            StockUpdate(sku="MUG", quantity=1, listing=mug, location=BER),
            StockUpdate(sku="MUG", quantity=2, listing=mug, location=BER),
        ]
    )
    assert [(r.location, r.ok, r.error.code if r.error else None) for r in results] == [
        (BER, False, "SUPERSEDED"),
        (None, False, "MIXED_LOCATIONS"),
        (BER, True, None),
    ]
    assert warehouses.levels("MUG") == {BER: 2, HAM: 9}
    channel.close()


def test_a_pooled_write_drops_the_distributions(warehouses: EbayFake) -> None:
    """The fake as eBay documents it: the container a write carries replaces the record."""
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    assert [
        r.ok for r in channel.push_stock([StockUpdate(sku="MUG", quantity=6, listing=mug)])
    ] == [True]
    assert warehouses.levels("MUG") == {}
    assert warehouses.quantity("MUG") == 6
    channel.close()


def test_distributions_request_keeps_order_timing_and_adds_new_keys() -> None:
    current = (
        AvailabilityDistribution(merchantLocationKey=BER, quantity=4),
        AvailabilityDistribution(
            merchantLocationKey=HAM,
            quantity=9,
            fulfillmentTime=TimeDuration(unit="BUSINESS_DAY", value=1),
        ),
    )
    spread, total = distributions_request(current, {HAM: 2, "WH-MUC": 5})
    assert spread == [
        {"merchantLocationKey": BER, "quantity": 4},
        {
            "merchantLocationKey": HAM,
            "quantity": 2,
            "fulfillmentTime": {"unit": "BUSINESS_DAY", "value": 1},
        },
        {"merchantLocationKey": "WH-MUC", "quantity": 5},
    ]
    assert total == 11


def test_a_sale_that_lowers_only_the_total_is_not_put_back(warehouses: EbayFake) -> None:
    """eBay may lower only the ship-to-home total on a sale: the stale figure of a location
    the write does not set must not raise the total again."""
    warehouses.sales_lower_locations = False
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    warehouses.place_order("MUG", 3)
    assert (warehouses.levels("MUG"), warehouses.quantity("MUG")) == ({BER: 4, HAM: 9}, 10)
    results = channel.push_stock([StockUpdate(sku="MUG", quantity=10, listing=mug, location=HAM)])
    assert [(r.ok, r.location, r.quantity) for r in results] == [(True, HAM, 10)]
    assert warehouses.levels("MUG") == {BER: 4, HAM: 10}
    # 10 + 1 added at hamburg, not 4 + 10: the 3 sold stay sold.
    assert warehouses.quantity("MUG") == 11
    channel.close()


def test_distributions_request_caps_the_total_by_what_the_write_adds() -> None:
    current = (
        AvailabilityDistribution(merchantLocationKey=BER, quantity=4),
        AvailabilityDistribution(merchantLocationKey=HAM, quantity=9),
    )
    # eBay's total 10 after a sale it took off the total alone.
    assert distributions_request(current, {HAM: 10}, 10)[1] == 11
    # Consistent figures: the sum.
    assert distributions_request(current, {HAM: 2}, 13)[1] == 6
    # An item that had one pooled total of 13 and no locations: the sum of what is set.
    assert distributions_request((), {BER: 4}, 13) == (
        [{"merchantLocationKey": BER, "quantity": 4}],
        4,
    )
    assert distributions_request((), {BER: 4, HAM: 9}, 13)[1] == 13
    # Never below 0.
    assert distributions_request(current, {HAM: 0}, 2)[1] == 0


# -- sales and orders --------------------------------------------------------------------------


def test_a_sale_takes_units_off_the_first_location_with_stock(warehouses: EbayFake) -> None:
    warehouses.order_search_lag = (0.0, 0.0)
    order_id = warehouses.place_order("MUG", 6)  # berlin has 4: 4 there, 2 at hamburg
    assert warehouses.levels("MUG") == {BER: 0, HAM: 7}
    assert warehouses.quantity("MUG") == 7
    channel = warehouses.channel()
    (order,) = [o for o in channel.fetch_orders(utcnow() - timedelta(hours=1))]
    assert isinstance(order, Order)
    assert order.order_id == order_id
    # eBay's orders name no merchant location for a line: the engine's sourcing decides.
    assert [(line.sku, line.quantity, line.location_id) for line in order.lines] == [
        ("MUG", 6, None)
    ]
    channel.close()


# -- the doctor --------------------------------------------------------------------------------


def test_doctor_checks_the_mapping_against_the_merchant_locations(warehouses: EbayFake) -> None:
    warehouses.add_location("WH-MUC", name="Munich")
    warehouses.add_location("WH-OLD", enabled=False)
    channel = warehouses.channel()
    assert [
        (loc.merchantLocationKey, loc.merchantLocationStatus) for loc in channel.locations()
    ] == [
        (BER, "ENABLED"),
        (HAM, "ENABLED"),
        ("WH-MUC", "ENABLED"),
        ("WH-OLD", "DISABLED"),
    ]
    good = location_checks(channel, {"locations": {"berlin": BER, "hamburg": HAM}})
    assert [c.status for c in good] == ["warn"]
    assert "WH-MUC (Munich)" in good[0].detail
    assert "WH-OLD" not in good[0].detail
    bad = location_checks(channel, {"locations": {"berlin": BER, "x": "WH-X", "old": "WH-OLD"}})
    assert sorted(c.status for c in bad) == ["fail", "fail", "warn"]
    assert any("WH-X" in c.detail for c in bad if c.status == "fail")
    assert any("WH-OLD" in c.detail and "DISABLED" in c.detail for c in bad)
    every = location_checks(channel, {"locations": {"b": BER, "h": HAM, "m": "WH-MUC"}})
    assert [c.status for c in every] == ["ok"]
    pooled = location_checks(channel, {"locations": ["berlin", "hamburg"]})
    assert [c.status for c in pooled] == ["ok"]
    channel.close()


# -- through the engine ------------------------------------------------------------------------


@pytest.fixture
def clocked(clock: Any) -> Iterator[EbayFake]:
    """An eBay fake on the test's clock (the engine polls eBay once a minute at most)."""
    with Sandbox(channels=["ebay"], clock=clock) as sb:
        ebay = sb.ebay
        assert isinstance(ebay, EbayFake)
        ebay.order_search_lag = (0.0, 0.0)
        yield ebay


def test_two_warehouses_through_the_engine(clocked: EbayFake, store: cs.Store, clock: Any) -> None:
    fake = clocked
    fake.add_location(BER)
    fake.add_location(HAM)
    fake.seed_listing("MUG", quantity=0, price="12.00", world="inventory_api")
    channel = fake.channel(account="ebay-de", clock=clock)
    engine = cs.SyncEngine(
        store,
        channels=[channel],
        clock=clock,
        locations={"ebay-de": {"berlin": BER, "hamburg": HAM}},
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    report = engine.run_once()
    assert fake.levels("MUG") == {BER: 4, HAM: 9}
    assert fake.quantity("MUG") == 13
    assert (report.accounts["ebay-de"].pushes_ok, report.accounts["ebay-de"].pushes_failed) == (
        2,
        0,
    )

    clock.advance(30)
    order_id = fake.place_order("MUG", 3)  # eBay takes them off berlin, its first location
    assert fake.levels("MUG") == {BER: 1, HAM: 9}
    clock.advance(60)
    writes = fake.calls["bulkUpdatePriceQuantity"]
    engine.run_once()  # reads the order
    clock.advance(1)
    engine.run_once()
    # eBay's order names no location, so the engine does not trust its guess of which one
    # eBay lowered: both locations are read (read_levels) before anything is written, and
    # as eBay took the units where the ledger commits them, nothing needs writing.
    assert fake.calls["bulkUpdatePriceQuantity"] == writes
    view = engine.stock("MUG")
    assert (view.on_hand, view.committed) == (13, 3)
    # No location on the line: FirstWithStock commits at berlin (4 available there).
    assert (view.at("berlin").on_hand, view.at("berlin").committed) == (4, 3)
    assert (view.at("hamburg").on_hand, view.at("hamburg").committed) == (9, 0)
    assert engine.order("ebay-de", order_id).lines[0].location_id is None
    assert fake.levels("MUG") == {BER: 1, HAM: 9}
    assert fake.quantity("MUG") == 10  # the sale stands, nothing doubled

    engine.transfer("MUG", 5, "hamburg", "berlin", idempotency_key="transfer-1")
    clock.advance(60)
    engine.run_once()
    assert fake.levels("MUG") == {BER: 6, HAM: 4}
    assert fake.quantity("MUG") == 10
    view = engine.stock("MUG")
    assert (view.at("berlin").on_hand, view.at("hamburg").on_hand) == (9, 4)
    channel.close()


def test_import_reports_a_stocked_merchant_location_the_mapping_leaves_out(
    warehouses: EbayFake, store: cs.Store
) -> None:
    warehouses.seed_listing("CUP", quantity=2, price="5.00", world="inventory_api", levels={HAM: 2})
    channel = warehouses.channel(account="ebay-de")
    engine = cs.SyncEngine(store, channels=[channel], locations={"ebay-de": {"berlin": BER}})
    result = engine.import_listings()["ebay-de"]
    assert not isinstance(result, Exception)
    assert result.unmapped_locations == {HAM: 2}  # MUG and CUP are stocked there
    channel.close()


def test_doctor_of_the_command_sees_the_accounts_merchant_locations(
    warehouses: EbayFake,
) -> None:
    from channelsync.cli._doctor import _adapter_checks
    from channelsync.config._settings import AccountSettings

    channel = warehouses.channel(account="ebay-de")
    today = datetime.now(UTC).date()
    mapped = AccountSettings.model_validate(
        {"kind": "ebay", "locations": {"berlin": BER, "hamburg": HAM}}
    )
    checks = _adapter_checks("ebay-de", mapped, channel, today)
    assert [(c.name, c.status) for c in checks] == [("API version", "ok"), ("locations", "ok")]
    wrong = AccountSettings.model_validate({"kind": "ebay", "locations": {"berlin": "WH-X"}})
    checks = _adapter_checks("ebay-de", wrong, channel, today)
    assert [(c.name, c.status) for c in checks if c.name == "locations"] == [
        ("locations", "fail"),
        ("locations", "warn"),  # WH-BER and WH-HAM are left out
    ]
    pooled = AccountSettings.model_validate({"kind": "ebay", "locations": ["berlin"]})
    checks = _adapter_checks("ebay-de", pooled, channel, today)
    assert [c.name for c in checks] == ["API version"]
    channel.close()


def test_a_pooled_push_to_an_item_with_locations_is_logged(
    warehouses: EbayFake, caplog: pytest.LogCaptureFixture
) -> None:
    channel = warehouses.channel()
    mug = _listings(channel)["MUG"]
    with caplog.at_level("WARNING", logger="channelsync.adapters.ebay.channel"):
        channel.push_stock([StockUpdate(sku="MUG", quantity=6, listing=mug)])
    assert any(
        "1 pooled update(s)" in r.getMessage() and "MUG" in r.getMessage() for r in caplog.records
    )
    channel.close()


def test_when_eBay_and_the_engine_pick_different_locations_the_next_push_fixes_it(
    clocked: EbayFake, store: cs.Store, clock: Any
) -> None:
    fake = clocked
    fake.add_location(BER)
    fake.add_location(HAM)
    fake.seed_listing("MUG", quantity=0, price="12.00", world="inventory_api")
    channel = fake.channel(account="ebay-de", clock=clock)
    engine = cs.SyncEngine(
        store,
        channels=[channel],
        clock=clock,
        locations={"ebay-de": {"berlin": BER, "hamburg": HAM}},
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    engine.run_once()
    clock.advance(30)
    fake.place_order("MUG", 6)  # eBay: 4 off berlin, 2 off hamburg
    assert fake.levels("MUG") == {BER: 0, HAM: 7}
    clock.advance(60)
    writes = fake.calls["bulkUpdatePriceQuantity"]
    engine.run_once()  # reads the order
    clock.advance(1)
    engine.run_once()
    # The engine commits the line at hamburg (berlin cannot give 6). eBay's order names no
    # location, so the engine does not take its guess for what eBay did: both locations
    # are written again in one request, and eBay's split follows the ledger's.
    view = engine.stock("MUG")
    assert (view.at("hamburg").committed, view.at("berlin").committed) == (6, 0)
    assert fake.calls["bulkUpdatePriceQuantity"] - writes == 1
    assert fake.levels("MUG") == {BER: 4, HAM: 3}
    assert fake.quantity("MUG") == 7  # 13 on hand, 6 sold
    result = engine.reconcile("ebay-de")
    assert (result.drift, result.in_sync) == ([], 2)
    channel.close()


def test_trading_quota_spent_still_lets_located_updates_through(warehouses: EbayFake) -> None:
    warehouses.seed_listing("TR-1", quantity=4, price="10.00")
    channel = warehouses.channel()
    found = _listings(channel)
    warehouses.daily_call_quota = warehouses.quota_used()  # the next Trading call: 518
    results = channel.push_stock(
        [
            StockUpdate(sku="TR-1", quantity=1, listing=found["TR-1"]),
            StockUpdate(sku="MUG", quantity=2, listing=found["MUG"], location=HAM),
        ]
    )
    by = {(r.sku, r.location): r for r in results}
    assert by[("TR-1", None)].ok is False
    assert by[("TR-1", None)].error is not None
    assert by[("TR-1", None)].error.retryable
    assert by[("MUG", HAM)].ok is True  # REST has its own quota
    assert warehouses.levels("MUG") == {BER: 4, HAM: 2}
    channel.close()


def test_the_fake_refuses_a_malformed_distribution(warehouses: EbayFake) -> None:
    def put(spread: list[dict[str, object]]) -> httpx.Response:
        total = sum(int(str(d.get("quantity", 0))) for d in spread)
        ship = {"quantity": total, "availabilityDistributions": spread}
        return _put_item(warehouses, "MUG", {"availability": {"shipToLocationAvailability": ship}})

    bad_time = put([{"merchantLocationKey": BER, "quantity": 1, "fulfillmentTime": {"unit": 2}}])
    twice = put(
        [{"merchantLocationKey": BER, "quantity": 1}, {"merchantLocationKey": BER, "quantity": 2}]
    )
    negative = put([{"merchantLocationKey": HAM, "quantity": -1}])
    for answer in (bad_time, twice, negative):
        assert answer.status_code == 400
        (error,) = answer.json()["errors"]
        assert (error["errorId"], error["domain"]) == (25709, "API_INVENTORY")
    assert "fulfillmentTime" in bad_time.json()["errors"][0]["message"]
    assert "given twice" in twice.json()["errors"][0]["message"]
    assert warehouses.levels("MUG") == {BER: 4, HAM: 9}  # nothing applied
