"""Reconciling: read what each channel shows, compare with what the ledger says it should.

Drift comes from edits in a channel's back office, lost pushes of a channel that does not
confirm what it applied, or a listing someone relisted. ``queue_corrections`` makes the
next push correct each drifted listing, against the quantity the channel really shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.lanes import AccountLane
from channelsync.core.models import Listing
from channelsync.core.results import Drift, ReconcileResult

__all__ = ["queue_corrections", "reconcile"]


def reconcile(lane: AccountLane, progress: Callable[[int], None] | None = None) -> ReconcileResult:
    """Read every listing of the lane's account and compare it with the ledger.

    ``progress(n)`` is called after every listing read. A channel error ends up in
    ``result.error``; nothing is written.
    """
    result = ReconcileResult(account=lane.account)

    def read() -> list[Listing]:
        got: list[Listing] = []
        for listing in lane.channel.fetch_listings():
            got.append(listing)
            if progress is not None:
                progress(len(got))
        return got

    try:
        listings = lane.policy.call(read)  # a transient failure restarts the scan
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    seen: dict[str, Listing] = {}
    for listing in listings:
        seen.setdefault(listing.sku, listing)
    result.listings = len(listings)
    with lane.store.read() as conn:
        stored = {
            r.sku
            for r in conn.execute(
                sa.select(t.listings.c.sku).where(t.listings.c.account == lane.account)
            )
        }
        acked = {
            r.sku: r.acked
            for r in conn.execute(
                sa.select(t.outbox.c.sku, t.outbox.c.acked).where(
                    t.outbox.c.account == lane.account
                )
            )
        }
        desired = {
            d.sku: d
            for d in lane.planner.desired(conn, list(seen), [lane.account], steps=False)
            if d.account == lane.account
        }
    result.gone = sorted(stored - set(seen))
    for sku, listing in sorted(seen.items()):
        if sku not in stored:
            result.not_imported.append(sku)
            continue
        d = desired.get(sku)
        if d is None or d.quantity is None:
            result.skipped[sku] = d.reason if d is not None and d.reason else "nothing to compare"
        elif listing.quantity == d.quantity:
            result.in_sync += 1
        else:
            result.drift.append(
                Drift(lane.account, sku, listing.quantity, d.quantity, acked.get(sku))
            )
    return result


def queue_corrections(lane: AccountLane, drift: Iterable[Drift]) -> int:
    """Make the next push correct each drifted listing; returns the rows queued.

    The outbox row's acknowledged value becomes what the channel was seen to show, so the
    row is pending and the next cycle pushes the ledger's value, with compare-and-set
    against the quantity really there.
    """
    items = [d for d in drift if d.shows is not None and d.account == lane.account]
    if not items:
        return 0
    now = lane.clock()

    def work(conn: Connection) -> int:
        o, ls = t.outbox.c, t.listings.c
        for d in items:
            conn.execute(
                t.listings.update()
                .where(ls.account == d.account, ls.sku == d.sku)
                .values(quantity=d.shows, updated_at=now)
            )
        # Desired values first (rules may have changed since they were written) ...
        lane.planner.recompute(conn, {d.sku for d in items})
        queued = 0
        for d in items:  # ... then what the channel really shows as the acknowledged value.
            queued += conn.execute(
                t.outbox.update()
                .where(o.account == d.account, o.sku == d.sku)
                .values(
                    acked=d.shows,
                    acked_at=now,
                    stale=True,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                )
            ).rowcount
        return queued

    return lane.store.run(work)
