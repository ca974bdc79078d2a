"""``channelsync.config``: the TOML, secrets from the environment or a private file, messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from channelsync.config import (
    SECRETS_FILE,
    key_lines,
    load_config,
    secret_env_name,
    template,
)
from channelsync.core.errors import ConfigError

SECRET = "ck_live_5f4e3d2c1b0a-DO-NOT-PRINT"

WOO = """\
[store]
url = "sqlite:///shop.db"

[accounts.woo-de]
kind = "woocommerce"
url = "https://shop.example.com"
fee_percent = 1.5
rules = { buffer = 2, cap = 20 }
channel_args = { shop_timezone = "Europe/Berlin" }

[accounts.woo-de.sku_rules.GIFT]
enabled = false
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channelsync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_key_lines_maps_tables_keys_and_dotted_keys() -> None:
    lines = key_lines(WOO + 'a.b = 1\n"quoted key" = """\nx = 1\n"""\nafter = 2\n')
    assert lines[("store",)] == 1
    assert lines[("store", "url")] == 2
    assert lines[("accounts", "woo-de", "rules")] == 8
    assert lines[("accounts", "woo-de", "sku_rules", "GIFT", "enabled")] == 12
    assert lines[("accounts", "woo-de", "sku_rules", "GIFT", "a", "b")] == 13
    assert ("accounts", "woo-de", "sku_rules", "GIFT", "x") not in lines  # inside a string
    assert lines[("accounts", "woo-de", "sku_rules", "GIFT", "after")] == 17


def test_secret_env_names() -> None:
    assert (
        secret_env_name("shopify-main", "access_token") == "CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN"
    )
    assert secret_env_name("ebay.de", "cert_id") == "CHANNELSYNC_EBAY_DE__CERT_ID"


def test_woocommerce_account_from_toml_and_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, WOO)
    env = {
        "CHANNELSYNC_WOO_DE__CONSUMER_KEY": "ck_" + SECRET,
        "CHANNELSYNC_WOO_DE__CONSUMER_SECRET": SECRET,
    }
    config = load_config(path, environ=env)
    assert config.store_url == f"sqlite:///{(tmp_path / 'shop.db').resolve()}"
    rules = config.rules()
    assert rules["woo-de"].buffer == 2
    assert rules["woo-de"].cap == 20
    assert rules[("woo-de", "GIFT")].enabled is False
    assert str(config.fee_percent()["woo-de"]) == "1.5"
    assert config.missing_secrets("woo-de") == []
    channel = config.build_channel("woo-de")
    assert channel.account == "woo-de"
    assert channel.kind == "woocommerce"
    assert SECRET not in repr(channel)
    assert SECRET not in repr(config)
    assert set(config.secret_values()) == {SECRET, "ck_" + SECRET}


def test_missing_secret_names_the_variable_and_the_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, WOO), environ={})
    assert config.missing_secrets("woo-de") == ["consumer_key", "consumer_secret"]
    with pytest.raises(ConfigError) as caught:
        config.build_channel("woo-de")
    text = str(caught.value)
    assert "accounts.woo-de.consumer_key: secret is missing" in text
    assert "CHANNELSYNC_WOO_DE__CONSUMER_KEY" in text
    assert SECRETS_FILE in text


def test_secrets_file_and_environment_precedence(tmp_path: Path) -> None:
    path = _write(tmp_path, WOO)
    secrets = tmp_path / SECRETS_FILE
    secrets.write_text(
        '[store]\nurl = "sqlite:///from-secrets.db"\n\n'
        f'[accounts.woo-de]\nconsumer_key = "file-key"\nconsumer_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    os.chmod(secrets, 0o600)
    config = load_config(path, environ={"CHANNELSYNC_WOO_DE__CONSUMER_KEY": "env-key"})
    assert config.secrets_path == secrets
    assert config.secrets["woo-de"]["consumer_key"].get_secret_value() == "env-key"
    assert config.secrets["woo-de"]["consumer_secret"].get_secret_value() == SECRET
    assert config.store_url.endswith("/from-secrets.db")


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ('[accounts.woo-de]\nurl = "x"\n', ":2: accounts.woo-de.url: not a secret"),
        ('[accounts.nope]\nconsumer_key = "x"\n', ":1: accounts.nope: no such account"),
        ("[worker]\npoll_interval = 1\n", ":1: worker: the secrets file holds only"),
    ],
)
def test_secrets_file_holds_only_secrets(tmp_path: Path, secrets: str, message: str) -> None:
    path = _write(tmp_path, WOO)
    target = tmp_path / SECRETS_FILE
    target.write_text(secrets, encoding="utf-8")
    os.chmod(target, 0o600)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"{target}{message}" in str(caught.value)


def test_world_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, WOO)
    target = tmp_path / SECRETS_FILE
    target.write_text(f'[accounts.woo-de]\nconsumer_secret = "{SECRET}"\n', encoding="utf-8")
    os.chmod(target, 0o604)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert "readable or writable by every user" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_group_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, WOO)
    target = tmp_path / SECRETS_FILE
    target.write_text(f'[accounts.woo-de]\nconsumer_secret = "{SECRET}"\n', encoding="utf-8")
    os.chmod(target, 0o640)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == (
        f"{target}: the secrets file is readable or writable by other users of its group on"
        f" this machine (mode 640); refused. Fix it with: chmod 600 {target}"
    )
    os.chmod(target, 0o600)
    assert (
        load_config(path, environ={}).secrets["woo-de"]["consumer_secret"].get_secret_value()
        == SECRET
    )


def test_environment_overrides_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHANNELSYNC_WORKER__POLL_INTERVAL", "15")
    monkeypatch.setenv("CHANNELSYNC_STORE__URL", "postgresql+psycopg://cs:pw-123@db/cs")
    config = load_config(_write(tmp_path, WOO), environ={})
    assert config.settings.worker.poll_interval == 15
    assert config.store_url == "postgresql+psycopg://cs:pw-123@db/cs"
    assert "pw-123" in config.secret_values()
    monkeypatch.setenv("CHANNELSYNC_WORKER__POLL_INTERVAL", "soon")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, WOO), environ={})
    assert str(caught.value).startswith(
        "environment variable CHANNELSYNC_WORKER__POLL_INTERVAL: worker.poll_interval:"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            WOO.replace('url = "https://shop.example.com"', "uri = 'x'"),
            ":6: accounts.woo-de.uri: the woocommerce adapter has no setting 'uri'",
        ),
        (
            WOO.replace("shop_timezone", "base_uri"),
            ":9: accounts.woo-de.channel_args.base_uri: WooCommerceChannel takes no 'base_uri'",
        ),
        (
            WOO.replace('kind = "woocommerce"', 'kind = "etsy"'),
            ":5: accounts.woo-de.kind: no channel adapter of kind 'etsy' is installed",
        ),
        (
            WOO.replace("fee_percent = 1.5", "fee_percent = 150"),
            ":7: accounts.woo-de.fee_percent: Input should be less than or equal to 100",
        ),
        (
            "[accounts.'woo de']\nkind = 'custom'\nfactory = 'x:y'\n",
            ":1: accounts.woo de: account names are",
        ),
        (
            WOO + "\n[accounts.woo_de]\nkind = 'custom'\nfactory = 'x:y'\n",
            ":14: accounts.woo_de: its environment prefix CHANNELSYNC_WOO_DE__ clashes",
        ),
        ("[accounts.c]\nkind = 'custom'\n", ":1: accounts.c.factory: a custom account needs"),
        (
            "[reports]\ntimezone = 'Mars/Olympus'\n",
            ":2: reports.timezone: Value error, unknown timezone",
        ),
    ],
)
def test_bad_settings_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"{path}{message}" in str(caught.value)


def test_custom_factory_must_build_a_channel(tmp_path: Path) -> None:
    path = _write(tmp_path, "[accounts.pos]\nkind = 'custom'\nfactory = 'json:dumps'\n")
    config = load_config(path, environ={})
    with pytest.raises(ConfigError) as caught:
        config.build_channel("pos")
    assert "accounts.pos.factory" in str(caught.value)
    missing = _write(tmp_path, "[accounts.pos]\nkind = 'custom'\nfactory = 'no.such.module:x'\n")
    with pytest.raises(ConfigError, match=r"cannot load 'no\.such\.module:x'"):
        load_config(missing, environ={}).build_channel("pos")


def test_the_template_loads_and_names_every_adapter_setting(tmp_path: Path) -> None:
    path = _write(tmp_path, template())
    config = load_config(path, environ={})
    assert list(config.accounts) == ["shopify-main", "woo", "amazon-eu", "ebay-de", "magento"]
    assert config.missing_secrets("shopify-main") == ["access_token"]
    assert config.missing_secrets("amazon-eu") == ["lwa_client_secret", "refresh_token"]
    assert config.missing_secrets("ebay-de") == ["cert_id"]
    assert config.missing_secrets("magento") == ["access_token"]
    assert config.secret_names("magento") == [
        "access_token",
        "access_token_secret",
        "consumer_key",
        "consumer_secret",
    ]


@pytest.mark.parametrize(
    "url", ["pw-garbage-DO-NOT-PRINT", "postgresql+psycopg://cs:pw-DO-NOT-PRINT@db:port/cs"]
)
def test_bad_store_url_in_the_secrets_file_names_the_line_not_the_url(
    tmp_path: Path, url: str
) -> None:
    path = _write(tmp_path, WOO)
    target = tmp_path / SECRETS_FILE
    target.write_text(f'# the store\n[store]\nurl = "{url}"\n', encoding="utf-8")
    os.chmod(target, 0o600)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(f"{target}:3: store.url: not a database URL")
    assert "DO-NOT-PRINT" not in str(caught.value)


def test_store_url_with_a_bad_port_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANNELSYNC_STORE__URL", "postgresql+psycopg://cs:pw-123@db:54x/cs")
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, WOO), environ={})
    assert str(caught.value).startswith(
        "environment variable CHANNELSYNC_STORE__URL: store.url: not a database URL"
    )
    assert "pw-123" not in str(caught.value)


def test_price_rules_and_report_settings_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "channelsync.toml"
    path.write_text(
        "[store]\nurl = 'sqlite:///x.db'\n"
        "[reports]\ncurrency = 'eur'\nrates_file = 'rates.csv'\nrepeat_days = 30\n"
        "[accounts.shop-us]\nkind = 'custom'\nfactory = 'x:y'\n"
        "prices = { currency = 'usd', percent = 10, ending = '.99', minimum = 5 }\n"
        "[accounts.shop-us.sku_prices.GIFT]\npercent = 0\n",
        encoding="utf-8",
    )
    (tmp_path / "rates.csv").write_text("date,from,to,rate\n2026-11-02,EUR,USD,1.10\n", "utf-8")
    config = load_config(path)
    assert config.settings.reports.currency == "EUR"
    assert config.settings.reports.repeat_days == 30
    rules = config.price_rules()
    assert rules["shop-us"].currency == "USD"
    assert rules["shop-us"].ending == ".99"
    assert rules[("shop-us", "GIFT")].percent == 0
    rates = config.rates()
    assert rates is not None
    assert len(rates) == 1
    path.write_text(
        "[store]\nurl = 'sqlite:///x.db'\n[accounts.a]\nkind = 'custom'\nfactory = 'x:y'\n"
        "prices = { ending = '.49' }\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="ending"):
        load_config(path)
