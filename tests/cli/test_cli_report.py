"""``report sales``: table, JSON, CSV and the PNG chart."""

from __future__ import annotations

import csv
import io
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
