"""Marketing report per channel, customer cohorts, the customer file across channels and
exchange rates, on one hand-computed month.

The month (November 2026, UTC):

- shop-de (Shopify, EUR): order D1 on the 2nd by Erika@Example.test, 2 x A at 10.00
  (cost of A: 4.00 EUR); one unit comes back on the 20th, restocked.
- woo-us (WooCommerce, USD): order U1 on the 3rd by " erika@example.test" (the same
  person), 1 x A at 12.00 (cost 5.00 USD); order U2 on the 3rd by max@example.test,
  3 x B at 4.00 (B costs 2.00 EUR only: 2.50 USD at 1 EUR = 1.25 USD), refunded 4.00
  USD on the 4th.
- ebay-uk (eBay, GBP): order E1 on the 5th by buyer "erika_uk" (e-mail hidden),
  1 x A at 9.00 GBP, no rate for GBP.
- shop-de: order D2 on the 6th without any customer, 1 x A at 10.00 EUR.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import channelsync as cs
from channelsync.charts import daily_figure
from channelsync.core import schema as t
from channelsync.core.salesbook import SalesBook
from channelsync.marketing import channel_report, customer_report, render_channel_chart
from channelsync.rates import Rates, load_rates
from channelsync.reports import day_bounds, render_chart, sales_report

NOV = day_bounds(date(2026, 11, 1), date(2026, 11, 30))


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def _order(
    account: str,
    kind: str,
    order_id: str,
    day: int,
    currency: str,
    lines: list[tuple[str, int, str]],
    customer: dict[str, Any] | None,
    **extra: Any,
) -> cs.Order:
    shipped = extra.pop("shipped", False)
    return cs.Order.model_validate(
        {
            "kind": kind,
            "account": account,
            "order_id": order_id,
            "status": extra.pop("status", "open"),
            "created_at": _at(day),
            "updated_at": extra.pop("updated_at", _at(day)),
            "currency": currency,
            "customer": customer,
            "lines": [
                {
                    "line_id": str(i),
                    "sku": sku,
                    "quantity": qty,
                    "unit_price": {"amount": price, "currency": currency},
                    "quantity_shipped": qty if shipped else 0,
                }
                for i, (sku, qty, price) in enumerate(lines, start=1)
            ],
            **extra,
        }
    )


@pytest.fixture
def engine(store: cs.Store) -> cs.SyncEngine:
    return _seed(store)


def _seed(store: cs.Store) -> cs.SyncEngine:
    now = [_at(1)]
    engine = cs.SyncEngine(store, clock=lambda: now[0])
    engine.set_cost("A", cs.Money.of("4.00", "EUR"))
    engine.set_cost("A", cs.Money.of("5.00", "USD"))
    engine.set_cost("B", cs.Money.of("2.00", "EUR"))
    engine.set_on_hand("A", 20)
    engine.set_on_hand("B", 20)
    erika = {"name": "Erika Mustermann", "email": "Erika@Example.test"}
    engine.record_order(
        _order(
            "shop-de",
            "shopify",
            "D1",
            2,
            "EUR",
            [("A", 2, "10.00")],
            erika,
            status="shipped",
            shipped=True,
        )
    )
    engine.record_order(
        _order(
            "woo-us",
            "woocommerce",
            "U1",
            3,
            "USD",
            [("A", 1, "12.00")],
            {"customer_id": "77", "name": "Erika M.", "email": " erika@example.test"},
        )
    )
    engine.record_order(
        _order(
            "woo-us",
            "woocommerce",
            "U2",
            3,
            "USD",
            [("B", 3, "4.00")],
            {"name": "Max", "email": "max@example.test"},
            refunds=[
                {
                    "refund_id": "r1",
                    "amount": {"amount": "4.00", "currency": "USD"},
                    "created_at": _at(4).isoformat(),
                    "lines": {"1": 1},
                }
            ],
            updated_at=_at(4),
        )
    )
    engine.record_order(
        _order(
            "ebay-uk",
            "ebay",
            "E1",
            5,
            "GBP",
            [("A", 1, "9.00")],
            {"customer_id": "erika_uk", "name": "Erika"},
        )
    )
    engine.record_order(_order("shop-de", "shopify", "D2", 6, "EUR", [("A", 1, "10.00")], None))
    now[0] = _at(20)
    engine.record_return("shop-de", "D1", {"1": 1}, restock=True, notify_channel=False)
    return engine


def _rates() -> Rates:
    rates = Rates()
    rates.add(date(2026, 11, 2), "EUR", "USD", Decimal("1.25"))
    return rates


def _rows(rep: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["account"], r["currency"]): r for r in rep.as_dict()["rows"]}


def test_channel_report_month_by_hand(engine: cs.SyncEngine) -> None:
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="month", rates=_rates())
    rows = _rows(rep)
    assert set(rows) == {("shop-de", "EUR"), ("woo-us", "USD"), ("ebay-uk", "GBP")}
    de = rows[("shop-de", "EUR")]
    # D1 20.00 + D2 10.00; cost 3 x 4.00 - 4.00 for the unit restocked on the 20th
    assert {k: de[k] for k in ("period", "orders", "units", "revenue", "cost", "margin")} == {
        "period": "2026-11-01",
        "orders": 2,
        "units": 3,
        "revenue": "30.00",
        "cost": "8.00",
        "margin": "22.00",
    }
    assert (de["returned_units"], de["return_rate"], de["aov"]) == (1, "33.3", "15.00")
    # Erika's first order ever is D1: new here; D2 has no customer.
    assert (de["new_customers"], de["returning_customers"], de["anonymous_orders"]) == (1, 0, 1)
    # Erika ordered again within 90 days (U1, on another channel).
    assert (de["repeat_customers"], de["repeat_rate"]) == (1, "100.0")
    us = rows[("woo-us", "USD")]
    # revenue 12.00 + 12.00; refund 4.00; cost 5.00 (A in USD) + 3 x 2.50 (B's EUR cost at 1.25)
    assert {k: us[k] for k in ("orders", "units", "revenue", "refunds", "cost", "margin")} == {
        "orders": 2,
        "units": 4,
        "revenue": "24.00",
        "refunds": "4.00",
        "cost": "12.50",
        "margin": "7.50",
    }
    assert (us["refund_rate"], us["aov"], us["units_without_cost"]) == ("16.7", "12.00", 0)
    # Max is new; Erika (first seen on shop-de) returns on woo-us.
    assert (us["new_customers"], us["returning_customers"], us["repeat_customers"]) == (1, 1, 0)
    uk = rows[("ebay-uk", "GBP")]
    # eBay hides the e-mail: "ebay:erika_uk" is a person of its own until merged.
    assert (uk["revenue"], uk["cost"], uk["units_without_cost"], uk["new_customers"]) == (
        "9.00",
        "0.00",
        1,
        1,
    )
    assert rep.skus_without_cost == {"A"}


def test_the_same_month_on_postgresql(pg_url: str) -> None:
    store = cs.open_store(pg_url)
    try:
        engine = _seed(store)
        rep = channel_report(
            store, start=NOV[0], end=NOV[1], period="month", rates=_rates(), currency="EUR"
        )
        rows = _rows(rep)
        assert (rows[("shop-de", "EUR")]["revenue"], rows[("shop-de", "EUR")]["cost"]) == (
            "30.00",
            "8.00",
        )
        assert (rows[("woo-us", "EUR")]["revenue"], rows[("woo-us", "EUR")]["cost"]) == (
            "19.20",
            "10.00",
        )
        assert rows[("woo-us", "EUR")]["returning_customers"] == 1
        engine.merge_customers("erika@example.test", "ebay:erika_uk")
        assert engine.customer("ebay-uk/E1").orders == 3
        cohorts = customer_report(store, start=NOV[0], end=NOV[1]).cohorts
        assert [(c.customers, c.repeat_customers) for c in cohorts] == [(2, 1)]
        assert engine.forget_customer("max@example.test") == 1
    finally:
        store.close()


def test_days_and_weeks_without_sales_are_rows_of_nothing(engine: cs.SyncEngine) -> None:
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="week")
    assert rep.periods()[:2] == [date(2026, 10, 26), date(2026, 11, 2)]
    weeks = {(r.period, r.account): r for r in rep.rows}
    assert weeks[(date(2026, 11, 2), "woo-us")].refunds == Decimal("4.00")
    # The return on Friday the 20th falls in the week of the 16th, cost -4.00.
    late = weeks[(date(2026, 11, 16), "shop-de")]
    assert (late.orders, late.returned_units, late.cost) == (0, 1, Decimal("-4.00"))


def test_converted_into_one_currency_lists_what_cannot_be(engine: cs.SyncEngine) -> None:
    rep = channel_report(
        engine.store,
        start=NOV[0],
        end=NOV[1],
        period="month",
        rates=_rates(),
        currency="EUR",
    )
    rows = _rows(rep)
    assert set(rows) == {("shop-de", "EUR"), ("woo-us", "EUR"), ("ebay-uk", "GBP")}
    us = rows[("woo-us", "EUR")]
    # 1 USD = 0.80 EUR: 24.00 -> 19.20, refunds 3.20, cost 12.50 -> 10.00
    assert (us["revenue"], us["refunds"], us["cost"], us["margin"]) == (
        "19.20",
        "3.20",
        "10.00",
        "6.00",
    )
    assert [(u.currency, u.what, u.amount) for u in rep.unconverted] == [
        ("GBP", "revenue", Decimal("9.0000"))
    ]
    assert rows[("ebay-uk", "GBP")]["revenue"] == "9.00"


def test_csv_and_json_carry_the_same_rows(engine: cs.SyncEngine) -> None:
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="month")
    buf = io.StringIO()
    rep.write_csv(buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [(r["account"], r["revenue"]) for r in rows] == [
        ("ebay-uk", "9.00"),
        ("shop-de", "30.00"),
        ("woo-us", "24.00"),
    ]
    assert json.loads(rep.to_json())["rows"][1]["revenue"] == "30.00"


def test_fee_percent_applies_where_the_channel_reports_no_fees(engine: cs.SyncEngine) -> None:
    rep = channel_report(
        engine.store, start=NOV[0], end=NOV[1], period="month", fee_percent={"woo-us": Decimal(10)}
    )
    us = _rows(rep)[("woo-us", "USD")]
    assert (us["fees"], us["fees_estimated"]) == ("2.40", True)


def test_customer_file_is_one_entry_per_person(engine: cs.SyncEngine) -> None:
    people = {p.person_id: p for p in engine.customers()}
    assert set(people) == {"email:erika@example.test", "email:max@example.test", "ebay:erika_uk"}
    erika = people["email:erika@example.test"]
    assert (erika.orders, erika.accounts, erika.returned_units) == (2, ["shop-de", "woo-us"], 1)
    assert erika.revenue == {"EUR": Decimal("20.00"), "USD": Decimal("12.00")}
    assert (erika.first_order_at, erika.last_order_at) == (_at(2), _at(3))
    assert people["email:max@example.test"].refunds == {"USD": Decimal("4.00")}
    merged = engine.merge_customers("Erika@example.test", "ebay:erika_uk", note="same buyer")
    assert merged.orders == 3
    assert merged.identities == ["ebay:erika_uk", "email:erika@example.test"]
    assert engine.customer("ebay-uk/E1").person_id == "email:erika@example.test"
    assert [(e.action, e.identity, e.person, e.note) for e in engine.customer_edits()] == [
        ("merge", "ebay:erika_uk", "email:erika@example.test", "same buyer")
    ]
    # Merged, E1 is Erika's returning order, no longer a new customer on ebay-uk.
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="month")
    uk = _rows(rep)[("ebay-uk", "GBP")]
    assert (uk["new_customers"], uk["returning_customers"]) == (0, 1)
    alone = engine.split_customer("ebay:erika_uk")
    assert (alone.person_id, alone.orders) == ("ebay:erika_uk", 1)
    assert engine.customer("email:erika@example.test").orders == 2
    assert [e.action for e in engine.customer_edits()] == ["merge", "split"]
    with pytest.raises(cs.UnknownCustomer):
        engine.customer("nobody@example.test")


def test_gdpr_acts_on_the_person_across_channels(engine: cs.SyncEngine) -> None:
    engine.merge_customers("erika@example.test", "ebay:erika_uk")
    data = engine.export_customer("ERIKA@example.test")
    assert sorted(o["order_id"] for o in data["orders"]) == ["D1", "E1", "U1"]
    assert data["person"]["accounts"] == ["ebay-uk", "shop-de", "woo-us"]
    assert engine.forget_customer("erika@example.test") == 3
    assert [p.person_id for p in engine.customers()] == ["email:max@example.test"]
    assert all("erika" not in e.identity for e in engine.customer_edits())
    # The figures stay: the month's revenue is unchanged, Erika's orders are anonymous now.
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="month")
    de = _rows(rep)[("shop-de", "EUR")]
    assert (de["revenue"], de["anonymous_orders"], de["new_customers"]) == ("30.00", 2, 0)


def test_customer_report_cohorts(engine: cs.SyncEngine) -> None:
    rep = customer_report(engine.store, start=NOV[0], end=NOV[1], repeat_days=30)
    data = rep.as_dict()
    assert (data["customers"], data["new_customers"], data["repeat_customers"]) == (3, 3, 1)
    assert data["repeat_rate"] == "33.3"
    assert data["cohorts"] == [
        {
            "month": "2026-11",
            "customers": 3,
            "repeat_customers": 1,
            "repeat_rate": "33.3",
            "active": [],
        }
    ]


def test_rates_files_daily_csv_and_ecb(tmp_path: Path) -> None:
    daily = tmp_path / "rates.csv"
    daily.write_text("date,from,to,rate\n2026-11-02,USD,EUR,0.80\n", encoding="utf-8")
    rates = load_rates(daily)
    # a weekend day uses Friday's rate; the inverse and stale rates
    assert rates.convert(Decimal("10"), "USD", "EUR", date(2026, 11, 4)) == Decimal("8.00")
    assert rates.rate("EUR", "USD", date(2026, 11, 2)) == Decimal("1.25")
    assert rates.rate("USD", "EUR", date(2026, 11, 20)) is None
    ecb = tmp_path / "eurofxref-hist.csv"
    ecb.write_text(
        "Date,USD,JPY,GBP,\n2026-11-02,1.1000,170.00,N/A,\n2026-10-30,1.0800,168.00,0.8500,\n",
        encoding="utf-8",
    )
    rates = load_rates(ecb)
    assert rates.rate("EUR", "USD", date(2026, 11, 2)) == Decimal("1.1000")
    # GBP was not fixed on the 2nd: the 30th's rate; USD->GBP crosses the euro
    assert rates.rate("EUR", "GBP", date(2026, 11, 2)) == Decimal("0.8500")
    assert rates.rate("USD", "GBP", date(2026, 10, 30)) == Decimal("0.85") / Decimal("1.08")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,from,to,rate\n2026-11-02,USD,EUR,zero\n", encoding="utf-8")
    with pytest.raises(cs.ConfigError, match=r"bad.csv:2: 'zero' is not a number"):
        load_rates(bad)
    with pytest.raises(cs.ConfigError, match="not found"):
        load_rates(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("date,from,to,rate\n2026-11-02,USD,EUR,0.8 \xe9\n".encode("latin-1"))
    with pytest.raises(cs.ConfigError, match="not UTF-8"):
        load_rates(latin)


def test_a_one_day_chart_spans_that_day_with_a_panel_per_currency(
    engine: cs.SyncEngine, tmp_path: Path
) -> None:
    start, end = day_bounds(date(2026, 11, 3), date(2026, 11, 3))
    rep = sales_report(engine.store, start=start, end=end)
    fig = daily_figure(
        {k: {d: (r, m) for d, r, m in v} for k, v in rep.series().items()},
        [date(2026, 11, 3)],
        title="t",
        xlabel="day",
    )
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["USD"]
    lo, hi = axes[0].get_xlim()
    assert hi - lo == pytest.approx(1.0)  # one day wide (matplotlib dates are days)
    png = render_chart(rep, tmp_path / "day.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_draws_days_without_sales_as_zero(engine: cs.SyncEngine) -> None:
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="day")
    fig = daily_figure(rep.daily, [date(2026, 11, d) for d in range(1, 31)], title="t", xlabel="d")
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["EUR", "GBP", "USD"]
    revenue = axes[0].get_lines()[0]  # shop-de revenue
    ys = list(revenue.get_ydata())  # type: ignore[arg-type]
    assert len(ys) == 30
    assert (ys[0], ys[1], ys[2], ys[5]) == (0.0, 20.0, 0.0, 10.0)


def test_channel_chart_is_a_png(engine: cs.SyncEngine, tmp_path: Path) -> None:
    rep = channel_report(engine.store, start=NOV[0], end=NOV[1], period="week")
    out = render_channel_chart(rep, tmp_path / "channels.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


_REFRESH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import channelsync as cs
    from channelsync.core.salesbook import SalesBook

    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    store = cs.open_store(url)
    ready.touch()
    while not go.exists():
        time.sleep(0.001)
    print(SalesBook(store).refresh())
    """
)


@pytest.mark.postgres
def test_two_processes_building_the_report_projection_at_once_agree(
    pg_url: str, tmp_path: Path
) -> None:
    """Two report commands on PostgreSQL rebuild the same 600 orders' projection at the
    same moment: each order's rows are written under its lock, so neither fails and every
    order is projected once."""
    with cs.open_store(pg_url) as store:
        engine = cs.SyncEngine(store)
        engine.set_on_hand_many({"MUG": 10_000})
        day = datetime(2026, 11, 3, 10, tzinfo=UTC)
        engine.record_orders(
            [
                cs.Order(
                    kind="fake",
                    account="shop",
                    order_id=f"O{i}",
                    status=cs.OrderStatus.OPEN,
                    created_at=day,
                    updated_at=day,
                    currency="EUR",
                    lines=(
                        cs.OrderLine(
                            line_id="1",
                            sku="MUG",
                            quantity=1,
                            unit_price=cs.Money.of("5.00", "EUR"),
                        ),
                    ),
                )
                for i in range(600)
            ]
        )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _REFRESH,
                pg_url,
                str(tmp_path / f"ready{n}"),
                str(tmp_path / "go"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (0, 1)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in (0, 1)):
        assert time.monotonic() < deadline, "the report processes did not start"
        assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs if p.stderr]
        time.sleep(0.01)
    (tmp_path / "go").touch()
    rebuilt = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        rebuilt.append(int(out.strip()))
    assert sum(rebuilt) >= 600  # each saw the 600 stale orders, or part of them
    with cs.open_store(pg_url) as store, store.read() as conn:
        rows = conn.execute(
            sa.select(t.sales_orders.c.order_id, sa.func.count()).group_by(
                t.sales_orders.c.order_id
            )
        ).all()
        assert len(rows) == 600
        assert {n for _, n in rows} == {1}
        assert SalesBook(store).stale() == []
