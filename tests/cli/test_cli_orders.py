"""``orders list|show|ship`` and ``customers export|forget``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.cli.conftest import Cli

from channelsync.core.errors import Rejected


def _orders(cli: Cli) -> tuple[str, str]:
    a = cli.channel("shop-a")
    a.add_listing("SKU-1", 10, "10.00")
    a.add_listing("SKU-2", 10, "4.50")
    first = a.place_order({"SKU-1": 2, "SKU-2": 1}).order_id
    a.update_order(
        first,
        customer={"customer_id": "C-1", "name": "Erika Mustermann", "email": "erika@example.org"},
        shipping_address={"name": "Erika Mustermann", "city": "Köln", "country_code": "DE"},
    )
    second = a.place_order({"SKU-1": 1}).order_id
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "10").exit_code == 0
    assert cli("stock", "set", "SKU-2", "10").exit_code == 0
    assert cli("sync").exit_code == 0
    return first, second


def test_list_and_show(cli: Cli) -> None:
    first, second = _orders(cli)
    rows = cli.json("orders", "list")
    assert [(r["order_id"], r["status"], r["lines"], r["units"]) for r in rows] == [
        (second, "open", 1, 1),
        (first, "open", 2, 3),
    ]
    assert rows[1]["total"] == "24.50"
    assert cli.json("orders", "list", "--status", "shipped") == []
    assert len(cli.json("orders", "list", "--since", "1d", "--limit", "1")) == 1
    shown = cli.json("orders", "show", "shop-a", first)
    assert shown["customer"]["email"] == "erika@example.org"
    assert "raw" not in shown
    table = cli("orders", "show", "shop-a", first)
    assert table.exit_code == 0
    assert "Köln" in table.stdout
    missing = cli("orders", "show", "shop-a", "nope")
    assert missing.exit_code == 1
    assert "no order 'nope'" in missing.stderr


def test_ship_tells_the_channel_and_moves_the_ledger(cli: Cli) -> None:
    first, _ = _orders(cli)
    result = cli.json("orders", "ship", "shop-a", first, "--carrier", "DHL", "--tracking", "0034")
    assert result["status"] == "pushed"
    shipped = cli.channel("shop-a").fulfillments[-1]
    assert (shipped[0], shipped[1].carrier, shipped[1].tracking_number) == (first, "DHL", "0034")
    level = cli.json("stock", "show", "SKU-1")
    assert (level["on_hand"], level["committed"]) == (8, 1)
    # the same shipment again is harmless
    again = cli.json("orders", "ship", "shop-a", first, "--carrier", "DHL", "--tracking", "0034")
    assert again["status"] == "pushed"
    assert cli.json("stock", "show", "SKU-1")["on_hand"] == 8


def test_ship_refused_by_the_channel_exits_1(cli: Cli) -> None:
    _, second = _orders(cli)
    cli.channel("shop-a").fail("push_fulfillment", Rejected("carrier unknown", status=422))
    result = cli("orders", "ship", "shop-a", second, "--carrier", "???")
    assert result.exit_code == 1
    bad_line = cli("orders", "ship", "shop-a", second, "--carrier", "DHL", "--line", "nope")
    assert bad_line.exit_code == 2
    unknown_line = cli("orders", "ship", "shop-a", second, "--carrier", "DHL", "--line", "x=1")
    assert unknown_line.exit_code == 2
    assert "has no line 'x'" in unknown_line.stderr


def test_customers_export_and_forget(cli: Cli, tmp_path: Path) -> None:
    first, _ = _orders(cli)
    data = json.loads(cli("customers", "export", "--email", "ERIKA@example.org").stdout)
    assert [o["order_id"] for o in data["orders"]] == [first]
    assert data["customers"][0]["name"] == "Erika Mustermann"
    target = tmp_path / "erika.json"
    assert (
        cli("customers", "export", "--email", "erika@example.org", "-o", str(target)).exit_code == 0
    )
    assert json.loads(target.read_text())["orders"][0]["order_id"] == first
    assert target.stat().st_mode & 0o077 == 0
    assert cli("customers", "forget", "--email", "erika@example.org", input="n\n").exit_code == 2
    assert cli.json("customers", "forget", "--email", "erika@example.org", "--yes") == {
        "orders_redacted": 1
    }
    shown = cli.json("orders", "show", "shop-a", first)
    assert shown["customer"] is None
    assert shown["shipping_address"] is None
    assert [ln["sku"] for ln in shown["lines"]] == ["SKU-1", "SKU-2"]
    after = cli("customers", "export", "--email", "erika@example.org")
    assert after.exit_code == 0
    assert json.loads(after.stdout)["orders"] == []
    assert "no order of this customer" in after.stderr
    assert cli("customers", "export").exit_code == 2
    kept = cli.json("customers", "forget", "--older-than-days", "30", "--yes")
    assert kept == {"orders_redacted": 0}


def test_customers_export_file_is_private_from_its_first_byte(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not written readable by everyone and chmod-ed afterwards: a crash (or a reader)
    between the two would find the personal data open. An old export's mode is not kept."""
    _orders(cli)
    target = tmp_path / "erika.json"
    target.write_text("{}", encoding="utf-8")
    target.chmod(0o644)  # last month's export, made world-readable by someone
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)  # the step after the write
    old_umask = os.umask(0o022)
    try:
        result = cli("customers", "export", "--email", "erika@example.org", "-o", str(target))
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0
    assert json.loads(target.read_text())["customers"][0]["name"] == "Erika Mustermann"
    assert target.stat().st_mode & 0o777 == 0o600


def test_orders_that_cannot_be_read_are_listed_and_block_nothing(cli: Cli) -> None:
    a = cli.channel("shop-a")
    a.add_listing("SKU-1", 10, "10.00")
    a.place_order({"SKU-1": 1})
    a.add_unreadable_order("BROKEN-7", "line 2: quantity is not a number ('zwei')")
    assert cli("listings", "import").exit_code == 0
    result = cli("sync")
    assert result.exit_code == 0
    assert "1 orders could not be read" in result.stdout
    listed = cli("orders", "failures")
    assert listed.exit_code == 1
    assert "BROKEN-7" in listed.stdout
    assert "quantity is not a number ('zwei')" in listed.stdout
    result = cli("orders", "failures", "--json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["account"], r["order_id"], r["times"]) for r in rows] == [("shop-a", "BROKEN-7", 1)]


def test_customers_list_is_the_customer_file(cli: Cli) -> None:
    _orders(cli)
    rows = cli.json("customers", "list")
    assert [(r["name"], r["email"], r["orders"], r["revenue"]) for r in rows] == [
        ("Erika Mustermann", "erika@example.org", 1, {"EUR": "24.50"})
    ]
    table = cli("customers", "list")
    assert table.exit_code == 0
    assert "Erika Mustermann" in table.stdout
