"""The order book: every order and order line the engine has seen, and what each line
contributes to the ledger now.

This module alone writes the ``orders``, ``order_lines`` and ``order_failures`` tables.
Applying a batch of orders:

1. locks every order of the batch (on PostgreSQL a transaction-scoped advisory lock per
   order, taken in one statement in a fixed order; SQLite serialises writers anyway), so
   of two workers holding two versions of the same order, new or known, the second waits
   and then reads what the first wrote;
2. keeps, per order, only a version newer than the stored one (``order_version``);
3. computes what each line should contribute now (``line_targets``) and hands the
   difference to the ledger as postings keyed by line and version;
4. writes the order rows with a version guard (an older version never replaces a newer
   row, whatever the interleaving), and tells the outbox how the selling channel moved
   its own quantity.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import OrderFailure
from channelsync.core.errors import InvalidInput, UnknownOrder
from channelsync.core.ledger import (
    ApplyResult,
    Contribution,
    Ledger,
    Levels,
    Posting,
    line_targets,
    order_version,
)
from channelsync.core.locations import DEFAULT_LOCATION, FirstWithStock, LocationBook, Sourcing
from channelsync.core.models import Order, OrderStatus, Shipment
from channelsync.core.outbox import ChannelMove, Outbox
from channelsync.core.planner import Planner
from channelsync.core.stockcheck import sales_read
from channelsync.core.store import Store

__all__ = ["OrderBook", "lock_orders", "order_lock_keys"]

log = logging.getLogger(__name__)


@dataclass
class _LineChange:
    """One line of a newer order version, before and after, and where its units are."""

    account: str
    order: Order
    line_id: str
    version: str
    applied: Contribution
    target: Contribution
    old_location: str | None
    assigned: str | None
    """Our location the channel assigned the line to (mapped from its location id)."""
    moves: list[tuple[str, ChannelMove]]
    row: dict[str, Any]
    location: str | None = field(default=None)


def lock_orders(store: Store, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Take the transaction-scoped lock of each (account, order_id) on PostgreSQL, in one
    fixed order (SQLite: a no-op; it has one writer at a time). Every writer of an order's
    rows, or of a projection of them, takes these first."""
    if store.dialect != "postgresql":
        return
    ids = order_lock_keys(keys)
    if not ids:
        return
    conn.exec_driver_sql(
        "SELECT count(pg_advisory_xact_lock(k))"
        " FROM (SELECT k FROM unnest(%(ids)s::bigint[]) AS k ORDER BY k) AS s",
        {"ids": ids},
    )


def order_lock_keys(keys: Iterable[tuple[str, str]]) -> list[int]:
    """The advisory-lock ids of (account, order_id) pairs, sorted (a fixed locking order).

    64-bit digests: a collision only makes two orders share a lock, never breaks one.
    """
    out = set()
    for account, order_id in keys:
        raw = hashlib.blake2b(f"{account}\x1f{order_id}".encode(), digest_size=8).digest()
        out.add(int.from_bytes(raw, "big", signed=True))
    return sorted(out)


class OrderBook:
    """Applies orders and shipments; records orders that could not be read."""

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        planner: Planner,
        outbox: Outbox,
        clock: Callable[[], datetime],
        locations: LocationBook | None = None,
        sourcing: Sourcing | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.planner = planner
        self.outbox = outbox
        self.clock = clock
        self.locations = locations or LocationBook()
        self.sourcing = sourcing or FirstWithStock()

    # -- locking --------------------------------------------------------------------------

    def lock(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
        """Lock orders for the rest of the transaction (PostgreSQL; SQLite: a no-op).

        Every writer of an order takes its lock before reading it, so reads are never
        stale, for orders the store does not have yet as well (a row lock cannot do that).
        """
        lock_orders(self.store, conn, keys)

    # -- applying orders ------------------------------------------------------------------

    def apply(self, conn: Connection, orders: Sequence[Order]) -> ApplyResult:
        """Apply the newest version of each order in ``orders``; older versions are ignored."""
        result = ApplyResult()
        if not orders:
            return result
        latest: dict[tuple[str, str], tuple[str, Order]] = {}
        for order in orders:
            key = (order.account, order.order_id)
            version = order_version(order)
            if key not in latest or version > latest[key][0]:
                latest[key] = (version, order)
        result.unchanged += len(orders) - len(latest)
        self.lock(conn, latest)
        by_account: dict[str, list[tuple[str, Order]]] = defaultdict(list)
        for (account, _), item in sorted(latest.items()):
            by_account[account].append(item)
        changes: list[_LineChange] = []
        for account, items in by_account.items():
            changes += self._read_account(conn, account, items, result)
        if not changes:
            return result
        # Locks in one order everywhere: orders (above), ledger rows, outbox rows.
        skus = {sku for c in changes for sku in (*c.applied, *c.target)}
        levels = self.ledger.lock(conn, skus)
        postings = self._place(changes, levels)
        self.store.bulk(
            conn,
            t.order_lines,
            [c.row for c in changes],
            keys=("account", "order_id", "line_id"),
            update=_LINE_UPDATE,
        )
        self.ledger.post(conn, postings, result, levels=levels)
        moves: dict[str, dict[tuple[str, str], list[ChannelMove]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for c in changes:
            where = self.locations.of(c.account)
            for sku, move in c.moves:
                slot = c.location if where.per_location and c.location else ""
                if where.per_location and c.assigned is None and move.units:
                    # The channel keeps a quantity per location but did not say which one
                    # the sale took (eBay, Magento): the location our sourcing chose may
                    # not be the one it lowered, so every mapped location of the SKU is
                    # pushed again (unsure) rather than trusting the guess.
                    move = replace(move, unsure=True)
                    for other in where.channel_ids:
                        if other != slot:
                            moves[c.account][(sku, other)].append(ChannelMove(0, move.at, True))
                moves[c.account][(sku, slot)].append(move)
        for account in sorted(moves):
            self.outbox.channel_moved(conn, account, moves[account])
            sales_read(self.store, conn, account, moves[account])
        return result

    def _read_account(
        self,
        conn: Connection,
        account: str,
        items: list[tuple[str, Order]],
        result: ApplyResult,
    ) -> list[_LineChange]:
        """The line changes of ``account``'s orders newer than stored; writes the orders."""
        ids = [o.order_id for _, o in items]
        stored: dict[str, str] = {}
        stored_status: dict[str, str] = {}
        redacted: set[str] = set()
        o = t.orders.c
        for r in conn.execute(
            sa.select(o.order_id, o.version, o.status, o.redacted_at).where(
                o.account == account, self.store.among(o.order_id, ids)
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
        lines = self._lines(conn, account, [o.order_id for _, o in todo])
        skus = {ln.sku for _, o in todo for ln in o.lines if ln.sku}
        bundles = self.planner.bundles(conn, skus)
        where = self.locations.of(account)
        now = self.clock()
        order_rows: list[dict[str, Any]] = []
        changes: list[_LineChange] = []
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
                gone = old.local_cancelled if old is not None else 0
                target = line_targets(order.status, line, local, bundles, gone)
                # Units of the listing SKU itself (for a plain line: the target itself).
                own = (
                    line_targets(order.status, line, local, {}, gone)
                    if line.sku in bundles
                    else target
                )
                live = sum(own[line.sku]) if line.sku is not None and own else 0
                old_live = old.live if old is not None else 0
                moves: list[tuple[str, ChannelMove]] = []
                if line.sku is not None:
                    move = _moved(live - old_live, order.updated_at, unsure, status_changed)
                    if move is not None:
                        moves.append((line.sku, move))
                if old is not None and old.sku is not None and old.sku != line.sku and old_live:
                    moves.append((old.sku, ChannelMove(-old_live, order.updated_at, True)))
                assigned = where.ours(line.location_id)
                if line.location_id is not None and assigned is None and where.per_location:
                    log.warning(
                        "account %s: order %s line %s is at channel location %s, which is not"
                        " mapped to one of ours (locations of the account); sourced instead",
                        account,
                        order.order_id,
                        line.line_id,
                        line.location_id,
                    )
                changes.append(
                    _LineChange(
                        account=account,
                        order=order,
                        line_id=line.line_id,
                        version=version,
                        applied=applied,
                        target=target,
                        old_location=old.location if old is not None else None,
                        assigned=assigned,
                        moves=moves,
                        row={
                            "account": account,
                            "order_id": order.order_id,
                            "line_id": line.line_id,
                            "sku": line.sku,
                            "quantity": line.quantity,
                            "fulfilled_by_channel": line.fulfilled_by_channel,
                            "applied": target,
                            "local_shipped": local,
                            "local_cancelled": gone,
                            "live": live,
                        },
                    )
                )
            present = {ln.line_id for ln in order.lines}
            for line_id, old in old_lines.items():
                if line_id not in present:  # the line was removed from the order
                    moves = []
                    if old.sku is not None and old.live:
                        moves.append((old.sku, ChannelMove(-old.live, order.updated_at, True)))
                    changes.append(
                        _LineChange(
                            account=account,
                            order=order,
                            line_id=line_id,
                            version=version,
                            applied=dict(old.applied),
                            target={},
                            old_location=old.location,
                            assigned=None,
                            moves=moves,
                            row={
                                "account": account,
                                "order_id": order.order_id,
                                "line_id": line_id,
                                "sku": None,
                                "quantity": 0,
                                "fulfilled_by_channel": False,
                                "applied": {},
                                "local_shipped": old.local_shipped,
                                "local_cancelled": old.local_cancelled,
                                "live": 0,
                            },
                        )
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
        # The version guard: whatever happened since the read, an older version never
        # replaces a newer row (the lock above makes this a second line of defence).
        self.store.bulk(
            conn,
            t.orders,
            order_rows,
            keys=("account", "order_id"),
            update=_ORDER_UPDATE,
            newer="version",
        )
        return changes

    def _place(self, changes: list[_LineChange], levels: Levels) -> list[Posting]:
        """Give each line its location and return the postings of every change.

        A line keeps the location it holds units at, unless the channel assigned it to
        another (then its units move there); a line that holds nothing yet takes the one
        the channel assigned, else the sourcing policy's pick among the account's
        locations, counting what earlier lines of the batch took.
        """
        taken: dict[tuple[str, str], int] = defaultdict(int)

        def available(sku: str, location: str) -> int:
            return levels.available(sku, location) - taken[(sku, location)]

        postings: list[Posting] = []
        for c in changes:
            location = c.old_location
            holds = any(any(v) for v in c.applied.values())
            if c.assigned is not None and (location is None or not holds):
                location = c.assigned
            elif c.assigned is not None and c.assigned != location:
                location = c.assigned  # the channel moved the line: its units move too
            elif location is None and holds:
                location = DEFAULT_LOCATION  # units held before locations existed
            elif location is None and any(any(v) for v in c.target.values()):
                needs = {sku: sum(v) for sku, v in c.target.items() if sum(v)}
                known = sorted({loc for sku in needs for loc in levels.locations(sku)})
                candidates = self.locations.of(c.account).candidates(known)
                location = self.sourcing.choose(c.account, needs, candidates, available)
            if location is not None:
                for sku, (open_units, _) in c.target.items():
                    taken[(sku, location)] += open_units
            c.location = location
            c.row["location"] = location
            postings += _diff(
                c.account,
                c.order,
                c.line_id,
                c.version,
                c.applied,
                c.target,
                location=location or DEFAULT_LOCATION,
                old_location=c.old_location or location or DEFAULT_LOCATION,
            )
        return postings

    def _lines(self, conn: Connection, account: str, order_ids: list[str]) -> dict[str, Any]:
        ln = t.order_lines.c
        lines: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in conn.execute(
            sa.select(
                ln.order_id,
                ln.line_id,
                ln.sku,
                ln.applied,
                ln.local_shipped,
                ln.local_cancelled,
                ln.live,
                ln.location,
            ).where(ln.account == account, self.store.among(ln.order_id, order_ids))
        ):
            lines[r.order_id][r.line_id] = r
        return lines

    def withdraw(self, conn: Connection, account: str, order_id: str) -> ApplyResult:
        """A deleted order holds nothing any more: apply it as cancelled (shipped units stay)."""
        self.lock(conn, [(account, order_id)])
        order = self.stored(conn, account, order_id)
        if order is None or order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return ApplyResult()  # never seen, or holds nothing already
        gone = order.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "raw_status": "deleted",
                "updated_at": max(self.clock(), order.updated_at + timedelta(microseconds=1)),
            }
        )
        return self.apply(conn, [gone])

    # -- shipping through the engine ------------------------------------------------------

    def ship(
        self, conn: Connection, account: str, order_id: str, shipment: Shipment
    ) -> ApplyResult:
        """Record units shipped through the engine: committed -= qty, on_hand -= qty.

        Raises:
            UnknownOrder: the store has never seen the order.
            InvalidInput: the shipment names a line the order does not have.
        """
        self.lock(conn, [(account, order_id)])
        order = self.stored(conn, account, order_id)
        if order is None:
            raise UnknownOrder(
                f"no order {order_id!r} on account {account!r}: pull or record it first"
            )
        wanted = dict(shipment.lines) or {ln.line_id: ln.quantity for ln in order.lines}
        unknown = sorted(set(wanted) - {ln.line_id for ln in order.lines})
        if unknown:
            raise InvalidInput(f"order {order_id!r} on {account!r} has no line {unknown[0]!r}")
        rows = self._lines(conn, account, [order_id]).get(order_id, {})
        bundles = self.planner.bundles(conn, {ln.sku for ln in order.lines if ln.sku})
        stamp = self.clock().isoformat(timespec="microseconds")
        changes: list[Posting] = []
        updates: list[dict[str, Any]] = []
        for line in order.lines:
            if line.line_id not in wanted or line.line_id not in rows:
                continue
            row = rows[line.line_id]
            cancelled = max(line.quantity_cancelled, row.local_cancelled)
            local = min(line.quantity - cancelled, row.local_shipped + wanted[line.line_id])
            target = line_targets(order.status, line, local, bundles, row.local_cancelled)
            changes += _diff(
                account,
                order,
                line.line_id,
                f"ship@{stamp}",
                dict(row.applied),
                target,
                reason="shipped (engine.ship)",
                location=row.location or DEFAULT_LOCATION,
            )
            updates.append(
                {
                    "local_shipped": local,
                    "applied": target,
                    "account": account,
                    "order_id": order_id,
                    "line_id": line.line_id,
                }
            )
        self.store.bulk(conn, t.order_lines, updates, where=("account", "order_id", "line_id"))
        result = ApplyResult()
        self.ledger.post(conn, changes, result)
        return result

    def cancel_units(
        self,
        conn: Connection,
        account: str,
        order_id: str,
        units: Mapping[str, int],
        reason: str,
    ) -> ApplyResult:
        """Record units cancelled through the engine (``engine.cancel``/``refund``): they
        stay cancelled whatever the channel's later versions of the order say.

        Raises:
            UnknownOrder: the store has never seen the order.
        """
        self.lock(conn, [(account, order_id)])
        order = self.stored(conn, account, order_id)
        if order is None:
            raise UnknownOrder(
                f"no order {order_id!r} on account {account!r}: pull or record it first"
            )
        rows = self._lines(conn, account, [order_id]).get(order_id, {})
        bundles = self.planner.bundles(conn, {ln.sku for ln in order.lines if ln.sku})
        stamp = self.clock().isoformat(timespec="microseconds")
        changes: list[Posting] = []
        updates: list[dict[str, Any]] = []
        for line in order.lines:
            row = rows.get(line.line_id)
            if row is None or not units.get(line.line_id):
                continue
            gone = min(
                line.quantity,
                max(line.quantity_cancelled, row.local_cancelled) + units[line.line_id],
            )
            target = line_targets(order.status, line, row.local_shipped, bundles, gone)
            changes += _diff(
                account,
                order,
                line.line_id,
                f"cancel@{stamp}",
                dict(row.applied),
                target,
                reason=reason,
                location=row.location or DEFAULT_LOCATION,
            )
            updates.append(
                {
                    "local_cancelled": gone,
                    "applied": target,
                    "account": account,
                    "order_id": order_id,
                    "line_id": line.line_id,
                }
            )
        self.store.bulk(conn, t.order_lines, updates, where=("account", "order_id", "line_id"))
        result = ApplyResult()
        self.ledger.post(conn, changes, result)
        return result

    # -- reading --------------------------------------------------------------------------

    def stored(self, conn: Connection, account: str, order_id: str) -> Order | None:
        """The stored order, or None."""
        doc = conn.execute(
            sa.select(t.orders.c.doc).where(
                t.orders.c.account == account, t.orders.c.order_id == order_id
            )
        ).scalar()
        return None if doc is None else Order.model_validate_json(doc)

    def local_units(
        self, conn: Connection, account: str, order_id: str
    ) -> dict[str, tuple[int, int]]:
        """Per line, units (shipped, cancelled) through the engine: ``engine.ship`` and
        ``engine.cancel``/``refund`` (the channel may not say so yet, or ever)."""
        ln = t.order_lines.c
        return {
            r.line_id: (int(r.local_shipped or 0), int(r.local_cancelled or 0))
            for r in conn.execute(
                sa.select(ln.line_id, ln.local_shipped, ln.local_cancelled).where(
                    ln.account == account, ln.order_id == order_id
                )
            )
        }

    def line_locations(self, conn: Connection, account: str, order_id: str) -> dict[str, str]:
        """Per line, the location its units are committed, shipped and returned at."""
        ln = t.order_lines.c
        return {
            r.line_id: r.location or DEFAULT_LOCATION
            for r in conn.execute(
                sa.select(ln.line_id, ln.location).where(
                    ln.account == account, ln.order_id == order_id
                )
            )
        }

    def with_cancel_request(self, conn: Connection, account: str | None) -> list[Order]:
        """Orders still holding units whose buyer asked to cancel (``Order.cancel_request``)."""
        o = t.orders.c
        query = (
            sa.select(o.doc)
            .where(
                o.status.in_([s.value for s in OrderStatus if s.commits_stock]),
                o.doc.like('%"cancel_request":{%'),
            )
            .order_by(o.created_at, o.account, o.order_id)
        )
        if account is not None:
            query = query.where(o.account == account)
        orders = [Order.model_validate_json(r.doc) for r in conn.execute(query)]
        return [order for order in orders if order.cancel_request is not None]

    def due_for_reread(
        self, conn: Connection, account: str, unseen_since: datetime, limit: int
    ) -> list[str]:
        """Orders of ``account`` still open and not seen since ``unseen_since``, oldest first."""
        o = t.orders.c
        return list(
            conn.execute(
                sa.select(o.order_id)
                .where(
                    o.account == account,
                    o.status.in_([s.value for s in OrderStatus if s.commits_stock]),
                    o.last_seen_at < unseen_since,
                )
                .order_by(o.last_seen_at, o.order_id)
                .limit(limit)
            ).scalars()
        )

    def mark_seen(self, conn: Connection, account: str, order_ids: Sequence[str]) -> None:
        """Record that these orders were just read from the channel (re-read or unchanged)."""
        if order_ids:
            o = t.orders.c
            conn.execute(
                t.orders.update()
                .where(o.account == account, self.store.among(o.order_id, order_ids))
                .values(last_seen_at=self.clock())
            )

    # -- orders that could not be read ----------------------------------------------------

    def record_failures(
        self,
        conn: Connection,
        account: str,
        orders: Sequence[Order],
        failures: Sequence[OrderFailure],
    ) -> None:
        """Record orders the adapter could not map; clear those that mapped this time."""
        f = t.order_failures.c
        now = self.clock()
        if orders:
            conn.execute(
                t.order_failures.delete().where(
                    f.account == account,
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
                sa.select(f.times).where(f.account == account, f.order_id == order_id)
            ).scalar()
            row = {
                "account": account,
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

    # -- personal data --------------------------------------------------------------------

    def redact(self, conn: Connection, cond: sa.ColumnElement[bool]) -> int:
        """Remove the customer, both addresses and the raw payload from matching orders."""
        o = t.orders.c
        rows = conn.execute(
            sa.select(o.account, o.order_id, o.doc).where(cond, o.redacted_at.is_(None))
        ).all()
        now = self.clock()
        for row in rows:
            order = Order.model_validate_json(row.doc)
            clean = order.model_copy(
                update={
                    "customer": None,
                    "shipping_address": None,
                    "billing_address": None,
                    "raw": {"redacted": True},
                }
            )
            conn.execute(
                t.orders.update()
                .where(o.account == row.account, o.order_id == row.order_id)
                .values(
                    doc=clean.model_dump_json(),
                    customer_id=None,
                    customer_email=None,
                    customer_name=None,
                    redacted_at=now,
                )
            )
        return len(rows)


def _moved(delta: int, at: datetime, unsure: bool, status_changed: bool) -> ChannelMove | None:
    """How an order change moved the selling channel's own quantity of a line's listing.

    A sale (more live units) was taken off by the channel, surely unless the order is
    pending; units given back (cancellation, edit down) may or may not be restocked by
    the channel; a pending order becoming paid (or the reverse) may move stock without
    any change of units. Other changes (shipping, addresses) move nothing.
    """
    if delta > 0:
        return ChannelMove(delta, at, unsure)
    if delta < 0:
        return ChannelMove(delta, at, True)
    if unsure and status_changed:
        return ChannelMove(0, at, True)
    return None


def _diff(
    account: str,
    order: Order,
    line_id: str,
    version: str,
    applied: Contribution,
    target: Contribution,
    reason: str | None = None,
    *,
    location: str = DEFAULT_LOCATION,
    old_location: str | None = None,
) -> list[Posting]:
    """The postings that take a line from ``applied`` (held at ``old_location``) to
    ``target`` (held at ``location``): the difference where both are the same location,
    else everything released at the old one and taken anew at the new one."""
    old_location = old_location or location
    if old_location != location:
        return _diff(
            account, order, line_id, version, applied, {}, reason, location=old_location
        ) + _diff(account, order, line_id, version, {}, target, reason, location=location)
    out = []
    keys = applied.keys() | target.keys()
    suffix = "" if location == DEFAULT_LOCATION else f"@{location}"
    for sku in keys if len(keys) == 1 else sorted(keys):
        a_open, a_ship = applied.get(sku, (0, 0))
        t_open, t_ship = target.get(sku, (0, 0))
        d_committed = t_open - a_open
        d_on_hand = -(t_ship - a_ship)
        if not d_committed and not d_on_hand:
            continue
        out.append(
            Posting(
                sku,
                d_on_hand,
                d_committed,
                reason or f"order {order.status.value}",
                f"{account}/{order.order_id}/{line_id}",
                account,
                order.order_id,
                line_id,
                order.raw_status,
                f"order:{account}:{order.order_id}:{line_id}:{sku}:{version}{suffix}",
                location,
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
_LINE_UPDATE = ("sku", "quantity", "fulfilled_by_channel", "applied", "live", "location")
