"""``SyncEngine``: the one object merchant code talks to.

A thin front: it builds the parts (each owning its tables: ledger, order book, outbox,
listings, accounts, catalog, inbox) and one lane per channel account, and exposes the
synchronous API of DESIGN.md: ``run_once``, ``run_forever``, ``set_on_hand``, ``adjust``,
``ship``, ``stock``, ``explain``, ``plan``, ``ingest_webhook``, ``record_order`` and
``import_listings``. It holds no SQL of its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from channelsync.adapters._webhooks import describe_invalid
from channelsync.core.accounts import Accounts
from channelsync.core.aftersale import (
    AfterSale,
    CancelRequestView,
    OperationResult,
    ReturnRecord,
)
from channelsync.core.allocation import Rule
from channelsync.core.catalog import Catalog
from channelsync.core.channel import Channel, WebhookEvent
from channelsync.core.checks import (
    check_bool,
    check_instance,
    check_optional_text,
    check_quantity,
    check_sku,
    check_text,
    check_texts,
)
from channelsync.core.customers import CustomerFile
from channelsync.core.errors import (
    ChannelError,
    ChannelsyncError,
    ConfigError,
    InvalidInput,
    UnknownAccount,
    WebhookPayloadError,
    WebhookVerificationError,
)
from channelsync.core.gdpr import Privacy
from channelsync.core.idempotency import IdempotencyKeys
from channelsync.core.inbox import Inbox, PendingEvent
from channelsync.core.inventory import Inventory
from channelsync.core.lanes import AccountLane, ImportResult, LaneSettings, Parts
from channelsync.core.ledger import ApplyResult, JournalEntry, Ledger
from channelsync.core.listings import Listings
from channelsync.core.locations import (
    DEFAULT_LOCATION,
    FirstWithStock,
    LocationBook,
    LocationSpec,
    Sourcing,
)
from channelsync.core.models import Money, Order, OrderStatus, Shipment, utcnow
from channelsync.core.orderbook import OrderBook
from channelsync.core.outbox import Outbox
from channelsync.core.planner import Planner, RuleBook, RuleKey
from channelsync.core.pricing import PriceBook, PriceRule
from channelsync.core.quotas import QuotaBook
from channelsync.core.rates import Rates
from channelsync.core.reconcile import queue_corrections, reconcile
from channelsync.core.results import (
    AccountReport,
    Coverage,
    CustomerEdit,
    CycleReport,
    Drift,
    Explanation,
    FailedOrder,
    OrderSummary,
    Person,
    PlannedPrice,
    PlannedPush,
    Received,
    ReconcileResult,
    ShipmentRecord,
    Status,
    StockView,
    WorkerStatus,
)
from channelsync.core.retry import RetryPolicy
from channelsync.core.reviews import ReviewDue, ReviewOutcome, ReviewRequests
from channelsync.core.runtime import Runtime, RuntimeSettings
from channelsync.core.salesbook import SalesBook
from channelsync.core.store import Store
from channelsync.core.views import Views

__all__ = ["SyncEngine"]

log = logging.getLogger(__name__)


class SyncEngine:
    """Keeps stock, prices and orders consistent across channel accounts.

    Args:
        store: from ``open_store``.
        channels: one ``Channel`` per account; account names must be unique.
        rules: allocation rules per account (``"ebay-de"``) or per account and SKU
            (``("ebay-de", "SKU-1")``).
        retry: the retry policy for channel calls.
        clock: returns the current aware UTC time (tests inject one).
        order_lag: how far behind the last change seen each order poll re-reads.
        initial_lookback: how far back the first poll of an account reads.
        apply_batch: orders applied per transaction while polling (each batch moves the
            cursor with it; larger batches apply faster, see bench/bench_core.py).
        reread_open_after: channels that can read one order by id (``SupportsReadOrder``)
            have their open orders re-read once they were not seen for this long, a few per
            cycle (None: never).
        min_lease: the shortest lease on rows claimed for a push (sized up from the
            channel's limits, renewed while the push runs): how long rows of a worker that
            died stay taken before another worker pushes them.
        locations: where each account's stock comes from, per account: a list of our
            location names (the channel shows one quantity pooled from them) or a mapping
            of our location names to the channel's own location ids (the channel keeps a
            quantity per location). Accounts not named draw on every location.
        price_rules: price rules per account (``"ebay-de"``) or per account and SKU
            (``("ebay-de", "SKU-1")``): conversion into the account's currency, markup or
            discount, offset, price ending, minimum and maximum (``PriceRule``).
        rates: exchange rates for the price rules' conversions (``load_rates``).
        sourcing: picks the location a new order line commits at where the channel does
            not say (default ``FirstWithStock``: the first of the account's locations with
            every unit available).
    """

    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel] = (),
        rules: Mapping[Any, Rule] | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        order_lag: timedelta = timedelta(minutes=5),
        initial_lookback: timedelta = timedelta(days=7),
        apply_batch: int = 2000,
        reread_open_after: timedelta | None = timedelta(hours=6),
        min_lease: timedelta = timedelta(seconds=30),
        locations: Mapping[str, LocationSpec] | None = None,
        sourcing: Sourcing | None = None,
        price_rules: Mapping[str | tuple[str, str], PriceRule] | None = None,
        rates: Rates | None = None,
    ) -> None:
        if not isinstance(store, Store):
            raise ConfigError(f"store must come from channelsync.open_store, got {store!r}")
        self.store = store
        self.clock = clock
        self._rules = RuleBook(rules)
        self._policy = retry or RetryPolicy()
        self._locations = LocationBook(locations)
        listings = Listings(store, clock)
        outbox = Outbox(store, listings, clock, self._locations)
        planner = Planner(store, self._rules, outbox, self._locations)
        ledger = Ledger(store, planner, clock)
        orderbook = OrderBook(
            store, ledger, planner, outbox, clock, self._locations, sourcing or FirstWithStock()
        )
        self._sales = SalesBook(store)
        self.privacy = Privacy(store, orderbook, clock, self._sales)
        """Customer-data requests: export, redaction and retention (GDPR)."""
        self._customers = CustomerFile(store, self._sales, self.privacy, clock)
        self._prices = PriceBook(price_rules, rates)
        self._inbox = Inbox(store, orderbook, listings, self.privacy, clock)
        self._parts = Parts(
            store=store,
            accounts=Accounts(store, clock),
            listings=listings,
            outbox=outbox,
            planner=planner,
            orderbook=orderbook,
            inbox=self._inbox,
            policy=self._policy,
            clock=clock,
            prices=self._prices,
        )
        self._ledger = ledger
        self._inventory = Inventory(store, ledger, IdempotencyKeys(clock))
        self._catalog = Catalog(store, planner, outbox, clock)
        self._views = Views(store, planner)
        self._quotas = QuotaBook(store, clock)
        settings = LaneSettings(
            order_lag=order_lag,
            initial_lookback=initial_lookback,
            apply_batch=apply_batch,
            reread_after=reread_open_after,
            min_lease=min_lease,
        )
        self._lanes: dict[str, AccountLane] = {}
        for channel in channels:
            if not isinstance(channel, Channel):
                raise ConfigError(f"{channel!r} does not implement channelsync.Channel")
            if channel.account in self._lanes:
                raise ConfigError(f"two channels share the account name {channel.account!r}")
            self._lanes[channel.account] = AccountLane(channel, self._parts, settings)
        self._stop = threading.Event()
        self._refreshed = False
        self._runtime: Runtime | None = None
        self._aftersale = AfterSale(
            store, orderbook, ledger, planner, IdempotencyKeys(clock), clock, self._channel_or_none
        )
        self._reviews = ReviewRequests(store, clock, self._channel_or_none)

    def __repr__(self) -> str:
        return f"SyncEngine(store={self.store.url!r}, accounts={sorted(self._lanes)})"

    @property
    def accounts(self) -> list[str]:
        """The account names of the engine's channels."""
        return list(self._lanes)

    @property
    def rules(self) -> RuleBook:
        """The allocation rules (change them with ``set_rule``)."""
        return self._rules

    def channel(self, account: str) -> Channel:
        """The channel of ``account``."""
        return self._lane(account).channel

    def _channel_or_none(self, account: str) -> Channel | None:
        lane = self._lanes.get(account)
        return lane.channel if lane is not None else None

    def _lane(self, account: str) -> AccountLane:
        check_text(account, "account")
        try:
            return self._lanes[account]
        except KeyError:
            raise UnknownAccount(
                f"no channel account {account!r}; known: {sorted(self._lanes)}"
            ) from None

    # -- cycles ---------------------------------------------------------------------------

    def run_once(self) -> CycleReport:
        """One sync cycle over every account, concurrently (one thread per account).

        Pulls orders, applies them, recomputes desired quantities, pushes pending stock,
        prices and shipments. One failing account never stops the others: its error is in
        the report and its pending pushes are retried next cycle.
        """
        report = CycleReport(started_at=self.clock())
        if not self._refreshed:
            self.refresh()  # rules may differ from the run that wrote the outbox
            self._refreshed = True
        if not self._lanes:
            report.finished_at = self.clock()
            return report
        applied = {a: ApplyResult() for a in self._lanes}
        for account, lane in self._lanes.items():
            report.accounts[account] = AccountReport(account=account, kind=lane.channel.kind)
        with ThreadPoolExecutor(
            max_workers=len(self._lanes), thread_name_prefix="channelsync"
        ) as pool:
            list(
                pool.map(
                    lambda a: self._lanes[a].cycle(report.accounts[a], applied[a]), self._lanes
                )
            )
            # Orders applied by one lane may have changed what the others should show.
            healthy = [a for a, r in report.accounts.items() if r.ok]
            list(pool.map(lambda a: self._push_round(a, report.accounts[a]), healthy))
        for result in applied.values():
            report.unknown_skus |= result.unknown_skus
            report.oversold.update(result.oversold)
        report.finished_at = self.clock()
        return report

    def _push_round(self, account: str, report: AccountReport) -> None:
        lane = self._lanes[account]
        try:
            lane.push_stock(report)
        except Exception as exc:
            report.errors.append(f"{type(exc).__name__}: {exc}")

    def run_forever(
        self,
        poll_interval: float = 60.0,
        *,
        install_signal_handlers: bool = True,
        coalesce: float = 0.2,
        account_lease: timedelta = timedelta(seconds=30),
        idle_check: float | None = None,
        worker_id: str | None = None,
    ) -> None:
        """Run the worker until SIGTERM/SIGINT or ``stop()``: one loop per account.

        Each account polls its orders every ``poll_interval`` seconds (the channel's own
        minimum wins where longer) and pushes within ``coalesce`` seconds of any change
        that moves what it should show (a sale on another channel, a count, a webhook), so
        a sale reaches the other channels in well under a second. No account waits on
        another. Several processes may run this on one PostgreSQL store: they share the
        accounts by lease (see docs/operations.md). A stop lets the pushes in flight
        finish. A ``stop()`` that came before makes it return at once; it can be run
        again afterwards.
        """
        for name, value in (("poll_interval", poll_interval), ("coalesce", coalesce)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInput(f"{name} must be a number of seconds >= 0, got {value!r:.80}")
        if not isinstance(account_lease, timedelta):
            raise InvalidInput(f"account_lease must be a timedelta, got {account_lease!r:.80}")
        check_optional_text(worker_id, "worker_id")
        previous: dict[signal.Signals, Any] = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        settings = RuntimeSettings(
            poll_interval=poll_interval,
            coalesce=coalesce,
            account_lease=account_lease,
            idle_check=idle_check,
            worker_id=worker_id,
        )
        try:
            if self._stop.is_set():
                return
            if not self._refreshed:
                self.refresh()  # rules may differ from the run that wrote the outbox
                self._refreshed = True
            self._runtime = Runtime(
                self.store, self._parts.accounts, self._lanes, settings, self.clock, self._stop
            )
            self._runtime.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop.clear()

    @property
    def runtime(self) -> Runtime | None:
        """The worker runtime while ``run_forever`` runs (health, metrics), else None."""
        return self._runtime

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping once the steps under way are done", signum)
        self._stop.set()

    def stop(self) -> None:
        """Ask ``run_forever`` to return once the steps under way are done."""
        self._stop.set()

    def import_listings(
        self, accounts: Iterable[str] | None = None
    ) -> dict[str, ImportResult | ChannelError]:
        """Fetch listings of ``accounts`` (default all) and bind their SKUs; per-account results."""
        names = check_texts(accounts, "accounts") if accounts is not None else list(self._lanes)
        lanes = [self._lane(a) for a in names]

        def one(lane: AccountLane) -> ImportResult | ChannelError:
            try:
                return lane.import_listings()
            except ChannelError as exc:
                return exc

        with ThreadPoolExecutor(
            max_workers=max(1, len(lanes)), thread_name_prefix="channelsync"
        ) as pool:
            return dict(zip(names, pool.map(one, lanes), strict=True))

    def pull(self, account: str) -> ApplyResult:
        """Pull and apply one account's orders now (ignoring its poll interval)."""
        return self._lane(account).pull_orders(
            AccountReport(account=account, kind=self._lane(account).channel.kind)
        )

    # -- merchant-side changes ------------------------------------------------------------

    def set_on_hand(
        self,
        sku: str,
        quantity: int,
        *,
        idempotency_key: str | None = None,
        note: str | None = None,
        source: str = "caller",
        location: str = DEFAULT_LOCATION,
    ) -> StockView:
        """Record a physical count of ``sku`` at ``location``: on_hand there becomes
        ``quantity``.

        Pass ``idempotency_key`` (e.g. the ERP export id) to make repeats harmless; reusing
        it for another count raises ``IdempotencyConflict`` and changes nothing. A SKU is
        1 to 255 characters without surrounding whitespace or control characters (see
        ``channelsync.core.models.check_sku``); quantities are 64-bit.
        """
        check_sku(sku)
        self._inventory.set_on_hand_many(
            {sku: quantity},
            idempotency_key=idempotency_key,
            source=source,
            note=note,
            operation="set_on_hand",
            location=location,
        )
        return self.stock(sku)

    def set_on_hand_many(
        self,
        counts: Mapping[str, int],
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        location: str = DEFAULT_LOCATION,
    ) -> int:
        """Record many physical counts at ``location`` in one transaction (an ERP export).

        All or nothing: a bad SKU or count anywhere refuses the whole batch. Returns the
        journal rows written (0 for a repeat of the same ``idempotency_key``).
        """
        return self._inventory.set_on_hand_many(
            counts, idempotency_key=idempotency_key, source=source, location=location
        ).journal_rows

    def adjust(
        self,
        sku: str,
        delta: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        location: str = DEFAULT_LOCATION,
        allow_negative: bool = False,
    ) -> StockView:
        """Change on_hand at ``location`` by ``delta`` (a receipt, a restocked return,
        damage) with a reason.

        A delta that would take on_hand at ``location`` below zero is refused
        (``InvalidInput``, nothing changes) unless ``allow_negative=True``; the journal row
        of an allowed one has the reason ``adjust (below zero allowed)``.
        """
        check_sku(sku)
        self._inventory.adjust_many(
            {sku: delta},
            reason,
            idempotency_key=idempotency_key,
            source=source,
            operation="adjust",
            location=location,
            allow_negative=allow_negative,
        )
        return self.stock(sku)

    def adjust_many(
        self,
        deltas: Mapping[str, int],
        reason: str,
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        location: str = DEFAULT_LOCATION,
        allow_negative: bool = False,
    ) -> int:
        """Change on_hand of many SKUs at ``location`` by their deltas in one transaction
        (a goods receipt).

        All or nothing, like ``set_on_hand_many`` (a delta taking on_hand below zero refuses
        the batch unless ``allow_negative``); returns the journal rows written.
        """
        return self._inventory.adjust_many(
            deltas,
            reason,
            idempotency_key=idempotency_key,
            source=source,
            location=location,
            allow_negative=allow_negative,
        ).journal_rows

    def transfer(
        self,
        sku: str,
        units: int,
        from_location: str,
        to_location: str,
        *,
        idempotency_key: str | None = None,
        note: str | None = None,
        source: str = "caller",
    ) -> StockView:
        """Move ``units`` on hand of ``sku`` from one location to another.

        Journaled as two rows under one idempotency key; the total does not change, what
        channels drawing on either location show does. Refused (``InvalidInput``, nothing
        changes) when the source location has fewer units on hand.
        """
        self._inventory.transfer(
            sku,
            units,
            from_location,
            to_location,
            idempotency_key=idempotency_key,
            source=source,
            note=note,
        )
        return self.stock(sku)

    def define_bundle(self, sku: str, components: Mapping[str, int]) -> None:
        """Declare ``sku`` a bundle of ``components`` (SKU -> units per bundle).

        A bundle listing shows ``min(floor(available(c) / qty(c)))`` over its components, and
        selling a bundle commits its components.
        """
        self._catalog.define_bundle(sku, components)

    def set_rule(self, key: RuleKey, rule: Rule) -> None:
        """Set or replace a rule (account or (account, SKU)) and recompute what it affects."""
        self._rules.put(key, rule)
        if isinstance(key, tuple) and key[1] is not None:
            check_sku(key[1], "the SKU of the rule key")
        account, sku = (key[0], key[1]) if isinstance(key, tuple) else (key, None)

        def work(conn: Any) -> None:
            skus = [sku] if sku is not None else sorted(self._parts.listings.skus(conn, account))
            self._parts.planner.recompute(conn, skus)

        self.store.run(work)

    def set_price(self, sku: str, price: Money, accounts: Iterable[str] | None = None) -> int:
        """Queue ``price`` for every listing of ``sku`` (or only on ``accounts``); rows queued."""
        return self._catalog.set_price(sku, price, accounts)

    def set_cost(self, sku: str, cost: Money, *, title: str | None = None) -> None:
        """Record the cost price of ``sku`` (for gross-margin reports)."""
        self._catalog.set_cost(sku, cost, title=title)

    # -- orders ---------------------------------------------------------------------------

    def record_order(self, order: Order) -> ApplyResult:
        """Apply an order that did not come through a channel (your own shop, a POS)."""
        return self.record_orders([order])

    def record_orders(self, orders: Sequence[Order]) -> ApplyResult:
        """Apply a batch of orders in one transaction (the newest version of each wins)."""
        if isinstance(orders, Order) or not isinstance(orders, Sequence):
            raise InvalidInput(
                f"record_orders takes a list of channelsync.Order, got {type(orders).__name__}"
            )
        for order in orders:
            check_instance(order, Order, "each order of record_orders")
        return self.store.run(lambda conn: self._parts.orderbook.apply(conn, list(orders)))

    def order(self, account: str, order_id: str) -> Order:
        """The stored order; ``UnknownOrder`` if it was never seen."""
        check_text(account, "account")
        check_text(order_id, "order_id")
        return self._views.order(account, order_id)

    def ship(self, account: str, order_id: str, shipment: Shipment, *, push: bool = True) -> str:
        """Record that ``shipment`` left the warehouse, and tell the channel.

        The ledger changes at once (committed and on_hand drop by the shipped units); the
        channel is told now when ``push`` is true and the channel answers, else by the next
        cycle. Recording the same shipment twice changes nothing. Returns ``"pushed"``,
        ``"pending"`` or ``"failed"``.
        """
        lane = self._lane(account)
        check_text(order_id, "order_id")
        check_instance(shipment, Shipment, "shipment")
        check_bool(push, "push")
        if shipment.shipped_at is None:
            shipment = shipment.model_copy(update={"shipped_at": self.clock()})
        body = shipment.model_dump(mode="json", exclude={"shipped_at"})
        digest = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:24]
        key = f"ship:{account}:{order_id}:{digest}"

        def work(conn: Any) -> None:
            if self._parts.outbox.shipment_status(conn, key) is None:
                self._parts.orderbook.ship(conn, account, order_id, shipment)
                self._parts.outbox.add_shipment(conn, account, order_id, key, shipment)

        self.store.run(work)
        if push:
            try:
                lane.push_shipments(AccountReport(account=account, kind=lane.channel.kind))
            except ChannelError as exc:  # recorded on the shipment; the next cycle retries
                log.warning("account %s: shipment of %s not pushed yet: %s", account, order_id, exc)
        with self.store.read() as conn:
            return self._parts.outbox.shipment_status(conn, key) or "pending"

    # -- after-sale (core/aftersale.py) --------------------------------------------------

    def cancel(
        self,
        account: str,
        order_id: str,
        *,
        lines: Mapping[str, int] | None = None,
        reason: str,
        note: str | None = None,
        restock: bool = True,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Cancel units not shipped (``lines``: line id -> units; None: every one), on the
        channel and then in the ledger (released once; ``restock=False`` writes them off).

        ``reason`` is one of ``channelsync.core.channel.REASONS``. Safe to repeat: the same
        call (or key) again is a no-op; the key with another payload raises
        ``IdempotencyConflict``. ``OperationRefused`` (nothing changed) when the units are
        not there to cancel (a shipped order: refund it or record a return instead).
        """
        self._check_operation(account, order_id, reason, note, idempotency_key)
        return self._aftersale.cancel(
            account,
            order_id,
            lines=lines,
            reason=reason,
            note=note,
            restock=restock,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
        )

    def refund(
        self,
        account: str,
        order_id: str,
        *,
        lines: Mapping[str, int] | None = None,
        amount: Money | None = None,
        reason: str,
        note: str | None = None,
        restock: bool = False,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Refund ``amount`` or what ``lines`` cost, through the channel, at most what was
        paid; refunded units not shipped are released, shipped ones restocked with
        ``restock``. Counted in reports on the refund's day, in its currency."""
        self._check_operation(account, order_id, reason, note, idempotency_key)
        if amount is not None:
            check_instance(amount, Money, "amount")
        return self._aftersale.refund(
            account,
            order_id,
            lines=lines,
            amount=amount,
            reason=reason,
            note=note,
            restock=restock,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
        )

    def record_return(
        self,
        account: str,
        order_id: str,
        lines: Mapping[str, int],
        *,
        restock: bool = True,
        location: str | None = None,
        reason: str = "other",
        note: str | None = None,
        notify_channel: bool = True,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Units the buyer sent back: on hand again at ``location`` (default: where each line
        shipped from), or written off; each unit once and never more than shipped; channels
        with a returns API are told."""
        self._check_operation(account, order_id, reason, note, idempotency_key)
        check_instance(lines, Mapping, "lines")
        check_optional_text(location, "location")
        return self._aftersale.record_return(
            account,
            order_id,
            lines,
            restock=restock,
            location=location,
            reason=reason,
            note=note,
            notify_channel=notify_channel,
            idempotency_key=idempotency_key,
            dry_run=dry_run,
        )

    @staticmethod
    def _check_operation(
        account: object, order_id: object, reason: object, note: object, key: object
    ) -> None:
        check_text(account, "account")
        check_text(order_id, "order_id")
        check_text(reason, "reason")
        check_optional_text(note, "note")
        check_optional_text(key, "idempotency_key")

    def cancel_requests(self, account: str | None = None) -> list[CancelRequestView]:
        """Open buyer cancellation requests (Amazon marks them on the order)."""
        check_optional_text(account, "account")
        return self._aftersale.cancel_requests(account)

    def accept_cancel_request(self, account: str, order_id: str) -> OperationResult:
        """Cancel what the buyer asked to cancel (see ``cancel``)."""
        check_text(account, "account")
        check_text(order_id, "order_id")
        return self._aftersale.accept_cancel_request(account, order_id)

    def returns(
        self, account: str | None = None, order_id: str | None = None
    ) -> list[ReturnRecord]:
        """Returned units recorded so far, newest first."""
        check_optional_text(account, "account")
        check_optional_text(order_id, "order_id")
        return self._aftersale.returns(account, order_id)

    def operations(
        self, *, account: str | None = None, status: Iterable[str] = ()
    ) -> list[OperationResult]:
        """Cancels, refunds and returns recorded (newest first), by account and status
        (``pending``, ``done``, ``failed``)."""
        check_optional_text(account, "account")
        status = check_texts(status, "status")
        return self._aftersale.operations(account=account, status=status)

    def settle_operations(self, account: str | None = None) -> list[OperationResult]:
        """Ask the channels about pending cancels and refunds; apply those that are done."""
        check_optional_text(account, "account")
        return self._aftersale.settle(account)

    # -- review requests (core/reviews.py) ---------------------------------------------------

    @staticmethod
    def _check_reviews(
        account: object, accounts: object, after: object, within: object
    ) -> list[str] | None:
        check_optional_text(account, "account")
        for name, value in (("after", after), ("within", within)):
            if not isinstance(value, timedelta):
                raise InvalidInput(f"{name} must be a timedelta, got {value!r:.80}")
        return None if accounts is None else check_texts(accounts, "accounts")

    def review_requests_due(
        self,
        *,
        account: str | None = None,
        accounts: Iterable[str] | None = None,
        after: timedelta = timedelta(days=7),
        within: timedelta = timedelta(days=30),
    ) -> list[ReviewDue]:
        """Shipped orders that may be asked for a review now (see ``core/reviews.py``);
        ``accounts``: those that opted in (None: all)."""
        accounts = self._check_reviews(account, accounts, after, within)
        return self._reviews.due(account=account, accounts=accounts, after=after, within=within)

    def send_review_requests(
        self,
        *,
        account: str | None = None,
        accounts: Iterable[str] | None = None,
        callback: Callable[[ReviewDue], None] | None = None,
        after: timedelta = timedelta(days=7),
        within: timedelta = timedelta(days=30),
        dry_run: bool = False,
    ) -> list[ReviewOutcome]:
        """Send due review requests (channel or ``callback``), at most once per order."""
        accounts = self._check_reviews(account, accounts, after, within)
        if callback is not None and not callable(callback):
            raise InvalidInput(f"callback must be callable, got {type(callback).__name__}")
        check_bool(dry_run, "dry_run")
        return self._reviews.send(
            account=account,
            accounts=accounts,
            callback=callback,
            after=after,
            within=within,
            dry_run=dry_run,
        )

    def mark_review_requests_sent(self, orders: Iterable[tuple[str, str]]) -> int:
        """Record (account, order id) pairs your own tool asked for a review."""
        if isinstance(orders, str | bytes) or not isinstance(orders, Iterable):
            raise InvalidInput(f"orders must be (account, order id) pairs, got {orders!r:.80}")
        pairs = list(orders)
        for pair in pairs:
            if not (
                isinstance(pair, tuple)
                and len(pair) == 2
                and all(isinstance(x, str) and x for x in pair)
            ):
                raise InvalidInput(
                    f"each order must be an (account, order id) pair, got {pair!r:.80}"
                )
        return self._reviews.mark_sent(pairs)

    def review_requests(self, account: str | None = None) -> list[ReviewOutcome]:
        """Review requests recorded, newest first."""
        check_optional_text(account, "account")
        return self._reviews.history(account)

    def receive_webhook(self, account: str, headers: Mapping[str, str], body: bytes) -> Received:
        """Verify a webhook delivery for ``account`` and store its events in the inbox.

        Nothing is applied yet (the worker, ``ingest_webhook`` or the next ``run_once``
        applies them from the inbox); once this returns, the delivery is safe and may be
        answered 2xx. A redelivery of events already stored is recognised and not stored
        again.

        Raises:
            WebhookVerificationError: bad signature or body (nothing is stored);
                ``WebhookPayloadError``, a subclass, for a body too large, too deep or
                malformed.
            UnknownAccount: the engine has no such account.
        """
        lane = self._lane(account)
        check_instance(headers, Mapping, "headers")
        if not isinstance(body, bytes | bytearray):
            raise InvalidInput(f"body must be the delivery's bytes, got {type(body).__name__}")
        try:
            events = lane.channel.parse_webhook(headers, bytes(body))
        except (ValueError, RecursionError, KeyError, IndexError, TypeError) as exc:
            if isinstance(exc, ChannelsyncError):
                raise
            # A channel's parser (a plugin's too) choking on the body: a payload error the
            # receiver answers 400, never a 5xx that makes the marketplace send it again
            # (orders are polled as well: a delivery refused here is not lost).
            raise WebhookPayloadError(
                f"{account}: malformed webhook body: {describe_invalid(exc)}"
            ) from None
        for event in events:
            if event.order is not None and event.order.account != account:
                raise WebhookVerificationError(
                    f"webhook for {account!r} carried order {event.order.order_id!r}"
                    f" of account {event.order.account!r}"
                )
        storable = [e for e in events if e.kind not in ("ping",) and e.response is None]
        ids = self._inbox.put(account, storable)
        return Received(events=events, stored=ids, duplicates=len(storable) - len(ids))

    def ingest_webhook(
        self, account: str, headers: Mapping[str, str], body: bytes
    ) -> list[WebhookEvent]:
        """Verify a webhook delivery for ``account``, store its events and apply them now.

        Raises ``WebhookVerificationError`` (nothing changes) for a bad signature or body.
        Order events are applied like polled orders (the cursor does not move); a delivery
        seen before (same event id) is returned but not applied again; privacy events
        redact the customer's data in the store. An event that cannot be applied now (its
        order cannot be read, the store is busy) stays in the inbox and is applied by the
        worker or the next ``run_once``: see ``inbox_pending()``.
        """
        received = self.receive_webhook(account, headers, body)
        if received.stored:
            self.apply_inbox(account, received.stored)
        return received.events

    def apply_inbox(self, account: str, ids: Sequence[int] | None = None) -> int:
        """Apply ``account``'s due webhook events from the inbox now; returns events applied."""
        lane = self._lane(account)
        if ids is not None:
            if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
                raise InvalidInput(f"ids must be a list of inbox ids, got {ids!r:.80}")
            ids = list(ids)
            for i in ids:
                check_quantity(i, "each inbox id")
        report = AccountReport(account=account, kind=lane.channel.kind)
        try:
            lane.apply_inbox(report, ids)
        except Exception as exc:  # stays in the inbox; retried later
            log.warning("account %s: webhook events not applied yet: %s", account, exc)
        if report.events_applied or report.events_failed:
            log.info(
                "account %s: %d webhook events applied (%d orders new, %d changed), %d failed",
                account,
                report.events_applied,
                report.orders_new,
                report.orders_changed,
                report.events_failed,
            )
        return report.events_applied

    def inbox_pending(self, account: str | None = None) -> list[PendingEvent]:
        """Webhook events received but not applied yet, with their last error."""
        check_optional_text(account, "account")
        return self._inbox.pending(account)

    # -- reading --------------------------------------------------------------------------

    def stock(self, sku: str) -> StockView:
        """The ledger figures of ``sku`` and what every channel listing should and does show.

        A SKU the store has never seen has zeros and ``tracked`` False.
        """
        check_sku(sku)
        return self._views.stock(sku)

    def explain(self, sku: str, account: str | None = None) -> Explanation:
        """The journal rows behind ``sku``'s figures, how each listing's quantity arose,
        and how each account's price arises from the merchant's (``prices``).

        ``known`` is False for a SKU the store has never seen (the figures are zeros). A
        ``reconcile`` correction of a listing is a row too (reason ``reconcile``, no change
        of the figures; its note says what the channel showed and what it is set to).
        """
        check_sku(sku)
        check_optional_text(account, "account")
        explained = self._views.explain(sku, account)
        prices = self._views.plan_prices(
            self._prices, self.clock().date(), sku=sku, account=account, pending_only=False
        )
        return dataclasses.replace(explained, prices={p.account: p for p in prices})

    def plan(self) -> list[PlannedPush]:
        """What the next cycle would push (a dry run: nothing is sent or claimed)."""
        return self._views.plan()

    def plan_prices(self) -> list[PlannedPrice]:
        """The prices the next cycle would push, each with its rule's steps (or why the
        rule refuses it): a dry run."""
        return self._views.plan_prices(self._prices, self.clock().date())

    def set_price_rule(self, key: str | tuple[str, str], rule: PriceRule) -> None:
        """Set the price rule of an account or of one (account, SKU); it applies to the
        prices pushed from now on (``set_price`` again to re-send a price)."""
        self._prices.set(key, rule)

    def orders(
        self,
        *,
        account: str | None = None,
        status: Iterable[OrderStatus | str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[OrderSummary]:
        """Stored orders, newest first, by account, status and creation time ``[since, until)``."""
        check_optional_text(account, "account")
        for name, when in (("since", since), ("until", until)):
            if when is not None and not (isinstance(when, datetime) and when.tzinfo is not None):
                raise InvalidInput(f"{name} must be an aware datetime, got {when!r:.80}")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise InvalidInput(f"limit must be a whole number >= 0 or None, got {limit!r:.80}")
        statuses = []
        for s in check_texts(status, "status"):
            try:
                statuses.append(OrderStatus(s))
            except ValueError:
                raise InvalidInput(
                    f"order status {s!r:.80} is not one of"
                    f" {', '.join(x.value for x in OrderStatus)}"
                ) from None
        return self._views.orders(
            account=account,
            status=statuses,
            since=since,
            until=until,
            limit=limit,
        )

    def shipments(
        self, *, account: str | None = None, order_id: str | None = None, status: Iterable[str] = ()
    ) -> list[ShipmentRecord]:
        """Shipments recorded with ``ship`` and where each stands (pending, pushed, failed)."""
        check_optional_text(account, "account")
        check_optional_text(order_id, "order_id")
        status = check_texts(status, "status")
        return self._views.shipments(account=account, order_id=order_id, status=status)

    def order_failures(self, account: str | None = None) -> list[FailedOrder]:
        """Orders a channel returned that its adapter could not read (malformed payloads).

        They never block the order stream; each stays here, with the adapter's error, until
        the order changes on the channel and reads cleanly.
        """
        check_optional_text(account, "account")
        return self._views.order_failures(account)

    def customers(self, account: str | None = None) -> list[Person]:
        """The customer file: one entry per person across every channel (the same
        normalised e-mail, or the channel's buyer id where it hides the e-mail, and the
        merges made by hand), with their accounts, orders, first and last order, revenue
        and refunds per currency and units returned; newest buyer first. With
        ``account``, only people who ordered there.

        Personal data: export and erase it per person with ``export_customer`` and
        ``forget_customer``.
        """
        check_optional_text(account, "account")
        return self._customers.people(account)

    def customer(self, ref: str) -> Person:
        """The person ``ref`` names (person id, identity, e-mail, or ``account/order_id``).

        Raises:
            UnknownCustomer: no person matches.
        """
        return self._customers.person(ref)

    def merge_customers(
        self, into: str, other: str, *, actor: str | None = None, note: str | None = None
    ) -> Person:
        """Merge the person ``other`` into ``into`` (recorded; undo with ``split_customer``)."""
        return self._customers.merge(into, other, actor=actor, note=note)

    def split_customer(
        self, identity: str, *, actor: str | None = None, note: str | None = None
    ) -> Person:
        """Take ``identity`` out of the person it was merged into (recorded)."""
        return self._customers.split(identity, actor=actor, note=note)

    def customer_edits(self) -> list[CustomerEdit]:
        """Every merge and split of the customer file, oldest first."""
        return self._customers.edits()

    def export_customer(self, ref: str) -> dict[str, Any]:
        """Everything the store holds about a person, on every channel (GDPR art. 15)."""
        return self._customers.export(ref)

    def forget_customer(self, ref: str) -> int:
        """Erase a person's personal data on every channel (GDPR art. 17); orders redacted."""
        return self._customers.forget(ref)

    def status(self) -> Status:
        """Where every account stands (last pull and push, cursor lag, what is owed, the
        inbox, failures) and which worker process runs it, read from the store."""
        status = self._views.status(self.accounts, self.clock())
        spent = self._quotas.by_account()
        accounts = tuple(
            dataclasses.replace(
                a,
                quota={
                    q.resource: {
                        "blocked_until": q.blocked_until.isoformat(),
                        "code": q.code,
                        "detail": q.detail,
                    }
                    for q in spent.get(a.account, [])
                },
            )
            for a in status.accounts
        )
        workers = tuple(
            WorkerStatus(
                worker_id=w.worker_id,
                host=w.host,
                pid=w.pid,
                started_at=w.started_at,
                heartbeat_at=w.heartbeat_at,
                alive=w.alive,
                accounts=w.accounts,
            )
            for w in self._parts.accounts.workers()
        )
        return Status(at=status.at, accounts=accounts, workers=workers)

    def coverage(self, accounts: Iterable[str] | None = None) -> Coverage:
        """Which account lists which SKU, and listed SKUs the ledger has not counted."""
        return self._views.coverage(
            self.accounts if accounts is None else check_texts(accounts, "accounts")
        )

    # -- reconciling ----------------------------------------------------------------------

    def reconcile(
        self,
        account: str,
        *,
        fix: bool = False,
        progress: Callable[[int], None] | None = None,
        source: str = "caller",
    ) -> ReconcileResult:
        """Read what ``account``'s listings show and compare with what the ledger says.

        With ``fix`` the drifted listings are queued for correction (the next cycle pushes
        them, compare-and-set against what the channel really shows), and each correction
        is journalled: who (``source``), when, which listing, from what to what. They show
        in ``explain(sku)`` (reason ``reconcile``) and in ``corrections()``.
        """
        lane = self._lane(account)
        check_bool(fix, "fix")
        check_text(source, "source")
        if progress is not None and not callable(progress):
            raise InvalidInput(f"progress must be callable, got {type(progress).__name__}")
        result = reconcile(lane, progress)
        if fix and result.drift:
            result.queued = queue_corrections(lane, result.drift, self._ledger, source=source)
        return result

    def queue_corrections(self, drift: Iterable[Drift], *, source: str = "caller") -> int:
        """Queue pushes that correct ``drift`` (from ``reconcile``), journalled like
        ``reconcile(fix=True)``; returns rows queued."""
        check_text(source, "source")
        items = list(drift)
        for d in items:
            check_instance(d, Drift, "each drift")
        return sum(
            queue_corrections(
                self._lane(a), [d for d in items if d.account == a], self._ledger, source=source
            )
            for a in sorted({d.account for d in items})
        )

    def corrections(
        self, account: str | None = None, *, limit: int | None = 50
    ) -> list[JournalEntry]:
        """The listing corrections ``reconcile(fix=True)`` journalled, newest first: each
        row's ``source`` is who, ``at`` when, ``account`` and ``sku`` which listing, and
        ``note`` what the channel showed and what it is set to."""
        check_optional_text(account, "account")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput(f"limit must be a whole number >= 1 or None, got {limit!r:.80}")
        with self.store.read() as conn:
            return self._ledger.corrections(conn, account=account, limit=limit)

    def refresh(self) -> int:
        """Recompute what every listing should show (after rules changed between runs).

        ``run_once`` does this by itself on its first cycle. Returns outbox rows changed.
        """

        def work(conn: Any) -> int:
            skus = sorted(self._parts.listings.all_skus(conn))
            return sum(
                self._parts.planner.recompute(conn, skus[i : i + 1000])
                for i in range(0, len(skus), 1000)
            )

        return self.store.run(work)

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Close every channel's connections (channels that have a ``close`` method)."""
        for lane in self._lanes.values():
            close = getattr(lane.channel, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
