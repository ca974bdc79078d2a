"""``channelsync.reports``: what each figure of the sales report means, on concrete orders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

import channelsync as cs
from channelsync.reports import SalesReport, day_bounds, sales_report

T0 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 00:30 on the 21st in Berlin


def _order(order_id: str, lines: list[dict[str, Any]], **extra: Any) -> cs.Order:
    data: dict[str, Any] = {
        "kind": "fake",
        "account": extra.pop("account", "shop"),
        "order_id": order_id,
        "status": extra.pop("status", "open"),
        "created_at": extra.pop("created_at", T0),
        "updated_at": extra.pop("updated_at", T0),
        "currency": extra.pop("currency", "EUR"),
        "lines": lines,
        **extra,
    }
    return cs.Order.model_validate(data)


def _line(
    line_id: str, sku: str | None, qty: int, price: str, cur: str = "EUR", **kw: Any
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "sku": sku,
        "quantity": qty,
        "unit_price": {"amount": price, "currency": cur},
        **kw,
    }


@pytest.fixture
def engine(store: cs.Store) -> cs.SyncEngine:
    engine = cs.SyncEngine(store)
    engine.set_cost("A", cs.Money.of("4.00", "EUR"))
    engine.set_cost("B", cs.Money.of("1.50", "EUR"))
    engine.define_bundle("AB", {"A": 1, "B": 2})
    return engine


def _report(engine: cs.SyncEngine, **kw: Any) -> SalesReport:
    start, end = day_bounds(date(2026, 11, 1), date(2026, 11, 30))
    return sales_report(engine.store, start=start, end=end, **kw)


def _row(report: Any, key: str, currency: str = "EUR") -> dict[str, Any]:
    rows = {(r.key, r.currency): r.as_dict() for r in report.rows}
    return rows[(key, currency)]


def test_revenue_fees_cost_and_margin_of_one_order(engine: cs.SyncEngine) -> None:
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 2, "10.00"), _line("2", None, 1, "3.00", title="gift wrap")],
            fees={"amount": "2.30", "currency": "EUR"},
        )
    )
    rep = _report(engine, fee_percent={"shop": Decimal("50")})
    row = _row(rep, "shop")
    # revenue 20 + 3; fees reported by the order (not 50 %); cost 2 x 4.00
    assert (row["units"], row["revenue"], row["fees"], row["cost"], row["margin"]) == (
        3,
        "23.00",
        "2.30",
        "8.00",
        "12.70",
    )
    assert row["fees_estimated"] is False
    by_sku = {r.key: r.as_dict() for r in _report(engine, by="sku").rows}
    assert by_sku["A"]["fees"] == "2.00"  # 2.30 spread by revenue: 20/23
    assert by_sku["(no SKU)"]["fees"] == "0.30"
    assert by_sku["(no SKU)"]["cost"] == "0.00"


def test_fee_percent_applies_when_the_order_reports_none(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "A", 1, "10.00")]))
    row = _row(_report(engine, fee_percent={"shop": Decimal("12.5")}), "shop")
    assert (row["fees"], row["fees_estimated"], row["margin"]) == ("1.25", True, "4.75")


def test_cancelled_orders_and_units_are_not_sales(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "A", 5, "10.00")], status="cancelled"))
    engine.record_order(_order("2", [_line("1", "A", 3, "10.00", quantity_cancelled=1)]))
    row = _row(_report(engine), "shop")
    assert (row["orders"], row["units"], row["revenue"], row["cost"]) == (1, 2, "20.00", "8.00")


def test_line_total_wins_over_unit_price_and_discount_applies_without_it(
    engine: cs.SyncEngine,
) -> None:
    engine.record_order(
        _order(
            "1",
            [
                _line("1", "A", 2, "10.00", total={"amount": "18.00", "currency": "EUR"}),
                _line("2", "B", 2, "5.00", discount={"amount": "1.00", "currency": "EUR"}),
            ],
        )
    )
    assert _row(_report(engine), "shop")["revenue"] == "27.00"


def test_refunds_spread_over_named_lines_and_restock_returns_cost(engine: cs.SyncEngine) -> None:
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 2, "10.00"), _line("2", "B", 4, "5.00")],
            refunds=[
                {
                    "refund_id": "r1",
                    "amount": {"amount": "10.00", "currency": "EUR"},
                    "lines": {"1": 1},
                    "restock": True,
                }
            ],
        )
    )
    by_sku = {r.key: r.as_dict() for r in _report(engine, by="sku").rows}
    assert by_sku["A"]["refunds"] == "10.00"
    assert by_sku["A"]["cost"] == "4.00"  # one of the two units came back
    assert by_sku["B"]["refunds"] == "0.00"
    assert by_sku["A"]["margin"] == "6.00"  # 20 - 10 - 4


def test_refunded_order_without_refund_records_refunds_everything(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "A", 1, "10.00")], status="refunded"))
    row = _row(_report(engine), "shop")
    assert (row["revenue"], row["refunds"], row["margin"], row["margin_percent"]) == (
        "10.00",
        "10.00",
        "-4.00",
        None,
    )


def test_bundle_cost_is_the_sum_of_its_components(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "AB", 1, "12.00")]))
    row = {r.key: r.as_dict() for r in _report(engine, by="sku").rows}["AB"]
    assert (row["cost"], row["margin"], row["units_without_cost"]) == ("7.00", "5.00", 0)


def test_currencies_are_never_summed_and_missing_costs_are_reported(
    engine: cs.SyncEngine,
) -> None:
    engine.record_order(_order("1", [_line("1", "A", 1, "10.00")]))
    engine.record_order(
        _order("2", [_line("1", "A", 1, "9.00", cur="GBP")], currency="GBP", account="uk")
    )
    engine.record_order(_order("3", [_line("1", "NEW", 1, "9.00")], account="uk"))
    rep = _report(engine)
    assert {(r.key, r.currency) for r in rep.rows} == {
        ("shop", "EUR"),
        ("uk", "GBP"),
        ("uk", "EUR"),
    }
    assert _row(rep, "uk", "GBP")["units_without_cost"] == 1  # A's cost is in EUR
    assert rep.missing_cost == {"A", "NEW"}
    assert {t.currency: t.revenue for t in rep.totals} == {
        "EUR": Decimal("19.00"),
        "GBP": Decimal("9.00"),
    }


def test_days_follow_the_report_timezone(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "A", 1, "10.00")]))
    assert [r.key for r in _report(engine, by="day").rows] == ["2026-11-20"]
    berlin = _report(engine, by="day", timezone="Europe/Berlin")
    assert [r.key for r in berlin.rows] == ["2026-11-21"]


def test_period_bounds_and_bad_arguments(engine: cs.SyncEngine) -> None:
    engine.record_order(_order("1", [_line("1", "A", 1, "10.00")]))
    start, end = day_bounds(date(2026, 11, 21), date(2026, 11, 21), "UTC")
    assert sales_report(engine.store, start=start, end=end).rows == []
    with pytest.raises(ValueError, match="by must be one of"):
        sales_report(engine.store, start=start, end=end, by="week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not after its start"):
        sales_report(engine.store, start=end, end=start)


def test_csv_and_json(engine: cs.SyncEngine) -> None:
    import io
    import json

    engine.record_order(_order("1", [_line("1", "A", 2, "10.00")]))
    rep = _report(engine)
    buf = io.StringIO()
    rep.write_csv(buf)
    assert buf.getvalue().splitlines() == [
        "key,currency,orders,units,revenue,refunds,fees,cost,margin,margin_percent,units_without_cost,fees_estimated",
        "shop,EUR,1,2,20.00,0.00,0.00,8.00,12.00,60.0,0,False",
    ]
    data = json.loads(rep.to_json())
    assert data["totals"][0]["margin"] == "12.00"
    assert data["by"] == "channel"


def test_a_refund_counts_on_the_day_it_was_made_even_for_an_older_order(
    engine: cs.SyncEngine,
) -> None:
    sold = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    refunded = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 2, "10.00")],
            created_at=sold,
            updated_at=refunded,
            refunds=[
                {
                    "refund_id": "r1",
                    "amount": {"amount": "10.00", "currency": "EUR"},
                    "created_at": refunded,
                    "lines": {"1": 1},
                    "restock": True,
                }
            ],
        )
    )
    november = sales_report(
        engine.store,
        start=day_bounds(date(2026, 11, 1), date(2026, 11, 30))[0],
        end=day_bounds(date(2026, 11, 1), date(2026, 11, 30))[1],
    )
    row = _row(november, "shop")
    assert (row["orders"], row["units"], row["revenue"], row["refunds"], row["cost"]) == (
        1,
        2,
        "20.00",
        "0.00",
        "8.00",
    )
    start, end = day_bounds(date(2026, 12, 1), date(2026, 12, 31))
    december = sales_report(engine.store, start=start, end=end)
    row = _row(december, "shop")
    # the refund and the restocked unit's cost come back in December; no sale there
    assert (row["orders"], row["units"], row["revenue"], row["refunds"], row["cost"]) == (
        0,
        0,
        "0.00",
        "10.00",
        "-4.00",
    )
    assert row["margin"] == "-6.00"
    start, end = day_bounds(date(2026, 11, 1), date(2026, 12, 31))
    days = {
        r.key: r.as_dict() for r in sales_report(engine.store, start=start, end=end, by="day").rows
    }
    assert {d: (r["revenue"], r["refunds"], r["cost"]) for d, r in days.items()} == {
        "2026-11-05": ("20.00", "0.00", "8.00"),
        "2026-12-03": ("0.00", "10.00", "-4.00"),
    }
    total = sales_report(engine.store, start=start, end=end).totals[0]
    assert (total.orders, total.margin) == (1, Decimal("6.00"))  # 20 - 10 - (8 - 4)


def test_refunds_and_fees_in_another_currency_are_never_added_to_the_sale(
    engine: cs.SyncEngine,
) -> None:
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 1, "10.00")],
            fees={"amount": "1.50", "currency": "USD"},
            refunds=[{"refund_id": "r1", "amount": {"amount": "3.00", "currency": "GBP"}}],
        )
    )
    rep = _report(engine)
    assert {(r.key, r.currency) for r in rep.rows} == {
        ("shop", "EUR"),
        ("shop", "GBP"),
        ("shop", "USD"),
    }
    eur, gbp, usd = _row(rep, "shop"), _row(rep, "shop", "GBP"), _row(rep, "shop", "USD")
    assert (eur["revenue"], eur["refunds"], eur["fees"], eur["margin"]) == (
        "10.00",
        "0.00",
        "0.00",
        "6.00",
    )
    assert (gbp["orders"], gbp["refunds"], gbp["margin"]) == (0, "3.00", "-3.00")
    assert (usd["orders"], usd["fees"], usd["margin"]) == (0, "1.50", "-1.50")
    assert all(isinstance(r.revenue, Decimal) and isinstance(r.fees, Decimal) for r in rep.rows)


def test_engine_refunds_and_returns_count_on_their_own_days(store: cs.Store) -> None:
    """A refund and a return made through the engine for a November order count in
    December, on their days, even after the channel sends a version without the refund
    (Amazon's order reads carry none)."""
    now = [datetime(2026, 11, 5, 10, 0, tzinfo=UTC)]
    engine = cs.SyncEngine(store, clock=lambda: now[0])
    engine.set_cost("A", cs.Money.of("4.00", "EUR"))
    engine.set_on_hand("A", 10)
    engine.record_order(
        _order("1", [_line("1", "A", 2, "10.00")], created_at=now[0], updated_at=now[0])
    )
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 2, "10.00", quantity_shipped=2)],
            status="shipped",
            created_at=now[0],
            updated_at=datetime(2026, 11, 6, 8, 0, tzinfo=UTC),
        )
    )
    now[0] = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    refund = engine.refund("shop", "1", lines={"1": 1}, reason="damaged")
    assert refund.refund is not None
    assert refund.refund.amount == cs.Money.of("10.00", "EUR")
    now[0] = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    engine.record_return("shop", "1", {"1": 1}, restock=True)
    assert engine.stock("A").on_hand == 9
    engine.record_order(
        _order(
            "1",
            [_line("1", "A", 2, "10.00", quantity_shipped=2)],
            status="shipped",
            created_at=datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
            updated_at=datetime(2026, 12, 11, 8, 0, tzinfo=UTC),
        )
    )
    assert [r.amount for r in engine.order("shop", "1").refunds] == [cs.Money.of("10.00", "EUR")]
    start, end = day_bounds(date(2026, 11, 1), date(2026, 12, 31))
    days = {
        r.key: (r.revenue, r.refunds, r.cost)
        for r in sales_report(store, start=start, end=end, by="day").rows
    }
    assert days == {
        "2026-11-05": (Decimal("20.00"), Decimal(0), Decimal("8.00")),
        "2026-12-03": (Decimal(0), Decimal("10.00"), Decimal(0)),
        "2026-12-10": (Decimal(0), Decimal(0), Decimal("-4.00")),
    }
    start, end = day_bounds(date(2026, 12, 1), date(2026, 12, 31))
    (december,) = sales_report(store, start=start, end=end).rows
    assert (december.orders, december.refunds, december.cost, december.margin) == (
        0,
        Decimal("10.00"),
        Decimal("-4.00"),
        Decimal("-6.00"),
    )


def test_a_cost_price_in_another_currency_is_converted_with_rates(
    engine: cs.SyncEngine,
) -> None:
    """A USD shop selling A, whose cost price is in EUR only: without rates its units
    have no cost (never 0.00 silently); with them, 4.00 EUR at 1.25 = 5.00 USD."""
    from channelsync.rates import Rates

    engine.record_order(_order("1", [_line("1", "A", 2, "12.00", "USD")], currency="USD"))
    plain = _row(_report(engine), "shop", "USD")
    assert (plain["cost"], plain["units_without_cost"]) == ("0.00", 2)
    rates = Rates()
    rates.add(date(2026, 11, 20), "EUR", "USD", Decimal("1.25"))
    row = _row(_report(engine, rates=rates), "shop", "USD")
    assert (row["cost"], row["units_without_cost"], row["margin"]) == ("10.00", 0, "14.00")
    engine.set_cost("A", cs.Money.of("4.60", "USD"))  # its own USD cost wins, EUR kept
    row = _row(_report(engine, rates=rates), "shop", "USD")
    assert row["cost"] == "9.20"
    assert _row(_report(engine), "shop", "USD")["cost"] == "9.20"


def test_the_reports_read_through_the_query_api_not_tables() -> None:
    """``channelsync.reports`` and ``channelsync.marketing`` hold no SQL: they read orders,
    costs and the projection through ``SalesBook`` (issue 14, item 6)."""
    import inspect

    import channelsync.marketing
    import channelsync.reports

    for module in (channelsync.reports, channelsync.marketing):
        source = inspect.getsource(module)
        assert "core import schema" not in source
        assert "sqlalchemy" not in source
