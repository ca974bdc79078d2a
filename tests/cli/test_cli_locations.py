"""``channelsync stock ... --location`` and ``stock transfer``; ``locations`` in the toml."""

from __future__ import annotations

from tests.cli.conftest import CONFIG, Cli


def test_counts_transfers_and_pooled_accounts_by_location(cli: Cli) -> None:
    cli.config.write_text(
        CONFIG.replace("rules = { buffer = 1 }", 'rules = { buffer = 1 }\nlocations = ["berlin"]'),
        encoding="utf-8",
    )
    for account in ("shop-a", "shop-b"):
        cli.channel(account).add_listing("MUG", 0, "9.00")
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "MUG", "4", "--location", "berlin").exit_code == 0
    data = cli.json("stock", "set", "MUG", "9", "--location", "hamburg")
    assert [(x["location"], x["on_hand"]) for x in data["locations"]] == [
        ("berlin", 4),
        ("hamburg", 9),
    ]
    should = {c["account"]: c["should_show"] for c in data["channels"]}
    assert should == {"shop-a": 13, "shop-b": 3}  # shop-b draws on berlin only, buffer 1
    moved = cli.json("stock", "transfer", "MUG", "5", "--from", "hamburg", "--to", "berlin")
    assert [(x["location"], x["on_hand"]) for x in moved["locations"]] == [
        ("berlin", 9),
        ("hamburg", 4),
    ]
    assert {c["account"]: c["should_show"] for c in moved["channels"]}["shop-b"] == 8
    too_many = cli("stock", "transfer", "MUG", "50", "--from", "hamburg", "--to", "berlin")
    assert too_many.exit_code == 2
    assert "only 4 on hand there" in too_many.stderr
    table = cli("stock", "show", "MUG")
    assert "berlin" in table.stdout
    assert "hamburg" in table.stdout
    explained = cli.json("stock", "explain", "MUG", "--location", "hamburg")
    assert [(e["reason"], e["d_on_hand"]) for e in explained["journal"]] == [
        ("set_on_hand", 9),
        ("transfer", -5),
    ]
    assert cli("sync").exit_code == 0
    assert cli.channel("shop-b").quantities["MUG"] == 8
    assert cli.channel("shop-a").quantities["MUG"] == 13


def test_a_bad_locations_setting_is_a_config_error(cli: Cli) -> None:
    cli.config.write_text(
        CONFIG.replace("rules = { buffer = 1 }", "rules = { buffer = 1 }\nlocations = []"),
        encoding="utf-8",
    )
    result = cli("stock", "show", "MUG")
    assert result.exit_code != 0
    assert "locations of 'shop-b': the list is empty" in result.stderr
