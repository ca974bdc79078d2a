"""``orders cancel|refund|return``, ``operations``, ``cancel-requests``, ``review-requests``."""

from __future__ import annotations

from tests.cli.conftest import Cli


def _order(cli: Cli, units: int = 3) -> tuple[str, str]:
    shop = cli.channel("shop-a")
    shop.add_listing("SKU-1", 10, "10.00")
    order = shop.place_order({"SKU-1": units})
    assert cli("listings", "import").exit_code == 0
    assert cli("stock", "set", "SKU-1", "10").exit_code == 0
    assert cli("sync").exit_code == 0
    return order.order_id, order.lines[0].line_id


def _level(cli: Cli) -> tuple[int, int]:
    level = cli.json("stock", "show", "SKU-1")
    return level["on_hand"], level["committed"]


def test_cancel_dry_run_then_for_real_then_again(cli: Cli) -> None:
    order_id, line_id = _order(cli)
    assert _level(cli) == (10, 3)
    plan = cli.json(
        "orders", "cancel", "shop-a", order_id, "--reason", "out_of_stock",
        "--line", f"{line_id}=1", "--dry-run",
    )  # fmt: skip
    assert (plan["status"], plan["released"]) == ("dry_run", {"SKU-1": 1})
    assert _level(cli) == (10, 3)
    done = cli.json(
        "orders", "cancel", "shop-a", order_id, "--reason", "out_of_stock",
        "--line", f"{line_id}=1",
    )  # fmt: skip
    assert (done["status"], done["channel"], done["repeated"]) == ("done", "done", False)
    assert _level(cli) == (10, 2)
    again = cli.json(
        "orders", "cancel", "shop-a", order_id, "--reason", "out_of_stock",
        "--line", f"{line_id}=1",
    )  # fmt: skip
    assert again["repeated"] is True
    assert _level(cli) == (10, 2)
    text = cli("orders", "cancel", "shop-a", order_id, "--reason", "out_of_stock")
    assert text.exit_code == 0
    assert "released: SKU-1 2" in text.stdout
    assert _level(cli) == (10, 0)


def test_bad_input_exits_2_and_changes_nothing(cli: Cli) -> None:
    order_id, line_id = _order(cli, units=2)
    too_many = cli(
        "orders", "cancel", "shop-a", order_id, "--reason", "other", "--line", f"{line_id}=5"
    )
    assert too_many.exit_code == 2
    assert "cannot be cancelled" in too_many.stderr
    assert cli("orders", "cancel", "shop-a", order_id, "--reason", "whim").exit_code == 2
    over = cli("orders", "refund", "shop-a", order_id, "--reason", "other", "--amount", "20.01")
    assert over.exit_code == 2
    assert "more than can be refunded" in over.stderr
    not_shipped = cli("orders", "return", "shop-a", order_id, "--line", f"{line_id}=1")
    assert not_shipped.exit_code == 2
    cli.json("orders", "refund", "shop-a", order_id, "--reason", "other", "--amount", "1.00",
             "--key", "K-1")  # fmt: skip
    conflict = cli(
        "orders", "refund", "shop-a", order_id, "--reason", "other", "--amount", "2.00",
        "--key", "K-1",
    )  # fmt: skip
    assert conflict.exit_code == 2
    assert "K-1" in conflict.stderr
    assert _level(cli) == (10, 2)
    assert [o["refund"]["amount"]["amount"] for o in cli.json("orders", "operations")] == ["1.00"]


def test_refund_and_return_after_shipping(cli: Cli) -> None:
    order_id, line_id = _order(cli, units=2)
    assert cli("orders", "ship", "shop-a", order_id, "--carrier", "DHL").exit_code == 0
    assert _level(cli) == (8, 0)
    refund = cli.json(
        "orders", "refund", "shop-a", order_id, "--reason", "damaged", "--line", f"{line_id}=1"
    )
    assert refund["refund"]["amount"] == {"amount": "10.00", "currency": "EUR"}
    assert _level(cli) == (8, 0)  # money only: the unit stays with the buyer
    back = cli.json(
        "orders", "return", "shop-a", order_id, "--line", f"{line_id}=1", "--write-off",
        "--location", "returns-shelf", "--local",
    )  # fmt: skip
    assert (back["channel"], back["written_off"]) == ("local", {"SKU-1": 1})
    assert _level(cli) == (8, 0)
    again = cli.json("orders", "return", "shop-a", order_id, "--line", f"{line_id}=1")
    assert again["restocked"] == {"SKU-1": 1}
    assert _level(cli) == (9, 0)
    repeat = cli.json("orders", "return", "shop-a", order_id, "--line", f"{line_id}=1")
    assert repeat["repeated"] is True  # the same command again: nothing new
    third = cli(
        "orders", "return", "shop-a", order_id, "--line", f"{line_id}=1", "--reason", "damaged"
    )
    assert third.exit_code == 2
    assert "returned" in third.stderr
    assert _level(cli) == (9, 0)
    kinds = [(o["kind"], o["status"]) for o in cli.json("orders", "operations")]
    assert sorted(kinds) == [("refund", "done"), ("return", "done"), ("return", "done")]
    assert cli.json("orders", "settle") == []


def test_cancel_requests_and_review_requests_lists(cli: Cli) -> None:
    order_id, _ = _order(cli)
    assert cli.json("orders", "cancel-requests") == []
    none = cli("orders", "review-requests", "--json")
    assert none.exit_code == 0
    assert "opted in" in none.stderr
    refused = cli("orders", "review-requests", "-a", "shop-a")
    assert refused.exit_code == 2
    assert "review_requests = true" in refused.stderr
    text = cli.config.read_text(encoding="utf-8")
    cli.config.write_text(
        text.replace("fee_percent = 10\n", "fee_percent = 10\nreview_requests = true\n"),
        encoding="utf-8",
    )
    assert cli("orders", "ship", "shop-a", order_id, "--carrier", "DHL").exit_code == 0
    assert cli("sync").exit_code == 0  # the channel's shipped order comes back
    assert cli.json("orders", "review-requests") == []  # a week after shipping, by default
    (due,) = cli.json("orders", "review-requests", "--after-days", "0")
    assert (due["account"], due["order_id"], due["via"]) == ("shop-a", order_id, "callback")
    (skipped,) = cli.json("orders", "review-requests", "--after-days", "0", "--send")
    assert skipped["status"] == "skipped"
    bad = cli("orders", "review-requests", "--mark-sent", "nope")
    assert bad.exit_code == 2
    marked = cli.json("orders", "review-requests", "--mark-sent", f"shop-a/{order_id}")
    assert marked == {"recorded": 1}
    assert cli.json("orders", "review-requests", "--after-days", "0") == []
