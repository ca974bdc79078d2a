"""``SyncEngine``: the one object merchant code talks to.

It owns the store, one lane per channel account (see ``lanes.py``), the ledger and the
planner, and exposes the synchronous API of DESIGN.md: ``run_once``, ``run_forever``,
``set_on_hand``, ``adjust``, ``ship``, ``stock``, ``explain``, ``plan``,
``ingest_webhook``, ``record_order`` and ``import_listings``.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from types import FrameType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.allocation import Rule
from channelsync.core.catalog import Catalog, check_sku
from channelsync.core.channel import Channel, WebhookEvent
from channelsync.core.errors import ChannelError, ConfigError, UnknownAccount, UnknownOrder
from channelsync.core.gdpr import Privacy
from channelsync.core.lanes import AccountLane, ImportResult, LaneSettings
from channelsync.core.ledger import ApplyResult, Ledger
from channelsync.core.models import Money, Order, OrderStatus, Shipment, utcnow
from channelsync.core.outbox import Outbox
from channelsync.core.planner import Planner, RuleBook, RuleKey
from channelsync.core.reconcile import queue_corrections, reconcile
from channelsync.core.results import (
    AccountReport,
    Coverage,
    CustomerSummary,
    CycleReport,
    Drift,
    Explanation,
    FailedOrder,
    OrderSummary,
    PlannedPush,
    ReconcileResult,
    ShipmentRecord,
    StockView,
)
from channelsync.core.retry import RetryPolicy
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
    """

    def __init__(
        self,
        store: Store,
        channels: Sequence[Channel] = (),
        rules: Mapping[RuleKey, Rule] | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        order_lag: timedelta = timedelta(minutes=5),
        initial_lookback: timedelta = timedelta(days=7),
        apply_batch: int = 2000,
        reread_open_after: timedelta | None = timedelta(hours=6),
    ) -> None:
        self.store = store
        self.clock = clock
        self.rules = RuleBook(rules)
        self.policy = retry or RetryPolicy()
        self.planner = Planner(store, self.rules, clock)
        self.ledger = Ledger(store, self.planner, clock)
        self.outbox = Outbox(store, clock)
        self.privacy = Privacy(store, clock)
        self.catalog = Catalog(store, self.planner, clock)
        self.views = Views(store, self.planner)
        settings = LaneSettings(
            order_lag=order_lag,
            initial_lookback=initial_lookback,
            apply_batch=apply_batch,
            reread_after=reread_open_after,
        )
        self._lanes: dict[str, AccountLane] = {}
        for channel in channels:
            if not isinstance(channel, Channel):
                raise ConfigError(f"{channel!r} does not implement channelsync.Channel")
            if channel.account in self._lanes:
                raise ConfigError(f"two channels share the account name {channel.account!r}")
            self._lanes[channel.account] = AccountLane(
                channel, store, self.ledger, self.planner, self.outbox, self.policy, clock, settings
            )
        self._stop = threading.Event()
        self._refreshed = False

    def __repr__(self) -> str:
        return f"SyncEngine(store={self.store.url!r}, accounts={sorted(self._lanes)})"

    @property
    def accounts(self) -> list[str]:
        """The account names of the engine's channels."""
        return list(self._lanes)

    def channel(self, account: str) -> Channel:
        """The channel of ``account``."""
        return self._lane(account).channel

    def _lane(self, account: str) -> AccountLane:
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
        self, poll_interval: float = 60.0, *, install_signal_handlers: bool = True
    ) -> None:
        """Run cycles until SIGTERM/SIGINT or ``stop()``; the cycle under way finishes first.

        A ``stop()`` that came before (a signal during the caller's start-up) makes it return
        at once; it can be run again afterwards.
        """
        if poll_interval < 0:
            raise ValueError("poll_interval must be >= 0 seconds")
        previous: dict[signal.Signals, Any] = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            while not self._stop.is_set():
                report = self.run_once()
                log.info(
                    "cycle: %d orders seen (%d new, %d changed), %d pushed, %d failed%s",
                    report.orders_seen,
                    report.orders_new,
                    report.orders_changed,
                    report.pushes_ok,
                    report.pushes_failed,
                    ""
                    if report.ok
                    else f", errors on {[a for a, r in report.accounts.items() if not r.ok]}",
                )
                self._stop.wait(poll_interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after this cycle", signum)
        self._stop.set()

    def stop(self) -> None:
        """Ask ``run_forever`` to return after the cycle under way."""
        self._stop.set()

    def import_listings(
        self, accounts: Iterable[str] | None = None
    ) -> dict[str, ImportResult | ChannelError]:
        """Fetch listings of ``accounts`` (default all) and bind their SKUs; per-account results."""
        names = list(accounts) if accounts is not None else list(self._lanes)
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
    ) -> StockView:
        """Record a physical count of ``sku``: on_hand becomes ``quantity``.

        Pass ``idempotency_key`` (e.g. the ERP export id) to make repeats harmless.
        """
        check_sku(sku)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"on_hand for {sku!r} must be a whole number >= 0, got {quantity!r}")
        self.store.run(
            lambda conn: (
                None
                if self._seen(conn, idempotency_key)
                else self.ledger.set_on_hand(
                    conn, sku, quantity, source=source, key=idempotency_key, note=note
                )
            )
        )
        return self.stock(sku)

    def set_on_hand_many(
        self,
        counts: Mapping[str, int],
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
    ) -> int:
        """Record many physical counts in one transaction (an ERP stock export); rows changed."""
        for sku, qty in counts.items():
            check_sku(sku)
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
                raise ValueError(f"on_hand for {sku!r} must be a whole number >= 0, got {qty!r}")

        def work(conn: Connection) -> int:
            changed = 0
            for sku, qty in sorted(counts.items()):
                key = f"{idempotency_key}:{sku}" if idempotency_key else None
                if not self._seen(conn, key):
                    changed += self.ledger.set_on_hand(
                        conn, sku, qty, source=source, key=key, note=None
                    ).journal_rows
            return changed

        return self.store.run(work)

    def adjust(
        self,
        sku: str,
        delta: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
    ) -> StockView:
        """Change on_hand by ``delta`` (a receipt, a restocked return, damage) with a reason."""
        check_sku(sku)
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise ValueError(f"delta for {sku!r} must be a whole number, got {delta!r}")
        if not reason or not reason.strip():
            raise ValueError("adjust needs a reason (receipt, return, damage, ...)")
        self.store.run(
            lambda conn: (
                None
                if self._seen(conn, idempotency_key)
                else self.ledger.adjust(
                    conn, sku, delta, reason, source=source, key=idempotency_key
                )
            )
        )
        return self.stock(sku)

    @staticmethod
    def _seen(conn: Connection, key: str | None) -> bool:
        if key is None:
            return False
        return (
            conn.execute(
                sa.select(t.journal.c.id).where(t.journal.c.idempotency_key == key)
            ).first()
            is not None
        )

    def define_bundle(self, sku: str, components: Mapping[str, int]) -> None:
        """Declare ``sku`` a bundle of ``components`` (SKU -> units per bundle).

        A bundle listing shows ``min(floor(available(c) / qty(c)))`` over its components, and
        selling a bundle commits its components.
        """
        self.catalog.define_bundle(sku, components)

    def set_rule(self, key: RuleKey, rule: Rule) -> None:
        """Set or replace a rule (account or (account, SKU)) and recompute what it affects."""
        self.rules.put(key, rule)

        def work(conn: Connection) -> None:
            q = sa.select(t.listings.c.sku)
            q = q.where(t.listings.c.account == (key[0] if isinstance(key, tuple) else key))
            if isinstance(key, tuple):
                q = q.where(t.listings.c.sku == key[1])
            self.planner.recompute(conn, [r.sku for r in conn.execute(q)])

        self.store.run(work)

    def set_price(self, sku: str, price: Money, accounts: Iterable[str] | None = None) -> int:
        """Queue ``price`` for every listing of ``sku`` (or only on ``accounts``); rows queued."""
        return self.catalog.set_price(sku, price, accounts)

    def set_cost(self, sku: str, cost: Money, *, title: str | None = None) -> None:
        """Record the cost price of ``sku`` (for gross-margin reports)."""
        self.catalog.set_cost(sku, cost, title=title)

    # -- orders ---------------------------------------------------------------------------

    def record_order(self, order: Order) -> ApplyResult:
        """Apply an order that did not come through a channel (your own shop, a POS)."""
        return self.store.run(lambda conn: self.ledger.apply_orders(conn, [order]))

    def order(self, account: str, order_id: str) -> Order:
        """The stored order; ``UnknownOrder`` if it was never seen."""
        return self.views.order(account, order_id)

    def ship(self, account: str, order_id: str, shipment: Shipment, *, push: bool = True) -> str:
        """Record that ``shipment`` left the warehouse, and tell the channel.

        The ledger changes at once (committed and on_hand drop by the shipped units); the
        channel is told now when ``push`` is true and the channel answers, else by the next
        cycle. Recording the same shipment twice changes nothing. Returns ``"pushed"``,
        ``"pending"`` or ``"failed"``.
        """
        lane = self._lane(account)
        if shipment.shipped_at is None:
            shipment = shipment.model_copy(update={"shipped_at": self.clock()})
        body = shipment.model_dump(mode="json", exclude={"shipped_at"})
        digest = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:24]
        key = f"ship:{account}:{order_id}:{digest}"
        now = self.clock()

        def work(conn: Connection) -> None:
            if conn.execute(
                sa.select(t.shipments.c.id).where(t.shipments.c.idempotency_key == key)
            ).first():
                return
            doc = conn.execute(
                self.store.for_update(
                    sa.select(t.orders.c.doc).where(
                        t.orders.c.account == account, t.orders.c.order_id == order_id
                    )
                )
            ).scalar()
            if doc is None:
                raise UnknownOrder(
                    f"no order {order_id!r} on account {account!r}: pull or record it first"
                )
            self.ledger.ship(conn, account, Order.model_validate_json(doc), shipment)
            conn.execute(
                t.shipments.insert().values(
                    account=account,
                    order_id=order_id,
                    idempotency_key=key,
                    shipment=shipment.model_dump(mode="json"),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )

        self.store.run(work)
        if push:
            try:
                lane.push_shipments(AccountReport(account=account, kind=lane.channel.kind))
            except ChannelError as exc:  # recorded on the shipment; the next cycle retries
                log.warning("account %s: shipment of %s not pushed yet: %s", account, order_id, exc)
        with self.store.read() as conn:
            return str(
                conn.execute(
                    sa.select(t.shipments.c.status).where(t.shipments.c.idempotency_key == key)
                ).scalar_one()
            )

    def ingest_webhook(
        self, account: str, headers: Mapping[str, str], body: bytes
    ) -> list[WebhookEvent]:
        """Verify a webhook delivery for ``account`` and apply its events.

        Raises ``WebhookVerificationError`` (nothing changes) for a bad signature or body.
        Order events are applied like polled orders (the cursor does not move); a delivery
        seen before (same event id) is returned but not applied again; privacy events
        redact the customer's data in the store.
        """
        lane = self._lane(account)
        events = lane.channel.parse_webhook(headers, body)
        for event in events:
            if event.order is not None and event.order.account != account:
                raise ValueError(
                    f"webhook for {account!r} carried order {event.order.order_id!r}"
                    f" of account {event.order.account!r}"
                )
        now = self.clock()
        for event in events:
            # The delivery id is recorded in the transaction that applies the event: if
            # applying fails, the channel's redelivery is applied, not skipped.
            self.store.run(partial(self._apply_event, account=account, event=event, now=now))
        return events

    def _apply_event(
        self, conn: Connection, account: str, event: WebhookEvent, now: datetime
    ) -> None:
        if event.event_id is not None and not self._first_delivery(
            conn, account, event.event_id, now
        ):
            return
        if event.kind == "order" and event.order is not None:
            self.ledger.apply_orders(conn, [event.order])
        elif event.kind == "order_deleted" and event.order_id is not None:
            self._withdraw(conn, account, event.order_id, now)
        elif event.kind == "stock" and event.sku is not None and event.quantity is not None:
            conn.execute(
                t.listings.update()
                .where(t.listings.c.account == account, t.listings.c.sku == event.sku)
                .values(quantity=event.quantity)
            )
        elif event.kind == "customer_redact":
            self.privacy.redact_in(
                conn,
                account=account,
                customer_ids=event.customer_ids,
                emails=event.customer_emails,
                order_ids=event.order_ids,
            )
        elif event.kind == "shop_redact":
            self.privacy.redact_in(conn, account=account, everything=True)

    def _withdraw(self, conn: Connection, account: str, order_id: str, now: datetime) -> None:
        """A deleted order holds nothing any more: apply it as cancelled (shipped units stay)."""
        doc = conn.execute(
            sa.select(t.orders.c.doc).where(
                t.orders.c.account == account, t.orders.c.order_id == order_id
            )
        ).scalar()
        if doc is None:
            return  # never seen: nothing to release
        order = Order.model_validate_json(doc)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return
        gone = order.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "raw_status": "deleted",
                "updated_at": max(now, order.updated_at + timedelta(microseconds=1)),
            }
        )
        self.ledger.apply_orders(conn, [gone])

    def _first_delivery(self, conn: Connection, account: str, event_id: str, now: datetime) -> bool:
        w = t.webhook_events.c
        if conn.execute(
            sa.select(w.event_id).where(w.account == account, w.event_id == event_id)
        ).first():
            return False
        conn.execute(
            t.webhook_events.insert().values(account=account, event_id=event_id, received_at=now)
        )
        return True

    # -- reading --------------------------------------------------------------------------

    def stock(self, sku: str) -> StockView:
        """The ledger figures of ``sku`` and what every channel listing should and does show."""
        return self.views.stock(sku)

    def explain(self, sku: str, account: str | None = None) -> Explanation:
        """The journal rows behind ``sku``'s figures, and how each listing's quantity arose."""
        return self.views.explain(sku, account)

    def plan(self) -> list[PlannedPush]:
        """What the next cycle would push (a dry run: nothing is sent or claimed)."""
        return self.views.plan()

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
        return self.views.orders(
            account=account,
            status=[OrderStatus(s) for s in status],
            since=since,
            until=until,
            limit=limit,
        )

    def shipments(
        self, *, account: str | None = None, order_id: str | None = None, status: Iterable[str] = ()
    ) -> list[ShipmentRecord]:
        """Shipments recorded with ``ship`` and where each stands (pending, pushed, failed)."""
        return self.views.shipments(account=account, order_id=order_id, status=status)

    def order_failures(self, account: str | None = None) -> list[FailedOrder]:
        """Orders a channel returned that its adapter could not read (malformed payloads).

        They never block the order stream; each stays here, with the adapter's error, until
        the order changes on the channel and reads cleanly.
        """
        return self.views.order_failures(account)

    def customers(self, account: str | None = None) -> list[CustomerSummary]:
        """The customer file: each customer's orders, first and last order, revenue.

        Personal data: export and erase it per customer through ``engine.privacy``.
        """
        return self.views.customers(account)

    def coverage(self, accounts: Iterable[str] | None = None) -> Coverage:
        """Which account lists which SKU, and listed SKUs the ledger has not counted."""
        return self.views.coverage(self.accounts if accounts is None else accounts)

    # -- reconciling ----------------------------------------------------------------------

    def reconcile(
        self, account: str, *, fix: bool = False, progress: Callable[[int], None] | None = None
    ) -> ReconcileResult:
        """Read what ``account``'s listings show and compare with what the ledger says.

        With ``fix`` the drifted listings are queued for correction (the next cycle pushes
        them, compare-and-set against what the channel really shows).
        """
        lane = self._lane(account)
        result = reconcile(lane, progress)
        if fix and result.drift:
            result.queued = queue_corrections(lane, result.drift)
        return result

    def queue_corrections(self, drift: Iterable[Drift]) -> int:
        """Queue pushes that correct ``drift`` (from ``reconcile``); returns rows queued."""
        items = list(drift)
        return sum(
            queue_corrections(self._lane(a), [d for d in items if d.account == a])
            for a in sorted({d.account for d in items})
        )

    def refresh(self) -> int:
        """Recompute what every listing should show (after rules changed between runs).

        ``run_once`` does this by itself on its first cycle. Returns outbox rows changed.
        """

        def work(conn: Connection) -> int:
            skus = sorted({r.sku for r in conn.execute(sa.select(t.listings.c.sku))})
            return sum(
                self.planner.recompute(conn, skus[i : i + 1000]) for i in range(0, len(skus), 1000)
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
