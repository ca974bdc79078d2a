"""The engine's parts wired as ``SyncEngine`` wires them, for testing one module directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import channelsync as cs
from channelsync.core.lanes import AccountLane, LaneSettings, Parts
from channelsync.core.ledger import Ledger
from channelsync.core.listings import Listings
from channelsync.core.orderbook import OrderBook
from channelsync.core.outbox import Outbox
from channelsync.core.planner import Planner, RuleBook
from channelsync.core.views import Views

NO_WAIT = cs.RetryPolicy(attempts=3, sleep=lambda s: None, jitter=lambda: 0.0)


@dataclass
class Core:
    """Every part over one store, and shortcuts that write through them."""

    store: cs.Store
    clock: Callable[[], datetime]
    rules: RuleBook
    listings: Listings
    outbox: Outbox
    planner: Planner
    ledger: Ledger
    orderbook: OrderBook
    parts: Parts
    views: Views

    def count(self, counts: Mapping[str, int]) -> None:
        """A stock count (``set_on_hand``), which recomputes the desired quantities."""
        self.store.run(
            lambda conn: self.ledger.set_on_hand_many(conn, counts, source="test", key=None)
        )

    def list(self, account: str, skus: Mapping[str, int | None], **fields: Any) -> None:
        """Bind listings of ``account`` showing those quantities (as an import does)."""
        listings = [
            cs.Listing(
                kind="fake",
                account=account,
                sku=sku,
                listing_id=f"{account}-{sku}",
                quantity=qty,
                **fields,
            )
            for sku, qty in skus.items()
        ]
        self.store.run(lambda conn: self.listings.bind(conn, listings))

    def lane(self, channel: Any, **settings: Any) -> AccountLane:
        """A lane of ``channel`` on these parts."""
        return AccountLane(channel, self.parts, LaneSettings(**settings))

    def outbox_rows(self, account: str) -> list[tuple[str, int, int | None, bool]]:
        """(sku, desired, acked, stale) of every outbox row of ``account``, by SKU."""
        from channelsync.core import schema as t

        o = t.outbox.c
        with self.store.read() as conn:
            rows = conn.execute(
                t.outbox.select().where(o.account == account).order_by(o.sku, o.location)
            ).all()
        return [(r.sku, r.desired, r.acked, bool(r.stale)) for r in rows]


def build(
    store: cs.Store,
    clock: Callable[[], datetime],
    rules: Mapping[Any, cs.Rule] | None = None,
    locations: Mapping[str, Any] | None = None,
) -> Core:
    """The parts exactly as ``SyncEngine.__init__`` wires them (taken from an engine with
    no channel, so this helper cannot drift from the engine's wiring)."""
    engine = cs.SyncEngine(store, [], rules, retry=NO_WAIT, clock=clock, locations=locations)
    parts = engine._parts
    return Core(
        store,
        clock,
        engine._rules,
        parts.listings,
        parts.outbox,
        parts.planner,
        engine._ledger,
        parts.orderbook,
        parts,
        engine._views,
    )
