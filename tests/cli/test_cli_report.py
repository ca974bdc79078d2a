"""``report sales|channels|customers`` and the customer file: table, JSON, CSV, charts."""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path

from tests.cli.conftest import Cli


def _sales(cli: Cli) -> None:
    a, b = cli.channel("shop-a"), cli.channel("shop-b")
    a.add_listing("SKU-1", 10, "10.00")
    b.add_listing("SKU-1", 10, "10.00")
    b.add_listing("SKU-2", 10, "7.00")
    a.place_order({"SKU-1": 2})
    b.place_order({"SKU-1": 1, "SKU-2": 1})
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "10").exit_code == 0
    assert cli("stock", "cost", "SKU-1", "4.00").exit_code == 0
    assert cli("sync").exit_code == 0


def test_sales_by_channel_json(cli: Cli) -> None:
    _sales(cli)
    data = cli.json("report", "sales")
    rows = {r["key"]: r for r in data["rows"]}
    a, b = rows["shop-a"], rows["shop-b"]
    assert (a["orders"], a["units"], a["revenue"], a["fees"], a["cost"], a["margin"]) == (
        1,
        2,
        "20.00",
        "2.00",
        "8.00",
        "10.00",
    )
    assert a["fees_estimated"] is True  # fee_percent = 10 of shop-a
    assert (b["units"], b["revenue"], b["fees"], b["cost"], b["margin"]) == (
        2,
        "17.00",
        "0.00",
        "4.00",
        "13.00",
    )
    assert b["units_without_cost"] == 1
    assert data["skus_without_cost"] == ["SKU-2"]
    assert data["totals"][0]["revenue"] == "37.00"
    assert data["totals"][0]["margin"] == "23.00"


def test_sales_by_sku_csv_and_by_day_table(cli: Cli, tmp_path: Path) -> None:
    _sales(cli)
    result = cli("report", "sales", "--by", "sku", "--csv")
    assert result.exit_code == 0
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["SKU-1"]["units"] == "3"
    assert rows["SKU-1"]["revenue"] == "30.00"
    assert rows["SKU-2"]["revenue"] == "7.00"
    table = cli("report", "sales", "--by", "day")
    assert table.exit_code == 0
    assert "37.00" in table.stdout
    out = tmp_path / "sales.json"
    assert cli("report", "sales", "--json", "-o", str(out)).exit_code == 0
    assert '"revenue": "37.00"' in out.read_text()
    assert cli("report", "sales", "--by", "week").exit_code == 2
    assert cli("report", "sales", "--from", "2026-02-30").exit_code == 2
    assert cli("report", "sales", "--from", "2026-03-02", "--to", "2026-03-01").exit_code == 2


def test_chart_is_a_png(cli: Cli, tmp_path: Path) -> None:
    _sales(cli)
    chart = tmp_path / "sales.png"
    result = cli("report", "sales", "--chart", str(chart))
    assert result.exit_code == 0, result.stderr
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 550)
    assert len(data) > 10_000


def _buyers(cli: Cli) -> None:
    """shop-a and shop-b (both EUR at fee_percent as configured) and one buyer on both,
    with the e-mail in two spellings."""
    a, b = cli.channel("shop-a"), cli.channel("shop-b")
    a.add_listing("SKU-1", 10, "10.00")
    b.add_listing("SKU-1", 10, "10.00")
    first = a.place_order({"SKU-1": 2}).order_id
    a.update_order(first, customer={"name": "Erika", "email": "Erika@Example.org"})
    second = b.place_order({"SKU-1": 1}).order_id
    b.update_order(second, customer={"name": "Erika M.", "email": "erika@example.org "})
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "10").exit_code == 0
    assert cli("stock", "cost", "SKU-1", "4.00").exit_code == 0
    assert cli("sync").exit_code == 0


def test_report_channels_json_csv_table_and_chart(cli: Cli, tmp_path: Path) -> None:
    _buyers(cli)
    data = cli.json("report", "channels", "--period", "month")
    rows = {r["account"]: r for r in data["rows"]}
    a, b = rows["shop-a"], rows["shop-b"]
    assert (a["orders"], a["revenue"], a["cost"], a["new_customers"]) == (1, "20.00", "8.00", 1)
    # the same person (e-mail in another case) comes back on shop-b
    assert (b["orders"], b["revenue"], b["new_customers"], b["returning_customers"]) == (
        1,
        "10.00",
        0,
        1,
    )
    assert a["repeat_customers"] == 1
    result = cli("report", "channels", "--csv")
    assert result.exit_code == 0
    assert [r["account"] for r in csv.DictReader(io.StringIO(result.stdout))] == [
        "shop-a",
        "shop-b",
    ]
    table = cli("report", "channels", "--period", "week")
    assert table.exit_code == 0
    assert "shop-a" in table.stdout
    assert "20.00" in table.stdout
    chart = tmp_path / "channels.png"
    assert cli("report", "channels", "--chart", str(chart)).exit_code == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("report", "channels", "--period", "year").exit_code == 2
    missing = cli("report", "channels", "--currency", "USD")
    assert missing.exit_code == 2
    assert "needs exchange rates" in missing.stderr


def test_report_channels_converts_and_lists_what_it_cannot(cli: Cli, tmp_path: Path) -> None:
    _buyers(cli)
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate\n2000-01-03,EUR,USD,1.25\n", encoding="utf-8")
    # a rate from 2000 is too old for today's orders: nothing converts, and it says so
    result = cli("report", "channels", "--currency", "USD", "--rates", str(rates), "--json")
    assert result.exit_code == 0
    data = result.stdout
    assert '"currency": "EUR"' in data
    assert "amounts not converted into USD" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("date,from,to,rate\nyesterday,EUR,USD,1\n", encoding="utf-8")
    broken = cli("report", "channels", "--currency", "USD", "--rates", str(bad))
    assert broken.exit_code == 2
    assert "bad.csv:2: 'yesterday' is not a date" in broken.stderr


def test_report_customers_and_the_customer_file(cli: Cli) -> None:
    _buyers(cli)
    data = cli.json("report", "customers")
    assert (data["customers"], data["new_customers"], data["repeat_customers"]) == (1, 1, 1)
    assert data["cohorts"][0]["customers"] == 1
    assert cli("report", "customers", "--csv").stdout.startswith("month,customers,")
    people = cli.json("customers", "list")
    assert [(p["person_id"], p["orders"], p["accounts"]) for p in people] == [
        ("email:erika@example.org", 2, ["shop-a", "shop-b"])
    ]
    shown = cli("customers", "show", "ERIKA@example.org")
    assert shown.exit_code == 0
    assert "shop-a, shop-b" in shown.stdout
    assert cli("customers", "show", "nobody@example.org").exit_code == 2
    exported = json.loads(cli("customers", "export", "--person", "erika@example.org").stdout)
    assert len(exported["orders"]) == 2
    assert cli.json("customers", "forget", "--person", "erika@example.org", "--yes") == {
        "orders_redacted": 2
    }
    assert cli.json("customers", "list") == []
