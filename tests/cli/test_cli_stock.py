"""``channelsync stock``: set, show, adjust, explain, cost."""

from __future__ import annotations

import sqlalchemy as sa
from tests.cli.conftest import Cli

import channelsync as cs
from channelsync.config import load_config
from channelsync.core.schema import products


def test_set_show_adjust_explain(cli: Cli) -> None:
    cli.channel("shop-a").add_listing("SKU-1", 0, "10.00")
    assert cli("listings", "import").exit_code == 0
    data = cli.json("stock", "set", "SKU-1", "12", "--key", "count-1")
    assert (data["on_hand"], data["committed"], data["available"]) == (12, 0, 12)
    assert data["channels"][0]["account"] == "shop-a"
    assert data["channels"][0]["should_show"] == 12
    assert data["channels"][0]["pending"] is True
    # the same key again changes nothing; for another count it is refused
    assert cli.json("stock", "set", "SKU-1", "12", "--key", "count-1")["on_hand"] == 12
    reused = cli("stock", "set", "SKU-1", "30", "--key", "count-1")
    assert reused.exit_code == 2
    assert "'count-1' was used for set_on_hand with another payload" in reused.stderr
    assert cli.json("stock", "show", "SKU-1")["on_hand"] == 12
    data = cli.json("stock", "adjust", "SKU-1", "-2", "--reason", "damage")
    assert data["on_hand"] == 10
    shown = cli("stock", "show", "SKU-1")
    assert shown.exit_code == 0
    assert "available 10" in shown.stdout
    exp = cli.json("stock", "explain", "SKU-1")
    last = exp["journal"][-1]
    assert (last["reason"], last["note"], last["d_on_hand"], last["source"]) == (
        "adjust",
        "damage",
        -2,
        "cli",
    )
    assert exp["journal_rows"] == 2
    assert exp["allocation"]["shop-a"][-1]["quantity"] == 10
    assert cli("stock", "explain", "SKU-1").exit_code == 0


def test_adjust_needs_reason_and_bad_values_exit_2(cli: Cli) -> None:
    assert cli("stock", "adjust", "SKU-1", "3").exit_code == 2
    result = cli("stock", "set", "SKU-1", "-1")
    assert result.exit_code == 2
    result = cli("stock", "cost", "SKU-1", "abc")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def _products(cli: Cli) -> list[tuple[str, str | None, str, str]]:
    """(sku, title, cost amount, currency) of every product in the command's store."""
    with cs.open_store(load_config(cli.config).store_url) as store, store.read() as conn:
        rows = conn.execute(sa.select(products).order_by(products.c.sku)).all()
    return [(r.sku, r.title, str(r.cost_amount), r.cost_currency) for r in rows]


def test_cost_is_stored_for_the_margin(cli: Cli) -> None:
    result = cli("stock", "cost", "SKU-1", "4.20", "--currency", "EUR")
    assert result.exit_code == 0
    assert result.stdout == "cost of SKU-1: 4.20 EUR\n"
    assert _products(cli) == [("SKU-1", None, "4.20", "EUR")]
    again = cli("stock", "cost", "SKU-1", "3.95", "--currency", "USD", "--title", "Mug")
    assert again.exit_code == 0
    assert _products(cli) == [("SKU-1", "Mug", "3.95", "USD")]  # the newer cost replaces it
