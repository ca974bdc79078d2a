"""Webhook events: deduplicated by delivery id and applied to the store.

This module alone writes the ``webhook_events`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import WebhookEvent
from channelsync.core.gdpr import Privacy
from channelsync.core.ledger import ApplyResult
from channelsync.core.listings import Listings
from channelsync.core.orderbook import OrderBook

__all__ = ["Inbox"]


class Inbox:
    """Applies verified webhook events, each delivery once."""

    def __init__(
        self,
        orderbook: OrderBook,
        listings: Listings,
        privacy: Privacy,
        clock: Callable[[], datetime],
    ) -> None:
        self.orderbook = orderbook
        self.listings = listings
        self.privacy = privacy
        self.clock = clock

    def apply(self, conn: Connection, account: str, event: WebhookEvent) -> ApplyResult:
        """Apply one event in the caller's transaction (nothing if its id was applied)."""
        if event.event_id is not None and not self._first_delivery(conn, account, event.event_id):
            return ApplyResult()
        if event.kind == "order" and event.order is not None:
            return self.orderbook.apply(conn, [event.order])
        if event.kind == "order_deleted" and event.order_id is not None:
            return self.orderbook.withdraw(conn, account, event.order_id)
        if event.kind == "stock" and event.sku is not None and event.quantity is not None:
            self.listings.record_shown(conn, account, [(event.sku, event.quantity)])
        elif event.kind == "customer_redact":
            self.privacy.redact_in(
                conn,
                account=account,
                customer_ids=event.customer_ids,
                emails=event.customer_emails,
                order_ids=event.order_ids,
            )
        elif event.kind == "shop_redact":
            self.privacy.redact_in(conn, account=account, everything=True)
        return ApplyResult()

    def _first_delivery(self, conn: Connection, account: str, event_id: str) -> bool:
        w = t.webhook_events.c
        if conn.execute(
            sa.select(w.event_id).where(w.account == account, w.event_id == event_id)
        ).first():
            return False
        conn.execute(
            t.webhook_events.insert().values(
                account=account, event_id=event_id, received_at=self.clock()
            )
        )
        return True
