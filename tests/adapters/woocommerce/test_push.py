"""Stock and price pushes: minimal batch requests, per-item failures, 413, reporting."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import pytest

from channelsync.core.channel import PriceUpdate, StockUpdate
from channelsync.core.errors import Unavailable
from channelsync.core.models import Listing, Money


def listings_by_sku(channel: Any) -> dict[str, Listing]:
    return {lst.sku: lst for lst in channel.fetch_listings()}


@pytest.mark.slow
def test_ten_thousand_changes_in_the_minimum_number_of_batch_requests(
    fake: Any, channel: Any
) -> None:
    """4,250 simple products and 5,750 variations under 65 parents.

    Each batch request addresses one route: ``/products/batch`` takes simple products only
    (WooCommerce refuses variations there) and ``/products/{id}/variations/batch`` one
    parent's variations; each takes at most 100 items. So no schedule can use fewer than
    ceil(4250/100) + sum over parents of ceil(variations/100) = 43 + 25*2 + 40*1 = 133
    requests, and that is what goes out.
    """
    for i in range(4250):
        fake.seed_listing(f"S-{i:05d}", quantity=1, price="5.00")
    big = {p: 150 for p in range(25)}
    small = {p: 50 for p in range(25, 65)}
    for parent, count in {**big, **small}.items():
        fake.seed_variable(
            f"P-{parent:03d}", {f"V-{parent:03d}-{v:03d}": (1, "7.00") for v in range(count)}
        )
    listings = listings_by_sku(channel)
    assert len(listings) == 10_000
    updates = [
        StockUpdate(sku=sku, quantity=n % 40 + 2, listing=listing)
        for n, (sku, listing) in enumerate(sorted(listings.items()))
    ]
    random.Random(7).shuffle(updates)  # arrival order must not change the packing
    fake.calls.reset()

    results = channel.push_stock(updates)

    assert [r.sku for r in results] == [u.sku for u in updates]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    minimum = math.ceil(4250 / 100) + sum(math.ceil(n / 100) for n in {**big, **small}.values())
    assert minimum == 133
    assert fake.calls["products/batch"] == 43
    assert fake.calls["variations/batch"] == 90
    assert fake.calls.total == minimum
    sizes = Counter(r.items for r in fake.calls.records("products/batch"))
    assert sizes == Counter({100: 42, 50: 1})
    variation_sizes = Counter(r.items for r in fake.calls.records("variations/batch"))
    assert variation_sizes == Counter({100: 25, 50: 65})
    wanted = {u.sku: u.quantity for u in updates}
    assert {sku: fake.quantity(sku) for sku in wanted} == wanted
    assert {r.quantity for r in results} == set(range(2, 42))


def test_bad_ids_are_reported_alone_and_the_rest_applied(fake: Any, channel: Any) -> None:
    fake.seed_listing("GOOD-1", quantity=1, price="5.00")
    fake.seed_listing("GOOD-2", quantity=1, price="5.00")
    tee = fake.seed_variable("TEE", {"TEE-S": (1, "9.00"), "TEE-M": (1, "9.00")})
    cap = fake.seed_variable("CAP", {"CAP-1": (1, "4.00")})
    found = listings_by_sku(channel)

    def bogus(sku: str, **ids: str) -> Listing:
        return Listing(kind="woocommerce", account="woo-main", sku=sku, listing_id="1", ids=ids)

    cap_variation = found["CAP-1"].ids["variation_id"]
    updates = [
        StockUpdate(sku="GOOD-1", quantity=11, listing=found["GOOD-1"]),
        StockUpdate(sku="GONE", quantity=3, listing=bogus("GONE", product_id="990001")),
        StockUpdate(sku="TEE-S", quantity=12, listing=found["TEE-S"]),
        StockUpdate(
            sku="TEE-GONE",
            quantity=3,
            listing=bogus("TEE-GONE", product_id=str(tee), variation_id="990002"),
        ),
        StockUpdate(
            sku="CAP-UNDER-TEE",
            quantity=3,
            listing=bogus("CAP-UNDER-TEE", product_id=str(tee), variation_id=cap_variation),
        ),
        StockUpdate(sku="TEE-M", quantity=13, listing=found["TEE-M"]),
        StockUpdate(
            sku="VARIATION-AS-PRODUCT",
            quantity=3,
            listing=bogus("VARIATION-AS-PRODUCT", product_id=found["TEE-M"].listing_id),
        ),
        StockUpdate(sku="GOOD-2", quantity=14, listing=found["GOOD-2"]),
        StockUpdate(sku="NEVER-IMPORTED", quantity=1),
    ]
    results = {r.sku: r for r in channel.push_stock(updates)}

    assert {s for s, r in results.items() if r.ok} == {"GOOD-1", "GOOD-2", "TEE-S", "TEE-M"}
    failed = {s: (r.error.code if r.error else None) for s, r in results.items() if not r.ok}
    assert failed == {
        "GONE": "woocommerce_rest_product_invalid_id",
        "TEE-GONE": "woocommerce_rest_product_variation_invalid_id",
        "CAP-UNDER-TEE": "woocommerce_rest_cannot_edit",
        "VARIATION-AS-PRODUCT": "woocommerce_rest_invalid_product_id",
        "NEVER-IMPORTED": "unknown_sku",
    }
    assert results["GONE"].error is not None
    assert results["GONE"].error.message == "Invalid ID."
    assert results["GONE"].error.retryable is False
    assert [fake.quantity(s) for s in ("GOOD-1", "GOOD-2", "TEE-S", "TEE-M", "CAP-1")] == [
        11,
        14,
        12,
        13,
        1,
    ]
    assert fake.calls["products/batch"] == 1
    assert fake.calls["variations/batch"] == 1  # TEE's three items in one request
    assert cap not in (tee,)


def test_413_shrinks_the_batch_and_remembers(fake: Any, channel: Any) -> None:
    fake.batch_limit = 40
    for i in range(130):
        fake.seed_listing(f"L-{i:03d}", quantity=0, price="1.00")
    found = listings_by_sku(channel)
    fake.calls.reset()
    results = channel.push_stock(
        [StockUpdate(sku=s, quantity=5, listing=lst) for s, lst in sorted(found.items())]
    )
    assert all(r.ok for r in results)
    statuses = [(r.status, r.items) for r in fake.calls.records("products/batch")]
    assert statuses == [(413, 100), (200, 40), (200, 40), (200, 40), (200, 10)]
    assert channel.limits.stock_batch == 40
    fake.calls.reset()
    channel.push_stock([StockUpdate(sku=s, quantity=6, listing=lst) for s, lst in found.items()])
    assert [r.status for r in fake.calls.records("products/batch")] == [200] * 4


def test_partial_failure_reports_the_failed_items_as_retryable(fake: Any, channel: Any) -> None:
    for i in range(12):
        fake.seed_listing(f"PF-{i:02d}", quantity=0, price="1.00")
    found = listings_by_sku(channel)
    fake.inject("partial_failure", operation="products/batch")
    results = channel.push_stock(
        [StockUpdate(sku=s, quantity=3, listing=lst) for s, lst in sorted(found.items())]
    )
    failed = [r for r in results if not r.ok]
    assert [r.sku for r in failed] == ["PF-00", "PF-10"]
    assert all(r.error is not None and r.error.retryable for r in failed)
    assert failed[0].error is not None
    assert failed[0].error.code == "woocommerce_rest_product_not_created"
    assert [fake.quantity(f"PF-{i:02d}") for i in (0, 1, 10, 11)] == [0, 3, 0, 3]


def test_transient_failure_raises_for_the_retry_policy(fake: Any, channel: Any) -> None:
    fake.seed_listing("T-1", quantity=0, price="1.00")
    found = listings_by_sku(channel)
    fake.inject("server_error", operation="products/batch")
    with pytest.raises(Unavailable) as caught:
        channel.push_stock([StockUpdate(sku="T-1", quantity=4, listing=found["T-1"])])
    assert caught.value.status == 500
    assert caught.value.code == "internal_server_error"
    assert caught.value.message.startswith("There has been a critical error on this website.")
    assert channel.push_stock([StockUpdate(sku="T-1", quantity=4, listing=found["T-1"])])[0].ok


def test_unmanaged_and_skuless_products_are_reported(fake: Any, channel: Any) -> None:
    fake.seed_listing("MANAGED", quantity=4, price="3.00")
    fake.seed_product(sku="LOOSE", regular_price="2.00", manage_stock=False)
    fake.seed_product(sku="", regular_price="2.00", manage_stock=True, stock_quantity=3)
    fake.seed_product(sku="EXT", type="external", regular_price="2.00")
    parent = fake.seed_product(sku="SHARED", type="variable", manage_stock=True, stock_quantity=9)
    fake.seed_product(type="variation", parent_id=parent, sku="SHARED-RED", regular_price="8.00")
    fake.seed_product(type="variation", parent_id=parent, sku="", regular_price="8.00")
    found = listings_by_sku(channel)
    assert sorted(found) == ["LOOSE", "MANAGED", "SHARED", "SHARED-RED"]
    assert (found["LOOSE"].manages_stock, found["LOOSE"].quantity) == (False, None)
    assert (found["SHARED"].manages_stock, found["SHARED"].quantity) == (True, 9)
    assert (found["SHARED-RED"].manages_stock, found["SHARED-RED"].quantity) == (False, None)
    assert found["MANAGED"].price == Money.of("3.00", "EUR")
    assert len(channel.skipped_without_sku) == 2
    assert channel.skipped_without_sku[1].startswith(f"{parent}/")
    # Pushing stock to an unmanaged product turns management on (WooCommerce ignores
    # stock_quantity otherwise).
    result = channel.push_stock([StockUpdate(sku="LOOSE", quantity=6, listing=found["LOOSE"])])
    assert result[0].ok
    assert fake.quantity("LOOSE") == 6


def test_push_without_listings_imports_them_once(fake: Any, channel: Any) -> None:
    fake.seed_listing("NOLIST-1", quantity=0, price="1.00")
    fake.seed_variable("NOLIST-P", {"NOLIST-V": (0, "2.00")})
    results = channel.push_stock(
        [StockUpdate(sku="NOLIST-1", quantity=2), StockUpdate(sku="NOLIST-V", quantity=3)]
    )
    assert [r.ok for r in results] == [True, True]
    assert (fake.quantity("NOLIST-1"), fake.quantity("NOLIST-V")) == (2, 3)
    assert fake.calls["products"] == 1


def test_prices(fake: Any, channel: Any) -> None:
    fake.seed_listing("PR-1", quantity=1, price="5.00")
    fake.seed_variable("PR-P", {"PR-V": (1, "7.00")})
    found = listings_by_sku(channel)
    results = channel.push_prices(
        [
            PriceUpdate(sku="PR-1", price=Money.of("19.99", "EUR"), listing=found["PR-1"]),
            PriceUpdate(sku="PR-V", price=Money.of("12.50", "USD"), listing=found["PR-V"]),
            PriceUpdate(sku="PR-V", price=Money.of("12.50", "EUR"), listing=found["PR-V"]),
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error is not None
    assert results[1].error.code == "currency_mismatch"
    assert (fake.price("PR-1"), fake.price("PR-V")) == ("19.99", "12.50")
    assert fake.calls["products/batch"] == 1
    assert fake.calls["variations/batch"] == 1


def test_shop_currency_read_once_from_settings(fake: Any, channel: Any) -> None:
    assert channel.shop_currency() == "EUR"
    assert channel.shop_currency() == "EUR"
    assert fake.calls["settings"] == 1
