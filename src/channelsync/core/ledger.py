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
from channelsync.core.models import Order, OrderLine, OrderStatus
from channelsync.core.planner import Planner
from channelsync.core.store import Store

__all__ = [
    "ApplyResult",
    "JournalEntry",
    "Ledger",
    "Posting",
    "line_targets",
    "order_version",
    "posting_key",
]

Contribution = dict[str, list[int]]  # sku -> [open_units, shipped_units]


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


class Ledger:
    """Posts stock changes to the ledger and journal inside the caller's transaction."""

    def __init__(self, store: Store, planner: Planner, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.planner = planner
        self.clock = clock

    # -- counts and adjustments -----------------------------------------------------------

    def set_on_hand_many(
        self,
        conn: Connection,
        counts: Mapping[str, int],
        *,
        source: str,
        key: str | None,
        note: str | None = None,
    ) -> ApplyResult:
        """Journal physical counts: on_hand of each SKU becomes its count.

        Set-based: one read of every SKU's level, one insert of the missing rows, one
        journal insert and one ledger update for the whole batch. Every count is journalled,
        an unchanged one too (it records when the figure was confirmed).
        """
        skus = sorted(counts)
        levels = self._levels(conn, skus, track=True)
        postings = [
            Posting(
                sku,
                counts[sku] - levels[sku][0],
                0,
                "set_on_hand",
                source,
                None,
                None,
                None,
                note,
                posting_key("set_on_hand", key, sku),
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
    ) -> ApplyResult:
        """Journal receipts, restocked returns or write-offs: on_hand += each delta."""
        skus = sorted(deltas)
        levels = self._levels(conn, skus, track=True)
        postings = [
            Posting(
                sku,
                deltas[sku],
                0,
                "adjust",
                source,
                None,
                None,
                None,
                reason,
                posting_key("adjust", key, sku),
            )
            for sku in skus
        ]
        result = ApplyResult()
        self.post(conn, postings, result, levels=levels)
        return result

    def levels(self, conn: Connection, skus: Iterable[str]) -> dict[str, tuple[int, int, bool]]:
        """Current (on_hand, committed, tracked) of those ``skus`` the ledger has (no lock)."""
        return {
            r.sku: (r.on_hand, r.committed, bool(r.tracked))
            for r in conn.execute(
                sa.select(
                    t.ledger.c.sku, t.ledger.c.on_hand, t.ledger.c.committed, t.ledger.c.tracked
                ).where(self.store.among(t.ledger.c.sku, skus))
            )
        }

    # -- the one write path ---------------------------------------------------------------

    def post(
        self,
        conn: Connection,
        postings: Sequence[Posting],
        result: ApplyResult,
        levels: dict[str, list[int]] | None = None,
    ) -> None:
        """Journal ``postings`` and apply them to the ledger, then recompute what every
        listing of the touched SKUs should show (in the same transaction)."""
        if not postings:
            return
        skus = {p.sku for p in postings}
        if levels is None:
            levels = self._levels(conn, skus)
        now = self.clock()
        journal_rows = []
        for p in postings:
            level = levels[p.sku]
            level[0] += p.d_on_hand
            level[1] += p.d_committed
            journal_rows.append(
                {
                    "at": now,
                    "sku": p.sku,
                    "d_on_hand": p.d_on_hand,
                    "d_committed": p.d_committed,
                    "on_hand_after": level[0],
                    "committed_after": level[1],
                    "reason": p.reason,
                    "source": p.source,
                    "account": p.account,
                    "order_id": p.order_id,
                    "line_id": p.line_id,
                    "note": p.note,
                    "idempotency_key": p.key,
                }
            )
        # A duplicate key raises a unique violation on the journal's key: a race lost to
        # another worker. Store.run repeats the transaction, which then finds it applied.
        self.store.bulk(conn, t.journal, journal_rows)
        self.store.bulk(
            conn,
            t.ledger,
            [
                {"on_hand": levels[s][0], "committed": levels[s][1], "updated_at": now, "sku": s}
                for s in sorted(skus)
            ],
            where=("sku",),
        )
        result.journal_rows += len(journal_rows)
        result.touched_skus |= skus
        for s in skus:
            if not levels[s][2]:
                result.unknown_skus.add(s)
            if levels[s][0] - levels[s][1] < 0:
                result.oversold[s] = levels[s][0] - levels[s][1]
        self.planner.recompute(conn, skus)

    def _levels(
        self, conn: Connection, skus: Iterable[str], *, track: bool = False
    ) -> dict[str, list[int]]:
        """Current [on_hand, committed, tracked] of ``skus``, creating and locking their rows."""
        skus = sorted(set(skus))

        def read(wanted: list[str]) -> dict[str, list[int]]:
            query = (
                sa.select(
                    t.ledger.c.sku, t.ledger.c.on_hand, t.ledger.c.committed, t.ledger.c.tracked
                )
                .where(self.store.among(t.ledger.c.sku, wanted))
                .order_by(t.ledger.c.sku)
            )
            return {
                r.sku: [r.on_hand, r.committed, r.tracked]
                for r in conn.execute(self.store.for_update(query))
            }

        levels = read(skus)
        missing = [s for s in skus if s not in levels]
        if missing:
            now = self.clock()
            rows = [
                {"sku": s, "on_hand": 0, "committed": 0, "tracked": track, "updated_at": now}
                for s in missing
            ]
            self.store.bulk(conn, t.ledger, rows, keys=("sku",))  # DO NOTHING if another worker won
            levels.update(read(missing))
        if track:
            untracked = [s for s in skus if not levels[s][2]]
            if untracked:
                conn.execute(
                    t.ledger.update()
                    .where(self.store.among(t.ledger.c.sku, untracked))
                    .values(tracked=True)
                )
                for s in untracked:
                    levels[s][2] = True
        return levels


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
