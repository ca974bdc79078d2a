"""``init``, ``doctor``, configuration errors and exit codes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.cli.conftest import SECRET, Cli

from channelsync.config import load_config


def test_init_writes_a_template_that_loads(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "new" / "channelsync.toml"
    result = cli("init", str(target), "--secrets-file", config=False)
    assert result.exit_code == 0
    assert "[accounts.shopify-main]" in target.read_text()
    secrets = target.parent / "channelsync.secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600
    again = cli("init", str(target), config=False)
    assert again.exit_code == 2
    assert "exists" in again.stderr


def test_doctor_checks_store_and_accounts(cli: Cli) -> None:
    cli.channel("shop-a").add_listing("SKU-1", 1)
    checks = cli.json("doctor")
    found = {(c["subject"], c["check"]): c for c in checks}
    assert found[("store", "reachable")]["status"] == "ok"
    assert found[("shop-a", "credentials and listings")]["status"] == "ok"
    assert found[("shop-a", "credentials and listings")]["detail"].endswith("listings readable")
    assert found[("shop-b", "credentials and listings")]["detail"].endswith(
        "no listing found on the account"
    )
    assert found[("shop-a", "orders access")]["status"] == "ok"


def test_doctor_says_what_to_fix_and_exits_1(cli: Cli) -> None:
    from channelsync.core.errors import AuthError

    cli.channel("shop-b").fail("fetch_listings", AuthError("forbidden", status=403))
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    import json

    bad = [c for c in json.loads(result.stdout) if c["status"] == "fail"]
    assert [(c["subject"], c["check"]) for c in bad] == [("shop-b", "credentials and listings")]
    assert bad[0]["detail"].startswith("permission refused")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[store]\nurl = "sqlite:///x.db"\n\n[worker]\npoll_interval = "often"\n',
            ":5: worker.poll_interval: Input should be a valid number",
        ),
        (
            "[accounts.a]\nkind = 'custom'\nfactory = 'x:y'\nrules = { share = 2.5 }\n",
            ":4: accounts.a.rules.share: Input should be less than or equal to 1",
        ),
        ('[store]\nurl = "sqlite:///x.db\n', ":2: invalid TOML"),
        ("[stores]\nurl = 1\n", ":1: stores: unknown setting"),
        (
            '[accounts.a]\nkind = "shopify"\nshop = "x.myshopify.com"\naccess_token = "shpat_1"\n',
            ":4: accounts.a.access_token: secrets never go in channelsync.toml: set"
            " CHANNELSYNC_A__ACCESS_TOKEN",
        ),
        (
            '[store]\nurl = "postgresql+psycopg://u:hunter22@db/cs"\n',
            ":2: store.url: the URL holds a password",
        ),
    ],
)
def test_malformed_config_is_refused_with_key_and_line(cli: Cli, text: str, message: str) -> None:
    cli.config.write_text(text, encoding="utf-8")
    result = cli("stock", "show", "SKU-1")
    assert result.exit_code == 2
    assert f"{cli.config}{message}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "hunter22" not in result.stderr


def test_world_readable_secrets_file_is_refused(cli: Cli) -> None:
    secrets = cli.path / "channelsync.secrets.toml"
    secrets.write_text(f'[accounts.shop-a]\napi_key = "{SECRET}"\n', encoding="utf-8")
    os.chmod(secrets, 0o644)
    result = cli("stock", "show", "SKU-1")
    assert result.exit_code == 2
    assert "readable or writable by every user" in result.stderr
    assert f"chmod 600 {secrets}" in result.stderr
    os.chmod(secrets, 0o600)
    assert cli("stock", "show", "SKU-1").exit_code == 0
    config = load_config(cli.config, environ={})
    assert config.secrets["shop-a"]["api_key"].get_secret_value() == SECRET
    assert SECRET not in repr(config)


def test_unreachable_store_exits_3(cli: Cli) -> None:
    cli.config.write_text('[store]\nurl = "sqlite:////nonexistent/dir/x.db"\n', encoding="utf-8")
    result = cli("stock", "show", "SKU-1")
    assert result.exit_code == 3
    assert "the store cannot be opened" in result.stderr


def test_missing_config_file(cli: Cli) -> None:
    cli.config.unlink()
    result = cli("sync")
    assert result.exit_code == 2
    assert "no such file; create one with `channelsync init`" in result.stderr


def test_help_of_every_command(cli: Cli) -> None:
    commands = [
        [],
        ["demo"],
        ["sandbox"],
        ["doctor"],
        ["init"],
        ["listings", "import"],
        ["sync"],
        ["worker"],
        ["stock", "show"],
        ["stock", "set"],
        ["stock", "adjust"],
        ["stock", "explain"],
        ["orders", "list"],
        ["orders", "show"],
        ["orders", "ship"],
        ["reconcile"],
        ["report", "sales"],
        ["customers", "export"],
        ["customers", "forget"],
    ]
    for argv in commands:
        result = cli(*argv, "--help", config=False)
        assert result.exit_code == 0, (argv, result.stdout, result.stderr)
        assert "Usage:" in result.stdout
