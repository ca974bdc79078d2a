"""One lane per channel account: pull its orders, push its stock, prices and shipments.

Lanes run on their own threads, so a slow or throttled account never holds up the others,
and every failure stays inside its lane: recorded, reported and retried later.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.engine import Connection

from channelsync.core.accounts import Accounts
from channelsync.core.channel import (
    Channel,
    OrderFailure,
    PriceUpdate,
    PushResult,
    StockUpdate,
    SupportsReadOrder,
    WebhookEvent,
)
from channelsync.core.errors import (
    ChannelError,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
)
from channelsync.core.inbox import Inbox, InboxItem, LeaseLost
from channelsync.core.ledger import ApplyResult
from channelsync.core.listings import Listings
from channelsync.core.models import Listing, Order
from channelsync.core.orderbook import OrderBook
from channelsync.core.outbox import Claim, Outbox, PendingStock, lease_for
from channelsync.core.planner import Planner
from channelsync.core.pricing import PriceBook
from channelsync.core.quotas import QuotaBook
from channelsync.core.results import AccountReport
from channelsync.core.retry import RetryPolicy
from channelsync.core.stockcheck import StockCheck
from channelsync.core.store import Store

__all__ = ["AccountLane", "ImportResult", "LaneSettings", "Parts"]

log = logging.getLogger(__name__)


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
    import_page: int = 1000
    min_lease: timedelta = timedelta(seconds=30)


@dataclass
class ImportResult:
    """What ``import_listings`` found on one account."""

    account: str
    listings: int = 0
    duplicates: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    channel_fulfilled: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unmapped_locations: dict[str, int] = field(default_factory=dict)
    """Channel location ids listings are stocked at that no location of ours is mapped to
    (id -> SKUs stocked there): nothing is pushed to them."""


@dataclass(frozen=True)
class Parts:
    """The engine's parts a lane works with (each owns its tables)."""

    store: Store
    accounts: Accounts
    listings: Listings
    outbox: Outbox
    planner: Planner
    orderbook: OrderBook
    inbox: Inbox
    policy: RetryPolicy
    clock: Callable[[], datetime]
    prices: PriceBook = field(default_factory=PriceBook)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class AccountLane:
    """Everything the engine does with one channel account."""

    def __init__(self, channel: Channel, parts: Parts, settings: LaneSettings) -> None:
        self.channel = channel
        self.account = channel.account
        self.parts = parts
        self.store = parts.store
        self.outbox = parts.outbox
        self.policy = parts.policy
        self.clock = parts.clock
        self.settings = settings
        # Issue 12 hooks: the read-before-write guard (and revision budget), spent quotas.
        self.stock_check = StockCheck(self.store, self.outbox, self.clock)
        self.quota_book = QuotaBook(self.store, self.clock)
        self._quotas_restored = False

    # -- the cycle ------------------------------------------------------------------------

    def cycle(
        self,
        report: AccountReport,
        applied: ApplyResult,
        *,
        force_pull: bool = False,
        pull: bool | None = None,
    ) -> None:
        """Import listings if never done, apply webhook events, pull orders (when ``pull``,
        or when due if None), push stock, prices and shipments. Errors end up in ``report``.
        """
        started = time.monotonic()
        if not self._quotas_restored:  # issue 12 hook: quotas spent before a restart
            self.quota_book.restore(self.channel)
            self._quotas_restored = True
        try:
            if self.needs_import():
                report.listings_imported = self.import_listings().listings
            applied.merge(self.apply_inbox(report))
            if force_pull or (self.pull_due() if pull is None else pull):
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
            report.error_kinds.append(type(exc).__name__)
        finally:
            # Issue 12 hook: store the quotas the channel says are spent, and report them.
            report.quotas = {
                q.resource: q.blocked_until.isoformat()
                for q in self.quota_book.record(self.channel)
            }
            report.seconds += time.monotonic() - started

    def _state(self) -> tuple[datetime | None, datetime | None, bool]:
        with self.store.read() as conn:
            state = self.parts.accounts.state(conn, self.account)
        if state is None:
            return None, None, False
        return state.listings_imported_at, state.last_pull_at, state.needs_repull

    def needs_import(self) -> bool:
        """The account's listings were never imported."""
        return self._state()[0] is None

    def next_pull_at(self, interval: float = 0.0) -> datetime | None:
        """When the next order poll is due (None: now), polling every ``interval`` seconds
        but never more often than the channel's ``min_poll_interval``."""
        interval = max(interval, self.channel.limits.min_poll_interval)
        _, last, repull = self._state()
        if not interval or last is None or repull:
            return None
        return last + timedelta(seconds=interval)

    def pull_due(self) -> bool:
        """Whether the order poll is due (the channel's minimum interval passed)."""
        due = self.next_pull_at()
        return due is None or self.clock() >= due

    def _touch(self, conn: Connection, **values: object) -> None:
        self.parts.accounts.touch(conn, self.account, self.channel.kind, **values)

    # -- listings -------------------------------------------------------------------------

    def import_listings(self) -> ImportResult:
        """Fetch every listing of the account and bind its SKUs (diff-only from then on).

        Streamed: each page is bound in its own transaction, so memory does not grow with
        the catalogue; a transient failure restarts the scan (binding again is harmless).
        Listings the scan did not see are unbound once it completed.
        """
        return self.policy.call(self._import_once)

    def _import_once(self) -> ImportResult:
        run = str(uuid.uuid4())
        result = ImportResult(self.account)
        where = self.parts.planner.locations.of(self.account)
        mapped = set(where.channel_ids.values())
        for page in _pages(self.channel.fetch_listings(), self.settings.import_page):
            fresh, twice = self.store.run(partial(self._bind_page, page, run))
            _count_page(result, fresh)
            result.duplicates += twice
            for listing in fresh:
                if not where.per_location and len(listing.levels) < 2:
                    continue  # a pooled account of an item stocked at one location: as meant
                for cid in listing.levels:
                    if cid not in mapped:
                        result.unmapped_locations[cid] = result.unmapped_locations.get(cid, 0) + 1
        if result.unmapped_locations:
            log.warning(
                "account %s: stocked at channel locations no location of ours is mapped to"
                " (locations of the account): %s",
                self.account,
                ", ".join(f"{c} ({n} SKUs)" for c, n in sorted(result.unmapped_locations.items())),
            )
        if result.duplicates:
            log.warning(
                "account %s: %d SKUs listed more than once; the first listing is synced",
                self.account,
                len(result.duplicates),
            )

        def finish(conn: Connection) -> None:
            result.removed = self.parts.listings.unseen_in_run(conn, self.account, run)
            self.parts.listings.unbind(conn, self.account, result.removed)
            self.outbox.forget(conn, self.account, result.removed)
            self._touch(conn, listings_imported_at=self.clock())

        self.store.run(finish)
        return result

    def _bind_page(
        self, page: list[Listing], run: str, conn: Connection
    ) -> tuple[list[Listing], list[str]]:
        by_sku: dict[str, Listing] = {}
        twice: list[str] = []
        earlier = self.parts.listings.seen_in_run(conn, self.account, [x.sku for x in page], run)
        for listing in page:
            if listing.sku in by_sku or listing.sku in earlier:
                twice.append(listing.sku)
                continue
            by_sku[listing.sku] = listing
        fresh = list(by_sku.values())
        self.parts.listings.bind(conn, fresh, run)
        # What the channel shows now is what it has acknowledged (at each location, where
        # it keeps one quantity per location).
        ids = self.parts.planner.locations.of(self.account).channel_ids
        shown: list[tuple[tuple[str, str], int]] = [
            ((x.sku, ""), x.quantity) for x in fresh if x.quantity is not None
        ]
        for x in fresh:
            for name, cid in ids.items():
                level = x.levels.get(cid)
                if level is not None:
                    shown.append(((x.sku, name), level))
        self.outbox.imported(conn, self.account, shown)
        self.parts.planner.recompute(conn, by_sku)
        return fresh, twice

    # -- orders ---------------------------------------------------------------------------

    def cursor(self) -> datetime | None:
        """Where the order stream of this account stands (the newest change applied)."""
        with self.store.read() as conn:
            return self.parts.accounts.cursor(conn, self.account)

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

        def work(conn: Connection) -> ApplyResult:
            result = self.parts.orderbook.apply(conn, orders)
            self.parts.orderbook.record_failures(conn, self.account, orders, failures)
            if advance_cursor and newest is not None:
                self.parts.accounts.advance(conn, self.account, newest)
            return result

        return self.store.run(work)

    def pull_orders(self, report: AccountReport) -> ApplyResult:
        """Read every order changed since the cursor (minus the lag window) and apply it.

        Batches are applied as they are read, each moving the cursor; a transient failure
        keeps what was applied and the retry policy repeats the read from the cursor.
        """
        total = ApplyResult()

        def read_and_apply() -> None:
            position = self.cursor()
            # Re-read at least as far back as the channel's order search lags (issue 12).
            lag = max(
                self.settings.order_lag, timedelta(seconds=self.channel.limits.search_lag * 1.5)
            )
            since = (position - lag) if position else self.clock() - self.settings.initial_lookback
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
            finally:  # keep what was read, whatever stopped the read
                if batch or failed:
                    total.merge(self.apply(batch, advance_cursor=True, failures=failed))

        self.policy.call(read_and_apply)
        report.orders_new += len(total.new)
        report.orders_changed += len(total.changed)
        report.pulled = True
        self.store.run(
            lambda conn: self._touch(conn, last_pull_at=self.clock(), needs_repull=False)
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
        with self.store.read() as conn:
            ids = self.parts.orderbook.due_for_reread(
                conn, self.account, self.clock() - after, batch
            )
        if not ids:
            return ApplyResult()
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
        result = self.apply(orders, advance_cursor=False, failures=failed)
        self.store.run(lambda conn: self.parts.orderbook.mark_seen(conn, self.account, ids))
        report.orders_reread += len(ids)
        report.orders_changed += len(result.changed)
        return result

    # -- webhook events -------------------------------------------------------------------

    def apply_inbox(self, report: AccountReport, ids: Sequence[int] | None = None) -> ApplyResult:
        """Apply the account's due webhook events from the inbox (or just ``ids``).

        An order event without the order (the channel's body named only its id) is
        completed with ``read_order`` where the channel can; an event that cannot be applied
        now stays in the inbox with its error and is retried with backoff.
        """
        total = ApplyResult()
        inbox = self.parts.inbox
        while True:
            lease = lease_for(self.channel.limits, 100, 25, self.settings.min_lease)
            claim = inbox.claim(self.account, 100, lease, ids)
            if not claim:
                return total
            with inbox.keeper(claim):
                for n, item in enumerate(claim.items):
                    try:
                        event = self._complete(item.event)

                        result = self.store.run(partial(self._apply_one, claim, item.id, event))
                        total.merge(result)
                        report.events_applied += 1
                        report.orders_new += len(result.new)
                        report.orders_changed += len(result.changed)
                    except LeaseLost:
                        continue
                    except Exception as exc:
                        delay = (
                            timedelta(seconds=exc.retry_after)
                            if isinstance(exc, RateLimited) and exc.retry_after
                            else None
                        )
                        level = logging.WARNING if isinstance(exc, ChannelError) else logging.ERROR
                        log.log(
                            level,
                            "account %s: webhook event %s not applied yet: %s",
                            self.account,
                            item.id,
                            _describe(exc),
                            exc_info=not isinstance(exc, ChannelError),
                        )
                        inbox.fail(claim, item.id, _describe(exc), delay)
                        report.events_failed += 1
                        if isinstance(exc, TransientError):  # the channel is struggling
                            inbox.release(claim, [i.id for i in claim.items[n + 1 :]])
                            return total
            if ids is not None:
                return total

    def _apply_one(
        self, claim: Claim[InboxItem], item_id: int, event: WebhookEvent, conn: Connection
    ) -> ApplyResult:
        result = self.parts.inbox.apply(conn, self.account, event)
        self.parts.inbox.mark_applied(conn, claim, item_id)
        return result

    def _complete(self, event: WebhookEvent) -> WebhookEvent:
        if event.kind != "order" or event.order is not None or event.order_id is None:
            return event
        if not isinstance(self.channel, SupportsReadOrder):
            return event  # nothing to read it with: the next poll brings the order
        reader: SupportsReadOrder = self.channel
        order_id = event.order_id
        item = self.policy.call(lambda: reader.read_order(order_id))
        if isinstance(item, Order):
            return event.model_copy(update={"order": item})
        return event

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
        size = self._claim_size(limits.stock_batch)
        lease = lease_for(limits, size, limits.stock_batch, self.settings.min_lease)
        conflicts = 0
        pulled = False
        for _ in range(self.settings.push_rounds):
            claim = self.outbox.claim_stock(self.account, size, lease)
            if not claim:
                break
            unbound = [c.sku for c in claim.items if c.listing is None]
            self.outbox.fail_stock(
                claim, [(s, "no listing bound on this account", None, None) for s in unbound]
            )
            report.pushes_failed += len(unbound)
            todo = [c for c in claim.items if c.listing is not None]
            ids = self.parts.planner.locations.of(self.account).channel_ids
            # Issue 12 hook: read the channel before writing (never overwrite its own sale),
            # keep within its revisions per day; or read the account's orders first. Rows
            # per location (channels that keep one quantity per location) are read and
            # judged per (SKU, location) where the channel has no compare-and-set and can
            # read them (Magento sources); Shopify's compare-and-set as they are.
            review = self.stock_check.review(
                self.channel, claim, todo, pulled=pulled, policy=self.policy, locations=ids
            )
            if review.pull:
                self.outbox.release(claim)
                pulled = True
                try:
                    self.pull_orders(report)
                except ChannelError as exc:
                    log.warning("account %s: orders not read first: %s", self.account, exc)
                continue
            report.held += len(review.held)
            report.unseen_sales = max(report.unseen_sales, sum(review.unseen.values()))
            updates = [
                StockUpdate(
                    sku=c.sku,
                    quantity=quantity,
                    listing=c.listing,
                    expected=c.acked if limits.supports_compare_and_set else None,
                    idempotency_key=f"{self.account}:{c.sku}:v{c.version}:{quantity}"
                    + (f"@{c.location}" if c.location else ""),
                    location=ids.get(c.location) if c.location else None,
                )
                for c, quantity in review.send
            ]
            try:
                with self.outbox.keeper(claim):
                    results = (
                        self.policy.call(partial(self.channel.push_stock, updates))
                        if updates
                        else []
                    )
            except ChannelError as exc:
                delay = (
                    timedelta(seconds=exc.retry_after)
                    if isinstance(exc, RateLimited) and exc.retry_after
                    else None
                )
                self.outbox.fail_stock(
                    claim, [(self._row_of(u), str(exc), delay, None) for u in updates]
                )
                report.pushes_failed += len(updates)
                raise
            except BaseException:
                self.outbox.release(claim)  # nothing was settled: free the rows now
                raise
            conflicts += self._settle_stock(claim, updates, results, report)
            # Issue 12 hook: read back writes a channel applies later, once settled.
            self.stock_check.after_push(self.channel, [self._row_of(r) for r in results if r.ok])
            if conflicts:
                # Stop here: pushing the conflicted rows again before re-reading the orders
                # would overwrite the sale the channel counted.
                break
        return conflicts

    def _row_of(self, update: StockUpdate | PushResult) -> tuple[str, str]:
        """The outbox row (SKU, our location) a per-location update or result is about."""
        if update.location is None:
            return (update.sku, "")
        ours = self.parts.planner.locations.of(self.account).ours(update.location)
        return (update.sku, ours or "")

    def _settle_stock(
        self,
        claim: Claim[PendingStock],
        updates: list[StockUpdate],
        results: list[PushResult],
        report: AccountReport,
    ) -> int:
        sent = {self._row_of(u): u.quantity for u in updates}
        by_row: dict[tuple[str, str], PushResult] = {}
        for r in results:
            row = self._row_of(r)
            if row not in sent and (r.sku, "") in sent:
                row = (r.sku, "")  # an adapter that does not echo the location
            by_row[row] = r
        acks: list[tuple[tuple[str, str], int]] = []
        failures: list[tuple[tuple[str, str], str, timedelta | None, int | None]] = []
        conflicts = 0
        for row, qty in sent.items():
            res = by_row.get(row)
            if res is None:
                failures.append((row, "the channel returned no result for this item", None, None))
            elif res.ok:
                acks.append((row, res.quantity if res.quantity is not None else qty))
            elif res.error is not None and res.error.conflict:
                conflicts += 1
                failures.append(
                    (row, f"conflict: {res.error.message}", timedelta(0), res.error.current)
                )
            else:
                failures.append((row, str(res.error) if res.error else "failed", None, None))
        self.outbox.ack_stock(claim, acks)
        self.outbox.fail_stock(claim, failures)
        report.pushes_ok += len(acks)
        report.pushes_failed += len(failures) - conflicts
        report.conflicts += conflicts
        if conflicts:
            self.store.run(lambda conn: self._touch(conn, needs_repull=True))
        return conflicts

    # -- prices ---------------------------------------------------------------------------

    def push_prices(self, report: AccountReport) -> None:
        """Push every pending price of the account."""
        limits = self.channel.limits
        size = self._claim_size(limits.price_batch)
        lease = lease_for(limits, size, limits.price_batch, self.settings.min_lease)
        for _ in range(self.settings.push_rounds):
            claim = self.outbox.claim_prices(self.account, size, lease)
            if not claim:
                return
            today = self.clock().date()
            updates: list[PriceUpdate] = []
            failures: list[tuple[str, str]] = []
            base: dict[str, str] = {}
            for c in claim.items:
                if c.listing is None:
                    failures.append((c.sku, "no listing bound on this account"))
                    continue
                shown = c.listing.price.currency if c.listing.price is not None else None
                priced = self.parts.prices.price(
                    self.account, c.sku, c.price, day=today, channel_currency=shown
                )
                if not priced.ok or priced.price is None:
                    failures.append((c.sku, f"price refused: {priced.refused}"))
                    continue
                base[c.sku] = str(c.price.amount)
                updates.append(
                    PriceUpdate(
                        sku=c.sku,
                        price=priced.price,
                        listing=c.listing,
                        idempotency_key=f"{self.account}:{c.sku}:p{c.version}",
                    )
                )
            try:
                with self.outbox.keeper(claim):
                    results = (
                        self.policy.call(partial(self.channel.push_prices, updates))
                        if updates
                        else []
                    )
            except ChannelError as exc:
                self.outbox.finish_prices(
                    claim, [], failures + [(u.sku, str(exc)) for u in updates]
                )
                report.prices_failed += len(updates) + len(failures)
                raise
            except BaseException:
                self.outbox.release(claim)
                raise
            by_sku = {r.sku: r for r in results}
            # The merchant's price is acknowledged (the row is done); the rules made the
            # price the channel now shows from it.
            acks = [(u.sku, base[u.sku]) for u in updates if u.sku in by_sku and by_sku[u.sku].ok]
            failures += [
                (u.sku, str(by_sku[u.sku].error) if u.sku in by_sku else "no result for this item")
                for u in updates
                if u.sku not in by_sku or not by_sku[u.sku].ok
            ]
            self.outbox.finish_prices(claim, acks, failures)
            report.prices_ok += len(acks)
            report.prices_failed += len(failures)
            report.price_errors.extend(f"{sku}: {error}" for sku, error in failures)

    # -- shipments ------------------------------------------------------------------------

    def push_shipments(self, report: AccountReport) -> None:
        """Send every pending shipment of the account to the channel."""
        lease = lease_for(self.channel.limits, 1, 1, self.settings.min_lease)
        claim = self.outbox.claim_shipments(self.account, 100, lease)
        if not claim:
            return
        with self.outbox.keeper(claim):
            for i, pending in enumerate(claim.items):
                try:
                    self.policy.call(
                        partial(self.channel.push_fulfillment, pending.order_id, pending.shipment)
                    )
                except ChannelError as exc:
                    self.outbox.finish_shipment(
                        claim, pending.id, str(exc), permanent=isinstance(exc, PermanentError)
                    )
                    report.shipments_failed += 1
                    if isinstance(exc, TransientError):
                        self.outbox.release(claim, [p.id for p in claim.items[i + 1 :]])
                        raise
                    continue
                except BaseException:
                    self.outbox.release(claim, [p.id for p in claim.items[i:]])
                    raise
                self.outbox.finish_shipment(claim, pending.id, None)
                report.shipments_ok += 1


def _pages(items: Iterator[Listing], size: int) -> Iterator[list[Listing]]:
    page: list[Listing] = []
    for item in items:
        page.append(item)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def _count_page(result: ImportResult, page: list[Listing]) -> None:
    result.listings += len(page)
    for listing in page:
        if not listing.manages_stock:
            result.unmanaged.append(listing.sku)
        if listing.fulfilled_by == "channel":
            result.channel_fulfilled.append(listing.sku)
