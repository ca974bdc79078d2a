"""The read side of the engine: stock views, explanations, the dry-run plan, orders."""

from __future__ import annotations

import sqlalchemy as sa

from channelsync.core import schema as t
from channelsync.core.errors import UnknownOrder
from channelsync.core.ledger import JournalEntry
from channelsync.core.models import Order
from channelsync.core.planner import Planner
from channelsync.core.reports import ChannelStock, Explanation, PlannedPush, StockView
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
        return Order.model_validate_json(doc)

    def stock(self, sku: str) -> StockView:
        """The ledger figures of ``sku`` and what every channel listing should and does show."""
        with self.store.read() as conn:
            level = conn.execute(sa.select(t.ledger).where(t.ledger.c.sku == sku)).first()
            bundle = self.planner.bundles(conn, [sku]).get(sku)
            desired = {(d.account, d.sku): d for d in self.planner.desired(conn, [sku])}
            listed = {
                r.account: r.quantity
                for r in conn.execute(
                    sa.select(t.listings.c.account, t.listings.c.quantity).where(
                        t.listings.c.sku == sku
                    )
                )
            }
            rows = {
                r.account: r for r in conn.execute(sa.select(t.outbox).where(t.outbox.c.sku == sku))
            }
        channels = []
        for account in sorted(listed):
            d = desired.get((account, sku))
            row = rows.get(account)
            channels.append(
                ChannelStock(
                    account=account,
                    desired=row.desired
                    if row is not None and d is not None and d.quantity is not None
                    else None,
                    acked=row.acked if row is not None else None,
                    listed=listed[account],
                    last_error=row.last_error if row is not None else None,
                    attempts=row.attempts if row is not None else 0,
                    note=d.reason if d is not None else None,
                    stale=bool(row.stale) if row is not None else False,
                )
            )
        return StockView(
            sku=sku,
            on_hand=level.on_hand if level else 0,
            committed=level.committed if level else 0,
            tracked=bool(level.tracked) if level else False,
            channels=tuple(channels),
            bundle=bundle,
        )

    def explain(self, sku: str, account: str | None = None) -> Explanation:
        """The journal rows behind ``sku``'s figures, and how each listing's quantity arose."""
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(t.journal).where(t.journal.c.sku == sku).order_by(t.journal.c.id)
            ).all()
            level = conn.execute(
                sa.select(t.ledger.c.on_hand, t.ledger.c.committed).where(t.ledger.c.sku == sku)
            ).first()
            desired = self.planner.desired(conn, [sku], [account] if account else None)
        entries = tuple(JournalEntry(**r._mapping) for r in rows)
        return Explanation(
            sku=sku,
            on_hand=level.on_hand if level else 0,
            committed=level.committed if level else 0,
            entries=entries,
            allocation={d.account: d.steps for d in desired if d.sku == sku},
        )

    def plan(self) -> list[PlannedPush]:
        """What the next cycle would push (a dry run: nothing is sent or claimed)."""
        with self.store.read() as conn:
            o = t.outbox.c
            rows = conn.execute(
                sa.select(o.account, o.sku, o.desired, o.acked)
                .where(sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)))
                .order_by(o.account, o.sku)
            ).all()
            steps = {
                (d.account, d.sku): d.steps
                for d in self.planner.desired(conn, {r.sku for r in rows})
            }
        return [
            PlannedPush(r.account, r.sku, r.desired, r.acked, steps.get((r.account, r.sku), ()))
            for r in rows
        ]
