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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import ChannelLimits
from channelsync.core.leases import Claim, LeaseKeeper, release_claim, renew_claim
from channelsync.core.listings import Listings
from channelsync.core.locations import LocationBook
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
RowKey = str | tuple[str, str]
"""An outbox row of an account: a SKU (the listing's one quantity) or (SKU, location)."""


V = TypeVar("V")
Keyed = Mapping[str, V] | Mapping[tuple[str, str], V]
"""Values by row key: all by SKU, or all by (SKU, location)."""


def _key(key: RowKey) -> tuple[str, str]:
    return (key, "") if isinstance(key, str) else key


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
    """A claimed outbox row: the value to send and the channel ids to send it to.

    ``location`` is our location name for channels that keep a quantity per location,
    "" for the listing's one quantity.
    """

    account: str
    sku: str
    desired: int
    acked: int | None
    version: int
    attempts: int
    listing: Listing | None
    location: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """The row's (SKU, location)."""
        return (self.sku, self.location)


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

    def __init__(
        self,
        store: Store,
        listings: Listings,
        clock: Callable[[], datetime],
        locations: LocationBook | None = None,
    ) -> None:
        self.store = store
        self.listings = listings
        self.clock = clock
        self.locations = locations or LocationBook()

    # -- desired values -------------------------------------------------------------------

    def _rows(
        self, conn: Connection, account: str, keys: Iterable[RowKey], *columns: Any
    ) -> dict[tuple[str, str], Any]:
        """Lock and read the rows of ``keys`` on ``account`` (in SKU, location order)."""
        wanted = {_key(k) for k in keys}
        o = t.outbox.c
        rows = conn.execute(
            self.store.for_update(
                sa.select(o.sku, o.location, *columns)
                .where(o.account == account, self.store.among(o.sku, {sku for sku, _ in wanted}))
                .order_by(o.sku, o.location)
            )
        )
        return {(r.sku, r.location): r for r in rows if (r.sku, r.location) in wanted}

    def set_desired(self, conn: Connection, account: str, desired: Keyed[int]) -> int:
        """Write the quantity each listing of ``account`` (at each of its channel locations)
        should show; rows changed.

        A new row starts acknowledged at what the channel showed when its listing was
        imported (diff-only from the start).
        """
        if not desired:
            return 0
        wanted = {_key(k): q for k, q in desired.items()}
        o = t.outbox.c
        now = self.clock()
        current = self._rows(conn, account, wanted, o.desired, o.version, o.next_attempt_at)
        updates = [
            {
                "desired": qty,
                "version": current[key].version + 1,
                "updated_at": now,
                # A drop goes out at once, whatever held the row back (issue 12: a revision
                # budget or a settling write holds increases, never drops).
                "next_attempt_at": min(now, current[key].next_attempt_at)
                if qty < current[key].desired
                else current[key].next_attempt_at,
                "account": account,
                "sku": key[0],
                "location": key[1],
            }
            for key, qty in sorted(wanted.items())
            if key in current and current[key].desired != qty
        ]
        missing = sorted(key for key in wanted if key not in current)
        if updates:
            self.store.bulk(conn, t.outbox, updates, where=("account", "sku", "location"))
        if missing:
            shown = self.listings.shown(
                conn,
                account,
                sorted({sku for sku, _ in missing}),
                self.locations.of(account).channel_ids,
            )
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {
                        "account": account,
                        "sku": sku,
                        "location": location,
                        "desired": wanted[(sku, location)],
                        "acked": shown.get((sku, location)),
                        "stale": False,
                        "version": 1,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "updated_at": now,
                    }
                    for sku, location in missing
                ],
                keys=("account", "sku", "location"),
            )
        changed = len(updates) + len(missing)
        if changed:
            self.store.touched(conn, account)
        return changed

    def channel_moved(
        self, conn: Connection, account: str, moved: Keyed[Sequence[ChannelMove]]
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
        revisions per listing and day). Keys are SKUs (the listing's one quantity) or
        (SKU, location) for channels that keep a quantity per location.
        """
        if not moved:
            return
        by_key = {_key(k): v for k, v in moved.items()}
        o = t.outbox.c
        rows = self._rows(conn, account, by_key, o.acked, o.acked_at, o.stale)
        updates = []
        for key, r in sorted(rows.items()):
            recent = [m for m in by_key[key] if _after(m.at, r.acked_at)]
            taken = sum(m.units for m in recent)
            stale = bool(r.stale) or any(m.unsure for m in by_key[key])
            if not taken and stale == bool(r.stale):
                continue
            acked = None if r.acked is None else max(0, r.acked - taken)
            updates.append(
                {
                    "acked": acked,
                    "stale": stale,
                    "account": account,
                    "sku": key[0],
                    "location": key[1],
                }
            )
        self.store.bulk(conn, t.outbox, updates, where=("account", "sku", "location"))
        if updates:
            self.store.touched(conn, account)

    def imported(self, conn: Connection, account: str, shown: Sequence[tuple[RowKey, int]]) -> None:
        """An import read what the channel shows: that is what it has acknowledged."""
        if shown:
            now = self.clock()
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {
                        "acked": q,
                        "stale": False,
                        "acked_at": now,
                        "account": account,
                        "sku": _key(k)[0],
                        "location": _key(k)[1],
                    }
                    for k, q in shown
                ],
                where=("account", "sku", "location"),
            )

    def forget(self, conn: Connection, account: str, skus: Sequence[str]) -> None:
        """Drop the rows (every location's) of listings the channel no longer has."""
        if skus:
            o = t.outbox.c
            conn.execute(
                t.outbox.delete().where(o.account == account, self.store.among(o.sku, skus))
            )

    def acked(
        self, conn: Connection, account: str, skus: Sequence[str]
    ) -> dict[tuple[str, str], int | None]:
        """The acknowledged value of every row of ``skus`` on ``account``, by (SKU, location)."""
        o = t.outbox.c
        return {
            (r.sku, r.location): r.acked
            for r in conn.execute(
                sa.select(o.sku, o.location, o.acked).where(
                    o.account == account, self.store.among(o.sku, skus)
                )
            )
        }

    def correct(self, conn: Connection, account: str, shows: Keyed[int]) -> int:
        """Reconcile found listings showing other values: push the ledger's value next.

        The acknowledged value becomes what the channel was seen to show, and the row is
        due now (pushed even if that equals the desired value); returns rows queued.
        """
        if not shows:
            return 0
        now = self.clock()
        wanted = {_key(k): q for k, q in shows.items()}
        held = self._rows(conn, account, wanted)
        self.store.bulk(
            conn,
            t.outbox,
            [
                {
                    "acked": qty,
                    "acked_at": now,
                    "stale": True,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": None,
                    "account": account,
                    "sku": key[0],
                    "location": key[1],
                }
                for key, qty in sorted(wanted.items())
                if key in held
            ],
            where=("account", "sku", "location"),
        )
        if held:
            self.store.touched(conn, account)
        return len(held)

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
                sa.select(o.sku, o.location, o.desired, o.acked, o.version, o.attempts)
                .where(
                    o.account == account,
                    sa.or_(o.acked.is_(None), o.acked != o.desired, o.stale.is_(True)),
                    o.next_attempt_at <= now,
                    sa.or_(o.lease_until.is_(None), o.lease_until < now),
                )
                .order_by(o.next_attempt_at, o.sku, o.location)
                .limit(limit)
            )
            rows = conn.execute(self.store.for_update_skip_locked(query)).all()
            claim: Claim[PendingStock] = Claim("outbox", account, token, lease)
            if not rows:
                return claim
            self.store.bulk(
                conn,
                t.outbox,
                [
                    {
                        "lease_until": now + lease,
                        "claim_token": token,
                        "account": account,
                        "sku": r.sku,
                        "location": r.location,
                    }
                    for r in rows
                ],
                where=("account", "sku", "location"),
            )
            listings = self.listings.get(conn, account, sorted({r.sku for r in rows}))
            claim.items = [
                PendingStock(
                    account,
                    r.sku,
                    r.desired,
                    r.acked,
                    r.version,
                    r.attempts,
                    listings.get(r.sku),
                    r.location,
                )
                for r in rows
            ]
            return claim

        return self.store.run(work)

    def _held(
        self, conn: Connection, claim: Claim[PendingStock], keys: Iterable[RowKey], *columns: Any
    ) -> dict[tuple[str, str], Any]:
        """Lock and read those of ``keys`` still held by ``claim``."""
        o = t.outbox.c
        rows = self._rows(conn, claim.account, keys, o.claim_token, *columns)
        return {k: r for k, r in rows.items() if r.claim_token == claim.token}

    def ack_stock(
        self, claim: Claim[PendingStock], acks: Sequence[tuple[RowKey, int]]
    ) -> list[tuple[str, str]]:
        """Record that the channel now shows these (row, quantity) values; a row is a SKU or
        (SKU, location).

        Only rows still held by ``claim`` are acknowledged (a row whose lease ran out and
        was claimed again belongs to its new holder); returns the rows acknowledged.
        """
        if not acks:
            return []
        now = self.clock()
        wanted = [(_key(k), q) for k, q in acks]

        def work(conn: Connection) -> list[tuple[str, str]]:
            o = t.outbox.c
            held = self._held(conn, claim, [k for k, _ in wanted], o.desired)
            mine = [(k, q) for k, q in wanted if k in held]
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
                        "sku": k[0],
                        "location": k[1],
                    }
                    for k, q in mine
                ],
                where=("account", "sku", "location"),
            )
            self.listings.record_shown(
                conn, claim.account, [(k[0], q) for k, q in mine if not k[1]]
            )
            # Desired moved during the push: the row is pending again at once.
            if any(held[k].desired != q for k, q in mine):
                self.store.touched(conn, claim.account)
            return [k for k, _ in mine]

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
        failures: Sequence[tuple[RowKey, str, timedelta | None, int | None]],
    ) -> None:
        """Record failed items: (row, error text, retry delay or None for backoff, channel
        qty); a row is a SKU or (SKU, location).

        A known channel quantity (a lost compare-and-set) becomes the acknowledged value,
        so the next push compares against what the channel really shows. Only rows still
        held by ``claim`` are changed.
        """
        if not failures:
            return
        now = self.clock()

        def work(conn: Connection) -> None:
            o = t.outbox.c
            rows = self._held(conn, claim, [f[0] for f in failures], o.attempts, o.desired)
            updates = []
            for key, error, delay, current in failures:
                row = rows.get(_key(key))
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
                sku, location = _key(key)
                updates.append((sku, location, values))
            for sku, location, values in updates:
                conn.execute(
                    t.outbox.update()
                    .where(o.account == claim.account, o.sku == sku, o.location == location)
                    .values(**values)
                )

        self.store.run(work)

    def defer(
        self,
        claim: Claim[PendingStock],
        items: Sequence[tuple[RowKey, datetime, str]],
        *,
        release: bool,
    ) -> None:
        """Look at these (row, not before, why) claimed rows again later, counting no
        failure; a row is a SKU or (SKU, location).

        ``release`` gives up their lease too (rows not pushed now). Only rows still held by
        ``claim`` change.
        """
        if not items:
            return

        def work(conn: Connection) -> None:
            o = t.outbox.c
            held = self._held(conn, claim, [k for k, _, _ in items])
            for key, until, why in items:
                if _key(key) not in held:
                    continue
                values: dict[str, Any] = {"next_attempt_at": until, "last_error": why[:2000]}
                if release:
                    values.update(lease_until=None, claim_token=None)
                sku, location = _key(key)
                conn.execute(
                    t.outbox.update()
                    .where(o.account == claim.account, o.sku == sku, o.location == location)
                    .values(**values)
                )

        self.store.run(work)

    def recheck(self, account: str, items: Sequence[tuple[RowKey, datetime]]) -> None:
        """Claim these (row, at) rows again at ``at`` even if nothing changes (``stale``):
        a channel that applies writes later must be read back once they have settled."""
        if not items:
            return

        def work(conn: Connection) -> None:
            o = t.outbox.c
            rows = self._rows(conn, account, [k for k, _ in items], o.claim_token)
            for key, at in items:
                row = rows.get(_key(key))
                if row is None or row.claim_token is not None:
                    continue
                sku, location = _key(key)
                conn.execute(
                    t.outbox.update()
                    .where(o.account == account, o.sku == sku, o.location == location)
                    .values(stale=True, next_attempt_at=at)
                )

        self.store.run(work)

    def release(self, claim: Claim[Any], keys: Sequence[Any] | None = None) -> None:
        """Give up the lease of claimed rows that were not pushed (all of them by default):
        shipment ids, or SKUs for prices; for stock rows SKUs (every location of each)."""
        table = _TABLES[claim.table]
        key = table.c.id if claim.table == "shipments" else table.c.sku
        if claim.table == "outbox" and keys is not None:
            keys = sorted({_key(k)[0] for k in keys})
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
