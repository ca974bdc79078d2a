"""Reconciling: read what each channel shows, compare with what the ledger says it should.

Drift comes from edits in a channel's back office, lost pushes of a channel that does not
confirm what it applied, or a listing someone relisted. ``queue_corrections`` makes the
next push correct each drifted listing, against the quantity the channel really shows.

The scan is streamed: listings are compared page by page, and the SKUs seen are kept on
disk (``core.scratch.DiskSet``), so memory grows with the drift found, not with the
catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.engine import Connection

from channelsync.core.lanes import AccountLane
from channelsync.core.ledger import Ledger
from channelsync.core.models import Listing
from channelsync.core.results import Drift, ReconcileResult
from channelsync.core.scratch import DiskSet

__all__ = ["queue_corrections", "reconcile"]

PAGE = 1000


def reconcile(lane: AccountLane, progress: Callable[[int], None] | None = None) -> ReconcileResult:
    """Read every listing of the lane's account and compare it with the ledger.

    ``progress(n)`` is called after every listing read. A channel error ends up in
    ``result.error``; nothing is written.
    """

    def scan() -> ReconcileResult:
        result = ReconcileResult(account=lane.account)
        with DiskSet() as seen:
            page: list[Listing] = []

            def flush() -> None:
                # A listing a shifting page repeats is compared once, at first sight.
                first = {x.sku: x for x in reversed(page)}
                _compare(lane, [first[sku] for sku in seen.add_new([x.sku for x in page])], result)
                page.clear()

            for listing in lane.channel.fetch_listings():
                result.listings += 1
                if progress is not None:
                    progress(result.listings)
                page.append(listing)
                if len(page) >= PAGE:
                    flush()
            if page:
                flush()
            gone: list[str] = []
            for skus in lane.parts.listings.sku_pages(lane.store, lane.account, PAGE):
                listed = seen.present(skus)
                gone.extend(sku for sku in skus if sku not in listed)
            result.gone = sorted(gone)
        return result

    try:
        return lane.policy.call(scan)  # a transient failure restarts the scan
    except Exception as exc:
        return ReconcileResult(account=lane.account, error=f"{type(exc).__name__}: {exc}")


def _compare(lane: AccountLane, page: list[Listing], result: ReconcileResult) -> None:
    skus = [x.sku for x in page]
    with lane.store.read() as conn:
        stored = set(lane.parts.listings.get(conn, lane.account, skus))
        acked = lane.outbox.acked(conn, lane.account, skus)
        desired = {
            (d.sku, d.location): d
            for d in lane.parts.planner.desired(conn, skus, [lane.account], steps=False)
            if d.account == lane.account and d.sku in stored and d.sku in set(skus)
        }
    for listing in sorted(page, key=lambda x: x.sku):
        if listing.sku not in stored:
            result.not_imported.append(listing.sku)
    where = lane.parts.planner.locations.of(lane.account)
    by_sku = {x.sku: x for x in page}
    for d in sorted(desired.values(), key=lambda x: (x.sku, x.location)):
        if d.quantity is None:
            result.skipped[d.sku] = d.reason or "nothing to compare"
            continue
        listing = by_sku[d.sku]
        if d.location:
            shows = listing.levels.get(where.channel_ids[d.location])
        else:
            shows = listing.quantity
        if shows == d.quantity:
            result.in_sync += 1
        else:
            result.drift.append(
                Drift(
                    lane.account,
                    d.sku,
                    shows,
                    d.quantity,
                    acked.get((d.sku, d.location)),
                    d.location,
                )
            )


def queue_corrections(
    lane: AccountLane, drift: Iterable[Drift], ledger: Ledger, *, source: str = "caller"
) -> int:
    """Make the next push correct each drifted listing; returns the rows queued.

    The outbox row's acknowledged value becomes what the channel was seen to show, so the
    row is pending and the next cycle pushes the ledger's value, with compare-and-set
    against the quantity really there. Each correction is journalled in the same
    transaction (reason ``reconcile``, by ``source``, from what the channel showed to what
    the ledger says), so ``explain`` and ``corrections`` show it.
    """
    found = {
        (d.sku, d.location): d for d in drift if d.shows is not None and d.account == lane.account
    }
    shows: dict[tuple[str, str], int] = {
        k: d.shows for k, d in found.items() if d.shows is not None
    }
    if not shows:
        return 0

    def work(conn: Connection) -> int:
        ledger.journal_corrections(
            conn,
            lane.account,
            [
                (d.sku, d.location, d.shows or 0, d.should, d.acked)
                for _, d in sorted(found.items())
            ],
            source=source,
        )
        lane.parts.listings.record_shown(
            conn, lane.account, sorted((sku, q) for (sku, loc), q in shows.items() if not loc)
        )
        # Desired values first (rules may have changed since they were written) ...
        lane.parts.planner.recompute(conn, {sku for sku, _ in shows})
        # ... then what the channel really shows as the acknowledged value.
        return lane.outbox.correct(conn, lane.account, shows)

    return lane.store.run(work)
