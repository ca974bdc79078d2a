"""``listings import``, ``sync`` (and --dry-run) and ``reconcile`` on FakeChannels."""

from __future__ import annotations

from tests.cli.conftest import CONFIG, SECRET, Cli

import channelsync as cs
from channelsync.config import load_config
from channelsync.core.errors import AuthError


def _seed(cli: Cli) -> None:
    a, b = cli.channel("shop-a"), cli.channel("shop-b")
    a.add_listing("SKU-1", 3, "10.00")
    a.add_listing("SKU-2", 3, "12.00")
    a.add_listing("LOOSE", 1, "5.00", manages_stock=False)
    b.add_listing("SKU-1", 3, "10.00")


def test_listings_import_reports_gaps_and_unmanaged(cli: Cli) -> None:
    _seed(cli)
    data = cli.json("listings", "import")
    assert data["accounts"]["shop-a"]["listings"] == 3
    assert data["accounts"]["shop-a"]["unmanaged"] == ["LOOSE"]
    assert data["accounts"]["shop-b"]["listings"] == 1
    assert data["missing_on"] == {"LOOSE": ["shop-b"], "SKU-2": ["shop-b"]}
    assert data["not_counted"] == ["LOOSE", "SKU-1", "SKU-2"]
    table = cli("listings", "import")
    assert table.exit_code == 0
    assert "2 SKUs missing on some accounts" in table.stdout


def test_listings_import_failure_exits_1(cli: Cli) -> None:
    _seed(cli)
    cli.channel("shop-b").fail("fetch_listings", AuthError("token revoked", status=401))
    result = cli("listings", "import")
    assert result.exit_code == 1
    assert "AuthError" in result.stdout


def test_sync_pushes_ledger_to_channels_with_rules(cli: Cli) -> None:
    _seed(cli)
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "7").exit_code == 0
    plan = cli.json("sync", "--dry-run")
    assert {(p["account"], p["sku"], p["quantity"]) for p in plan} == {
        ("shop-a", "SKU-1", 7),
        ("shop-b", "SKU-1", 6),  # shop-b keeps a buffer of 1
    }
    report = cli.json("sync")
    assert report["pushes_ok"] == 2
    assert cli.channel("shop-a").quantities["SKU-1"] == 7
    assert cli.channel("shop-b").quantities["SKU-1"] == 6
    # a buyer on shop-a: the next sync takes it from every channel
    cli.channel("shop-a").place_order({"SKU-1": 2})
    report = cli.json("sync")
    assert report["orders_new"] == 1
    assert cli.channel("shop-b").quantities["SKU-1"] == 4
    assert cli.json("stock", "show", "SKU-1")["committed"] == 2
    table = cli("sync")
    assert table.exit_code == 0
    assert "shop-a" in table.stdout


def test_sync_exits_1_when_an_account_fails_and_the_other_still_runs(cli: Cli) -> None:
    _seed(cli)
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "5").exit_code == 0
    cli.channel("shop-b").fail(
        "fetch_orders", AuthError(f"gateway said: bad key {SECRET}", status=401), times=5
    )
    result = cli("sync", "--json")
    assert result.exit_code == 1
    assert cli.channel("shop-a").quantities["SKU-1"] == 5
    assert "***" in result.stdout  # the echoed secret was scrubbed


def test_reconcile_reports_drift_and_fix_queues_the_correction(cli: Cli) -> None:
    _seed(cli)
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "5").exit_code == 0
    assert cli("stock", "set", "SKU-2", "2").exit_code == 0
    assert cli("sync").exit_code == 0
    assert cli.json("reconcile")["accounts"][0]["drift"] == []
    # someone edits the quantity by hand in the channel's back office
    cli.channel("shop-a").quantities["SKU-1"] = 40
    result = cli("reconcile", "--json")
    assert result.exit_code == 1
    import json

    found = json.loads(result.stdout)["accounts"]
    drift = {(d["account"], d["sku"]): d for a in found for d in a["drift"]}
    assert set(drift) == {("shop-a", "SKU-1")}
    assert drift[("shop-a", "SKU-1")]["shows"] == 40
    assert drift[("shop-a", "SKU-1")]["should"] == 5
    assert drift[("shop-a", "SKU-1")]["difference"] == 35
    assert found[0]["skipped"] == {"LOOSE": "listing does not manage stock"}
    table = cli("reconcile")
    assert "oversell risk" in table.stdout
    fixed = cli("reconcile", "--fix", "--json")
    assert fixed.exit_code == 0
    assert json.loads(fixed.stdout)["accounts"][0]["queued"] == 1
    assert cli.json("sync")["pushes_ok"] == 1
    assert cli.channel("shop-a").quantities["SKU-1"] == 5
    assert cli("reconcile").exit_code == 0


def test_unknown_account_is_a_usage_error(cli: Cli) -> None:
    result = cli("sync", "--account", "nope")
    assert result.exit_code == 2
    assert "no account 'nope'" in result.stderr


def test_own_sale_under_a_cap_is_topped_up_again(cli: Cli) -> None:
    cli.config.write_text(
        CONFIG.replace("fee_percent = 10", "fee_percent = 10\nrules = { cap = 5 }"),
        encoding="utf-8",
    )
    cli.channel("shop-a").add_listing("SKU-1", 0, "10.00")
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "20").exit_code == 0
    assert cli("sync").exit_code == 0
    assert cli.channel("shop-a").quantities["SKU-1"] == 5
    cli.channel("shop-a").place_order({"SKU-1": 1})  # the channel now shows 4
    assert cli("sync").exit_code == 0
    assert cli.channel("shop-a").quantities["SKU-1"] == 5


def test_sync_reports_a_refused_price_and_dry_run_shows_price_steps(cli: Cli) -> None:
    """A USD price for a EUR listing, with no rate to convert it, is not sent: the sync
    table lists it under the cycle (and the JSON's price_errors); the rest of the cycle
    goes on. The dry run shows the price and why it is refused."""
    _seed(cli)
    assert cli("listings", "import").exit_code == 0
    store = cs.open_store(load_config(cli.config).store_url)
    try:
        cs.SyncEngine(store).set_price("SKU-1", cs.Money.of("25.00", "USD"), ["shop-a"])
    finally:
        store.close()
    plan = cli.json("sync", "--dry-run")
    prices = [p for p in plan if p["kind"] == "price"]
    assert [(p["account"], p["sku"], p["base"], p["price"]) for p in prices] == [
        ("shop-a", "SKU-1", "25.00 USD", None)
    ]
    assert prices[0]["refused"].startswith("price in USD, the account sells in EUR")
    table = cli("sync", "--dry-run")
    assert "next prices" in table.stdout
    result = cli("sync")
    assert result.exit_code == 0  # a refused price stops nothing
    assert "1 prices not sent" in result.stdout
    assert "SKU-1: price refused: price in USD, the account sells in EUR" in result.stdout
    assert cli.channel("shop-a").prices["SKU-1"] == cs.Money.of("10.00", "EUR")
    report = cli.json("sync")
    assert report["price_errors"] == []  # retried with backoff: not due yet
