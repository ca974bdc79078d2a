"""Reads and one correction the engine has no method for yet, on top of its store.

Each function here is a candidate for ``SyncEngine`` (see the lead's notes): listing
orders, comparing listings across accounts, and reconciling what channels show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.engine import SyncEngine
from channelsync.core.models import Listing, OrderStatus

__all__ = [
    "Drift",
    "OrderSummary",
    "ReconcileResult",
    "coverage",
    "list_orders",
    "queue_corrections",
    "reconcile_account",
]


@dataclass(frozen=True)
class OrderSummary:
    """One row of ``orders list``."""

    account: str
    order_id: str
    number: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    total: str | None
    currency: str | None
    lines: int
    units: int
    shipments_pending: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "order_id": self.order_id,
            "number": self.number,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "total": self.total,
            "currency": self.currency,
            "lines": self.lines,
            "units": self.units,
            "shipments_pending": self.shipments_pending,
        }


def list_orders(
    engine: SyncEngine,
    *,
    account: str | None = None,
    status: Iterable[OrderStatus] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
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
        .limit(limit)
    )
    if account is not None:
        query = query.where(o.account == account)
    wanted = [s.value for s in status]
    if wanted:
        query = query.where(o.status.in_(wanted))
    if since is not None:
        query = query.where(o.created_at >= since)
    if until is not None:
        query = query.where(o.created_at < until)
    with engine.store.read() as conn:
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


@dataclass
class Coverage:
    """Which account lists which SKU, and which SKUs the ledger has not counted."""

    accounts: list[str]
    by_sku: dict[str, set[str]] = field(default_factory=dict)
    untracked: set[str] = field(default_factory=set)

    def missing(self) -> dict[str, list[str]]:
        """SKU -> accounts (among ``accounts``) that do not list it, for partly listed SKUs."""
        everyone = set(self.accounts)
        return {
            sku: sorted(everyone - have)
            for sku, have in sorted(self.by_sku.items())
            if everyone - have and have & everyone
        }


def coverage(engine: SyncEngine, accounts: Iterable[str]) -> Coverage:
    """Which of ``accounts`` lists each SKU; SKUs listed but never counted in the ledger."""
    names = list(accounts)
    result = Coverage(accounts=names)
    with engine.store.read() as conn:
        rows = conn.execute(
            sa.select(t.listings.c.sku, t.listings.c.account).where(t.listings.c.account.in_(names))
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


# -- reconcile --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A listing whose channel quantity differs from what the ledger says it should show."""

    account: str
    sku: str
    shows: int | None
    should: int
    acked: int | None

    @property
    def difference(self) -> int:
        """``shows - should``: positive means the channel offers units we do not have."""
        return (self.shows or 0) - self.should

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "sku": self.sku,
            "shows": self.shows,
            "should": self.should,
            "acknowledged": self.acked,
            "difference": self.difference,
        }


@dataclass
class ReconcileResult:
    """What reading one account's listings found."""

    account: str
    listings: int = 0
    in_sync: int = 0
    drift: list[Drift] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """SKU -> why nothing is compared (not counted, disabled, channel-fulfilled...)."""
    not_imported: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    error: str | None = None
    queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "listings": self.listings,
            "in_sync": self.in_sync,
            "drift": [d.as_dict() for d in self.drift],
            "skipped": dict(sorted(self.skipped.items())),
            "not_imported": self.not_imported,
            "gone": self.gone,
            "error": self.error,
            "queued": self.queued,
        }


def reconcile_account(
    engine: SyncEngine, account: str, progress: Callable[[int], None] | None = None
) -> ReconcileResult:
    """Read every listing of ``account`` from the channel and compare with the ledger.

    ``progress(n)`` is called after every listing read. Channel errors end up in
    ``result.error``; nothing is written.
    """
    result = ReconcileResult(account=account)
    channel = engine.channel(account)
    seen: dict[str, Listing] = {}
    try:
        for listing in _listings(engine, channel.fetch_listings):
            seen.setdefault(listing.sku, listing)
            result.listings += 1
            if progress is not None:
                progress(result.listings)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    with engine.store.read() as conn:
        stored = {
            r.sku: r
            for r in conn.execute(
                sa.select(t.listings.c.sku, t.listings.c.quantity).where(
                    t.listings.c.account == account
                )
            )
        }
        acked = {
            r.sku: r.acked
            for r in conn.execute(
                sa.select(t.outbox.c.sku, t.outbox.c.acked).where(t.outbox.c.account == account)
            )
        }
        desired = {
            d.sku: d
            for d in engine.planner.desired(conn, list(seen), [account])
            if d.account == account
        }
    result.gone = sorted(set(stored) - set(seen))
    for sku, listing in sorted(seen.items()):
        if sku not in stored:
            result.not_imported.append(sku)
            continue
        d = desired.get(sku)
        if d is None or d.quantity is None:
            result.skipped[sku] = d.reason if d is not None and d.reason else "nothing to compare"
            continue
        if listing.quantity == d.quantity:
            result.in_sync += 1
        else:
            result.drift.append(Drift(account, sku, listing.quantity, d.quantity, acked.get(sku)))
    return result


def _listings(engine: SyncEngine, fetch: Callable[[], Iterator[Listing]]) -> Iterator[Listing]:
    # Reading goes through the engine's retry policy page by page is not possible through
    # an iterator; a transient failure restarts the scan (listings are absolute values).
    for attempt in range(1, engine.policy.attempts + 1):
        got: list[Listing] = []
        try:
            got.extend(fetch())
        except Exception as exc:
            from channelsync.core.errors import TransientError

            if not isinstance(exc, TransientError) or attempt == engine.policy.attempts:
                raise
            engine.policy.sleep(engine.policy.wait_for(attempt, exc))
            continue
        yield from got
        return


def queue_corrections(engine: SyncEngine, drift: Iterable[Drift]) -> int:
    """Make the next push correct each drifted listing; returns rows queued.

    The outbox row's acknowledged value becomes what the channel was seen to show, so the
    row is pending (desired differs) and the next cycle pushes the ledger's value, with
    compare-and-set against the quantity really there. A worker acknowledging the row
    meanwhile costs at most one repeated push of the same absolute value.
    """
    items = [d for d in drift if d.shows is not None]
    if not items:
        return 0
    now = engine.clock()

    def work(conn: Connection) -> int:
        o, ls = t.outbox.c, t.listings.c
        for d in items:
            conn.execute(
                t.listings.update()
                .where(ls.account == d.account, ls.sku == d.sku)
                .values(quantity=d.shows, updated_at=now)
            )
        # Desired values first (rules may have changed since they were written) ...
        engine.planner.recompute(conn, {d.sku for d in items})
        queued = 0
        for d in items:  # ... then what the channel really shows as the acknowledged value.
            queued += conn.execute(
                t.outbox.update()
                .where(o.account == d.account, o.sku == d.sku)
                .values(acked=d.shows, attempts=0, next_attempt_at=now, last_error=None)
            ).rowcount
        return queued

    return engine.store.run(work)
