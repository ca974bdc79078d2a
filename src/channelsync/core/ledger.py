"""The stock ledger: on_hand and committed per SKU, changed only through the journal.

This module alone writes the ``ledger`` and ``journal`` tables. Everything that moves
stock hands it postings (a delta of on_hand and committed for one SKU, with its reason,
source and idempotency key): order lines (``core/orderbook.py`` computes what each line
contributes, with ``line_targets`` below), counts, adjustments and shipments. A posting
whose key is in the journal already is a race lost to another worker: the store repeats
the transaction, which then finds the transition applied.

Each order line remembers what it currently contributes to the ledger (open units and
shipped units, per SKU it touches). A new version of the order computes what the line
should contribute now; the difference is journalled under an idempotency key made of the
line and the order version, and applied. So however often, in whatever order and through
however many workers the same order arrives, each transition applies once, and an older
version never undoes a newer one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.errors import InvalidInput
from channelsync.core.locations import DEFAULT_LOCATION
from channelsync.core.models import MAX_QUANTITY, Order, OrderLine, OrderStatus
from channelsync.core.planner import Planner
from channelsync.core.store import Store

__all__ = [
    "CORRECTION",
    "DEFAULT_LOCATION",
    "ApplyResult",
    "JournalEntry",
    "Ledger",
    "Levels",
    "Posting",
    "line_targets",
    "order_version",
    "posting_key",
]

Contribution = dict[str, list[int]]  # sku -> [open_units, shipped_units]

#: The journal reason of a listing correction queued by ``reconcile(fix=True)``.
CORRECTION = "reconcile"


@dataclass(frozen=True)
class JournalEntry:
    """One row of the append-only journal: a change of one SKU's figures and why."""

    id: int
    at: datetime
    sku: str
    d_on_hand: int
    d_committed: int
    on_hand_after: int
    committed_after: int
    reason: str
    source: str
    account: str | None
    order_id: str | None
    line_id: str | None
    note: str | None
    idempotency_key: str
    location: str = DEFAULT_LOCATION


@dataclass
class ApplyResult:
    """What applying a batch of orders did."""

    new: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    journal_rows: int = 0
    touched_skus: set[str] = field(default_factory=set)
    unknown_skus: set[str] = field(default_factory=set)
    oversold: dict[str, int] = field(default_factory=dict)

    def merge(self, other: ApplyResult) -> None:
        """Fold ``other`` into this result."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.journal_rows += other.journal_rows
        self.touched_skus |= other.touched_skus
        self.unknown_skus |= other.unknown_skus
        self.oversold.update(other.oversold)


_STATUS_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.OPEN: 1,
    OrderStatus.PARTIALLY_SHIPPED: 2,
    OrderStatus.SHIPPED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.REFUNDED: 5,
}


def order_version(order: Order) -> str:
    """A sortable version of an order: its change time, then how far along it is, then a
    digest of its stock content.

    Two deliveries of the same state have the same version. Of two states with the same
    ``updated_at`` (channels whose timestamps have seconds, or do not move on every change)
    the one further along its life wins: a later status, then more units shipped or
    cancelled; only then the digest decides, on every worker alike.
    """
    content = repr(
        (
            order.status.value,
            order.raw_status,
            tuple(
                (
                    ln.line_id,
                    ln.sku,
                    ln.quantity,
                    ln.quantity_shipped,
                    ln.quantity_cancelled,
                    ln.fulfilled_by_channel,
                )
                for ln in order.lines
            ),
        )
    )
    digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
    progress = sum(ln.quantity_shipped + ln.quantity_cancelled for ln in order.lines)
    stamp = order.updated_at.isoformat(timespec="microseconds")
    return f"{stamp}|{_STATUS_RANK[order.status]}|{min(progress, 999_999):06d}|{digest}"


def line_targets(
    status: OrderStatus,
    line: OrderLine | None,
    local_shipped: int,
    bundles: Mapping[str, Mapping[str, int]],
    local_cancelled: int = 0,
) -> Contribution:
    """What a line should contribute to the ledger in ``status``: SKU -> [open, shipped].

    Lines without a SKU and lines the channel fulfils itself contribute nothing. Units
    shipped through ``engine.ship`` count as shipped even before the channel reports them;
    units cancelled through ``engine.cancel`` or ``engine.refund`` count as cancelled even
    where the channel never says so (an eBay refund leaves the line's quantity as it was).
    A bundle line contributes to each component, times the component quantity.
    """
    if line is None or line.sku is None or line.fulfilled_by_channel:
        return {}
    live = line.quantity - min(line.quantity, max(line.quantity_cancelled, local_cancelled))
    shipped = max(line.quantity_shipped, local_shipped)
    if status is OrderStatus.SHIPPED:
        shipped = live
    shipped = min(shipped, live)
    open_units = live - shipped if status.commits_stock else 0
    components = bundles.get(line.sku) or {line.sku: 1}
    return {sku: [open_units * k, shipped * k] for sku, k in components.items()}


@dataclass
class Levels:
    """Locked figures of some SKUs: totals and every location's, changed as postings apply.

    ``totals``: SKU -> [on_hand, committed, tracked]; ``at``: (SKU, location) ->
    [on_hand, committed] for every location the SKU has a row at.
    """

    totals: dict[str, list[int]] = field(default_factory=dict)
    at: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def available(self, sku: str, location: str) -> int:
        """on_hand - committed of ``sku`` at ``location`` (0 where it has no row)."""
        row = self.at.get((sku, location))
        return 0 if row is None else row[0] - row[1]

    def locations(self, sku: str) -> list[str]:
        """The locations ``sku`` has a row at, sorted."""
        return sorted(loc for s, loc in self.at if s == sku)


class Ledger:
    """Posts stock changes to the ledger and journal inside the caller's transaction.

    Locks are taken in one order by every writer: the SKUs' total rows (by SKU), then their
    rows per location (by SKU and location); the outbox rows after both.
    """

    def __init__(self, store: Store, planner: Planner, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.planner = planner
        self.clock = clock

    # -- counts, adjustments, transfers -----------------------------------------------------

    def set_on_hand_many(
        self,
        conn: Connection,
        counts: Mapping[str, int],
        *,
        source: str,
        key: str | None,
        note: str | None = None,
        location: str = DEFAULT_LOCATION,
    ) -> ApplyResult:
        """Journal physical counts at ``location``: on_hand of each SKU there becomes its count.

        Set-based: one read of every SKU's rows, one insert of the missing ones, one
        journal insert and one update per table for the whole batch. Every count is
        journalled, an unchanged one too (it records when the figure was confirmed).
        """
        skus = sorted(counts)
        levels = self.lock(conn, skus, [(s, location) for s in skus], track=True)
        postings = [
            Posting(
                sku,
                counts[sku] - levels.at[(sku, location)][0],
                0,
                "set_on_hand",
                source,
                None,
                None,
                None,
                note,
                posting_key("set_on_hand", key, sku),
                location,
            )
            for sku in skus
        ]
        result = ApplyResult()
        self.post(conn, postings, result, levels=levels)
        return result

    def adjust_many(
        self,
        conn: Connection,
        deltas: Mapping[str, int],
        reason: str,
        *,
        source: str,
        key: str | None,
        location: str = DEFAULT_LOCATION,
        allow_negative: bool = False,
    ) -> ApplyResult:
        """Journal receipts, restocked returns or write-offs at ``location``: on_hand there
        += each delta.

        Raises:
            InvalidInput: a delta would take on_hand at ``location`` below zero and
                ``allow_negative`` is false (nothing is written). With ``allow_negative``
                such a row is journalled with the reason ``adjust (below zero allowed)``.
        """
        skus = sorted(deltas)
        levels = self.lock(conn, skus, [(s, location) for s in skus], track=True)
        below = {
            s: levels.at[(s, location)][0]
            for s in skus
            if levels.at[(s, location)][0] + deltas[s] < 0
        }
        if below and not allow_negative:
            sku = min(below)
            raise InvalidInput(
                f"adjust of {sku!r} by {deltas[sku]} at {location!r} would take on hand from"
                f" {below[sku]} to {below[sku] + deltas[sku]}: below zero is refused unless"
                " allow_negative=True (or count the stock with set_on_hand)"
            )
        postings = [
            Posting(
                sku,
                deltas[sku],
                0,
                "adjust (below zero allowed)" if sku in below else "adjust",
                source,
                None,
                None,
                None,
                reason,
                posting_key("adjust", key, sku),
                location,
            )
            for sku in skus
        ]
        result = ApplyResult()
        self.post(conn, postings, result, levels=levels)
        return result

    def transfer(
        self,
        conn: Connection,
        sku: str,
        units: int,
        source_location: str,
        target_location: str,
        *,
        source: str,
        key: str | None,
        note: str | None = None,
    ) -> ApplyResult:
        """Move ``units`` on hand of ``sku`` from one location to another (two journal rows
        under one key); the total does not change.

        Raises:
            InvalidInput: the source location has fewer units on hand than that.
        """
        keys = [(sku, source_location), (sku, target_location)]
        levels = self.lock(conn, [sku], keys, track=True)
        there = levels.at[(sku, source_location)][0]
        if there < units:
            raise InvalidInput(
                f"transfer of {units} x {sku!r} from {source_location!r}: only {there} on hand"
                " there (count it first, or transfer fewer)"
            )
        reason = f"transfer {source_location} -> {target_location}"
        postings = [
            Posting(sku, -units, 0, "transfer", source, None, None, None, note or reason,
                    posting_key("transfer-out", key, sku), source_location),
            Posting(sku, units, 0, "transfer", source, None, None, None, note or reason,
                    posting_key("transfer-in", key, sku), target_location),
        ]  # fmt: skip
        result = ApplyResult()
        self.post(conn, postings, result, levels=levels)
        return result

    # -- reconcile corrections ------------------------------------------------------------------

    def journal_corrections(
        self,
        conn: Connection,
        account: str,
        corrections: Sequence[tuple[str, str, int, int, int | None]],
        *,
        source: str,
    ) -> int:
        """Journal listing corrections of ``reconcile --fix``: one row per (SKU, location,
        what the channel showed, what it is set to, what it last acknowledged).

        The rows change no figure (both deltas 0, reason ``reconcile``): they record who
        (``source``), when, on which ``account`` and from what to what, so ``explain`` and
        ``corrections`` show the fix. ``on_hand_after``/``committed_after`` are the figures
        at the location (a pooled listing, location "": the SKU's totals).
        """
        if not corrections:
            return 0
        skus = sorted({c[0] for c in corrections})
        totals = self.levels(conn, skus)
        at = self.location_levels(conn, skus)
        now = self.clock()
        rows = []
        for sku, location, shows, should, acked in corrections:
            figures = (
                at.get((sku, location), (0, 0)) if location else totals.get(sku, (0, 0, False))
            )
            rows.append(
                {
                    "at": now,
                    "sku": sku,
                    "d_on_hand": 0,
                    "d_committed": 0,
                    "on_hand_after": figures[0],
                    "committed_after": figures[1],
                    "reason": CORRECTION,
                    "source": source,
                    "account": account,
                    "order_id": None,
                    "line_id": None,
                    "note": f"{account}{f' @ {location}' if location else ''} showed {shows},"
                    f" set to {should}"
                    + (f" (last acknowledged {acked})" if acked is not None else ""),
                    "idempotency_key": f"reconcile:{uuid.uuid4()}",
                    "location": location,
                }
            )
        self.store.bulk(conn, t.journal, rows)
        return len(rows)

    def corrections(
        self, conn: Connection, *, account: str | None = None, limit: int | None = 50
    ) -> list[JournalEntry]:
        """The journalled reconcile corrections, newest first (of ``account``, or all)."""
        j = t.journal.c
        query = sa.select(t.journal).where(j.reason == CORRECTION).order_by(j.id.desc())
        if account is not None:
            query = query.where(j.account == account)
        if limit is not None:
            query = query.limit(limit)
        return [JournalEntry(**r._mapping) for r in conn.execute(query)]

    # -- reading ------------------------------------------------------------------------------

    def levels(self, conn: Connection, skus: Iterable[str]) -> dict[str, tuple[int, int, bool]]:
        """Current (on_hand, committed, tracked) totals of those ``skus`` the ledger has."""
        return {
            r.sku: (r.on_hand, r.committed, bool(r.tracked))
            for r in conn.execute(
                sa.select(
                    t.ledger.c.sku, t.ledger.c.on_hand, t.ledger.c.committed, t.ledger.c.tracked
                ).where(self.store.among(t.ledger.c.sku, skus))
            )
        }

    def location_levels(
        self, conn: Connection, skus: Iterable[str]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """Current (on_hand, committed) of ``skus`` per location they have a row at."""
        ll = t.ledger_locations.c
        return {
            (r.sku, r.location): (r.on_hand, r.committed)
            for r in conn.execute(
                sa.select(ll.sku, ll.location, ll.on_hand, ll.committed).where(
                    self.store.among(ll.sku, skus)
                )
            )
        }

    # -- the one write path ---------------------------------------------------------------

    def post(
        self,
        conn: Connection,
        postings: Sequence[Posting],
        result: ApplyResult,
        levels: Levels | None = None,
    ) -> None:
        """Journal ``postings`` and apply them to the SKUs' rows at their locations and to
        their totals, then recompute what every listing of the touched SKUs should show
        (in the same transaction)."""
        if not postings:
            return
        skus = {p.sku for p in postings}
        keys = {(p.sku, p.location) for p in postings}
        if levels is None or not keys <= levels.at.keys():
            levels = self.lock(conn, skus, keys)
        now = self.clock()
        journal_rows = []
        for p in postings:
            total = levels.totals[p.sku]
            total[0] += p.d_on_hand
            total[1] += p.d_committed
            here = levels.at[(p.sku, p.location)]
            here[0] += p.d_on_hand
            here[1] += p.d_committed
            if max(abs(total[0]), abs(total[1]), abs(here[0]), abs(here[1])) > MAX_QUANTITY:
                raise InvalidInput(
                    f"{p.reason} of {p.sku!r}: on hand {total[0]}, committed {total[1]} would"
                    f" leave the 64-bit range quantities are kept in (at most {MAX_QUANTITY})"
                )
            journal_rows.append(
                {
                    "at": now,
                    "sku": p.sku,
                    "d_on_hand": p.d_on_hand,
                    "d_committed": p.d_committed,
                    "on_hand_after": here[0],
                    "committed_after": here[1],
                    "reason": p.reason,
                    "source": p.source,
                    "account": p.account,
                    "order_id": p.order_id,
                    "line_id": p.line_id,
                    "note": p.note,
                    "idempotency_key": p.key,
                    "location": p.location,
                }
            )
        # A duplicate key raises a unique violation on the journal's key: a race lost to
        # another worker. Store.run repeats the transaction, which then finds it applied.
        self.store.bulk(conn, t.journal, journal_rows)
        self.store.bulk(
            conn,
            t.ledger,
            [
                {
                    "on_hand": levels.totals[s][0],
                    "committed": levels.totals[s][1],
                    "updated_at": now,
                    "sku": s,
                }
                for s in sorted(skus)
            ],
            where=("sku",),
        )
        self.store.bulk(
            conn,
            t.ledger_locations,
            [
                {
                    "on_hand": levels.at[k][0],
                    "committed": levels.at[k][1],
                    "updated_at": now,
                    "sku": k[0],
                    "location": k[1],
                }
                for k in sorted(keys)
            ],
            where=("sku", "location"),
        )
        result.journal_rows += len(journal_rows)
        result.touched_skus |= skus
        for s in skus:
            total = levels.totals[s]
            if not total[2]:
                result.unknown_skus.add(s)
            if total[0] - total[1] < 0:
                result.oversold[s] = total[0] - total[1]
        self.planner.recompute(conn, skus)

    def lock(
        self,
        conn: Connection,
        skus: Iterable[str],
        keys: Iterable[tuple[str, str]] = (),
        *,
        track: bool = False,
    ) -> Levels:
        """Lock and read the totals of ``skus`` and all their rows per location, creating
        the rows that do not exist yet (totals, and the (SKU, location) ``keys``).

        With ``track`` the SKUs become tracked (the merchant counted them).
        """
        skus = sorted(set(skus) | {k[0] for k in keys})
        wanted = set(keys)
        now = self.clock()
        ledger, ll = t.ledger.c, t.ledger_locations.c

        def read_totals(which: list[str]) -> dict[str, list[int]]:
            query = (
                sa.select(ledger.sku, ledger.on_hand, ledger.committed, ledger.tracked)
                .where(self.store.among(ledger.sku, which))
                .order_by(ledger.sku)
            )
            return {
                r.sku: [r.on_hand, r.committed, r.tracked]
                for r in conn.execute(self.store.for_update(query))
            }

        totals = read_totals(skus)
        missing = [s for s in skus if s not in totals]
        if missing:
            rows = [
                {"sku": s, "on_hand": 0, "committed": 0, "tracked": track, "updated_at": now}
                for s in missing
            ]
            self.store.bulk(conn, t.ledger, rows, keys=("sku",))  # DO NOTHING if another worker won
            totals.update(read_totals(missing))
        query = (
            sa.select(ll.sku, ll.location, ll.on_hand, ll.committed)
            .where(self.store.among(ll.sku, skus))
            .order_by(ll.sku, ll.location)
        )
        at = {
            (r.sku, r.location): [r.on_hand, r.committed]
            for r in conn.execute(self.store.for_update(query))
        }
        absent = sorted(wanted - at.keys())
        if absent:
            self.store.bulk(
                conn,
                t.ledger_locations,
                [
                    {"sku": s, "location": loc, "on_hand": 0, "committed": 0, "updated_at": now}
                    for s, loc in absent
                ],
                keys=("sku", "location"),
            )
            for k in absent:
                at[k] = [0, 0]
        if track:
            untracked = [s for s in skus if not totals[s][2]]
            if untracked:
                conn.execute(
                    t.ledger.update()
                    .where(self.store.among(ledger.sku, untracked))
                    .values(tracked=True)
                )
                for s in untracked:
                    totals[s][2] = True
        return Levels(totals=totals, at=at)


def posting_key(operation: str, key: str | None, sku: str) -> str:
    """The journal key of one SKU of a caller's operation (a random one without a key).

    Readable where it fits the column (``set_on_hand:erp-2291:MUG-1``), else a digest.
    """
    if key is None:
        return f"{operation}:{uuid.uuid4()}"
    text = f"{operation}:{key}:{sku}"
    if len(text) <= 500:
        return text
    return f"{operation}:sha256:{hashlib.sha256(text.encode()).hexdigest()}"


@dataclass(frozen=True, slots=True)
class Posting:
    """One change of one SKU's figures, to be journalled: deltas, why, and its key."""

    sku: str
    d_on_hand: int
    d_committed: int
    reason: str
    source: str
    account: str | None
    order_id: str | None
    line_id: str | None
    note: str | None
    key: str
    location: str = DEFAULT_LOCATION
