"""The read side of the engine: stock views, explanations, the dry-run plan, orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa

from channelsync.core import schema as t
from channelsync.core.aftersale import recorded_refunds, with_recorded_refunds
from channelsync.core.errors import InvalidInput, UnknownOrder
from channelsync.core.ledger import JournalEntry
from channelsync.core.models import Money, Order, OrderStatus
from channelsync.core.planner import Planner
from channelsync.core.pricing import PriceBook
from channelsync.core.results import (
    AccountStatus,
    ChannelStock,
    Coverage,
    Explanation,
    FailedOrder,
    LocationStock,
    OrderSummary,
    PlannedPrice,
    PlannedPush,
    ShipmentRecord,
    Status,
    StockView,
)
from channelsync.core.store import Store

__all__ = ["Views"]


class Views:
    """Answers questions about the store without changing it (``SyncEngine`` delegates)."""

    def __init__(self, store: Store, planner: Planner) -> None:
        self.store = store
        self.planner = planner

    def order(self, account: str, order_id: str) -> Order:
        """The stored order; ``UnknownOrder`` if it was never seen."""
        with self.store.read() as conn:
            doc = conn.execute(
                sa.select(t.orders.c.doc).where(
                    t.orders.c.account == account, t.orders.c.order_id == order_id
                )
            ).scalar()
            if doc is None:
                raise UnknownOrder(f"no order {order_id!r} on account {account!r} in the store")
            recorded = recorded_refunds(conn, account, [order_id]).get((account, order_id), ())
        return with_recorded_refunds(Order.model_validate_json(doc), recorded)

    def stock(self, sku: str) -> StockView:
        """The ledger figures of ``sku`` (totals and per location) and what every channel
        listing should and does show (per location, where the channel keeps one each)."""
        with self.store.read() as conn:
            level = conn.execute(sa.select(t.ledger).where(t.ledger.c.sku == sku)).first()
            ll = t.ledger_locations.c
            places = conn.execute(
                sa.select(ll.location, ll.on_hand, ll.committed)
                .where(ll.sku == sku)
                .order_by(ll.location)
            ).all()
            bundle = self.planner.bundles(conn, [sku]).get(sku)
            desired = {
                (d.account, d.location): d
                for d in self.planner.desired(conn, [sku])
                if d.sku == sku
            }
            listed = {
                r.account: r.quantity
                for r in conn.execute(
                    sa.select(t.listings.c.account, t.listings.c.quantity).where(
                        t.listings.c.sku == sku
                    )
                )
            }
            rows = {
                (r.account, r.location): r
                for r in conn.execute(sa.select(t.outbox).where(t.outbox.c.sku == sku))
            }
        channels = []
        for account, location in sorted(
            {(a, "") for a in listed} | {k for k in desired if k[0] in listed} | set(rows)
        ):
            if location == "" and any(k[0] == account and k[1] for k in desired):
                continue  # a channel with a quantity per location: one line each
            d = desired.get((account, location))
            row = rows.get((account, location))
            channels.append(
                ChannelStock(
                    account=account,
                    desired=row.desired
                    if row is not None and d is not None and d.quantity is not None
                    else None,
                    acked=row.acked if row is not None else None,
                    listed=listed.get(account) if not location else None,
                    last_error=row.last_error if row is not None else None,
                    attempts=row.attempts if row is not None else 0,
                    note=d.reason if d is not None else None,
                    stale=bool(row.stale) if row is not None else False,
                    location=location,
                )
            )
        return StockView(
            sku=sku,
            on_hand=level.on_hand if level else 0,
            committed=level.committed if level else 0,
            tracked=bool(level.tracked) if level else False,
            channels=tuple(channels),
            bundle=bundle,
            locations=tuple(LocationStock(p.location, p.on_hand, p.committed) for p in places),
        )

    def explain(self, sku: str, account: str | None = None) -> Explanation:
        """The journal rows behind ``sku``'s figures (each at its location), and how each
        listing's quantity arose (``account@location`` for per-location channels)."""
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(t.journal).where(t.journal.c.sku == sku).order_by(t.journal.c.id)
            ).all()
            level = conn.execute(
                sa.select(t.ledger.c.on_hand, t.ledger.c.committed).where(t.ledger.c.sku == sku)
            ).first()
            desired = self.planner.desired(conn, [sku], [account] if account else None)
            known = (
                level is not None
                or bool(rows)
                or sku in self.planner.bundles(conn, [sku])
                or conn.execute(
                    sa.select(t.listings.c.sku).where(t.listings.c.sku == sku).limit(1)
                ).first()
                is not None
            )
        entries = tuple(JournalEntry(**r._mapping) for r in rows)
        return Explanation(
            sku=sku,
            on_hand=level.on_hand if level else 0,
            committed=level.committed if level else 0,
            entries=entries,
            allocation={
                (f"{d.account}@{d.location}" if d.location else d.account): d.steps
                for d in desired
                if d.sku == sku
            },
            known=known,
        )

    def plan_prices(
        self,
        prices: PriceBook,
        day: date,
        sku: str | None = None,
        account: str | None = None,
        pending_only: bool = True,
    ) -> list[PlannedPrice]:
        """The prices the next cycle would push (every price row with ``pending_only``
        False), each with the steps its account's rule makes of the merchant's price."""
        p = t.price_outbox.c
        ls = t.listings.c
        query = (
            sa.select(
                p.account,
                p.sku,
                p.desired_amount,
                p.currency,
                p.acked_amount,
                p.last_error,
                ls.price_currency,
            )
            .select_from(
                t.price_outbox.outerjoin(
                    t.listings, sa.and_(ls.account == p.account, ls.sku == p.sku)
                )
            )
            .order_by(p.account, p.sku)
        )
        if pending_only:
            query = query.where(
                sa.or_(p.acked_amount.is_(None), p.acked_amount != p.desired_amount)
            )
        if sku is not None:
            query = query.where(p.sku == sku)
        if account is not None:
            query = query.where(p.account == account)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            base = Money(amount=r.desired_amount, currency=r.currency)
            priced = prices.price(
                r.account, r.sku, base, day=day, channel_currency=r.price_currency
            )
            out.append(
                PlannedPrice(
                    account=r.account,
                    sku=r.sku,
                    base=base,
                    price=priced.price,
                    steps=priced.steps,
                    refused=priced.refused,
                    pending=r.acked_amount is None or r.acked_amount != r.desired_amount,
                    last_error=r.last_error,
                )
            )
        return out

    def plan(self) -> list[PlannedPush]:
        """What the next cycle would push (a dry run: nothing is sent or claimed)."""
        with self.store.read() as conn:
            o = t.outbox.c
            rows = conn.execute(
                sa.select(o.account, o.sku, o.location, o.desired, o.acked)
                .where(sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)))
                .order_by(o.account, o.sku, o.location)
            ).all()
            steps = {
                (d.account, d.sku, d.location): d.steps
                for d in self.planner.desired(conn, {r.sku for r in rows})
            }
        return [
            PlannedPush(
                r.account,
                r.sku,
                r.desired,
                r.acked,
                steps.get((r.account, r.sku, r.location), ()),
                r.location,
            )
            for r in rows
        ]

    def orders(
        self,
        *,
        account: str | None = None,
        status: Iterable[OrderStatus] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[OrderSummary]:
        """Stored orders, newest first, filtered by account, status and creation time."""
        o, ln, sh = t.orders.c, t.order_lines.c, t.shipments.c
        lines = (
            sa.select(
                ln.account,
                ln.order_id,
                sa.func.count().label("n"),
                sa.func.coalesce(sa.func.sum(ln.quantity), 0).label("units"),
            )
            .where(ln.sku.is_not(None) | (ln.quantity > 0))
            .group_by(ln.account, ln.order_id)
            .subquery()
        )
        pending = (
            sa.select(sh.account, sh.order_id, sa.func.count().label("n"))
            .where(sh.status == "pending")
            .group_by(sh.account, sh.order_id)
            .subquery()
        )
        query = (
            sa.select(
                o.account,
                o.order_id,
                o.number,
                o.status,
                o.created_at,
                o.updated_at,
                o.total_amount,
                o.currency,
                sa.func.coalesce(lines.c.n, 0).label("lines"),
                sa.func.coalesce(lines.c.units, 0).label("units"),
                sa.func.coalesce(pending.c.n, 0).label("pending"),
            )
            .outerjoin(lines, sa.and_(lines.c.account == o.account, lines.c.order_id == o.order_id))
            .outerjoin(
                pending, sa.and_(pending.c.account == o.account, pending.c.order_id == o.order_id)
            )
            .order_by(o.created_at.desc(), o.account, o.order_id)
        )
        if limit is not None:
            query = query.limit(limit)
        if account is not None:
            query = query.where(o.account == account)
        wanted = [OrderStatus(s).value for s in status]
        if wanted:
            query = query.where(o.status.in_(wanted))
        if since is not None:
            query = query.where(o.created_at >= since)
        if until is not None:
            query = query.where(o.created_at < until)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return [
            OrderSummary(
                account=r.account,
                order_id=r.order_id,
                number=r.number,
                status=r.status,
                created_at=r.created_at,
                updated_at=r.updated_at,
                total=r.total_amount,
                currency=r.currency,
                lines=int(r.lines),
                units=int(r.units),
                shipments_pending=int(r.pending),
            )
            for r in rows
        ]

    def shipments(
        self,
        *,
        account: str | None = None,
        order_id: str | None = None,
        status: Iterable[str] = (),
    ) -> list[ShipmentRecord]:
        """Shipments recorded with ``ship``, oldest first (``status``: pending, pushed, failed)."""
        s = t.shipments.c
        query = sa.select(t.shipments).order_by(s.id)
        if account is not None:
            query = query.where(s.account == account)
        if order_id is not None:
            query = query.where(s.order_id == order_id)
        wanted = list(status)
        unknown = set(wanted) - {"pending", "pushed", "failed"}
        if unknown:
            raise InvalidInput(f"shipment status must be pending, pushed or failed, not {unknown}")
        if wanted:
            query = query.where(s.status.in_(wanted))
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return [
            ShipmentRecord(
                id=r.id,
                account=r.account,
                order_id=r.order_id,
                carrier=r.shipment.get("carrier", ""),
                tracking_number=r.shipment.get("tracking_number"),
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                created_at=r.created_at,
                pushed_at=r.pushed_at,
            )
            for r in rows
        ]

    def order_failures(self, account: str | None = None) -> list[FailedOrder]:
        """Orders a channel returned that could not be read, oldest first."""
        f = t.order_failures.c
        query = sa.select(t.order_failures).order_by(f.first_seen_at, f.account, f.order_id)
        if account is not None:
            query = query.where(f.account == account)
        with self.store.read() as conn:
            return [
                FailedOrder(
                    account=r.account,
                    order_id=r.order_id,
                    error=r.error,
                    first_seen_at=r.first_seen_at,
                    last_seen_at=r.last_seen_at,
                    times=r.times,
                )
                for r in conn.execute(query)
            ]

    def status(self, accounts: Iterable[str], now: datetime) -> Status:
        """Where every account stands and which worker runs it, from the store alone."""
        names = sorted(accounts)
        c, o, i, f, lc = (
            t.cursors.c,
            t.outbox.c,
            t.inbox.c,
            t.order_failures.c,
            t.account_leases.c,
        )
        pending = sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True))
        with self.store.read() as conn:
            kinds = {r.account: r for r in conn.execute(sa.select(t.accounts))}
            cursors = {
                r.account: r.position
                for r in conn.execute(sa.select(c.account, c.position).where(c.stream == "orders"))
            }
            outbox = {
                r.account: r
                for r in conn.execute(
                    sa.select(
                        o.account,
                        sa.func.count().label("n"),
                        sa.func.min(o.updated_at).label("oldest"),
                        sa.func.sum(sa.case((o.attempts > 0, 1), else_=0)).label("failing"),
                    )
                    .where(pending)
                    .group_by(o.account)
                )
            }
            pushed = {
                r.account: r.last
                for r in conn.execute(
                    sa.select(o.account, sa.func.max(o.acked_at).label("last")).group_by(o.account)
                )
            }
            inbox = {
                (r.account, r.status): r
                for r in conn.execute(
                    sa.select(
                        i.account,
                        i.status,
                        sa.func.count().label("n"),
                        sa.func.min(i.received_at).label("oldest"),
                    )
                    .where(i.status != "applied")
                    .group_by(i.account, i.status)
                )
            }
            failures = {
                r.account: int(r.n)
                for r in conn.execute(
                    sa.select(f.account, sa.func.count().label("n")).group_by(f.account)
                )
            }
            holders = {
                r.account: r.worker_id
                for r in conn.execute(
                    sa.select(lc.account, lc.worker_id).where(lc.lease_until >= now)
                )
            }
        out = []
        for name in names:
            row = kinds.get(name)
            cursor = cursors.get(name)
            box = outbox.get(name)
            events = inbox.get((name, "pending"))
            dead = inbox.get((name, "dead"))
            out.append(
                AccountStatus(
                    account=name,
                    kind=row.kind if row is not None else None,
                    worker=holders.get(name),
                    last_pull_at=row.last_pull_at if row is not None else None,
                    cursor=cursor,
                    cursor_lag_seconds=_age(cursor, now),
                    last_push_at=pushed.get(name),
                    outbox_depth=int(box.n) if box is not None else 0,
                    oldest_pending_seconds=_age(box.oldest, now) if box is not None else None,
                    failing_rows=int(box.failing or 0) if box is not None else 0,
                    inbox_depth=int(events.n) if events is not None else 0,
                    oldest_event_seconds=_age(events.oldest, now) if events is not None else None,
                    dead_events=int(dead.n) if dead is not None else 0,
                    order_failures=failures.get(name, 0),
                )
            )
        return Status(at=now, accounts=tuple(out), workers=())

    def coverage(self, accounts: Iterable[str]) -> Coverage:
        """Which of ``accounts`` lists each SKU; SKUs listed but never counted in the ledger."""
        names = list(accounts)
        result = Coverage(accounts=names)
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(t.listings.c.sku, t.listings.c.account).where(
                    t.listings.c.account.in_(names)
                )
            ).all()
            tracked = {
                r.sku
                for r in conn.execute(sa.select(t.ledger.c.sku).where(t.ledger.c.tracked.is_(True)))
            }
            bundles = {r.bundle_sku for r in conn.execute(sa.select(t.bundles.c.bundle_sku))}
        by_sku: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            by_sku[r.sku].add(r.account)
        result.by_sku = dict(by_sku)
        result.untracked = {s for s in by_sku if s not in tracked and s not in bundles}
        return result


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())
