"""The shared model refuses bad data with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from channelsync import Address, Listing, Money, Order, OrderLine, OrderStatus, Shipment

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def order(**kw: object) -> Order:
    base: dict[str, object] = {
        "kind": "shopify",
        "account": "shop",
        "order_id": "1",
        "status": OrderStatus.OPEN,
        "created_at": T0,
        "updated_at": T0,
        "lines": [OrderLine(line_id="a", sku="SKU", quantity=2)],
    }
    base.update(kw)
    return Order.model_validate(base)


class TestMoney:
    def test_from_string_is_exact(self) -> None:
        m = Money(amount="19.99", currency="eur")
        assert m.amount == Decimal("19.99")
        assert m.currency == "EUR"
        assert Money.of("0.10", "EUR") + Money.of("0.20", "EUR") == Money.of("0.30", "EUR")

    def test_float_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="not float"):
            Money(amount=19.99, currency="EUR")  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", "1,5"])
    def test_non_numbers_are_refused(self, bad: str) -> None:
        with pytest.raises(ValidationError, match="amount"):
            Money(amount=bad, currency="EUR")  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", ["EU", "EURO", "XYZ", "€", ""])
    def test_currency_must_be_iso_4217(self, bad: str) -> None:
        with pytest.raises(ValidationError, match="currency"):
            Money(amount="1", currency=bad)  # type: ignore[arg-type]

    def test_mixing_currencies_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cannot add EUR and USD"):
            _ = Money.of("1", "EUR") + Money.of("1", "USD")
        with pytest.raises(ValueError, match="cannot compare"):
            _ = Money.of("1", "EUR") < Money.of("2", "GBP")

    def test_arithmetic(self) -> None:
        price = Money.of("2.50", "EUR")
        assert price * 3 == Money.of("7.50", "EUR")
        assert 2 * price == Money.of("5.00", "EUR")
        assert -price == Money.of("-2.50", "EUR")
        assert price - Money.of("0.50", "EUR") == Money.of("2.00", "EUR")
        with pytest.raises(TypeError):
            _ = price * 1.5  # type: ignore[operator]
        assert str(price) == "2.50 EUR"

    def test_frozen(self) -> None:
        m = Money.of("1", "EUR")
        with pytest.raises(ValidationError):
            m.amount = Decimal(2)  # type: ignore[misc]


class TestOrder:
    def test_naive_datetime_is_an_error(self) -> None:
        with pytest.raises(ValidationError, match="created_at"):
            order(created_at=datetime(2026, 1, 1, 12, 0))

    def test_offsets_become_utc(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        o = order(created_at=datetime(2026, 11, 1, 14, 0, tzinfo=plus_two), updated_at=T0)
        assert o.created_at == T0
        assert o.created_at.tzinfo is UTC

    def test_iso_strings_with_offsets(self) -> None:
        o = order(created_at="2026-11-01T13:00:00+01:00", updated_at="2026-11-01T12:00:00Z")
        assert o.created_at == T0 == o.updated_at

    def test_updated_before_created_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="before created_at"):
            order(updated_at=T0 - timedelta(seconds=1))

    def test_duplicate_line_ids_are_refused(self) -> None:
        line = OrderLine(line_id="a", sku="X", quantity=1)
        with pytest.raises(ValidationError, match="duplicate line_id 'a'"):
            order(lines=[line, line])

    def test_unknown_status_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="status"):
            order(status="teleported")

    def test_raw_is_kept_and_lines_found(self) -> None:
        o = order(raw={"id": 1, "note": "x"})
        assert o.raw == {"id": 1, "note": "x"}
        assert o.line("a").quantity == 2
        with pytest.raises(KeyError, match="no line 'zz'"):
            o.line("zz")

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="colour"):
            order(colour="red")


class TestOrderLine:
    def test_shipped_plus_cancelled_cannot_exceed_quantity(self) -> None:
        with pytest.raises(
            ValidationError, match=r"quantity_shipped \(2\) \+ quantity_cancelled \(1\)"
        ):
            OrderLine(line_id="a", sku="X", quantity=2, quantity_shipped=2, quantity_cancelled=1)

    def test_negative_quantity_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="quantity"):
            OrderLine(line_id="a", sku="X", quantity=-1)

    def test_blank_sku_means_custom_line(self) -> None:
        assert OrderLine(line_id="a", sku="  ", quantity=1).sku is None
        assert OrderLine(line_id="a", sku="S", quantity=3, quantity_shipped=1).quantity_open == 2


def test_address_country_code() -> None:
    assert Address(country_code="de").country_code == "DE"
    assert Address(lines=["Hauptstr. 1", "", None]).lines == ("Hauptstr. 1",)  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="country_code"):
        Address(country_code="DEU")


def test_shipment_quantities_positive() -> None:
    with pytest.raises(ValidationError, match="line 'a' must be positive"):
        Shipment(carrier="DHL", lines={"a": 0})
    with pytest.raises(ValidationError, match="carrier"):
        Shipment(carrier="")


def test_listing_defaults() -> None:
    lst = Listing(kind="fake", account="a", sku="S", listing_id="1")
    assert lst.fulfilled_by == "merchant"
    assert lst.manages_stock is True
    with pytest.raises(ValidationError, match="fulfilled_by"):
        Listing(kind="fake", account="a", sku="S", listing_id="1", fulfilled_by="amazon")  # type: ignore[arg-type]


def test_status_commits_stock() -> None:
    assert {s for s in OrderStatus if s.commits_stock} == {
        OrderStatus.PENDING,
        OrderStatus.OPEN,
        OrderStatus.PARTIALLY_SHIPPED,
    }
