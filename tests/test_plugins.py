"""Adapters as plugins: the entry-point registry, and the example package in examples/
registered the way an installed package is, passing the ChannelContract."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channelsync import plugins
from channelsync.config import load_config
from channelsync.core.errors import ConfigError
from channelsync.plugins import AdapterPlugin, AdapterRegistry, adapters
from channelsync.sandbox import Sandbox
from channelsync.testing import ChannelContract

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme_channel"


def test_the_five_built_in_adapters_register_through_entry_points() -> None:
    registry = AdapterRegistry()
    assert registry.kinds() == ["amazon", "ebay", "magento", "shopify", "woocommerce"]
    magento = registry.get("magento")
    assert magento.title == "Magento 2 / Adobe Commerce"
    assert magento.config_model().__name__ == "MagentoConfig"
    assert magento.channel_class().__name__ == "MagentoChannel"
    assert magento.fake_class().__name__ == "MagentoFake"
    assert sorted(registry.with_fakes()) == registry.kinds()


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no channel adapter of kind 'etsy' is installed"):
        AdapterRegistry().get("etsy")


def test_register_in_process_refuses_a_taken_kind_unless_replacing() -> None:
    registry = AdapterRegistry(entry_points=False)
    plugin = AdapterPlugin(kind="pos", config="x:Y", channel="x:Z")
    registry.register(plugin)
    assert registry.kinds() == ["pos"]
    with pytest.raises(ConfigError, match="registered already"):
        registry.register(plugin)
    registry.register(AdapterPlugin(kind="pos", config="x:Y", channel="x:W"), replace=True)
    assert registry.get("pos").channel == "x:W"
    with pytest.raises(ConfigError, match="'custom' is reserved"):
        registry.register(AdapterPlugin(kind="custom", config="x:Y", channel="x:Z"))
    with pytest.raises(ConfigError, match="lower-case letters"):
        registry.register(AdapterPlugin(kind="Bad Kind", config="x:Y", channel="x:Z"))


def test_a_plugin_whose_module_is_missing_says_what_to_install() -> None:
    registry = AdapterRegistry(entry_points=False)
    registry.register(
        AdapterPlugin(kind="ghost", config="ghost_pkg.config:C", channel="x:Y", extra="ghost")
    )
    with pytest.raises(
        ConfigError, match=r"ghost_pkg is missing\): pip install 'channelsync\[ghost\]'"
    ):
        registry.get("ghost").config_model()


# -- the example package, registered like an installed one ---------------------------------


@pytest.fixture
def acme_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AdapterRegistry]:
    """examples/acme_channel on sys.path with a dist-info carrying its entry point (what
    ``pip install examples/acme_channel`` leaves behind), and a registry that sees it."""
    dist = tmp_path / "acme_channel-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-channel\nVersion: 0.1.0\n", encoding="utf-8"
    )
    toml = (EXAMPLE / "pyproject.toml").read_text(encoding="utf-8")
    entry = next(line for line in toml.splitlines() if line.startswith("acme = "))
    (dist / "entry_points.txt").write_text(
        f"[channelsync.adapters]\n{entry.replace(' = ', '=').replace(chr(34), '')}\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = AdapterRegistry()
    monkeypatch.setattr(plugins, "_registry", registry)
    yield registry
    for name in [m for m in sys.modules if m.startswith("acme_channel")]:
        del sys.modules[name]


def test_the_example_package_registers_through_its_entry_point(
    acme_installed: AdapterRegistry,
) -> None:
    assert "acme" in acme_installed.kinds()
    assert adapters() is acme_installed
    plugin = acme_installed.get("acme")
    assert plugin.title == "Acme Market"
    assert plugin.config_model().__name__ == "AcmeConfig"


def test_the_config_and_the_sandbox_find_the_example_adapter(
    acme_installed: AdapterRegistry, tmp_path: Path
) -> None:
    with Sandbox(channels=["acme"]) as sb:
        fake: Any = sb.fake("acme")
        fake.seed_listing("ANVIL", quantity=3, price="99.00")
        path = tmp_path / "channelsync.toml"
        path.write_text(
            f'[accounts.acme-main]\nkind = "acme"\nchannel_args = {{ base_url = "{fake.url}" }}\n',
            encoding="utf-8",
        )
        config = load_config(path, environ={"CHANNELSYNC_ACME_MAIN__API_KEY": fake.api_key})
        assert config.secret_names("acme-main") == ["api_key", "webhook_secret"]
        channel: Any = config.build_channel("acme-main")
        assert [(lst.sku, lst.quantity) for lst in channel.fetch_listings()] == [("ANVIL", 3)]
        channel.close()


class TestExampleAdapterContract(ChannelContract):
    """The worked example passes the whole contract, through the registry and the sandbox."""

    @pytest.fixture(autouse=True)
    def _sandbox(self, acme_installed: AdapterRegistry) -> Iterator[None]:
        with Sandbox(channels=["acme"]) as sb:
            self.fake: Any = sb.fake("acme")
            self.channels: list[Any] = []
            yield
            for channel in self.channels:
                channel.close()

    def make_channel(self) -> Any:
        channel = self.fake.channel()
        self.channels.append(channel)
        return channel

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=100_000, price="5.00")
        return [self.fake.place_order("CT-ORDER") for _ in range(count)]

    def seed_unreadable_order(self) -> str:
        now = self.fake.clock().isoformat()
        return str(
            self.fake.seed_order(
                {
                    "id": "A-BROKEN",
                    "status": "lost",
                    "currency": "EUR",
                    "created": now,
                    "updated": now,
                }
            )
        )

    def fulfillment_count(self, order_id: str) -> int:
        return len(self.fake.shipments.get(order_id, []))

    def channel_quantity(self, sku: str) -> int:
        return int(self.fake.quantity(sku))

    def stock_write_calls(self) -> int:
        return int(self.fake.calls["POST stock"])

    def inject(self, fault: str) -> None:
        self.fake.inject(fault)

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        got: list[tuple[dict[str, str], bytes]] = []
        self.fake.subscribe(lambda headers, body: got.append((headers, body)))
        self.fake.seed_listing("CT-HOOK", quantity=5, price="9.00")
        self.fake.place_order("CT-HOOK")
        self.fake.flush_webhooks()
        return got[-1]
