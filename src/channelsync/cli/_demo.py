"""``channelsync demo``: five marketplaces on loopback, buyers on each, one ledger.

It needs no account anywhere: the sandbox fakes Shopify, WooCommerce, Amazon, eBay and
Magento on 127.0.0.1 (every adapter plugin with a fake and a share of the demo's buyers),
the store is SQLite in a temporary folder. Buyers order on every channel (Shopify,
WooCommerce and eBay announce orders by webhook, Amazon and Magento are polled), the engine
runs cycles, some orders ship with tracking numbers, and the demo ends by checking what it
claims: every channel shows what the ledger says, nothing is oversold, every order reached
the store exactly once (the ledger's units match what the buyers bought), every shipment
reached its channel. Then the sales report. Everything goes through the public API.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

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

__all__ = ["Demo", "DemoResult", "register"]


def demo_plugins() -> dict[str, AdapterPlugin]:
    """The adapter plugins that take part: a fake and a share of the buyers."""
    return {
        kind: plugin
        for kind, plugin in adapters().with_fakes().items()
        if plugin.demo_traffic > 0 and plugin.demo_account
    }


#: Amazon is polled (its order search allows a burst of 20, then one call per 3 minutes):
#: it is read every few cycles, and keeps a buffer for the units sold meanwhile.
RULES: dict[str | tuple[str, str], Rule] = {
    "amazon-eu": Rule(buffer=2, min_to_list=3),
    "ebay-de": Rule(buffer=1, cap=12),
}
AMAZON_PULLS = 16
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
    """What the demo did and whether its end state is consistent."""

    checks: list[Check] = field(default_factory=list)
    placed: Counter[str] = field(default_factory=Counter)
    shipped: int = 0
    cycles: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)


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
        self.webhook_errors: list[str] = []
        self._lock = threading.Lock()
        plugins = demo_plugins()
        self.accounts = {kind: str(p.demo_account) for kind, p in plugins.items()}
        self.webhooks = tuple(kind for kind, p in plugins.items() if p.webhooks)
        self.traffic = {kind: p.demo_traffic for kind, p in plugins.items()}
        self.fees = {str(p.demo_account): Decimal(p.demo_fee_percent) for p in plugins.values()}

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
                readers = getattr(self, "readers", None)
                if readers is not None:
                    readers.stop()
                for fake in sandbox.fakes.values():
                    fake.unsubscribe_all()
                close_channels(getattr(self, "channels", []))
                sandbox.stop()
                store.close()
        return self.result

    def _run(self, sandbox: Any, store: Store) -> None:
        fakes = {name: sandbox.fake(name) for name in self.accounts}
        # The demo shop sells in euros on Shopify Plus (whose API budget allows a sync
        # cycle every fraction of a second, as the demo runs them).
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
        for name in self.webhooks:
            fakes[name].subscribe(self._receiver(self.accounts[name]))
        # Amazon's orders arrive as ORDER_CHANGE notifications on the local SQS queue,
        # read as `channelsync worker` reads them (searchOrders polls stay the backup).
        from channelsync.adapters.amazon.webhooks import NotificationReaders

        self.readers = NotificationReaders(channels, engine.record_order, wait_seconds=1)
        self.readers.start()
        self.out.note(
            f"catalogue of {len(self.products)} SKUs on {len(self.accounts)} channels; first sync"
            " cycle"
            " (imports listings, corrects stale quantities) ..."
        )
        self._cycle()
        self._simulate()
        self._settle()
        self._check(store)

    def _seed_ledger(self) -> None:
        counts = {p.sku: p.stock for p in self.products if p.bundle is None}
        self.engine.set_on_hand_many(counts, idempotency_key=f"demo-stocktake-{self.seed}")
        self.initial = dict(counts)
        for p in self.products:
            if p.bundle is not None:
                self.engine.define_bundle(p.sku, p.bundle)
            else:
                self.engine.set_cost(p.sku, Money(amount=p.cost, currency="EUR"), title=p.title)

    def _expected(self, p: Product, account: str) -> int:
        """What the channel should show under the demo's rules (for seeding some correctly)."""
        if p.bundle is not None:
            available = min(self.by_sku[c].stock // q for c, q in p.bundle.items())
        else:
            available = p.stock
        return allocate(available, RULES.get(account) or Rule())[-1].quantity

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

    def _receiver(self, account: str) -> Callable[[dict[str, str], bytes], None]:
        def deliver(headers: dict[str, str], body: bytes) -> None:
            try:
                self.engine.ingest_webhook(account, headers, body)
            except Exception as exc:
                with self._lock:
                    self.webhook_errors.append(f"{account}: {type(exc).__name__}: {exc}")
                raise

        return deliver

    # -- the simulation -----------------------------------------------------------------------

    def _cycle(self) -> None:
        report = self.engine.run_once()
        self.result.cycles += 1
        for name, acc in report.accounts.items():
            for error in acc.errors:
                self.events.append(f"[red]{name}: {error[:90]}[/]")

    def _simulate(self) -> None:
        per_tick = max(1, min(6, round(self.orders / 25)))
        ticks = max(1, -(-self.orders // per_tick))
        interval = self.seconds / ticks if self.seconds > 0 else 0.0
        amazon_pulls = 0
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
        try:
            tick = 0
            while sum(self.result.placed.values()) < self.orders:
                tick_started = time.monotonic()
                tick += 1
                want = min(per_tick, self.orders - sum(self.result.placed.values()))
                if not self._buyers(want):
                    self.events.append("[yellow]buyers found nothing left to buy[/]")
                    break
                for name in self.webhooks:
                    self.fakes[name].flush_webhooks()
                if tick % 3 == 0 and amazon_pulls < AMAZON_PULLS:
                    self.engine.pull(self.accounts["amazon"])
                    amazon_pulls += 1
                self._cycle()
                self._ship(self.rng.choice([0, 1, 1, 2]))
                if live is not None:
                    live.update(self._view())
                wait = interval - (time.monotonic() - tick_started)
                if wait > 0:
                    time.sleep(wait)
        finally:
            if live is not None:
                live.update(self._view())
                live.stop()

    def _buyers(self, count: int) -> int:
        """``count`` buyers, each on a channel, each buying a different SKU it shows."""
        placed = 0
        taken: set[str] = set()
        names = list(self.traffic)
        for _ in range(count * 4):
            if placed >= count:
                break
            name = self.rng.choices(names, weights=[self.traffic[n] for n in names])[0]
            fake = self.fakes[name]
            candidates = [p for p in self.products if name in p.channels and p.sku not in taken]
            self.rng.shuffle(candidates)
            for p in candidates[:12]:
                qty = 2 if self.rng.random() < 0.2 else 1
                shown = fake.quantity(p.sku) or 0
                if shown < qty:
                    continue
                order_id = fake.place_order(p.sku, qty)
                taken.add(p.sku)
                self.placed_ids[self.accounts[name]].add(str(order_id))
                self.result.placed[name] += 1
                for sku, per in (p.bundle or {p.sku: 1}).items():
                    self.sold[sku] += qty * per
                self.events.append(f"{self.accounts[name]}: order {order_id}, {qty} x {p.sku}")
                placed += 1
                break
        return placed

    def _ship(self, count: int) -> None:
        """Ship ``count`` open orders (merchant-fulfilled) with tracking numbers."""
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
            status = self.engine.ship(
                row.account,
                row.order_id,
                Shipment(carrier=carrier, tracking_number=tracking),
            )
            self.result.shipped += 1
            self.events.append(f"shipped {row.account} {row.order_id} with {carrier} ({status})")

    def _settle(self) -> None:
        """Let everything arrive: webhooks, a last poll of every account, cycles until idle."""
        for name in self.webhooks:
            self.fakes[name].flush_webhooks()
        time.sleep(DEMO_DELAYS["search_lag"][1])  # every order change searchable
        for account in self.accounts.values():
            self.engine.pull(account)
        for _ in range(8):
            self._cycle()
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

    def _view(self) -> Group:
        table = Table(
            "SKU",
            "ledger available",
            *[f"{acct} shows" for acct in self.accounts.values()],
            title=f"stock (orders placed: {sum(self.result.placed.values())}/{self.orders},"
            f" cycles: {self.result.cycles}, shipped: {self.result.shipped})",
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
        return Group(table, log)

    def _render(self) -> None:
        out, result = self.out, self.result
        table = Table("check", "result", "detail", title="consistency check")
        for c in result.checks:
            table.add_row(c.name, "[green]ok[/]" if c.ok else "[bold red]FAILED[/]", c.detail)
        out.console.print(table)
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
            f" {result.cycles} sync cycles in {result.seconds:.1f} s (seed {self.seed})"
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
        if self.webhook_errors:
            checks.append(
                Check(
                    "every webhook delivery verified and applied",
                    False,
                    "; ".join(self.webhook_errors[:3]),
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
        int | None, typer.Option("--seed", help="Repeat a run exactly (default: random).")
    ] = None,
) -> None:
    """Run channelsync on five fake marketplaces and a SQLite store; no account needed.

    Buyers order on Shopify, WooCommerce, Amazon, eBay and Magento while the engine syncs; some
    orders ship with tracking numbers. It ends with a consistency check (exit 1 if it
    fails) and the sales report.
    """
    state: State = ctx.obj
    if state.log_level is None:
        state.setup_logging(default="ERROR")
    result = Demo(state.out, orders=orders, seconds=seconds, seed=seed).run()
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo)
