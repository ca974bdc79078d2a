"""``channelsync status``: where every account stands, from the store alone."""

from __future__ import annotations

from tests.cli.conftest import Cli


def test_status_after_a_sync_and_with_an_unreadable_order(cli: Cli) -> None:
    shop = cli.channel("shop-a")
    shop.add_listing("SKU-1", 0, "10.00")
    assert cli("stock", "set", "SKU-1", "5").exit_code == 0
    assert cli("sync").exit_code == 0
    data = cli.json("status")
    accounts = {a["account"]: a for a in data["accounts"]}
    assert set(accounts) == {"shop-a", "shop-b"}
    assert accounts["shop-a"]["outbox_depth"] == 0
    assert accounts["shop-a"]["last_pull_at"] is not None
    assert accounts["shop-a"]["worker"] is None
    assert data["workers"] == []
    table = cli("status")
    assert table.exit_code == 0
    assert "shop-a" in table.stdout
    assert "0 live worker(s)" in table.stdout
    shop.add_unreadable_order("X-1")
    cli("sync")
    broken = cli("status", "--json")
    assert broken.exit_code == 1  # something needs a person
    assert '"order_failures": 1' in broken.stdout
