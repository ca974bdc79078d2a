"""``Sandbox``: serves the fakes on 127.0.0.1, each on a uvicorn thread.

Ports are ephemeral unless ``port_base`` fixes them: the control endpoint on
``port_base``, Amazon ``port_base + 1``, eBay ``+ 2``, Magento ``+ 3``, Shopify ``+ 4``,
WooCommerce ``+ 5``, the local SQS ``+ 6``, then installed adapters' fakes in name order.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from channelsync.core.errors import ConfigError
from channelsync.core.models import utcnow
from channelsync.plugins import adapters
from channelsync.sandbox._base import FakeMarketplace, FaultKind
from channelsync.sandbox._config import SandboxConfig
from channelsync.sandbox._sqs import LocalSqs

if TYPE_CHECKING:  # pragma: no cover
    import uvicorn

    from channelsync.sandbox.amazon import AmazonFake
    from channelsync.sandbox.ebay import EbayFake
    from channelsync.sandbox.magento import MagentoFake
    from channelsync.sandbox.shopify import ShopifyFake
    from channelsync.sandbox.woocommerce import WooCommerceFake

__all__ = ["AppServer", "FakeServer", "Sandbox", "fake_kinds"]


#: The built-in fakes' port offsets from ``port_base`` (the control endpoint is at 0); the
#: local SQS follows them, then installed adapters' fakes in name order.
_BUILTIN_OFFSETS = {"amazon": 1, "ebay": 2, "magento": 3, "shopify": 4, "woocommerce": 5}
_SQS = "(sqs)"


def _port_offsets(kinds: Iterable[str]) -> dict[str, int]:
    """Each fake's port offset, and the SQS's: the same for a kind whatever else is installed."""
    offsets = dict(_BUILTIN_OFFSETS)
    offsets[_SQS] = len(_BUILTIN_OFFSETS) + 1
    for kind in sorted(k for k in kinds if k not in _BUILTIN_OFFSETS):
        offsets[kind] = max(offsets.values()) + 1
    return offsets


def fake_kinds() -> list[str]:
    """The channel kinds that have a sandbox fake (from the adapter plugins), sorted."""
    return sorted(adapters().with_fakes())


class AppServer:
    """One ASGI app served by uvicorn on its own thread and a loopback port."""

    def __init__(self, app: Callable[..., Any], name: str) -> None:
        self.app = app
        self.name = name
        self.url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 10.0, *, port: int = 0) -> str:
        """Serve the app on ``port`` (0: an ephemeral one); returns its base URL.

        Raises:
            ConfigError: ``port`` is taken.
        """
        try:
            import uvicorn
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
            raise ConfigError(
                "the sandbox needs its extra: pip install 'channelsync[sandbox]'"
            ) from exc
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
        # then; without it each small request on a kept-alive connection waits ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot serve the {self.name} on 127.0.0.1:{port} ({exc.strerror}):"
                " choose another port base"
            ) from exc
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
            limit_concurrency=1000,
        )
        server = uvicorn.Server(config)
        # uvicorn installs no signal handlers off the main thread: the embedding program
        # keeps its own.
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"sandbox-{self.name}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


class FakeServer(AppServer):
    """One fake served by uvicorn on its own thread and port."""

    def __init__(self, fake: FakeMarketplace) -> None:
        super().__init__(fake.asgi(), f"{fake.name} fake")
        self.fake = fake

    def start(self, timeout: float = 10.0, *, port: int = 0) -> str:
        """Serve the fake; returns its base URL (also set as ``fake.url``)."""
        self.fake.url = super().start(timeout, port=port)
        return self.fake.url

    def stop(self) -> None:
        """Stop serving, wait for the thread and stop the fake's webhook sender."""
        super().stop()
        self.fake.close()


class Sandbox:
    """Faithful fakes of the marketplaces on loopback, for tests, demos and offline work.

    ::

        with Sandbox() as sb:
            shop = sb.shopify.channel(account="shopify-main")
            sb.shopify.seed_listing("SKU-1", quantity=5, price="19.99")

    Args:
        latency_ms: added to every request of every fake.
        channels: which fakes to start (default: every adapter plugin's fake: Amazon, eBay,
            Magento, Shopify, WooCommerce and those of installed adapter packages).
        clock: the fakes' clock (aware UTC; a ``ManualClock`` to move it by hand).
        amazon_notifications: also start a local SQS (moto's server mode on loopback)
            and have the Amazon fake publish ``ORDER_CHANGE`` notifications to it, as
            Amazon does for a subscribed seller (``sb.sqs`` has the queue).
        port_base: serve on fixed ports instead of ephemeral ones: the control endpoint
            (when ``control``) on ``port_base``, then Amazon ``+1``, eBay ``+2``, Magento
            ``+3``, Shopify ``+4``, WooCommerce ``+5`` (whether or not each runs), the
            local SQS ``+6``, installed adapters' fakes from ``+7`` in name order. The same
            base gives the same URLs on every start.
        control: also serve the control endpoint (``control_url``): HTTP routes that
            place orders, ship and cancel them on any fake, for programs outside this
            process (``channelsync sandbox order|ship|cancel`` use it).
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        channels: Iterable[str] | None = None,
        clock: Callable[[], datetime] = utcnow,
        amazon_notifications: bool = False,
        port_base: int | None = None,
        control: bool = False,
    ) -> None:
        known = fake_kinds()
        names = list(channels) if channels is not None else known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"no sandbox fake for {unknown[0]!r}; known: {', '.join(known)}")
        if port_base is not None:
            if isinstance(port_base, bool) or not isinstance(port_base, int):
                raise ConfigError(f"port_base must be an int, got {port_base!r}")
            last = port_base + max(_port_offsets(known).values())
            if port_base < 1024 or last > 65535:
                raise ConfigError(
                    f"port_base {port_base} needs ports {port_base}..{last}: choose a base"
                    f" from 1024 to {65535 - (last - port_base)}"
                )
        self.latency_ms = latency_ms
        self.clock = clock
        self.port_base = port_base
        self._offsets = _port_offsets(known)
        self._names = names
        self._servers: dict[str, FakeServer] = {}
        self._notifications = amazon_notifications and "amazon" in names
        self._control = control
        self._control_server: AppServer | None = None
        self.sqs: LocalSqs | None = None

    def _build(self, name: str) -> FakeMarketplace:
        fake_cls: Any = adapters().get(name).fake_class()
        fake = fake_cls(latency_ms=self.latency_ms, clock=self.clock)
        assert isinstance(fake, FakeMarketplace)
        return fake

    def _port(self, offset: int) -> int:
        return 0 if self.port_base is None else self.port_base + offset

    def start(self) -> Sandbox:
        """Start every fake (``with Sandbox() as sb`` does this)."""
        from channelsync.sandbox._control import control_app

        try:
            for name in self._names:
                if name not in self._servers:
                    server = FakeServer(self._build(name))
                    server.start(port=self._port(self._offsets[name]))
                    self._servers[name] = server
            if self._notifications and self.sqs is None:
                self.sqs = LocalSqs().start(port=self._port(self._offsets[_SQS]))
                self.amazon.publish_to(self.sqs.publish)
                self.amazon.notifications_queue = self.sqs
            if self._control and self._control_server is None:
                control = AppServer(control_app(self), "sandbox control endpoint")
                control.start(port=self._port(0))
                self._control_server = control
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every fake."""
        if self._control_server is not None:
            self._control_server.stop()
            self._control_server = None
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self.sqs is not None:
            self.sqs.stop()
            self.sqs = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def control_url(self) -> str | None:
        """Base URL of the control endpoint (None: not started with ``control=True``)."""
        return None if self._control_server is None else self._control_server.url

    def config(self, *, store_url: str = "sqlite:///sandbox.db") -> SandboxConfig:
        """A ``channelsync.toml``, its secrets and their variables for the running fakes.

        Each fake gets the account its adapter's demo uses (``shopify-main``, ``woo-main``,
        ``amazon-eu``, ``ebay-de``, ``magento-main``). The credentials are the fakes' own,
        made up when the sandbox started; they open nothing but these fakes.
        """
        from channelsync.sandbox._config import sandbox_config

        return sandbox_config(self, store_url=store_url)

    def write_config(
        self, directory: str | os.PathLike[str], *, store_url: str = "sqlite:///sandbox.db"
    ) -> SandboxConfig:
        """Write ``config()`` into ``directory`` (created if missing); returns it.

        Files: ``channelsync.toml``, ``channelsync.secrets.toml`` (mode 600, found by
        ``load_config`` beside the first), ``sandbox.env`` (mode 600: ``export`` lines of
        the secrets, the fakes' URLs and ``CHANNELSYNC_SANDBOX_URL``) and ``sandbox.json``
        (mode 600: all of it, for programs).
        """
        config = self.config(store_url=store_url)
        config.write(Path(directory))
        return config

    def subscribe(self, base_url: str) -> None:
        """Deliver every fake's webhooks to ``{base_url}/{account}`` (``config()``'s
        account names: the routes of ``channelsync worker --webhooks``'s receiver)."""
        from channelsync.sandbox._config import account_name

        base = base_url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"webhooks go to an http(s) URL, got {base_url!r}")
        for name, fake in self.fakes.items():
            fake.subscribe(f"{base}/{account_name(name)}")

    def seed_listing(
        self, sku: str, *, quantity: int, price: str, title: str | None = None
    ) -> None:
        """List ``sku`` on every running fake (``FakeMarketplace.seed_listing``)."""
        for fake in self.fakes.values():
            fake.seed_listing(sku, quantity=quantity, price=price, title=title)

    def fake(self, name: str) -> FakeMarketplace:
        """The running fake of ``name``."""
        try:
            return self._servers[name].fake
        except KeyError:
            raise ConfigError(
                f"the {name} fake is not running in this sandbox (channels={self._names})"
            ) from None

    @property
    def fakes(self) -> dict[str, FakeMarketplace]:
        """Every running fake by name."""
        return {name: server.fake for name, server in self._servers.items()}

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of every running fake."""
        return {name: server.fake.url or "" for name, server in self._servers.items()}

    def inject(self, kind: FaultKind, times: int = 1, *, channel: str | None = None) -> None:
        """Inject a fault into one fake, or into every fake."""
        for name, fake in self.fakes.items():
            if channel in (None, name):
                fake.inject(kind, times)

    @property
    def shopify(self) -> ShopifyFake:
        """The Shopify fake (``ShopifyFake``)."""
        return cast("ShopifyFake", self.fake("shopify"))

    @property
    def woocommerce(self) -> WooCommerceFake:
        """The WooCommerce fake (``WooCommerceFake``)."""
        return cast("WooCommerceFake", self.fake("woocommerce"))

    @property
    def amazon(self) -> AmazonFake:
        """The Amazon SP-API fake (``AmazonFake``)."""
        return cast("AmazonFake", self.fake("amazon"))

    @property
    def ebay(self) -> EbayFake:
        """The eBay fake (``EbayFake``)."""
        return cast("EbayFake", self.fake("ebay"))

    @property
    def magento(self) -> MagentoFake:
        """The Magento 2 / Adobe Commerce fake (``MagentoFake``)."""
        return cast("MagentoFake", self.fake("magento"))
