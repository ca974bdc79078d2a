"""One lane per channel account: pull its orders, push its stock, prices and shipments.

Lanes run on their own threads, so a slow or throttled account never holds up the others,
and every failure stays inside its lane: recorded, reported and retried later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import (
    Channel,
    OrderFailure,
    PriceUpdate,
    PushResult,
    StockUpdate,
    SupportsReadOrder,
)
from channelsync.core.errors import (
    ChannelError,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
)
from channelsync.core.ledger import ApplyResult, Ledger
from channelsync.core.models import Listing, Order, OrderStatus
from channelsync.core.outbox import Outbox
from channelsync.core.planner import Planner
from channelsync.core.results import AccountReport
from channelsync.core.retry import RetryPolicy
from channelsync.core.store import Store

__all__ = ["AccountLane", "ImportResult", "LaneSettings"]

log = logging.getLogger(__name__)
ORDERS = "orders"


@dataclass(frozen=True)
class LaneSettings:
    """Tunables shared by every lane of an engine."""

    order_lag: timedelta = timedelta(minutes=5)
    initial_lookback: timedelta = timedelta(days=7)
    apply_batch: int = 2000
    push_rounds: int = 50
    push_calls_per_claim: int = 10
    reread_after: timedelta | None = timedelta(hours=6)
    reread_batch: int = 25
    min_claim: int = 1000


@dataclass
class ImportResult:
    """What ``import_listings`` found on one account."""

    account: str
    listings: int = 0
    duplicates: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    channel_fulfilled: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class AccountLane:
    """Everything the engine does with one channel account."""

    def __init__(
        self,
        channel: Channel,
        store: Store,
        ledger: Ledger,
        planner: Planner,
        outbox: Outbox,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        settings: LaneSettings,
    ) -> None:
        self.channel = channel
        self.account = channel.account
        self.store = store
        self.ledger = ledger
        self.planner = planner
        self.outbox = outbox
        self.policy = policy
        self.clock = clock
        self.settings = settings

    # -- the cycle ------------------------------------------------------------------------

    def cycle(
        self, report: AccountReport, applied: ApplyResult, *, force_pull: bool = False
    ) -> None:
        """Import listings if never done, pull orders, push stock, prices and shipments."""
        started = time.monotonic()
        try:
            if self._needs_import():
                report.listings_imported = self.import_listings().listings
            if force_pull or self._pull_due():
                applied.merge(self.pull_orders(report))
                applied.merge(self.reread_open_orders(report))
            conflicts = self.push_stock(report)
            if conflicts:
                # The channel counted sales we have not seen: read them, then push again.
                applied.merge(self.pull_orders(report))
                self.push_stock(report)
            self.push_prices(report)
            self.push_shipments(report)
        except Exception as exc:
            level = logging.WARNING if isinstance(exc, ChannelError) else logging.ERROR
            log.log(
                level,
                "account %s: cycle stopped: %s",
                self.account,
                _describe(exc),
                exc_info=not isinstance(exc, ChannelError),
            )
            report.errors.append(_describe(exc))
        finally:
            report.seconds += time.monotonic() - started

    def _account_row(self, conn: Connection) -> Any:
        a = t.accounts.c
        return conn.execute(
            sa.select(a.listings_imported_at, a.last_pull_at, a.needs_repull).where(
                a.account == self.account
            )
        ).first()

    def _needs_import(self) -> bool:
        with self.store.read() as conn:
            row = self._account_row(conn)
        return row is None or row[0] is None

    def _pull_due(self) -> bool:
        interval = self.channel.limits.min_poll_interval
        if not interval:
            return True
        with self.store.read() as conn:
            row = self._account_row(conn)
        if row is None or row[1] is None or row[2]:
            return True
        return bool((self.clock() - row[1]).total_seconds() >= interval)

    def _touch_account(self, conn: Connection, **values: object) -> None:
        self.store.upsert(
            conn,
            t.accounts,
            [{"account": self.account, "kind": self.channel.kind}],
            keys=("account",),
            update=(),
        )
        conn.execute(
            t.accounts.update().where(t.accounts.c.account == self.account).values(**values)
        )

    # -- listings -------------------------------------------------------------------------

    def import_listings(self) -> ImportResult:
        """Fetch every listing of the account and bind its SKUs (diff-only from then on)."""
        listings: list[Listing] = self.policy.call(lambda: list(self.channel.fetch_listings()))
        result = ImportResult(self.account)
        by_sku: dict[str, Listing] = {}
        for listing in listings:
            if listing.sku in by_sku:
                result.duplicates.append(listing.sku)
                continue
            by_sku[listing.sku] = listing
            if not listing.manages_stock:
                result.unmanaged.append(listing.sku)
            if listing.fulfilled_by == "channel":
                result.channel_fulfilled.append(listing.sku)
        if result.duplicates:
            log.warning(
                "account %s: %d SKUs listed more than once; the first listing is synced",
                self.account,
                len(result.duplicates),
            )
        result.listings = len(by_sku)
        now = self.clock()

        def work(conn: Connection) -> None:
            known = {
                r.sku
                for r in conn.execute(
                    sa.select(t.listings.c.sku).where(t.listings.c.account == self.account)
                )
            }
            result.removed = sorted(known - set(by_sku))
            if result.removed:
                conn.execute(
                    t.listings.delete().where(
                        t.listings.c.account == self.account, t.listings.c.sku.in_(result.removed)
                    )
                )
                conn.execute(
                    t.outbox.delete().where(
                        t.outbox.c.account == self.account, t.outbox.c.sku.in_(result.removed)
                    )
                )
            rows = [
                {
                    "account": self.account,
                    "sku": lst.sku,
                    "kind": lst.kind,
                    "listing_id": lst.listing_id,
                    "quantity": lst.quantity,
                    "price_amount": str(lst.price.amount) if lst.price else None,
                    "price_currency": lst.price.currency if lst.price else None,
                    "title": lst.title,
                    "manages_stock": lst.manages_stock,
                    "fulfilled_by": lst.fulfilled_by,
                    "ids": dict(lst.ids),
                    "updated_at": now,
                }
                for lst in by_sku.values()
            ]
            for start in range(0, len(rows), 500):
                self.store.upsert(
                    conn, t.listings, rows[start : start + 500], keys=("account", "sku")
                )
            # What the channel shows now is what it has acknowledged.
            shown = [
                {"b_sku": lst.sku, "b_qty": lst.quantity}
                for lst in by_sku.values()
                if lst.quantity is not None
            ]
            if shown:
                conn.execute(
                    t.outbox.update()
                    .where(
                        t.outbox.c.account == self.account, t.outbox.c.sku == sa.bindparam("b_sku")
                    )
                    .values(acked=sa.bindparam("b_qty"), stale=False, acked_at=now),
                    shown,
                )
            self.planner.recompute(conn, by_sku)
            self._touch_account(conn, listings_imported_at=now)

        self.store.run(work)
        return result

    # -- orders ---------------------------------------------------------------------------

    def cursor(self) -> datetime | None:
        """Where the order stream of this account stands (the newest change applied)."""
        with self.store.read() as conn:
            return conn.execute(
                sa.select(t.cursors.c.position).where(
                    t.cursors.c.account == self.account, t.cursors.c.stream == ORDERS
                )
            ).scalar()

    def apply(
        self,
        orders: list[Order],
        *,
        advance_cursor: bool,
        failures: Sequence[OrderFailure] = (),
    ) -> ApplyResult:
        """Apply ``orders`` in one transaction, moving the cursor with them when polled.

        ``failures`` (orders the adapter could not map) are recorded in the same
        transaction; an order that maps again clears its failure.
        """
        for order in orders:
            if order.account != self.account:
                raise ValueError(
                    f"order {order.order_id!r} belongs to {order.account!r}, not {self.account!r}"
                )
        times = [o.updated_at for o in orders] + [f.updated_at for f in failures if f.updated_at]
        newest = max(times) if times else None
        now = self.clock()

        def work(conn: Connection) -> ApplyResult:
            result = self.ledger.apply_orders(conn, orders) if orders else ApplyResult()
            self._record_failures(conn, orders, failures, now)
            if advance_cursor and newest is not None:
                c = t.cursors.c
                current = conn.execute(
                    sa.select(c.position).where(c.account == self.account, c.stream == ORDERS)
                ).scalar()
                if current is None or newest > current:
                    self.store.upsert(
                        conn,
                        t.cursors,
                        [
                            {
                                "account": self.account,
                                "stream": ORDERS,
                                "position": newest,
                                "updated_at": now,
                            }
                        ],
                        keys=("account", "stream"),
                    )
            return result

        return self.store.run(work)

    def _record_failures(
        self, conn: Connection, orders: list[Order], failures: Sequence[OrderFailure], now: datetime
    ) -> None:
        f = t.order_failures.c
        if orders:
            conn.execute(
                t.order_failures.delete().where(
                    f.account == self.account,
                    self.store.among(f.order_id, [o.order_id for o in orders]),
                )
            )
        for failure in failures:
            order_id = (
                failure.order_id
                or "unidentified:"
                + hashlib.sha256(repr(sorted(failure.raw.items())).encode()).hexdigest()[:16]
            )
            times = conn.execute(
                sa.select(f.times).where(f.account == self.account, f.order_id == order_id)
            ).scalar()
            row = {
                "account": self.account,
                "order_id": order_id,
                "error": failure.error[:4000],
                "raw": failure.raw,
                "first_seen_at": now,
                "last_seen_at": now,
                "times": (times or 0) + 1,
            }
            self.store.upsert(
                conn,
                t.order_failures,
                [row],
                keys=("account", "order_id"),
                update=("error", "raw", "last_seen_at", "times"),
            )

    def pull_orders(self, report: AccountReport) -> ApplyResult:
        """Read every order changed since the cursor (minus the lag window) and apply it."""
        total = ApplyResult()
        attempt = 0
        waited = 0.0
        while True:
            position = self.cursor()
            since = (
                (position - self.settings.order_lag)
                if position
                else self.clock() - self.settings.initial_lookback
            )
            batch: list[Order] = []
            failed: list[OrderFailure] = []
            try:
                for item in self.channel.fetch_orders(since):
                    report.orders_seen += 1
                    if isinstance(item, OrderFailure):
                        log.warning(
                            "account %s: order %s could not be read: %s",
                            self.account,
                            item.order_id,
                            item.error,
                        )
                        failed.append(item)
                        report.orders_failed += 1
                    else:
                        batch.append(item)
                    if len(batch) + len(failed) >= self.settings.apply_batch:
                        total.merge(self.apply(batch, advance_cursor=True, failures=failed))
                        batch, failed = [], []
                if batch or failed:
                    total.merge(self.apply(batch, advance_cursor=True, failures=failed))
                break
            except TransientError as exc:
                if batch or failed:  # keep what was read before the failure
                    total.merge(self.apply(batch, advance_cursor=True, failures=failed))
                attempt += 1
                wait = self.policy.wait_for(attempt, exc)
                if attempt >= self.policy.attempts or waited + wait > self.policy.max_total:
                    # Out of attempts, or the channel asks for a longer pause than the
                    # policy allows (eBay's daily quota): the next cycle tries again.
                    raise
                waited += wait
                log.info(
                    "account %s: order read failed (%s); again in %.1fs", self.account, exc, wait
                )
                self.policy.sleep(wait)
        report.orders_new += len(total.new)
        report.orders_changed += len(total.changed)
        report.pulled = True
        self.store.run(
            lambda conn: self._touch_account(conn, last_pull_at=self.clock(), needs_repull=False)
        )
        return total

    def reread_open_orders(self, report: AccountReport) -> ApplyResult:
        """Re-read a few orders still open and unseen for ``reread_after`` (channels that can).

        The oldest-checked first, ``reread_batch`` per cycle; a changed order is applied
        like a polled one (the cursor does not move), an unchanged one only marked checked.
        """
        after, batch = self.settings.reread_after, self.settings.reread_batch
        if after is None or batch <= 0 or not isinstance(self.channel, SupportsReadOrder):
            return ApplyResult()
        reader: SupportsReadOrder = self.channel
        now = self.clock()
        o = t.orders.c
        with self.store.read() as conn:
            ids = list(
                conn.execute(
                    sa.select(o.order_id)
                    .where(
                        o.account == self.account,
                        o.status.in_([s.value for s in OrderStatus if s.commits_stock]),
                        o.last_seen_at < now - after,
                    )
                    .order_by(o.last_seen_at, o.order_id)
                    .limit(batch)
                ).scalars()
            )
        orders: list[Order] = []
        failed: list[OrderFailure] = []
        for order_id in ids:
            try:
                item = self.policy.call(partial(reader.read_order, order_id))
            except NotFound:
                item = None
            if isinstance(item, Order):
                orders.append(item)
            elif isinstance(item, OrderFailure):
                failed.append(item)
        result = self.apply(orders, advance_cursor=False, failures=failed) if ids else ApplyResult()
        if ids:
            self.store.run(
                lambda conn: conn.execute(
                    t.orders.update()
                    .where(o.account == self.account, self.store.among(o.order_id, ids))
                    .values(last_seen_at=now)
                )
            )
        report.orders_reread += len(ids)
        report.orders_changed += len(result.changed)
        return result

    # -- stock ----------------------------------------------------------------------------

    def _claim_size(self, batch: int) -> int:
        """Rows claimed per round: several full calls, and at least ~1,000 rows.

        A multiple of the channel's batch, so every call but the last is full; large enough
        that a channel with small Trading-style batches (eBay: 4) but large bulk routes
        (eBay Inventory API: 25, Amazon feeds) sees enough items to fill those too.
        """
        calls = max(self.settings.push_calls_per_claim, -(-self.settings.min_claim // batch))
        return batch * calls

    def push_stock(self, report: AccountReport) -> int:
        """Push every pending stock row of the account; returns the number of conflicts."""
        limits = self.channel.limits
        claim = self._claim_size(limits.stock_batch)
        conflicts = 0
        for _ in range(self.settings.push_rounds):
            claimed = self.outbox.claim_stock(self.account, claim)
            if not claimed:
                break
            unbound = [c.sku for c in claimed if c.listing is None]
            self.outbox.fail_stock(
                self.account, [(s, "no listing bound on this account", None, None) for s in unbound]
            )
            report.pushes_failed += len(unbound)
            todo = [c for c in claimed if c.listing is not None]
            updates = [
                StockUpdate(
                    sku=c.sku,
                    quantity=c.desired,
                    listing=c.listing,
                    expected=c.acked if limits.supports_compare_and_set else None,
                    idempotency_key=f"{self.account}:{c.sku}:v{c.version}",
                )
                for c in todo
            ]
            try:
                results = (
                    self.policy.call(partial(self.channel.push_stock, updates)) if updates else []
                )
            except ChannelError as exc:
                delay = (
                    timedelta(seconds=exc.retry_after)
                    if isinstance(exc, RateLimited) and exc.retry_after
                    else None
                )
                self.outbox.fail_stock(
                    self.account, [(u.sku, str(exc), delay, None) for u in updates]
                )
                report.pushes_failed += len(updates)
                raise
            conflicts += self._settle_stock(updates, results, report)
            if conflicts:
                # Stop here: pushing the conflicted rows again before re-reading the orders
                # would overwrite the sale the channel counted.
                break
        return conflicts

    def _settle_stock(
        self, updates: list[StockUpdate], results: list[PushResult], report: AccountReport
    ) -> int:
        sent = {u.sku: u.quantity for u in updates}
        by_sku = {r.sku: r for r in results}
        acks: list[tuple[str, int]] = []
        failures: list[tuple[str, str, timedelta | None, int | None]] = []
        conflicts = 0
        for sku, qty in sent.items():
            res = by_sku.get(sku)
            if res is None:
                failures.append((sku, "the channel returned no result for this item", None, None))
            elif res.ok:
                acks.append((sku, res.quantity if res.quantity is not None else qty))
            elif res.error is not None and res.error.conflict:
                conflicts += 1
                failures.append(
                    (sku, f"conflict: {res.error.message}", timedelta(0), res.error.current)
                )
            else:
                failures.append((sku, str(res.error) if res.error else "failed", None, None))
        self.outbox.ack_stock(self.account, acks)
        self.outbox.fail_stock(self.account, failures)
        report.pushes_ok += len(acks)
        report.pushes_failed += len(failures) - conflicts
        report.conflicts += conflicts
        if conflicts:
            self.store.run(lambda conn: self._touch_account(conn, needs_repull=True))
        return conflicts

    # -- prices ---------------------------------------------------------------------------

    def push_prices(self, report: AccountReport) -> None:
        """Push every pending price of the account."""
        for _ in range(self.settings.push_rounds):
            claimed = self.outbox.claim_prices(
                self.account, self._claim_size(self.channel.limits.price_batch)
            )
            if not claimed:
                return
            updates = [
                PriceUpdate(
                    sku=c.sku,
                    price=c.price,
                    listing=c.listing,
                    idempotency_key=f"{self.account}:{c.sku}:p{c.version}",
                )
                for c in claimed
                if c.listing is not None
            ]
            failures = [
                (c.sku, "no listing bound on this account") for c in claimed if c.listing is None
            ]
            try:
                results = (
                    self.policy.call(partial(self.channel.push_prices, updates)) if updates else []
                )
            except ChannelError as exc:
                self.outbox.finish_prices(
                    self.account, [], failures + [(u.sku, str(exc)) for u in updates]
                )
                report.prices_failed += len(updates) + len(failures)
                raise
            by_sku = {r.sku: r for r in results}
            acks = [
                (u.sku, str(u.price.amount))
                for u in updates
                if u.sku in by_sku and by_sku[u.sku].ok
            ]
            failures += [
                (u.sku, str(by_sku[u.sku].error) if u.sku in by_sku else "no result for this item")
                for u in updates
                if u.sku not in by_sku or not by_sku[u.sku].ok
            ]
            self.outbox.finish_prices(self.account, acks, failures)
            report.prices_ok += len(acks)
            report.prices_failed += len(failures)

    # -- shipments ------------------------------------------------------------------------

    def push_shipments(self, report: AccountReport) -> None:
        """Send every pending shipment of the account to the channel."""
        for pending in self.outbox.claim_shipments(self.account):
            try:
                self.policy.call(
                    partial(self.channel.push_fulfillment, pending.order_id, pending.shipment)
                )
            except ChannelError as exc:
                self.outbox.finish_shipment(
                    pending.id, str(exc), permanent=isinstance(exc, PermanentError)
                )
                report.shipments_failed += 1
                if isinstance(exc, TransientError):
                    raise
                continue
            self.outbox.finish_shipment(pending.id, None)
            report.shipments_ok += 1
