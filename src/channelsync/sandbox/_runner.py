"""``Sandbox``: serves the fakes on 127.0.0.1 ephemeral ports, each on a uvicorn thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from channelsync.core.errors import ConfigError
from channelsync.core.models import utcnow
from channelsync.plugins import adapters
from channelsync.sandbox._base import FakeMarketplace, FaultKind
from channelsync.sandbox._sqs import LocalSqs

if TYPE_CHECKING:  # pragma: no cover
    import uvicorn

    from channelsync.sandbox.amazon import AmazonFake
    from channelsync.sandbox.ebay import EbayFake
    from channelsync.sandbox.magento import MagentoFake
    from channelsync.sandbox.shopify import ShopifyFake
    from channelsync.sandbox.woocommerce import WooCommerceFake

__all__ = ["FakeServer", "Sandbox", "fake_kinds"]


def fake_kinds() -> list[str]:
    """The channel kinds that have a sandbox fake (from the adapter plugins), sorted."""
    return sorted(adapters().with_fakes())


class FakeServer:
    """One fake served by uvicorn on its own thread and port."""

    def __init__(self, fake: FakeMarketplace) -> None:
        self.fake = fake
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Serve the fake; returns its base URL."""
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
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.fake.asgi(),
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
            name=f"sandbox-{self.fake.name}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.fake.name} fake did not start")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        self.fake.url = f"http://127.0.0.1:{port}"
        return self.fake.url

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self.fake.close()
        self._server = self._thread = self._socket = None


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
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        channels: Iterable[str] | None = None,
        clock: Callable[[], datetime] = utcnow,
        amazon_notifications: bool = False,
    ) -> None:
        known = fake_kinds()
        names = list(channels) if channels is not None else known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"no sandbox fake for {unknown[0]!r}; known: {', '.join(known)}")
        self.latency_ms = latency_ms
        self.clock = clock
        self._names = names
        self._servers: dict[str, FakeServer] = {}
        self._notifications = amazon_notifications and "amazon" in names
        self.sqs: LocalSqs | None = None

    def _build(self, name: str) -> FakeMarketplace:
        fake_cls: Any = adapters().get(name).fake_class()
        fake = fake_cls(latency_ms=self.latency_ms, clock=self.clock)
        assert isinstance(fake, FakeMarketplace)
        return fake

    def start(self) -> Sandbox:
        """Start every fake (``with Sandbox() as sb`` does this)."""
        try:
            for name in self._names:
                if name not in self._servers:
                    server = FakeServer(self._build(name))
                    server.start()
                    self._servers[name] = server
            if self._notifications and self.sqs is None:
                self.sqs = LocalSqs().start()
                self.amazon.publish_to(self.sqs.publish)
                self.amazon.notifications_queue = self.sqs
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every fake."""
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
