"""Price rules: conversion, markup, offset, endings, guards; what a cycle sends and reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

import channelsync as cs
from channelsync.core.pricing import apply_price_rule
from channelsync.rates import Rates
from channelsync.testing import FakeChannel

DAY = date(2026, 11, 2)


def _rates() -> Rates:
    rates = Rates()
    rates.add(DAY, "EUR", "USD", Decimal("1.10"))
    return rates


@pytest.mark.parametrize(
    ("price", "rule", "expected", "steps"),
    [
        # 19.99 EUR x 1.10 = 21.989 USD; +10 % = 24.1879; down to .99 = 23.99
        (
            "19.99",
            cs.PriceRule(currency="USD", percent=Decimal(10), ending=".99"),
            "23.99",
            ["price", "convert", "percent", "ending"],
        ),
        # a 5 % discount and 0.50 off: 20.00 -> 19.00 -> 18.50, .95 ending -> 17.95
        (
            "20.00",
            cs.PriceRule(percent=Decimal(-5), offset=Decimal("-0.50"), ending=".95"),
            "17.95",
            ["price", "percent", "offset", "ending"],
        ),
        # .90 at or below: 10.95 -> 10.90; 10.90 stays 10.90
        ("10.95", cs.PriceRule(ending=".90"), "10.90", ["price", "ending"]),
        ("10.90", cs.PriceRule(ending=".90"), "10.90", ["price", "ending"]),
        # no rule: the price as it is
        ("12.34", cs.PriceRule(), "12.34", ["price"]),
    ],
)
def test_price_steps_by_hand(
    price: str, rule: cs.PriceRule, expected: str, steps: list[str]
) -> None:
    result = apply_price_rule(cs.Money.of(price, "EUR"), rule, rates=_rates(), day=DAY)
    assert result.ok
    assert result.price is not None
    assert result.price.amount == Decimal(expected)
    assert [s.step for s in result.steps] == steps


def test_guards_refuse_instead_of_clamping() -> None:
    low = apply_price_rule(cs.Money.of("4.00", "EUR"), cs.PriceRule(minimum=Decimal(5)), day=DAY)
    assert (low.ok, low.price) == (False, None)
    assert low.refused == "4.00 EUR is below the minimum 5 EUR"
    high = apply_price_rule(
        cs.Money.of("100", "EUR"), cs.PriceRule(percent=Decimal(20), maximum=Decimal(110)), day=DAY
    )
    assert high.refused == "120.00 EUR is above the maximum 110 EUR"


def test_a_price_in_another_currency_without_a_rate_is_refused() -> None:
    result = apply_price_rule(cs.Money.of("19.99", "EUR"), None, day=DAY, channel_currency="USD")
    assert result.refused is not None
    assert result.refused.startswith("price in EUR, the account sells in USD, and no EUR->USD")


def test_rule_validation_names_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="'dollars' is not an ISO 4217 code"):
        cs.PriceRule(currency="dollars")
    with pytest.raises(ValidationError, match="leaves nothing to sell for"):
        cs.PriceRule(percent=Decimal(-100))
    with pytest.raises(ValidationError):
        cs.PriceRule(ending=".49")  # type: ignore[arg-type]


def test_a_cycle_sends_the_rules_price_and_reports_refusals(store: cs.Store) -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    us = FakeChannel("shop-us", currency="USD")
    de = FakeChannel("shop-de")
    for channel in (us, de):
        channel.add_listing("A", 5, "1.00")
        channel.add_listing("B", 5, "1.00")
    engine = cs.SyncEngine(
        store,
        [us, de],
        clock=lambda: now,
        price_rules={
            "shop-us": cs.PriceRule(currency="USD", percent=Decimal(10), ending=".99"),
            ("shop-de", "B"): cs.PriceRule(minimum=Decimal(5)),
        },
        rates=_rates(),
    )
    engine.import_listings()
    engine.set_price("A", cs.Money.of("19.99", "EUR"))
    engine.set_price("B", cs.Money.of("4.00", "EUR"))
    planned = {(p.account, p.sku): p for p in engine.plan_prices()}
    assert planned[("shop-us", "A")].price == cs.Money.of("23.99", "USD")
    assert planned[("shop-de", "B")].refused == "4.00 EUR is below the minimum 5 EUR"
    explained = engine.explain("A").prices
    assert [s.step for s in explained["shop-us"].steps] == ["price", "convert", "percent", "ending"]
    report = engine.run_once()
    assert us.prices["A"] == cs.Money.of("23.99", "USD")
    # B: 4.00 EUR x 1.10 = 4.40 +10 % = 4.84 -> 3.99 USD (no guard on shop-us)
    assert us.prices["B"] == cs.Money.of("3.99", "USD")
    assert de.prices["A"] == cs.Money.of("19.99", "EUR")
    assert de.prices["B"] == cs.Money.of("1.00", "EUR")  # refused: not sent
    assert report.price_errors == ["shop-de: B: price refused: 4.00 EUR is below the minimum 5 EUR"]
    assert report.accounts["shop-de"].prices_failed == 1
    assert report.ok  # a refused price stops nothing else
    assert report.as_dict()["price_errors"] == report.price_errors
    # the sent prices are done: the next plan holds only the refused one
    assert [(p.account, p.sku) for p in engine.plan_prices()] == [("shop-de", "B")]


def test_a_eur_price_for_a_usd_listing_is_refused_before_sending(store: cs.Store) -> None:
    us = FakeChannel("shop-us", currency="USD")
    us.add_listing("A", 5, "30.00")
    engine = cs.SyncEngine(store, [us])
    engine.import_listings()
    engine.set_price("A", cs.Money.of("19.99", "EUR"))
    report = engine.run_once()
    assert us.prices["A"] == cs.Money.of("30.00", "USD")
    assert len(report.price_errors) == 1
    assert "price in EUR, the account sells in USD" in report.price_errors[0]
