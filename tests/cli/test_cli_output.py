"""What reaches the terminal: secrets never, not even cut short or folded; brackets stay text."""

from __future__ import annotations

from tests.cli.conftest import CONFIG, SECRET, Cli
from typer.testing import Result

from channelsync.cli import app
from channelsync.core.errors import AuthError


def _pieces(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def _sync_table(cli: Cli, columns: int) -> Result:
    result = cli.runner.invoke(
        app, ["--config", str(cli.config), "sync"], env={"COLUMNS": str(columns)}
    )
    cli.outputs.append(result.stdout + result.stderr)
    return result


def _failing_shop_b(cli: Cli, message: str) -> None:
    a, b = cli.channel("shop-a"), cli.channel("shop-b")
    a.add_listing("SKU-1", 3, "10.00")
    b.add_listing("SKU-1", 3, "10.00")
    assert cli("listings", "import").exit_code == 0
    b.fail("fetch_orders", AuthError(message, status=401), times=5)


def test_no_piece_of_a_secret_survives_a_cut_or_folded_table_cell(cli: Cli) -> None:
    # The errors column is cut at 100 characters: the secret straddles the cut.
    _failing_shop_b(cli, "gateway refused the request, it said: " + "y" * 40 + SECRET)
    for columns in (250, 120, 60):
        result = _sync_table(cli, columns)
        assert result.exit_code == 1
        leaked = [p for p in _pieces(SECRET) if p in result.stdout.replace("\n", "")]
        assert leaked == [], f"at {columns} columns: {leaked}"


def test_brackets_in_a_channel_error_are_shown_not_parsed_as_markup(cli: Cli) -> None:
    _failing_shop_b(cli, "bad field [/inventory_levels] in [sku]")
    result = _sync_table(cli, 250)
    assert result.exit_code == 1
    assert "bad field [/inventory_levels] in [sku]" in result.stdout


def test_brackets_in_a_config_error_are_shown_and_no_traceback(cli: Cli) -> None:
    cli.config.write_text(CONFIG + '\n[worker]\npoll_interval = "[/x]"\n', encoding="utf-8")
    result = cli("sync")
    assert result.exit_code == 2
    assert "worker.poll_interval" in result.stderr
    assert "(got '[/x]')" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_note_with_brackets_does_not_break_stock_explain(cli: Cli) -> None:
    assert cli("stock", "set", "SKU-1", "4", "--note", "count [/shelf B]").exit_code == 0
    result = cli("stock", "explain", "SKU-1")
    assert result.exit_code == 0
    assert "count [/shelf B]" in result.stdout


def test_help_shows_bracketed_table_names(cli: Cli) -> None:
    worker = cli("worker", "--help", config=False)
    assert worker.exit_code == 0
    assert "[worker]" in " ".join(worker.stdout.split())
    sales = cli("report", "sales", "--help", config=False)
    assert "[reports]" in " ".join(sales.stdout.split())
