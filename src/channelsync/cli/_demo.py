"""``channelsync demo``: five marketplaces on loopback, buyers on each, one ledger.

It needs no account anywhere: the sandbox fakes Shopify, WooCommerce, Amazon, eBay and
Magento on 127.0.0.1 (every adapter plugin with a fake and a share of the demo's buyers),
the store is SQLite in a temporary folder. It runs as production does: after one first
pass (``run_once``: listings imported, stale quantities corrected) the engine's real-time
worker (``run_forever`` on a thread, one loop per account) keeps everything in step while
buyers order on every channel over time. Shopify, WooCommerce and eBay POST their order
webhooks over loopback HTTP to the ASGI receiver (uvicorn, as ``channelsync worker
--webhooks`` serves it); Amazon announces orders as ORDER_CHANGE notifications on the
sandbox's SQS (moto's server), read as the worker reads them; Magento is polled. Some
orders ship with tracking numbers.

For every sale it measures the propagation latency: from the moment the fake recorded the
sale to the moment each other channel's fake shows the new quantity (read from the fakes'
own state by ``channelsync.sandbox.PropagationWatcher``, as ``bench/bench_latency.py``
does). The live view shows the running p50/p99 per channel; the summary p50/p95/p99/max per
channel and per sale origin (webhook, SQS, polled) next to the consistency check: every
channel shows what the ledger says, nothing is oversold, every order reached the store
exactly once (the ledger's units match what the buyers bought), every shipment reached its
channel, every webhook delivery passed verification. Then the sales report. Everything goes
through the public API.

Buyers never buy a SKU while an earlier sale of it has still to reach some channel (the
latency figures say how long that is): a buyer racing the sync could oversell the last
unit, which would make the consistency result depend on timing rather than on the seed.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from channelsync.cli._reports import sales_table
from channelsync.cli._state import EXIT_FAILED, Output, State, close_channels
from channelsync.core import schema as t
from channelsync.core.allocation import Rule, allocate
from channelsync.core.engine import SyncEngine
from channelsync.core.models import Money, OrderStatus, Shipment
from channelsync.core.store import Store, open_store
from channelsync.plugins import AdapterPlugin, adapters
from channelsync.reports import sales_report

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.sandbox import LatencySummary, PropagationWatcher

__all__ = ["Demo", "DemoResult", "register"]


def demo_plugins() -> dict[str, AdapterPlugin]:
    """The adapter plugins that take part: a fake and a share of the buyers."""
    return {
        kind: plugin
        for kind, plugin in adapters().with_fakes().items()
        if plugin.demo_traffic > 0 and plugin.demo_account
    }


#: Amazon's orders come by notification (its order search allows one call per 3 minutes):
#: it keeps a buffer for the units sold before one arrives.
RULES: dict[str | tuple[str, str], Rule] = {
    "amazon-eu": Rule(buffer=2, min_to_list=3),
    "ebay-de": Rule(buffer=1, cap=12),
}
#: The worker's order poll interval in the demo (``channelsync worker`` polls every 60 s by
#: default; webhooks and notifications bring orders in between). Magento has neither.
POLL_INTERVAL = 5.0
#: After the last sale, how long the worker has to bring every channel in step.
DRAIN_SECONDS = POLL_INTERVAL + 10.0
#: The fakes' delays, shortened for the demo (the fakes default to the real ones).
DEMO_DELAYS: dict[str, Any] = {
    "amazon_patch": 1.0,
    "amazon_feed": 2.0,
    "search_lag": (0.2, 1.5),
}
CARRIERS = ("DHL", "UPS", "DPD", "Hermes", "GLS")
_WORDS = (
    "Linen",
    "Walnut",
    "Copper",
    "Canvas",
    "Wool",
    "Cedar",
    "Ceramic",
    "Slate",
    "Oak",
    "Brass",
    "Cotton",
    "Leather",
    "Marble",
    "Bamboo",
    "Cork",
)
_THINGS = (
    "Mug",
    "Tote",
    "Lamp",
    "Notebook",
    "Candle",
    "Bowl",
    "Scarf",
    "Vase",
    "Coaster",
    "Tray",
    "Pouch",
    "Clock",
    "Planter",
    "Cushion",
    "Blanket",
)


@dataclass
class Product:
    """One SKU of the demo catalogue and where it is listed."""

    sku: str
    title: str
    price: Decimal
    cost: Decimal
    stock: int
    channels: set[str]
    group: str | None = None
    bundle: dict[str, int] | None = None


def catalogue(rng: random.Random) -> list[Product]:
    """About 50 SKUs: simple products, three products in three sizes, and one bundle."""
    products: list[Product] = []
    names = rng.sample([f"{w} {th}" for w in _WORDS for th in _THINGS], 39)
    for i, name in enumerate(names, 1):
        price = Decimal(rng.choice([9, 12, 15, 19, 24, 29, 35, 49])) + Decimal("0.90")
        where = {"shopify", "woocommerce"}
        if rng.random() < 0.75:
            where.add("amazon")
        if rng.random() < 0.6:
            where.add("ebay")
        if rng.random() < 0.7:
            where.add("magento")
        stock = rng.choice([3, 4, 6, 8, 12, 15, 20, 25, 30, 40])
        products.append(
            Product(
                sku=f"CS-{i:03d}",
                title=name,
                price=price,
                cost=(price * Decimal("0.45")).quantize(Decimal("0.01")),
                stock=stock,
                channels=where,
            )
        )
    apparel = (
        ("TEE", "Organic Tee", "24.90"),
        ("HOOD", "Hoodie", "54.90"),
        ("CAP", "Wool Cap", "19.90"),
    )
    for base, title, list_price in apparel:
        for size in ("S", "M", "L"):
            products.append(
                Product(
                    sku=f"{base}-{size}",
                    title=f"{title} {size}",
                    price=Decimal(list_price),
                    cost=(Decimal(list_price) * Decimal("0.4")).quantize(Decimal("0.01")),
                    stock=rng.choice([6, 10, 14, 18]),
                    channels={"shopify", "woocommerce", "amazon", "ebay", "magento"},
                    group=title,
                )
            )
    products.append(
        Product(
            sku="GIFT-SET",
            title="Gift set: mug and two coasters",
            price=Decimal("39.90"),
            cost=Decimal(0),
            stock=0,
            channels={"shopify", "woocommerce", "ebay"},
            bundle={"CS-001": 1, "CS-002": 2},
        )
    )
    return products


@dataclass
class Check:
    """One consistency check of the demo's end state."""

    name: str
    ok: bool
    detail: str


@dataclass
class DemoResult:
    """What the demo did, how fast sales propagated, and whether its end state is consistent.

    Attributes:
        checks: the consistency checks.
        placed: orders placed per channel kind.
        shipped: orders shipped with tracking.
        cycles: ``run_once`` passes outside the worker (the first one and the final ones).
        worker_steps: steps the worker's account loops took.
        seconds: the whole run.
        latency_by_channel: propagation latency by the account that had to show the sale.
        latency_by_origin: the same by how the sale reached channelsync (webhook, SQS,
            polled).
        latency: every propagation measured.
        final_orders: orders the final pass found that the worker had not.
        final_pushes: quantities the final pass pushed that the worker had not.
        webhooks: deliveries the fakes made, by the receiver's answer (``200``, ``error``).
    """

    checks: list[Check] = field(default_factory=list)
    placed: Counter[str] = field(default_factory=Counter)
    shipped: int = 0
    cycles: int = 0
    worker_steps: int = 0
    seconds: float = 0.0
    latency_by_channel: dict[str, LatencySummary] = field(default_factory=dict)
    latency_by_origin: dict[str, LatencySummary] = field(default_factory=dict)
    latency: LatencySummary | None = None
    final_orders: int = 0
    final_pushes: int = 0
    webhooks: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (latencies in milliseconds)."""
        return {
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "orders": dict(sorted(self.placed.items())),
            "shipped": self.shipped,
            "seconds": round(self.seconds, 1),
            "worker": {
                "poll_interval": POLL_INTERVAL,
                "steps": self.worker_steps,
                "final_pass": {"orders": self.final_orders, "pushes": self.final_pushes},
            },
            "webhooks": dict(sorted(self.webhooks.items())),
            "latency": {
                "by_channel": {k: v.as_dict() for k, v in self.latency_by_channel.items()},
                "by_origin": {k: v.as_dict() for k, v in self.latency_by_origin.items()},
                "all": self.latency.as_dict() if self.latency is not None else None,
            },
        }


class Demo:
    """The demo run: call ``run()``; it starts and stops everything it uses."""

    def __init__(
        self,
        out: Output,
        *,
        orders: int = 120,
        seconds: float = 20.0,
        seed: int | None = None,
        live: bool | None = None,
    ) -> None:
        self.out = out
        self.orders = orders
        self.seconds = seconds
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1, 10**6)
        self.rng = random.Random(self.seed)
        self.live = out.console.is_terminal if live is None else live
        self.result = DemoResult()
        self.sold: Counter[str] = Counter()  # the buyers' truth, bundles expanded
        self.placed_ids: dict[str, set[str]] = defaultdict(set)
        self.events: deque[str] = deque(maxlen=6)
        self._errors_seen: dict[str, str] = {}
        plugins = demo_plugins()
        self.accounts = {kind: str(p.demo_account) for kind, p in plugins.items()}
        self.webhooks = tuple(kind for kind, p in plugins.items() if p.webhooks)
        self.traffic = {kind: p.demo_traffic for kind, p in plugins.items()}
        self.fees = {str(p.demo_account): Decimal(p.demo_fee_percent) for p in plugins.values()}
        self.notified: set[str] = set()  # kinds whose orders come by queue notification

    # -- setting up ---------------------------------------------------------------------------

    def run(self) -> DemoResult:
        """Run the demo end to end and return its result (``ok`` says whether it passed)."""
        from channelsync.sandbox import Sandbox

        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="channelsync-demo-") as folder:
            store = open_store(f"sqlite:///{Path(folder) / 'demo.db'}")
            sandbox = Sandbox(
                channels=list(self.accounts), amazon_notifications="amazon" in self.accounts
            )
            try:
                self.out.note(
                    f"demo seed {self.seed}: starting the {len(self.accounts)} marketplace fakes"
                    " ..."
                )
                sandbox.start()
                self._run(sandbox, store)
                self.result.seconds = time.monotonic() - started
                self._render()
            finally:
                for fake in sandbox.fakes.values():
                    fake.unsubscribe_all()
                close_channels(getattr(self, "channels", []))
                sandbox.stop()
                store.close()
        return self.result

    def _run(self, sandbox: Any, store: Store) -> None:
        fakes = {name: sandbox.fake(name) for name in self.accounts}
        # The demo shop sells in euros on Shopify Plus (whose API budget allows a push
        # every fraction of a second, as the worker makes them).
        fakes["shopify"].currency = "EUR"
        fakes["shopify"].reset()
        fakes["shopify"].set_plan(bucket_size=20_000, restore_rate=1_000)
        # The marketplaces' own delays stay on, shortened to fit a 20-second demo: Amazon
        # applies a patch 1 s after ACCEPTED (minutes in reality), processes a feed in 2 s,
        # and Amazon and eBay index order changes 0.2-1.5 s late (up to ~2 minutes).
        fakes["amazon"].patch_apply_delay = DEMO_DELAYS["amazon_patch"]
        fakes["amazon"].feed_processing_seconds = DEMO_DELAYS["amazon_feed"]
        fakes["amazon"].order_search_lag = DEMO_DELAYS["search_lag"]
        fakes["ebay"].order_search_lag = DEMO_DELAYS["search_lag"]
        self.out.note(
            "marketplace delays shortened for the demo: Amazon applies patches after"
            f" {DEMO_DELAYS['amazon_patch']:.0f} s, order searches lag up to"
            f" {DEMO_DELAYS['search_lag'][1]:.1f} s"
        )
        self.products = catalogue(self.rng)
        self.by_sku = {p.sku: p for p in self.products}
        # A sale of a bundle or of one of its components moves the other's listings too.
        self.links: dict[str, set[str]] = {p.sku: {p.sku} for p in self.products}
        for p in self.products:
            for component in p.bundle or {}:
                self.links[p.sku].add(component)
                self.links[component].add(p.sku)
        queue = sandbox.sqs
        notifications: dict[str, Any] = (
            {
                "notifications_queue_url": queue.queue_url,
                "notifications_endpoint_url": queue.endpoint_url,
                "notifications_region": queue.region,
                "aws_access_key_id": queue.access_key_id,
                "aws_secret_access_key": queue.secret_access_key,
            }
            if queue is not None
            else {}
        )
        if queue is not None:
            self.notified.add("amazon")
        channels = [
            fakes[name].channel(account=acct, **(notifications if name == "amazon" else {}))
            for name, acct in self.accounts.items()
        ]
        self.channels = channels
        engine = SyncEngine(
            store,
            channels,
            rules=RULES,
            order_lag=timedelta(seconds=30),
            initial_lookback=timedelta(hours=1),
        )
        self.engine, self.fakes = engine, fakes
        self._seed_ledger()
        self._seed_channels()
        self.out.note(
            f"catalogue of {len(self.products)} SKUs on {len(self.accounts)} channels; first sync"
            " pass (imports listings, corrects stale quantities) ..."
        )
        self._cycle()
        self._realtime(store)
        self._settle()
        self._check(store)

    def _realtime(self, store: Store) -> None:
        """The worker, the webhook receiver and the notification readers run as in production
        while the buyers buy; then the worker gets its time to bring every channel in step."""
        from channelsync.adapters.amazon.webhooks import NotificationReaders
        from channelsync.sandbox import PropagationWatcher, serve_receiver

        engine = self.engine
        self.watcher: PropagationWatcher = PropagationWatcher(self.fakes, interval=0.005)
        with serve_receiver(engine) as url:
            for name in self.webhooks:
                self.fakes[name].subscribe(f"{url}/webhooks/{self.accounts[name]}")
            # Amazon's orders arrive as ORDER_CHANGE notifications on the local SQS queue,
            # read as `channelsync worker` reads them.
            readers = NotificationReaders(self.channels, engine.record_order, wait_seconds=1)
            worker = threading.Thread(
                target=engine.run_forever,
                kwargs={"poll_interval": POLL_INTERVAL, "install_signal_handlers": False},
                name="demo-worker",
                daemon=True,
            )
            readers.start()
            worker.start()
            try:
                self._await_worker()
                self.out.note(
                    "worker started: one loop per account, orders polled every"
                    f" {POLL_INTERVAL:g} s (Magento; Amazon at most every 3 minutes), webhooks"
                    f" on {url}, Amazon notifications on the local SQS"
                )
                self.watcher.start()
                self._simulate(store)
            finally:
                self.watcher.stop()
                for name in self.webhooks:
                    self.fakes[name].unsubscribe_all()
                    try:
                        self.fakes[name].flush_webhooks()
                    except TimeoutError:
                        self.events.append(f"[red]{name}: webhooks still being delivered[/]")
                readers.stop()
                engine.stop()
                worker.join(timeout=60)
        result = self.result
        result.latency_by_channel = {
            self.accounts[k]: v for k, v in self.watcher.summary("channel").items()
        }
        result.latency_by_origin = self.watcher.summary("origin")
        result.latency = self.watcher.overall()
        for name in self.webhooks:
            for delivery in self.fakes[name].deliveries:
                answer = str(delivery.status) if delivery.status is not None else "error"
                result.webhooks[answer] += 1

    def _await_worker(self, timeout: float = 15.0) -> None:
        """Until every account's loop runs (the worker takes its accounts by lease)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runtime = self.engine.runtime
            if runtime is not None and len(runtime.stats()) == len(self.accounts):
                return
            time.sleep(0.02)
        self.events.append("[yellow]the worker has not started every account's loop yet[/]")

    def _seed_ledger(self) -> None:
        counts = {p.sku: p.stock for p in self.products if p.bundle is None}
        self.engine.set_on_hand_many(counts, idempotency_key=f"demo-stocktake-{self.seed}")
        self.initial = dict(counts)
        for p in self.products:
            if p.bundle is not None:
                self.engine.define_bundle(p.sku, p.bundle)
            else:
                self.engine.set_cost(p.sku, Money(amount=p.cost, currency="EUR"), title=p.title)

    def _available(self, p: Product) -> int:
        """What the ledger has available of ``p`` once every sale so far is in."""
        if p.bundle is not None:
            return min((self.initial[c] - self.sold[c]) // q for c, q in p.bundle.items())
        return self.initial[p.sku] - self.sold[p.sku]

    def _expected(self, p: Product, account: str) -> int:
        """What the channel should show under the demo's rules once every sale so far is in."""
        return allocate(self._available(p), RULES.get(account) or Rule())[-1].quantity

    def _seed_channels(self) -> None:
        fakes = self.fakes
        groups: dict[str, list[Product]] = defaultdict(list)
        for p in self.products:
            if p.group:
                groups[p.group].append(p)
        for p in self.products:
            for name in sorted(p.channels):
                account = self.accounts[name]
                shown = self._expected(p, account)
                if name in ("shopify", "woocommerce") and self.rng.random() < 0.3:
                    shown += self.rng.choice([-2, -1, 1, 3, 5])  # stale numbers to correct
                shown = max(0, shown)
                price = str(p.price)
                if name in ("woocommerce", "magento") and p.group:
                    continue  # listed below as one variable / configurable product
                if name == "ebay" and p.group:
                    fakes[name].seed_listing(
                        p.sku, quantity=shown, price=price, title=p.title, group=p.group
                    )
                elif name == "ebay" and self.rng.random() < 0.3:
                    fakes[name].seed_listing(
                        p.sku, quantity=shown, price=price, title=p.title, world="inventory_api"
                    )
                else:
                    fakes[name].seed_listing(p.sku, quantity=shown, price=price, title=p.title)
        for title, variants in groups.items():
            if "magento" in fakes:
                fakes["magento"].seed_configurable(
                    f"{variants[0].sku.split('-')[0]}-CONF",
                    {
                        v.sku: (self._expected(v, self.accounts["magento"]), str(v.price))
                        for v in variants
                    },
                    title=title,
                )
            fakes["woocommerce"].seed_variable(
                f"{variants[0].sku.split('-')[0]}-PARENT",
                {
                    v.sku: (self._expected(v, self.accounts["woocommerce"]), str(v.price))
                    for v in variants
                },
                title=title,
            )

    # -- the simulation -----------------------------------------------------------------------

    def _cycle(self) -> None:
        report = self.engine.run_once()
        self.result.cycles += 1
        for name, acc in report.accounts.items():
            for error in acc.errors:
                self.events.append(f"[red]{name}: {error[:90]}[/]")

    def _simulate(self, store: Store) -> None:
        per_tick = max(1, min(6, round(self.orders / 25)))
        ticks = max(1, -(-self.orders // per_tick))
        interval = self.seconds / ticks if self.seconds > 0 else 0.0
        live = (
            Live(
                self._view(),
                console=self.out.console,
                refresh_per_second=4,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            if self.live
            else None
        )
        if live is not None:
            live.start()
        stuck_since: float | None = None
        try:
            while sum(self.result.placed.values()) < self.orders:
                tick_started = time.monotonic()
                want = min(per_tick, self.orders - sum(self.result.placed.values()))
                placed = self._buyers(want)
                if placed:
                    stuck_since = None
                else:
                    # Nothing to buy, or only SKUs whose last sale is still propagating: wait
                    # for those, as long as the worker is given after the last sale.
                    stuck_since = stuck_since or tick_started
                    waited = tick_started - stuck_since
                    if not self.watcher.missing_count() or waited > DRAIN_SECONDS:
                        self.events.append("[yellow]buyers found nothing left to buy[/]")
                        break
                    time.sleep(0.05)
                self._ship(self.rng.choice([0, 1, 1, 2]))
                self._worker_errors()
                if live is not None:
                    live.update(self._view())
                wait = interval - (time.monotonic() - tick_started)
                if wait > 0:
                    time.sleep(wait)
            self._drain(store, live)
        finally:
            self.result.worker_steps = self._worker_steps()
            if live is not None:
                live.update(self._view())
                live.stop()

    def _drain(self, store: Store, live: Live | None) -> None:
        """After the last sale: until every order is in, every sale shows everywhere and
        nothing is left to push (``DRAIN_SECONDS`` at most), the worker alone at work."""
        deadline = time.monotonic() + DRAIN_SECONDS
        placed = sum(len(ids) for ids in self.placed_ids.values())
        while time.monotonic() < deadline:
            if live is not None:
                live.update(self._view())
            self._worker_errors()
            if (
                not self.watcher.missing_count()
                and not self.fakes["amazon"].pending_changes()
                and not self._pending_shipments()
                and self._stored_orders(store) >= placed
                and not self.engine.plan()
            ):
                return
            time.sleep(0.1)
        self.events.append(
            f"[yellow]the worker was not done {DRAIN_SECONDS:g} s after the last sale[/]"
        )

    def _stored_orders(self, store: Store) -> int:
        with store.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.orders)).scalar_one())

    def _worker_steps(self) -> int:
        runtime = self.engine.runtime
        return 0 if runtime is None else sum(s.steps for s in runtime.stats().values())

    def _worker_errors(self) -> None:
        runtime = self.engine.runtime
        if runtime is None:
            return
        for account, stats in runtime.stats().items():
            error = stats.last_error
            if error and self._errors_seen.get(account) != error:
                self._errors_seen[account] = error
                self.events.append(f"[red]{account}: {error[:90]}[/]")

    def _origin(self, kind: str) -> str:
        """How a sale on ``kind`` reaches channelsync."""
        if kind in self.webhooks:
            return "webhook"
        if kind in self.notified:
            return "SQS"
        return "polled"

    def _buyers(self, count: int) -> int:
        """``count`` buyers, each on a channel, each buying a different SKU it shows.

        A SKU whose last sale has still to reach some channel is left alone (see the module
        docstring). Every sale is handed to the watcher with what each channel should show.
        """
        placed = 0
        busy = {s for sku in self.watcher.waiting_skus() for s in self.links.get(sku, {sku})}
        names = list(self.traffic)
        for _ in range(count * 4):
            if placed >= count:
                break
            name = self.rng.choices(names, weights=[self.traffic[n] for n in names])[0]
            fake = self.fakes[name]
            candidates = [p for p in self.products if name in p.channels and p.sku not in busy]
            self.rng.shuffle(candidates)
            for p in candidates[:12]:
                qty = 2 if self.rng.random() < 0.2 else 1
                shown = fake.quantity(p.sku) or 0
                if shown < qty:
                    continue
                linked = [self.by_sku[s] for s in sorted(self.links[p.sku])]
                before = {
                    (kind, q.sku): self.fakes[kind].quantity(q.sku)
                    for q in linked
                    for kind in q.channels
                }
                started = time.perf_counter()
                order_id = fake.place_order(p.sku, qty)
                busy |= self.links[p.sku]
                self.placed_ids[self.accounts[name]].add(str(order_id))
                self.result.placed[name] += 1
                for sku, per in (p.bundle or {p.sku: 1}).items():
                    self.sold[sku] += qty * per
                self._expect(name, p, linked, before, started)
                self.events.append(f"{self.accounts[name]}: order {order_id}, {qty} x {p.sku}")
                placed += 1
                break
        return placed

    def _expect(
        self,
        origin: str,
        sold: Product,
        linked: list[Product],
        before: dict[tuple[str, str], int | None],
        started: float,
    ) -> None:
        """Tell the watcher what each channel should come to show after a sale on ``origin``:
        every listing the sale lowers (the origin's own listing of the SKU sold excepted: the
        marketplace lowered it itself)."""
        for q in linked:
            want: dict[str, int] = {}
            for kind in sorted(q.channels):
                if kind == origin and q.sku == sold.sku:
                    continue
                expected = self._expected(q, self.accounts[kind])
                shown = before.get((kind, q.sku))
                if shown is not None and shown > expected:
                    want[kind] = expected
            if want:
                self.watcher.expect(q.sku, want, origin=self._origin(origin), started=started)

    def _ship(self, count: int) -> None:
        """Ship ``count`` open orders (merchant-fulfilled) with tracking numbers; the worker
        tells the channels."""
        if count <= 0:
            return
        shipped = {(s.account, s.order_id) for s in self.engine.shipments()}
        open_orders = sorted(
            self.engine.orders(status=[OrderStatus.OPEN], limit=None),
            key=lambda o: (o.created_at, o.order_id),
        )
        rows = [o for o in open_orders if (o.account, o.order_id) not in shipped][:20]
        for row in self.rng.sample(rows, min(count, len(rows))):
            carrier = self.rng.choice(CARRIERS)
            tracking = f"{carrier[:2].upper()}{self.rng.randrange(10**11, 10**12)}"
            self.engine.ship(
                row.account,
                row.order_id,
                Shipment(carrier=carrier, tracking_number=tracking),
                push=False,
            )
            self.result.shipped += 1
            self.events.append(f"shipped {row.account} {row.order_id} with {carrier}")

    def _settle(self) -> None:
        """With the worker stopped, a final pass as a cautious operator would make: a last
        poll of every account, passes until nothing is left. What it still finds is counted
        (the worker should have left nothing)."""
        time.sleep(DEMO_DELAYS["search_lag"][1])  # every order change searchable
        for account in self.accounts.values():
            self.result.final_orders += len(self.engine.pull(account).new)
        for _ in range(8):
            report = self.engine.run_once()
            self.result.cycles += 1
            for name, acc in report.accounts.items():
                self.result.final_pushes += acc.pushes_ok
                self.result.final_orders += acc.orders_new
                for error in acc.errors:
                    self.events.append(f"[red]{name}: {error[:90]}[/]")
            # Amazon applies accepted patches a moment later: let them land.
            deadline = time.monotonic() + DEMO_DELAYS["amazon_patch"] + 1.0
            while self.fakes["amazon"].pending_changes() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.engine.plan() and not self._pending_shipments():
                break
            time.sleep(DEMO_DELAYS["amazon_patch"])  # held increases wait for the settle

    def _pending_shipments(self) -> int:
        return len(self.engine.shipments(status=["pending"]))

    # -- the live view --------------------------------------------------------------------------

    def _latency_table(self, final: bool) -> Table:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value * 1000:.0f} ms"

        figures: list[tuple[str, str, LatencySummary]]
        if final:
            title = "propagation latency: from the sale to the channel showing it"
            columns: tuple[str, ...] = (
                "channel",
                "sales",
                "p50",
                "p95",
                "p99",
                "max",
                "never arrived",
            )
            by_channel = self.result.latency_by_channel.items()
            by_origin = self.result.latency_by_origin.items()
            figures = [("channel", k, v) for k, v in by_channel]
            figures += [("sold via", k, v) for k, v in by_origin]
            if self.result.latency is not None:
                figures.append(("all", "", self.result.latency))
        else:
            title = "latency so far: sale to channel showing it"
            columns = ("channel", "sales", "p50", "p99", "waiting")
            figures = [
                ("channel", self.accounts[k], v) for k, v in self.watcher.summary("channel").items()
            ]
        table = Table(*columns, title=title)
        for group, name, summary in figures:
            label = name if group == "channel" else f"{group} {name}".strip()
            if final:
                table.add_row(
                    label,
                    str(summary.count),
                    ms(summary.p50),
                    ms(summary.p95),
                    ms(summary.p99),
                    ms(summary.max),
                    Text(str(summary.missing), style="red" if summary.missing else ""),
                )
            else:
                table.add_row(
                    label,
                    str(summary.count),
                    ms(summary.p50),
                    ms(summary.p99),
                    str(summary.missing),
                )
        return table

    def _view(self) -> Group:
        table = Table(
            "SKU",
            "ledger available",
            *[f"{acct} shows" for acct in self.accounts.values()],
            title=f"stock (orders placed: {sum(self.result.placed.values())}/{self.orders},"
            f" worker steps: {self._worker_steps()}, shipped: {self.result.shipped})",
        )
        recent = [s for s, _ in self.sold.most_common(14)] or [p.sku for p in self.products[:14]]
        for sku in sorted(recent):
            view = self.engine.stock(sku)
            desired = {c.account: c.desired for c in view.channels}
            cells: list[Text] = []
            product = self.by_sku.get(sku)
            for name, acct in self.accounts.items():
                if product is None or name not in product.channels:
                    cells.append(Text(""))
                    continue
                shown = self.fakes[name].quantity(sku)
                want = desired.get(acct)
                style = "" if want is None or shown == want else "yellow"
                cells.append(Text(f"{shown}", style=style))
            avail = view.available
            table.add_row(sku, Text(str(avail), style="red" if avail < 0 else "bold"), *cells)
        log = Text("\n".join(Text.from_markup(e).plain for e in self.events), style="dim")
        return Group(table, self._latency_table(final=False), log)

    def _render(self) -> None:
        out, result = self.out, self.result
        if out.json_mode:
            out.json({"seed": self.seed, **result.as_dict()})
            return
        table = Table("check", "result", "detail", title="consistency check")
        for c in result.checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[bold red]FAILED[/]", c.detail)
        out.console.print(table)
        out.console.print(self._latency_table(final=True))
        out.console.print(
            f"worker: one loop per account, orders polled every {POLL_INTERVAL:g} s, pushes"
            f" coalesced over at most 200 ms; Amazon shows a patch"
            f" {DEMO_DELAYS['amazon_patch']:g} s after accepting it (the fake's modelled delay)."
            f" Webhook deliveries by answer: "
            + (", ".join(f"{k} x{v}" for k, v in sorted(result.webhooks.items())) or "none")
            + f". Left for the final pass: {result.final_orders} orders,"
            f" {result.final_pushes} pushes."
        )
        now = datetime.now(UTC)
        report = sales_report(
            self.engine.store,
            start=now - timedelta(days=1),
            end=now + timedelta(minutes=1),
            by="channel",
            fee_percent=self.fees,
        )
        out.console.print(sales_table(report))
        placed = ", ".join(f"{self.accounts[k]} {v}" for k, v in sorted(result.placed.items()))
        out.console.print(
            f"{sum(result.placed.values())} orders ({placed}), {result.shipped} shipped,"
            f" {result.worker_steps} worker steps in {result.seconds:.1f} s (seed {self.seed})"
        )
        if result.ok:
            out.console.print("[bold green]consistent:[/] every check passed")
        else:
            out.error("the consistency check failed (see above)")

    # -- the checks -----------------------------------------------------------------------------

    def _check(self, store: Store) -> None:
        checks = self.result.checks
        engine = self.engine

        # 1. every channel shows what the ledger says
        wrong: list[str] = []
        compared = 0
        for p in self.products:
            view = engine.stock(p.sku)
            for c in view.channels:
                if c.desired is None:
                    continue
                kind = next(k for k, a in self.accounts.items() if a == c.account)
                shown = self.fakes[kind].quantity(p.sku)
                compared += 1
                if shown != c.desired:
                    wrong.append(f"{c.account} {p.sku}: shows {shown}, ledger says {c.desired}")
        checks.append(
            Check(
                "every channel shows what the ledger says",
                not wrong,
                f"{compared} listings compared" + (f"; {'; '.join(wrong[:5])}" if wrong else ""),
            )
        )

        # 2. nothing oversold
        oversold = [
            f"{p.sku} by {-engine.stock(p.sku).available}"
            for p in self.products
            if p.bundle is None and engine.stock(p.sku).available < 0
        ]
        checks.append(
            Check(
                "nothing oversold",
                not oversold,
                "every SKU has available >= 0" if not oversold else ", ".join(oversold),
            )
        )

        # 3. every order reached the store exactly once
        with store.read() as conn:
            stored: dict[str, Counter[str]] = defaultdict(Counter)
            for row in conn.execute(sa.select(t.orders.c.account, t.orders.c.order_id)):
                stored[row.account][row.order_id] += 1
            shipments = Counter(r.status for r in conn.execute(sa.select(t.shipments.c.status)))
        missing, extra = [], []
        for account in self.accounts.values():
            ids = set(stored[account])
            missing += [f"{account} {o}" for o in sorted(self.placed_ids[account] - ids)]
            extra += [f"{account} {o}" for o in sorted(ids - self.placed_ids[account])]
        total = sum(len(v) for v in self.placed_ids.values())
        checks.append(
            Check(
                "every order imported, none twice",
                not missing and not extra,
                f"{total} orders placed, {sum(len(v) for v in stored.values())} in the store"
                + (f"; missing {missing[:5]}" if missing else "")
                + (f"; unexpected {extra[:5]}" if extra else ""),
            )
        )

        # 4. the ledger's units match what the buyers bought (an order counted twice or not at
        #    all would show here): committed + units shipped out == units sold, per SKU
        off: list[str] = []
        for sku, initial in self.initial.items():
            view = engine.stock(sku)
            accounted = view.committed + (initial - view.on_hand)
            if accounted != self.sold.get(sku, 0):
                off.append(f"{sku}: buyers took {self.sold.get(sku, 0)}, ledger has {accounted}")
        checks.append(
            Check(
                "ledger units match the buyers' orders",
                not off,
                f"{sum(self.sold.values())} units over {len(self.sold)} SKUs"
                + (f"; {'; '.join(off[:5])}" if off else ""),
            )
        )

        # 5. every shipment reached its channel
        not_pushed = sum(n for status, n in shipments.items() if status != "pushed")
        checks.append(
            Check(
                "every shipment reached its channel with tracking",
                not_pushed == 0,
                f"{shipments.get('pushed', 0)} pushed"
                + (f", {not_pushed} not: {dict(shipments)}" if not_pushed else ""),
            )
        )
        # 6. every webhook delivery was accepted (a refusal, 4xx, is a verification bug; a
        #    503 or a lost connection is retried by the marketplace and caught by polling)
        deliveries = self.result.webhooks
        refused = sum(n for answer, n in deliveries.items() if answer.startswith("4"))
        checks.append(
            Check(
                "every webhook delivery verified by the receiver",
                refused == 0,
                ", ".join(f"{n} answered {answer}" for answer, n in sorted(deliveries.items()))
                or "no deliveries",
            )
        )


def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option("--orders", help="Orders the buyers place.", min=1)] = 120,
    seconds: Annotated[
        float,
        typer.Option("--seconds", help="Spread the orders over about this many seconds.", min=0),
    ] = 20.0,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Repeat a run's catalogue, buyers and consistency result (default: random);"
            " latency figures vary.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the checks and the latency figures as JSON."),
    ] = False,
) -> None:
    """Run channelsync on five fake marketplaces and a SQLite store; no account needed.

    Buyers order on Shopify, WooCommerce, Amazon, eBay and Magento while the real-time
    worker syncs (webhooks over loopback HTTP, Amazon notifications over a local SQS,
    Magento polled); some orders ship with tracking numbers. It measures how long each sale
    takes to show on every other channel, and ends with those figures (p50/p95/p99/max per
    channel and per way the sale came in) next to a consistency check (exit 1 if it fails),
    then the sales report.
    """
    state: State = ctx.obj
    if state.log_level is None:
        state.setup_logging(default="ERROR")
    state.out.json_mode = as_json
    result = Demo(
        state.out, orders=orders, seconds=seconds, seed=seed, live=False if as_json else None
    ).run()
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
