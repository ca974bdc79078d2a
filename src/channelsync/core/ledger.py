"""The stock ledger: on_hand and committed per SKU, changed only through the journal.

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
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.models import Order, OrderLine, OrderStatus, Shipment
from channelsync.core.planner import Planner
from channelsync.core.store import Store

__all__ = ["ApplyResult", "JournalEntry", "Ledger", "line_targets", "order_version"]

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
) -> Contribution:
    """What a line should contribute to the ledger in ``status``: SKU -> [open, shipped].

    Lines without a SKU and lines the channel fulfils itself contribute nothing. Units
    shipped through ``engine.ship`` count as shipped even before the channel reports them.
    A bundle line contributes to each component, times the component quantity.
    """
    if line is None or line.sku is None or line.fulfilled_by_channel:
        return {}
    live = line.quantity - line.quantity_cancelled
    shipped = max(line.quantity_shipped, local_shipped)
    if status is OrderStatus.SHIPPED:
        shipped = live
    shipped = min(shipped, live)
    open_units = live - shipped if status.commits_stock else 0
    components = bundles.get(line.sku) or {line.sku: 1}
    return {sku: [open_units * k, shipped * k] for sku, k in components.items()}


class Ledger:
    """Applies orders, counts and adjustments to the ledger inside the caller's transaction."""

    def __init__(self, store: Store, planner: Planner, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.planner = planner
        self.clock = clock

    # -- orders ---------------------------------------------------------------------------

    def apply_orders(self, conn: Connection, orders: Sequence[Order]) -> ApplyResult:
        """Apply the newest version of each order in ``orders``; older versions are ignored."""
        result = ApplyResult()
        latest: dict[tuple[str, str], tuple[str, Order]] = {}
        for order in orders:
            key = (order.account, order.order_id)
            version = order_version(order)
            if key not in latest or version > latest[key][0]:
                latest[key] = (version, order)
        result.unchanged += len(orders) - len(latest)
        by_account: dict[str, list[tuple[str, Order]]] = defaultdict(list)
        for (account, _), item in sorted(latest.items()):
            by_account[account].append(item)
        pending: list[_Row] = []
        for account, items in by_account.items():
            pending += self._apply_account(conn, account, items, result)
        self._commit_rows(conn, pending, result)
        return result

    def _apply_account(
        self, conn: Connection, account: str, items: list[tuple[str, Order]], result: ApplyResult
    ) -> list[_Row]:
        ids = [o.order_id for _, o in items]
        stored: dict[str, str] = {}
        stored_status: dict[str, str] = {}
        redacted: set[str] = set()
        for r in conn.execute(
            self.store.for_update(
                sa.select(
                    t.orders.c.order_id,
                    t.orders.c.version,
                    t.orders.c.status,
                    t.orders.c.redacted_at,
                )
                .where(t.orders.c.account == account, self.store.among(t.orders.c.order_id, ids))
                .order_by(t.orders.c.order_id)
            )
        ):
            stored[r.order_id] = r.version
            stored_status[r.order_id] = r.status
            if r.redacted_at is not None:
                redacted.add(r.order_id)
        todo = [(v, o) for v, o in items if o.order_id not in stored or v > stored[o.order_id]]
        result.unchanged += len(items) - len(todo)
        if not todo:
            return []
        lines: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in conn.execute(
            sa.select(
                t.order_lines.c.order_id,
                t.order_lines.c.line_id,
                t.order_lines.c.sku,
                t.order_lines.c.applied,
                t.order_lines.c.local_shipped,
                t.order_lines.c.live,
            ).where(
                t.order_lines.c.account == account,
                self.store.among(t.order_lines.c.order_id, [o.order_id for _, o in todo]),
            )
        ):
            lines[r.order_id][r.line_id] = r
        skus = {ln.sku for _, o in todo for ln in o.lines if ln.sku}
        bundles = self.planner.bundles(conn, skus)
        now = self.clock()
        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        changes: list[_Row] = []
        moved: dict[str, list[_Moved]] = defaultdict(list)  # listing SKU -> channel moves
        for version, order in todo:
            is_new = order.order_id not in stored
            (result.new if is_new else result.changed).append((account, order.order_id))
            old_lines = lines.get(order.order_id, {})
            old_status = stored_status.get(order.order_id)
            # Whether the channel moved its stock for a pending order is up to the channel
            # (Shopify, Amazon and eBay reduce at once, WooCommerce only when it is paid).
            unsure = OrderStatus.PENDING.value in (order.status.value, old_status)
            status_changed = old_status is not None and old_status != order.status.value
            for line in order.lines:
                old = old_lines.get(line.line_id)
                applied: Contribution = dict(old.applied) if old is not None else {}
                local = old.local_shipped if old is not None else 0
                target = line_targets(order.status, line, local, bundles)
                changes += _diff(account, order, line.line_id, version, applied, target)
                # Units of the listing SKU itself (for a plain line: the target itself).
                own = line_targets(order.status, line, local, {}) if line.sku in bundles else target
                live = sum(own[line.sku]) if line.sku is not None and own else 0
                old_live = old.live if old is not None else 0
                if line.sku is not None:
                    move = _moved(live - old_live, order.updated_at, unsure, status_changed)
                    if move is not None:
                        moved[line.sku].append(move)
                if old is not None and old.sku is not None and old.sku != line.sku and old_live:
                    moved[old.sku].append(_Moved(-old_live, order.updated_at, True))
                line_rows.append(
                    {
                        "account": account,
                        "order_id": order.order_id,
                        "line_id": line.line_id,
                        "sku": line.sku,
                        "quantity": line.quantity,
                        "fulfilled_by_channel": line.fulfilled_by_channel,
                        "applied": target,
                        "local_shipped": local,
                        "live": live,
                    }
                )
            present = {ln.line_id for ln in order.lines}
            for line_id, old in old_lines.items():
                if line_id not in present:  # the line was removed from the order
                    changes += _diff(account, order, line_id, version, dict(old.applied), {})
                    if old.sku is not None and old.live:
                        moved[old.sku].append(_Moved(-old.live, order.updated_at, True))
                    line_rows.append(
                        {
                            "account": account,
                            "order_id": order.order_id,
                            "line_id": line_id,
                            "sku": None,
                            "quantity": 0,
                            "fulfilled_by_channel": False,
                            "applied": {},
                            "local_shipped": old.local_shipped,
                            "live": 0,
                        }
                    )
            if order.order_id in redacted:  # erased on the customer's request: stays erased
                order = order.model_copy(
                    update={
                        "customer": None,
                        "shipping_address": None,
                        "billing_address": None,
                        "raw": {"redacted": True},
                    }
                )
            order_rows.append(_order_row(order, version, now))
        self.store.bulk(
            conn, t.orders, order_rows, keys=("account", "order_id"), update=_ORDER_UPDATE
        )
        self.store.bulk(
            conn,
            t.order_lines,
            line_rows,
            keys=("account", "order_id", "line_id"),
            update=_LINE_UPDATE,
        )
        self._channel_moved(conn, account, moved)
        return changes

    def _channel_moved(
        self, conn: Connection, account: str, moved: dict[str, list[_Moved]]
    ) -> None:
        """The selling channel changed its own quantities: keep its outbox rows honest.

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
            sa.select(o.sku, o.acked, o.acked_at, o.stale).where(
                o.account == account, self.store.among(o.sku, moved)
            )
        ).all()
        updates = []
        for r in rows:
            recent = [m for m in moved[r.sku] if r.acked_at is None or m.at > r.acked_at]
            taken = sum(m.units for m in recent)
            stale = bool(r.stale) or any(m.unsure for m in moved[r.sku])
            if not taken and stale == bool(r.stale):
                continue
            acked = None if r.acked is None else max(0, r.acked - taken)
            updates.append({"acked": acked, "stale": stale, "account": account, "sku": r.sku})
        self.store.bulk(conn, t.outbox, updates, where=("account", "sku"))

    # -- merchant-side changes ------------------------------------------------------------

    def set_on_hand(
        self,
        conn: Connection,
        sku: str,
        quantity: int,
        *,
        source: str,
        key: str | None,
        note: str | None,
    ) -> ApplyResult:
        """Journal a physical count: on_hand becomes ``quantity``."""
        current = self._levels(conn, [sku], track=True)[sku]
        row = _Row(
            sku,
            quantity - current[0],
            0,
            "set_on_hand",
            source,
            None,
            None,
            None,
            note,
            key or f"set:{uuid.uuid4()}",
        )
        result = ApplyResult()
        self._commit_rows(conn, [row], result, levels={sku: current})
        return result

    def adjust(
        self, conn: Connection, sku: str, delta: int, reason: str, *, source: str, key: str | None
    ) -> ApplyResult:
        """Journal a receipt, restocked return or write-off: on_hand += ``delta``."""
        current = self._levels(conn, [sku], track=True)[sku]
        row = _Row(
            sku,
            delta,
            0,
            "adjust",
            source,
            None,
            None,
            None,
            reason,
            key or f"adjust:{uuid.uuid4()}",
        )
        result = ApplyResult()
        self._commit_rows(conn, [row], result, levels={sku: current})
        return result

    def ship(self, conn: Connection, account: str, order: Order, shipment: Shipment) -> ApplyResult:
        """Record units shipped through the engine: committed -= qty, on_hand -= qty."""
        wanted = dict(shipment.lines) or {ln.line_id: ln.quantity for ln in order.lines}
        unknown = sorted(set(wanted) - {ln.line_id for ln in order.lines})
        if unknown:
            raise KeyError(f"order {order.order_id!r} on {account!r} has no line {unknown[0]!r}")
        rows = {
            r.line_id: r
            for r in conn.execute(
                self.store.for_update(
                    sa.select(t.order_lines).where(
                        t.order_lines.c.account == account,
                        t.order_lines.c.order_id == order.order_id,
                    )
                )
            )
        }
        bundles = self.planner.bundles(conn, {ln.sku for ln in order.lines if ln.sku})
        stamp = self.clock().isoformat(timespec="microseconds")
        changes: list[_Row] = []
        for line in order.lines:
            if line.line_id not in wanted or line.line_id not in rows:
                continue
            row = rows[line.line_id]
            local = min(
                line.quantity - line.quantity_cancelled, row.local_shipped + wanted[line.line_id]
            )
            target = line_targets(order.status, line, local, bundles)
            changes += _diff(
                account,
                order,
                line.line_id,
                f"ship@{stamp}",
                dict(row.applied),
                target,
                reason="shipped (engine.ship)",
            )
            conn.execute(
                t.order_lines.update()
                .where(
                    t.order_lines.c.account == account,
                    t.order_lines.c.order_id == order.order_id,
                    t.order_lines.c.line_id == line.line_id,
                )
                .values(local_shipped=local, applied=target)
            )
        result = ApplyResult()
        self._commit_rows(conn, changes, result)
        return result

    # -- shared write path ----------------------------------------------------------------

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

    def _commit_rows(
        self,
        conn: Connection,
        rows: Sequence[_Row],
        result: ApplyResult,
        levels: dict[str, list[int]] | None = None,
    ) -> None:
        if not rows:
            return
        skus = {r.sku for r in rows}
        if levels is None:
            levels = self._levels(conn, skus)
        now = self.clock()
        journal_rows = []
        for r in rows:
            level = levels[r.sku]
            level[0] += r.d_on_hand
            level[1] += r.d_committed
            journal_rows.append(
                {
                    "at": now,
                    "sku": r.sku,
                    "d_on_hand": r.d_on_hand,
                    "d_committed": r.d_committed,
                    "on_hand_after": level[0],
                    "committed_after": level[1],
                    "reason": r.reason,
                    "source": r.source,
                    "account": r.account,
                    "order_id": r.order_id,
                    "line_id": r.line_id,
                    "note": r.note,
                    "idempotency_key": r.key,
                }
            )
        # A duplicate key raises IntegrityError: the whole transaction is repeated by
        # Store.run and then finds the transition already applied.
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


@dataclass(frozen=True, slots=True)
class _Moved:
    """Units a channel took off (negative: put back on) a listing by itself, and when."""

    units: int
    at: datetime
    unsure: bool


def _moved(delta: int, at: datetime, unsure: bool, status_changed: bool) -> _Moved | None:
    """How an order change moved the selling channel's own quantity of a line's listing.

    A sale (more live units) was taken off by the channel, surely unless the order is
    pending; units given back (cancellation, edit down) may or may not be restocked by
    the channel; a pending order becoming paid (or the reverse) may move stock without
    any change of units. Other changes (shipping, addresses) move nothing.
    """
    if delta > 0:
        return _Moved(delta, at, unsure)
    if delta < 0:
        return _Moved(delta, at, True)
    if unsure and status_changed:
        return _Moved(0, at, True)
    return None


@dataclass(frozen=True, slots=True)
class _Row:
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


def _diff(
    account: str,
    order: Order,
    line_id: str,
    version: str,
    applied: Contribution,
    target: Contribution,
    reason: str | None = None,
) -> list[_Row]:
    out = []
    keys = applied.keys() | target.keys()
    for sku in keys if len(keys) == 1 else sorted(keys):
        a_open, a_ship = applied.get(sku, (0, 0))
        t_open, t_ship = target.get(sku, (0, 0))
        d_committed = t_open - a_open
        d_on_hand = -(t_ship - a_ship)
        if not d_committed and not d_on_hand:
            continue
        out.append(
            _Row(
                sku,
                d_on_hand,
                d_committed,
                reason or f"order {order.status.value}",
                f"{account}/{order.order_id}/{line_id}",
                account,
                order.order_id,
                line_id,
                order.raw_status,
                f"order:{account}:{order.order_id}:{line_id}:{sku}:{version}",
            )
        )
    return out


def _order_row(order: Order, version: str, now: datetime) -> dict[str, Any]:
    return {
        "account": order.account,
        "order_id": order.order_id,
        "kind": order.kind,
        "number": order.number,
        "status": order.status.value,
        "raw_status": order.raw_status,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "currency": order.currency or (order.total.currency if order.total else None),
        "total_amount": str(order.total.amount) if order.total else None,
        "customer_id": order.customer.customer_id if order.customer else None,
        "customer_email": order.customer.email if order.customer else None,
        "customer_name": order.customer.name if order.customer else None,
        "version": version,
        "doc": order.model_dump_json(),
        "first_seen_at": now,
        "last_seen_at": now,
    }


_ORDER_UPDATE = (
    "number", "status", "raw_status", "updated_at", "currency", "total_amount",
    "customer_id", "customer_email", "customer_name", "version", "doc", "last_seen_at",
)  # fmt: skip
_LINE_UPDATE = ("sku", "quantity", "fulfilled_by_channel", "applied", "live")
