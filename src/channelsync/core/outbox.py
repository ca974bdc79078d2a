"""The outbox: desired vs acknowledged quantity per (account, SKU), and shipments to push.

A row is pending while ``desired`` differs from ``acked``. Pushing claims pending rows
with a short lease (so two workers do not push the same row at once), sends the desired
values, and acknowledges each item with the value that was actually sent: if the desired
value changed during the push, the row stays pending and the next push sends the newest
value, once. A crash between push and acknowledgement leaves the row pending, so the same
absolute value is sent again: never a lost update.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.models import Listing, Money, Shipment
from channelsync.core.store import Store

__all__ = [
    "Outbox",
    "PendingPrice",
    "PendingShipment",
    "PendingStock",
    "backoff",
    "listing_from_row",
]

LEASE = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    """How long a failing item waits before its next try: 5 s doubling, at most 1 hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class PendingStock:
    """A claimed outbox row: the value to send and the channel ids to send it to."""

    account: str
    sku: str
    desired: int
    acked: int | None
    version: int
    attempts: int
    listing: Listing | None


@dataclass(frozen=True)
class PendingPrice:
    """A claimed price row."""

    account: str
    sku: str
    price: Money
    version: int
    attempts: int
    listing: Listing | None


@dataclass(frozen=True)
class PendingShipment:
    """A shipment recorded with ``engine.ship`` that the channel has not confirmed yet."""

    id: int
    account: str
    order_id: str
    shipment: Shipment
    attempts: int


def listing_from_row(row: Any) -> Listing:
    """A ``Listing`` from a row of the listings table."""
    price = (
        Money(amount=row.price_amount, currency=row.price_currency)
        if row.price_amount is not None and row.price_currency
        else None
    )
    ids = row.ids if isinstance(row.ids, dict) else json.loads(row.ids)
    return Listing(
        kind=row.kind,
        account=row.account,
        sku=row.sku,
        listing_id=row.listing_id,
        quantity=row.quantity,
        price=price,
        title=row.title,
        manages_stock=row.manages_stock,
        fulfilled_by=row.fulfilled_by,
        ids=ids,
    )


class Outbox:
    """Claims, acknowledges and fails outbox rows."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def _listings(self, conn: Connection, account: str, skus: Sequence[str]) -> dict[str, Listing]:
        rows = conn.execute(
            sa.select(t.listings).where(t.listings.c.account == account, t.listings.c.sku.in_(skus))
        )
        return {r.sku: listing_from_row(r) for r in rows}

    # -- stock ----------------------------------------------------------------------------

    def claim_stock(self, account: str, limit: int) -> list[PendingStock]:
        """Lease up to ``limit`` pending stock rows of ``account`` that are due."""

        def work(conn: Connection) -> list[PendingStock]:
            now = self.clock()
            o = t.outbox.c
            query = (
                sa.select(o.sku, o.desired, o.acked, o.version, o.attempts)
                .where(
                    o.account == account,
                    sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)),
                    o.next_attempt_at <= now,
                    sa.or_(o.lease_until.is_(None), o.lease_until < now),
                )
                .order_by(o.next_attempt_at, o.sku)
                .limit(limit)
            )
            rows = conn.execute(self.store.for_update_skip_locked(query)).all()
            if not rows:
                return []
            skus = [r.sku for r in rows]
            conn.execute(
                t.outbox.update()
                .where(o.account == account, o.sku.in_(skus))
                .values(lease_until=now + LEASE)
            )
            listings = self._listings(conn, account, skus)
            return [
                PendingStock(
                    account, r.sku, r.desired, r.acked, r.version, r.attempts, listings.get(r.sku)
                )
                for r in rows
            ]

        return self.store.run(work)

    def ack_stock(self, account: str, acks: Sequence[tuple[str, int]]) -> None:
        """Record that the channel now shows these (sku, quantity) values."""
        if not acks:
            return
        now = self.clock()
        params = [{"b_sku": sku, "b_qty": qty} for sku, qty in acks]

        def work(conn: Connection) -> None:
            conn.execute(
                t.outbox.update()
                .where(t.outbox.c.account == account, t.outbox.c.sku == sa.bindparam("b_sku"))
                .values(
                    acked=sa.bindparam("b_qty"),
                    stale=False,
                    attempts=0,
                    last_error=None,
                    lease_until=None,
                    acked_at=now,
                ),
                params,
            )
            conn.execute(
                t.listings.update()
                .where(t.listings.c.account == account, t.listings.c.sku == sa.bindparam("b_sku"))
                .values(quantity=sa.bindparam("b_qty")),
                params,
            )

        self.store.run(work)

    def fail_stock(
        self,
        account: str,
        failures: Sequence[tuple[str, str, timedelta | None, int | None]],
    ) -> None:
        """Record failed items: (sku, error text, retry delay or None for backoff, channel qty).

        A known channel quantity (a lost compare-and-set) becomes the acknowledged value,
        so the next push compares against what the channel really shows.
        """
        if not failures:
            return
        now = self.clock()

        def work(conn: Connection) -> None:
            o = t.outbox.c
            rows = {
                r.sku: r
                for r in conn.execute(
                    sa.select(o.sku, o.attempts, o.desired).where(
                        o.account == account, o.sku.in_([f[0] for f in failures])
                    )
                )
            }
            for sku, error, delay, current in failures:
                row = rows.get(sku)
                tries = (row.attempts if row is not None else 0) + 1
                values: dict[str, Any] = {
                    "attempts": tries,
                    "last_error": error[:2000],
                    "next_attempt_at": now + (delay if delay is not None else backoff(tries)),
                    "lease_until": None,
                }
                if current is not None:
                    values.update(acked=current, acked_at=now)
                    if row is not None and row.desired == current:
                        # The channel already shows what we want: nothing is owed.
                        values.update(attempts=0, last_error=None, acked_at=now, stale=False)
                conn.execute(
                    t.outbox.update().where(o.account == account, o.sku == sku).values(**values)
                )

        self.store.run(work)

    def release(self, account: str, skus: Sequence[str]) -> None:
        """Give up the lease of rows that were claimed but not pushed."""
        if skus:
            self.store.run(
                lambda conn: conn.execute(
                    t.outbox.update()
                    .where(t.outbox.c.account == account, t.outbox.c.sku.in_(list(skus)))
                    .values(lease_until=None)
                )
            )

    # -- prices ---------------------------------------------------------------------------

    def claim_prices(self, account: str, limit: int) -> list[PendingPrice]:
        """Lease up to ``limit`` pending price rows of ``account`` that are due."""

        def work(conn: Connection) -> list[PendingPrice]:
            now = self.clock()
            p = t.price_outbox.c
            query = (
                sa.select(p.sku, p.desired_amount, p.currency, p.version, p.attempts)
                .where(
                    p.account == account,
                    sa.or_(p.acked_amount.is_(None), p.acked_amount != p.desired_amount),
                    p.next_attempt_at <= now,
                    sa.or_(p.lease_until.is_(None), p.lease_until < now),
                )
                .order_by(p.next_attempt_at, p.sku)
                .limit(limit)
            )
            rows = conn.execute(self.store.for_update_skip_locked(query)).all()
            if not rows:
                return []
            skus = [r.sku for r in rows]
            conn.execute(
                t.price_outbox.update()
                .where(p.account == account, p.sku.in_(skus))
                .values(lease_until=now + LEASE)
            )
            listings = self._listings(conn, account, skus)
            return [
                PendingPrice(
                    account,
                    r.sku,
                    Money(amount=r.desired_amount, currency=r.currency),
                    r.version,
                    r.attempts,
                    listings.get(r.sku),
                )
                for r in rows
            ]

        return self.store.run(work)

    def finish_prices(
        self, account: str, acks: Sequence[tuple[str, str]], failures: Sequence[tuple[str, str]]
    ) -> None:
        """Acknowledge (sku, amount) pairs and count failed (sku, error) items."""
        now = self.clock()

        def work(conn: Connection) -> None:
            p = t.price_outbox.c
            if acks:
                conn.execute(
                    t.price_outbox.update()
                    .where(p.account == account, p.sku == sa.bindparam("b_sku"))
                    .values(
                        acked_amount=sa.bindparam("b_amount"),
                        attempts=0,
                        last_error=None,
                        lease_until=None,
                    ),
                    [{"b_sku": sku, "b_amount": amount} for sku, amount in acks],
                )
            for sku, error in failures:
                tries = (
                    conn.execute(
                        sa.select(p.attempts).where(p.account == account, p.sku == sku)
                    ).scalar()
                    or 0
                ) + 1
                conn.execute(
                    t.price_outbox.update()
                    .where(p.account == account, p.sku == sku)
                    .values(
                        attempts=tries,
                        last_error=error[:2000],
                        next_attempt_at=now + backoff(tries),
                        lease_until=None,
                    )
                )

        self.store.run(work)

    # -- shipments ------------------------------------------------------------------------

    def claim_shipments(self, account: str, limit: int = 100) -> list[PendingShipment]:
        """Lease the due shipments of ``account`` that the channel has not confirmed."""

        def work(conn: Connection) -> list[PendingShipment]:
            now = self.clock()
            s = t.shipments.c
            query = (
                sa.select(s.id, s.order_id, s.shipment, s.attempts)
                .where(
                    s.account == account,
                    s.status == "pending",
                    s.next_attempt_at <= now,
                    sa.or_(s.lease_until.is_(None), s.lease_until < now),
                )
                .order_by(s.id)
                .limit(limit)
            )
            rows = conn.execute(self.store.for_update_skip_locked(query)).all()
            if rows:
                conn.execute(
                    t.shipments.update()
                    .where(s.id.in_([r.id for r in rows]))
                    .values(lease_until=now + LEASE)
                )
            return [
                PendingShipment(
                    r.id, account, r.order_id, Shipment.model_validate(r.shipment), r.attempts
                )
                for r in rows
            ]

        return self.store.run(work)

    def finish_shipment(
        self,
        shipment_id: int,
        error: str | None,
        *,
        permanent: bool = False,
        max_attempts: int = 12,
    ) -> None:
        """Mark a shipment pushed, or count a failed attempt (``failed`` after ``max_attempts``)."""
        now = self.clock()

        def work(conn: Connection) -> None:
            s = t.shipments.c
            if error is None:
                conn.execute(
                    t.shipments.update()
                    .where(s.id == shipment_id)
                    .values(status="pushed", pushed_at=now, last_error=None, lease_until=None)
                )
                return
            tries = conn.execute(sa.select(s.attempts).where(s.id == shipment_id)).scalar_one() + 1
            conn.execute(
                t.shipments.update()
                .where(s.id == shipment_id)
                .values(
                    attempts=tries,
                    last_error=error[:2000],
                    status="failed"
                    if (permanent and tries >= 3) or tries >= max_attempts
                    else "pending",
                    next_attempt_at=now + backoff(tries),
                    lease_until=None,
                )
            )

        self.store.run(work)
