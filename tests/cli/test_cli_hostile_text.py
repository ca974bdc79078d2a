"""Hostile text (Rich markup in SKUs, order ids, notes, reasons, carriers) through every
command that prints it: shown as it is, never parsed, never a crash after a commit."""

from __future__ import annotations

from tests.cli.conftest import Cli

from channelsync.core.models import OrderStatus

#: A valid SKU that is also a closing markup tag, an opening one and a style name.
SKU = "mug-[/l][bold]"
ORDER = "A-[/]-1"
NOTE = "shelf [red]B[/red] [/x]"
CARRIER = "[link=http://x]DHL[/link]"


def _shown(text: str, *wanted: str) -> None:
    flat = text.replace("\n", "")
    for w in wanted:
        assert w in flat, f"{w!r} not in output:\n{text}"


def test_stock_commands_print_hostile_skus_as_they_are(cli: Cli) -> None:
    cli.channel("shop-a").add_listing(SKU, 0, "10.00")
    assert cli("listings", "import").exit_code == 0
    for args in (
        ("stock", "set", SKU, "2", "--note", NOTE),
        ("stock", "adjust", SKU, "5", "--reason", NOTE),
        ("stock", "transfer", SKU, "1", "--from", "default", "--to", "[b]shelf"),
        ("stock", "show", SKU),
        ("stock", "explain", SKU),
        ("stock", "cost", SKU, "1.50"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert "please report it" not in result.stderr
        _shown(result.stdout, SKU)
    explained = cli("stock", "explain", SKU).stdout
    _shown(explained, NOTE, "[b]shelf")
    assert cli.json("stock", "show", SKU)["on_hand"] == 7  # each command applied once


def test_adjust_that_crashed_after_its_commit_now_prints_and_applies_once(cli: Cli) -> None:
    """The measured failure: `stock adjust 'mug-[/l]' 5` committed, then crashed (rc 1);
    the retry applied it again (2 -> 12)."""
    assert cli("stock", "set", "mug-[/l]", "2").exit_code == 0
    result = cli("stock", "adjust", "mug-[/l]", "5", "--reason", "receipt")
    assert result.exit_code == 0, result.stderr
    _shown(result.stdout, "mug-[/l]", "on hand 7")


def test_sync_reconcile_and_orders_print_hostile_text(cli: Cli) -> None:
    shop = cli.channel("shop-a")
    shop.add_listing(SKU, 0, "10.00")
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", SKU, "3").exit_code == 0
    shop.place_order({SKU: 5}, order_id=ORDER)
    shop.place_order({"[/never]-seen": 1}, order_id="B-2")
    synced = cli("sync")
    _shown(synced.stdout, f"{SKU} by -2", "[/never]-seen")
    dry = cli("sync", "--dry-run")
    assert dry.exit_code == 0
    shop.quantities[SKU] = 40
    drift = cli("reconcile")
    assert drift.exit_code == 1
    _shown(drift.stdout, SKU)
    assert cli("reconcile", "--fix").exit_code == 0
    history = cli("reconcile", "--history")
    assert history.exit_code == 0
    _shown(history.stdout, SKU, "shop-a showed 40, set to 0")
    listed = cli("orders", "list")
    _shown(listed.stdout, ORDER, f"#{ORDER}")
    shown = cli("orders", "show", "shop-a", ORDER)
    assert shown.exit_code == 0
    _shown(shown.stdout, ORDER, SKU)
    shipped = cli("orders", "ship", "shop-a", ORDER, "--carrier", CARRIER)
    assert shipped.exit_code == 0, shipped.stderr
    _shown(shipped.stdout, ORDER)
    cli("sync")  # the channel's shipped order comes back, with the shipment
    _shown(cli("orders", "show", "shop-a", ORDER).stdout, CARRIER)
    report = cli("report", "sales", "--by", "sku")
    assert report.exit_code == 0, report.stderr
    _shown(report.stdout, SKU)


def test_after_sale_and_failures_print_hostile_text(cli: Cli) -> None:
    shop = cli.channel("shop-a")
    shop.add_listing(SKU, 0, "10.00")
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", SKU, "9").exit_code == 0
    order = shop.place_order({SKU: 2}, order_id=ORDER)
    shop.add_unreadable_order("[/bad]", error="field [/total] is [bold]wrong")
    cli("sync")
    cancelled = cli("orders", "cancel", "shop-a", ORDER, "--reason", "other", "--note", NOTE)
    assert cancelled.exit_code == 0, cancelled.stderr
    _shown(cancelled.stdout, ORDER, SKU)
    ops = cli("orders", "operations")
    _shown(ops.stdout, ORDER)
    failures = cli("orders", "failures")
    assert failures.exit_code == 1
    _shown(failures.stdout, "[/bad]", "field [/total] is [bold]wrong")
    assert order.status is OrderStatus.OPEN


def test_explain_of_an_unknown_sku_says_so_and_exits_1(cli: Cli) -> None:
    result = cli("stock", "explain", "NO-SUCH-SKU")
    assert result.exit_code == 1
    assert "no SKU 'NO-SUCH-SKU' in the store" in result.stderr
    assert cli("stock", "set", "KNOWN", "0").exit_code == 0
    assert cli("stock", "explain", "KNOWN").exit_code == 0


def test_negative_deltas_on_the_command_line(cli: Cli) -> None:
    assert cli("stock", "set", "MUG", "10").exit_code == 0
    assert cli.json("stock", "adjust", "MUG", "-2", "-r", "damage")["on_hand"] == 8
    after_dashes = cli("stock", "adjust", "MUG", "-r", "damage", "--json", "--", "-3")
    assert after_dashes.exit_code == 0, after_dashes.stderr
    assert '"on_hand": 5' in after_dashes.stdout
    assert cli.json("stock", "adjust", "MUG", "--by", "-4", "-r", "damage")["on_hand"] == 1
    below = cli("stock", "adjust", "MUG", "--by", "-5", "-r", "damage")
    assert below.exit_code == 2
    assert "below zero is refused unless allow_negative=True" in below.stderr
    forced = cli.json("stock", "adjust", "MUG", "--by", "-5", "-r", "lost", "--allow-negative")
    assert forced["on_hand"] == -4
    both = cli("stock", "adjust", "MUG", "3", "--by", "3", "-r", "x")
    assert both.exit_code == 2
    assert "give the delta once" in both.stderr
    negative_count = cli("stock", "set", "MUG", "-5")
    assert negative_count.exit_code == 2
    assert "No such option" not in negative_count.stderr
    assert "greater than or equal to 0" in negative_count.stderr


def test_bad_skus_are_refused_with_the_rule(cli: Cli) -> None:
    for sku, rule in ((" MUG", "surrounding whitespace"), ("M" * 256, "at most 255")):
        result = cli("stock", "set", sku, "1")
        assert result.exit_code == 2
        assert rule in result.stderr


def test_import_customers_and_status_print_hostile_text(cli: Cli) -> None:
    from channelsync.core.models import Customer

    shop = cli.channel("shop-a")
    shop.add_listing(SKU, 0, "10.00")
    shop.add_listing("[/other]", 0, "10.00")
    imported = cli("listings", "import")
    assert imported.exit_code == 0, imported.stderr
    _shown(imported.stdout, SKU, "[/other]")  # listed but not counted yet
    order = shop.place_order({SKU: 1}, order_id=ORDER)
    shop.update_order(
        order.order_id, customer=Customer(customer_id="[/c]", name="Ann [bold]B[/]", email=None)
    )
    assert cli("sync").exit_code == 0
    customers = cli("customers", "list")
    assert customers.exit_code == 0, customers.stderr
    _shown(customers.stdout, "Ann [bold]B[/]")
    person = cli.json("customers", "list", "--json")[0]["person_id"]
    shown = cli("customers", "show", person)
    assert shown.exit_code == 0, shown.stderr
    _shown(shown.stdout, "Ann [bold]B[/]", ORDER, "[/c]")
    edits = cli("customers", "edits")
    assert edits.exit_code == 0, edits.stderr
    status = cli("status")
    assert "please report it" not in status.stderr
    _shown(status.stdout, "shop-a")


def test_doctor_shows_the_table_names_in_its_advice(cli: Cli) -> None:
    """Once `add access_token under  in channelsync.secrets.toml`: the table name vanished."""
    cli.config.write_text(
        '[store]\nurl = "sqlite:///channelsync.db"\n\n'
        '[accounts.shopify-main]\nkind = "shopify"\nshop = "x.myshopify.com"\n',
        encoding="utf-8",
    )
    result = cli("doctor")
    assert result.exit_code == 1
    _shown(result.stdout, "[accounts.shopify-main]")
