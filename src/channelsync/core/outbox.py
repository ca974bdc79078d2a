"""The outbox: desired vs acknowledged quantity per (account, SKU), prices and shipments.

This module alone writes the ``outbox``, ``price_outbox`` and ``shipments`` tables; the
rules of a row live here and nowhere else:

- A stock row is pending while ``desired`` differs from ``acked``, or while it is
  ``stale`` (the channel moved its own quantity in a way we cannot be sure of).
- The planner writes desired values (``set_desired``) in the transaction that changed the
  ledger; the order book says how a selling channel moved its own quantity
  (``channel_moved``); an import or a reconcile says what the channel really shows
  (``imported``, ``correct``).
- Pushing claims due rows under a lease with a fresh token (``claim_*``). The lease is
  sized from the channel's limits and renewed while the push runs (``LeaseKeeper``), so
  a push of any length keeps its rows, and a dead worker's rows are free again once its
  lease runs out. Acknowledgements and failures count only with the live token, and a row
  is acknowledged with the value that was actually sent (or the one the channel said it
  shows): if the desired value changed during the push, the row stays pending and the
  next push sends the newest value, once. A crash between push and acknowledgement leaves
  the row pending, so the same absolute value (with the same idempotency key) is sent
  again: never a lost update.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import ChannelLimits
from channelsync.core.leases import Claim, LeaseKeeper, release_claim, renew_claim
from channelsync.core.listings import Listings
from channelsync.core.models import Listing, Money, Shipment
from channelsync.core.store import Store

__all__ = [
    "ChannelMove",
    "Claim",
    "LeaseKeeper",
    "Outbox",
    "PendingPrice",
    "PendingShipment",
    "PendingStock",
    "backoff",
    "lease_for",
]

log = logging.getLogger(__name__)
_TABLES = {"outbox": t.outbox, "price_outbox": t.price_outbox, "shipments": t.shipments}

MIN_LEASE = timedelta(seconds=30)
MAX_LEASE = timedelta(minutes=10)


def _after(at: datetime, acked_at: datetime | None) -> bool:
    """Whether a channel change at ``at`` came after our last write (``acked_at``).

    Channels that keep order times to the second (WooCommerce, Shopify) cannot order a
    change within the second of our write: it counts as after it. If it was before, the
    channel shows more than this guess and the next push corrects it; the other way round
    a sale would look like one the engine has not read (issue 12).
    """
    if acked_at is None or at > acked_at:
        return True
    if acked_at.microsecond == 999_999:
        return False  # a quantity read from the channel: it has that second's changes
    return at.microsecond == 0 and at >= acked_at.replace(microsecond=0)


def _end_of_second(at: datetime) -> datetime:
    """The last microsecond of ``at``'s second."""
    return at.replace(microsecond=999_999)


def backoff(attempts: int) -> timedelta:
    """How long a failing item waits before its next try: 5 s doubling, at most 1 hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def lease_for(
    limits: ChannelLimits, items: int, batch: int, floor: timedelta = MIN_LEASE
) -> timedelta:
    """How long a claim of ``items`` rows is leased: ``floor`` plus twice the time the calls
    should take at the channel's slowest published rate, at most 10 minutes.

    The holder renews it every third of its length while the push runs, so this bounds how
    long a dead worker's rows stay taken, not how long a push may last.
    """
    calls = max(1, math.ceil(items / max(1, batch)))
    rate = min((r.per_second for r in limits.rate_limits), default=2.0)
    return min(MAX_LEASE, floor + timedelta(seconds=2 * calls / rate))


@dataclass(frozen=True, slots=True)
class ChannelMove:
    """Units a channel took off (negative: put back on) a listing by itself, and when.

    ``unsure``: the channel may or may not have moved its quantity (a cancellation it may
    not restock, a pending order it reduces only once paid).
    """

    units: int
    at: datetime
    unsure: bool


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


class Outbox:
    """Owns the outbox, price outbox and shipments tables."""

    def __init__(self, store: Store, listings: Listings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.listings = listings
        self.clock = clock

    # -- desired values -------------------------------------------------------------------

    def set_desired(self, conn: Connection, account: str, desired: Mapping[str, int]) -> int:
        """Write the quantity each listing of ``account`` should show; rows changed.

        A new row starts acknowledged at what the channel showed when its listing was
        imported (diff-only from the start).
        """
        if not desired:
            return 0
        o = t.outbox.c
        now = self.clock()
        current = {
            r.sku: r
            for r in conn.execute(
                sa.select(o.sku, o.desired, o.version, o.next_attempt_at).where(
                    o.account == account, self.store.among(o.sku, desired)
                )
            )
        }
        updates = [
            {
                "desired": qty,
                "version": current[sku].version + 1,
                "updated_at": now,
                # A drop goes out at once, whatever held the row back (issue 12: a revision
                # budget or a settling write holds increases, never drops).
                "next_attempt_at": min(now, current[sku].next_attempt_at)
                if qty < current[sku].desired
                else current[sku].next_attempt_at,
                "account": account,
                "sku": sku,
            }
            for sku, qty in desired.items()
            if sku in current and current[sku].desired != qty
        ]
        missing = [sku for sku in desired if sku not in current]
        if updates:
            self.store.bulk(conn, t.outbox, updates, where=("account", "sku"))
        if missing:
            shown = {
                r.sku: r.quantity
                for r in conn.execute(
                    sa.select(t.listings.c.sku, t.listings.c.quantity).where(
                        t.listings.c.account == account,
                        self.store.among(t.listings.c.sku, missing),
                    )
                )
            }
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {
                        "account": account,
                        "sku": sku,
                        "desired": desired[sku],
                        "acked": shown.get(sku),
                        "stale": False,
                        "version": 1,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "updated_at": now,
                    }
                    for sku in missing
                ],
                keys=("account", "sku"),
            )
        changed = len(updates) + len(missing)
        if changed:
            self.store.touched(conn, account)
        return changed

    def channel_moved(
        self, conn: Connection, account: str, moved: Mapping[str, Sequence[ChannelMove]]
    ) -> None:
        """The selling channel changed its own quantities: keep its rows honest.

        A channel lowers a listing by itself when it sells, so what it last acknowledged no
        longer says what it shows. The acknowledged value becomes the best guess of what it
        shows now (units of changes made after we last saw or set its quantity taken off):
        when that differs from the desired value (a cap held desired still), the row is
        pending and pushed, and a compare-and-set push compares against the guess (a wrong
        guess costs one conflict and a re-read). Where the guess is unsure (a cancellation
        the channel may not restock, a pending order the channel may reduce only once
        paid) the row is marked ``stale``: pushed even if desired equals acknowledged. A
        plain sale or shipment costs no push of its own on the selling channel (eBay caps
        revisions per listing and day).
        """
        if not moved:
            return
        o = t.outbox.c
        rows = conn.execute(
            self.store.for_update(
                sa.select(o.sku, o.acked, o.acked_at, o.stale)
                .where(o.account == account, self.store.among(o.sku, moved))
                .order_by(o.sku)
            )
        ).all()
        updates = []
        for r in rows:
            recent = [m for m in moved[r.sku] if _after(m.at, r.acked_at)]
            taken = sum(m.units for m in recent)
            stale = bool(r.stale) or any(m.unsure for m in moved[r.sku])
            if not taken and stale == bool(r.stale):
                continue
            acked = None if r.acked is None else max(0, r.acked - taken)
            updates.append({"acked": acked, "stale": stale, "account": account, "sku": r.sku})
        self.store.bulk(conn, t.outbox, updates, where=("account", "sku"))
        if updates:
            self.store.touched(conn, account)

    def imported(self, conn: Connection, account: str, shown: Sequence[tuple[str, int]]) -> None:
        """An import read what the channel shows: that is what it has acknowledged."""
        if shown:
            now = self.clock()
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {"acked": q, "stale": False, "acked_at": now, "account": account, "sku": s}
                    for s, q in shown
                ],
                where=("account", "sku"),
            )

    def forget(self, conn: Connection, account: str, skus: Sequence[str]) -> None:
        """Drop the rows of listings the channel no longer has."""
        if skus:
            o = t.outbox.c
            conn.execute(
                t.outbox.delete().where(o.account == account, self.store.among(o.sku, skus))
            )

    def acked(self, conn: Connection, account: str, skus: Sequence[str]) -> dict[str, int | None]:
        """The acknowledged value of each of ``skus`` that has a row on ``account``."""
        o = t.outbox.c
        return {
            r.sku: r.acked
            for r in conn.execute(
                sa.select(o.sku, o.acked).where(o.account == account, self.store.among(o.sku, skus))
            )
        }

    def correct(self, conn: Connection, account: str, shows: Mapping[str, int]) -> int:
        """Reconcile found listings showing other values: push the ledger's value next.

        The acknowledged value becomes what the channel was seen to show, and the row is
        due now (pushed even if that equals the desired value); returns rows queued.
        """
        if not shows:
            return 0
        now = self.clock()
        o = t.outbox.c
        queued = 0
        for sku, qty in sorted(shows.items()):
            queued += conn.execute(
                t.outbox.update()
                .where(o.account == account, o.sku == sku)
                .values(
                    acked=qty,
                    acked_at=now,
                    stale=True,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                )
            ).rowcount
        if queued:
            self.store.touched(conn, account)
        return queued

    def next_due(self, conn: Connection, account: str) -> datetime | None:
        """When the earliest pending row of ``account`` (stock, price or shipment) is due."""
        o, p, s = t.outbox.c, t.price_outbox.c, t.shipments.c
        times = [
            conn.execute(
                sa.select(sa.func.min(o.next_attempt_at)).where(
                    o.account == account,
                    sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)),
                )
            ).scalar(),
            conn.execute(
                sa.select(sa.func.min(p.next_attempt_at)).where(
                    p.account == account,
                    sa.or_(p.acked_amount.is_(None), p.acked_amount != p.desired_amount),
                )
            ).scalar(),
            conn.execute(
                sa.select(sa.func.min(s.next_attempt_at)).where(
                    s.account == account, s.status == "pending"
                )
            ).scalar(),
        ]
        found = [x for x in times if isinstance(x, datetime)]
        return min(found) if found else None

    def depth(self, conn: Connection) -> dict[str, tuple[int, datetime | None]]:
        """Per account: stock rows owed a push and when the oldest of them changed."""
        o = t.outbox.c
        return {
            r.account: (int(r.n), r.oldest)
            for r in conn.execute(
                sa.select(
                    o.account, sa.func.count().label("n"), sa.func.min(o.updated_at).label("oldest")
                )
                .where(sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)))
                .group_by(o.account)
            )
        }

    # -- stock ----------------------------------------------------------------------------

    def claim_stock(self, account: str, limit: int, lease: timedelta) -> Claim[PendingStock]:
        """Lease up to ``limit`` pending stock rows of ``account`` that are due."""
        token = str(uuid.uuid4())

        def work(conn: Connection) -> Claim[PendingStock]:
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
            claim: Claim[PendingStock] = Claim("outbox", account, token, lease)
            if not rows:
                return claim
            skus = [r.sku for r in rows]
            conn.execute(
                t.outbox.update()
                .where(o.account == account, self.store.among(o.sku, skus))
                .values(lease_until=now + lease, claim_token=token)
            )
            listings = self.listings.get(conn, account, skus)
            claim.items = [
                PendingStock(
                    account, r.sku, r.desired, r.acked, r.version, r.attempts, listings.get(r.sku)
                )
                for r in rows
            ]
            return claim

        return self.store.run(work)

    def ack_stock(self, claim: Claim[PendingStock], acks: Sequence[tuple[str, int]]) -> list[str]:
        """Record that the channel now shows these (sku, quantity) values.

        Only rows still held by ``claim`` are acknowledged (a row whose lease ran out and
        was claimed again belongs to its new holder); returns the SKUs acknowledged.
        """
        if not acks:
            return []
        now = self.clock()
        o = t.outbox.c

        def work(conn: Connection) -> list[str]:
            held = set(
                conn.execute(
                    self.store.for_update(
                        sa.select(o.sku)
                        .where(
                            o.account == claim.account,
                            o.claim_token == claim.token,
                            self.store.among(o.sku, [s for s, _ in acks]),
                        )
                        .order_by(o.sku)
                    )
                ).scalars()
            )
            mine = [(s, q) for s, q in acks if s in held]
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {
                        "acked": q,
                        "stale": False,
                        "attempts": 0,
                        "last_error": None,
                        "lease_until": None,
                        "claim_token": None,
                        "acked_at": now,
                        "account": claim.account,
                        "sku": s,
                    }
                    for s, q in mine
                ],
                where=("account", "sku"),
            )
            self.listings.record_shown(conn, claim.account, mine)
            # Desired moved during the push: the row is pending again at once.
            if mine and (
                conn.execute(
                    sa.select(o.sku).where(
                        o.account == claim.account,
                        o.acked != o.desired,
                        self.store.among(o.sku, [s for s, _ in mine]),
                    )
                ).first()
                is not None
            ):
                self.store.touched(conn, claim.account)
            return [s for s, _ in mine]

        acked = self.store.run(work)
        if len(acked) < len(acks):
            log.warning(
                "account %s: %d acknowledgements came after the lease ran out; those rows"
                " belong to another pusher now",
                claim.account,
                len(acks) - len(acked),
            )
        return acked

    def fail_stock(
        self,
        claim: Claim[PendingStock],
        failures: Sequence[tuple[str, str, timedelta | None, int | None]],
    ) -> None:
        """Record failed items: (sku, error text, retry delay or None for backoff, channel qty).

        A known channel quantity (a lost compare-and-set) becomes the acknowledged value,
        so the next push compares against what the channel really shows. Only rows still
        held by ``claim`` are changed.
        """
        if not failures:
            return
        now = self.clock()

        def work(conn: Connection) -> None:
            o = t.outbox.c
            rows = {
                r.sku: r
                for r in conn.execute(
                    self.store.for_update(
                        sa.select(o.sku, o.attempts, o.desired)
                        .where(
                            o.account == claim.account,
                            o.claim_token == claim.token,
                            self.store.among(o.sku, [f[0] for f in failures]),
                        )
                        .order_by(o.sku)
                    )
                )
            }
            for sku, error, delay, current in failures:
                row = rows.get(sku)
                if row is None:
                    continue
                tries = row.attempts + 1
                values: dict[str, Any] = {
                    "attempts": tries,
                    "last_error": error[:2000],
                    "next_attempt_at": now + (delay if delay is not None else backoff(tries)),
                    "lease_until": None,
                    "claim_token": None,
                }
                if current is not None:
                    # Read from the channel (a lost compare-and-set): every change it kept
                    # to the second, up to this one, is in ``current`` (see ``_after``).
                    values.update(acked=current, acked_at=_end_of_second(now))
                    if row.desired == current:
                        # The channel already shows what we want: nothing is owed.
                        values.update(attempts=0, last_error=None, stale=False)
                conn.execute(
                    t.outbox.update()
                    .where(o.account == claim.account, o.sku == sku)
                    .values(**values)
                )

        self.store.run(work)

    def defer(
        self,
        claim: Claim[PendingStock],
        items: Sequence[tuple[str, datetime, str]],
        *,
        release: bool,
    ) -> None:
        """Look at these (sku, not before, why) claimed rows again later, counting no failure.

        ``release`` gives up their lease too (rows not pushed now). Only rows still held by
        ``claim`` change.
        """
        if not items:
            return

        def work(conn: Connection) -> None:
            o = t.outbox.c
            for sku, until, why in items:
                values: dict[str, Any] = {"next_attempt_at": until, "last_error": why[:2000]}
                if release:
                    values.update(lease_until=None, claim_token=None)
                conn.execute(
                    t.outbox.update()
                    .where(o.account == claim.account, o.sku == sku, o.claim_token == claim.token)
                    .values(**values)
                )

        self.store.run(work)

    def recheck(self, account: str, items: Sequence[tuple[str, datetime]]) -> None:
        """Claim these (sku, at) rows again at ``at`` even if nothing changes (``stale``):
        a channel that applies writes later must be read back once they have settled."""
        if not items:
            return

        def work(conn: Connection) -> None:
            o = t.outbox.c
            for sku, at in items:
                conn.execute(
                    t.outbox.update()
                    .where(o.account == account, o.sku == sku, o.claim_token.is_(None))
                    .values(stale=True, next_attempt_at=at)
                )

        self.store.run(work)

    def release(self, claim: Claim[Any], keys: Sequence[Any] | None = None) -> None:
        """Give up the lease of claimed rows that were not pushed (all of them by default)."""
        table = _TABLES[claim.table]
        key = table.c.id if claim.table == "shipments" else table.c.sku
        self.store.run(partial(release_claim, table, claim, key, keys))

    def keeper(self, claim: Claim[Any]) -> LeaseKeeper:
        """A ``LeaseKeeper`` renewing ``claim`` while a push of it runs."""
        table = _TABLES[claim.table]
        return LeaseKeeper(
            lambda: self.store.run(lambda conn: renew_claim(table, claim, self.clock(), conn)),
            claim.lease,
            f"lease-{claim.table}-{claim.account}",
        )

    # -- prices ---------------------------------------------------------------------------

    def queue_price(self, conn: Connection, sku: str, price: Money, accounts: Sequence[str]) -> int:
        """Queue ``price`` of ``sku`` for ``accounts``; rows queued."""
        if not accounts:
            return 0
        now = self.clock()
        p = t.price_outbox.c
        current = {
            r.account: r.version
            for r in conn.execute(sa.select(p.account, p.version).where(p.sku == sku))
        }
        rows = [
            {
                "account": a,
                "sku": sku,
                "desired_amount": str(price.amount),
                "currency": price.currency,
                "version": current.get(a, 0) + 1,
                "attempts": 0,
                "next_attempt_at": now,
                "updated_at": now,
            }
            for a in accounts
        ]
        self.store.upsert(
            conn,
            t.price_outbox,
            rows,
            keys=("account", "sku"),
            update=(
                "desired_amount",
                "currency",
                "version",
                "attempts",
                "next_attempt_at",
                "updated_at",
            ),
        )
        for a in accounts:
            self.store.touched(conn, a)
        return len(rows)

    def claim_prices(self, account: str, limit: int, lease: timedelta) -> Claim[PendingPrice]:
        """Lease up to ``limit`` pending price rows of ``account`` that are due."""
        token = str(uuid.uuid4())

        def work(conn: Connection) -> Claim[PendingPrice]:
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
            claim: Claim[PendingPrice] = Claim("price_outbox", account, token, lease)
            if not rows:
                return claim
            skus = [r.sku for r in rows]
            conn.execute(
                t.price_outbox.update()
                .where(p.account == account, self.store.among(p.sku, skus))
                .values(lease_until=now + lease, claim_token=token)
            )
            listings = self.listings.get(conn, account, skus)
            claim.items = [
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
            return claim

        return self.store.run(work)

    def finish_prices(
        self,
        claim: Claim[PendingPrice],
        acks: Sequence[tuple[str, str]],
        failures: Sequence[tuple[str, str]],
    ) -> None:
        """Acknowledge (sku, amount) pairs and count failed (sku, error) items of ``claim``."""
        now = self.clock()

        def work(conn: Connection) -> None:
            p = t.price_outbox.c
            mine = p.claim_token == claim.token
            if acks:
                conn.execute(
                    t.price_outbox.update()
                    .where(p.account == claim.account, mine, p.sku == sa.bindparam("b_sku"))
                    .values(
                        acked_amount=sa.bindparam("b_amount"),
                        attempts=0,
                        last_error=None,
                        lease_until=None,
                        claim_token=None,
                    ),
                    [{"b_sku": sku, "b_amount": amount} for sku, amount in acks],
                )
            for sku, error in failures:
                tries = conn.execute(
                    sa.select(p.attempts).where(p.account == claim.account, p.sku == sku, mine)
                ).scalar()
                if tries is None:
                    continue
                conn.execute(
                    t.price_outbox.update()
                    .where(p.account == claim.account, p.sku == sku, mine)
                    .values(
                        attempts=tries + 1,
                        last_error=error[:2000],
                        next_attempt_at=now + backoff(tries + 1),
                        lease_until=None,
                        claim_token=None,
                    )
                )

        self.store.run(work)

    # -- shipments ------------------------------------------------------------------------

    def add_shipment(
        self, conn: Connection, account: str, order_id: str, key: str, shipment: Shipment
    ) -> bool:
        """Queue a shipment to push to the channel; False if ``key`` was queued before."""
        s = t.shipments.c
        if conn.execute(sa.select(s.id).where(s.idempotency_key == key)).first():
            return False
        now = self.clock()
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
        self.store.touched(conn, account)
        return True

    def shipment_status(self, conn: Connection, key: str) -> str | None:
        """Where the shipment queued under ``key`` stands: pending, pushed or failed."""
        s = t.shipments.c
        value = conn.execute(sa.select(s.status).where(s.idempotency_key == key)).scalar()
        return None if value is None else str(value)

    def claim_shipments(self, account: str, limit: int, lease: timedelta) -> Claim[PendingShipment]:
        """Lease the due shipments of ``account`` that the channel has not confirmed."""
        token = str(uuid.uuid4())

        def work(conn: Connection) -> Claim[PendingShipment]:
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
            claim: Claim[PendingShipment] = Claim("shipments", account, token, lease)
            if rows:
                conn.execute(
                    t.shipments.update()
                    .where(s.id.in_([r.id for r in rows]))
                    .values(lease_until=now + lease, claim_token=token)
                )
            claim.items = [
                PendingShipment(
                    r.id, account, r.order_id, Shipment.model_validate(r.shipment), r.attempts
                )
                for r in rows
            ]
            return claim

        return self.store.run(work)

    def finish_shipment(
        self,
        claim: Claim[PendingShipment],
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
            mine = sa.and_(s.id == shipment_id, s.claim_token == claim.token)
            if error is None:
                conn.execute(
                    t.shipments.update()
                    .where(mine)
                    .values(
                        status="pushed",
                        pushed_at=now,
                        last_error=None,
                        lease_until=None,
                        claim_token=None,
                    )
                )
                return
            tries = conn.execute(sa.select(s.attempts).where(mine)).scalar()
            if tries is None:
                return
            tries += 1
            conn.execute(
                t.shipments.update()
                .where(mine)
                .values(
                    attempts=tries,
                    last_error=error[:2000],
                    status="failed"
                    if (permanent and tries >= 3) or tries >= max_attempts
                    else "pending",
                    next_attempt_at=now + backoff(tries),
                    lease_until=None,
                    claim_token=None,
                )
            )

        self.store.run(work)
