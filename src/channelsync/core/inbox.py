"""The durable webhook inbox: verified events are stored first, then applied from here.

This module alone writes the ``inbox`` table.

A delivery is verified and parsed by its channel (``parse_webhook``); each of its events is
written here, keyed by the channel's event id (or a digest of the event where the channel
gives none), before the receiver answers 2xx. A redelivery of the same id is recognised
and not stored again, so deduplication lives here and nowhere else. Events are applied
from the inbox under a lease, each in the transaction that marks it applied, so one
applies exactly once even when a worker dies between the answer and the apply. An event
that cannot be applied yet (its order cannot be read now, the channel's quota is spent)
stays pending with its error and is retried with backoff; it shows in
``engine.inbox_pending()``, ``channelsync orders failures`` and the worker's health.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import WebhookEvent
from channelsync.core.gdpr import Privacy
from channelsync.core.leases import Claim, LeaseKeeper, release_claim, renew_claim
from channelsync.core.ledger import ApplyResult
from channelsync.core.listings import Listings
from channelsync.core.orderbook import OrderBook
from channelsync.core.outbox import backoff
from channelsync.core.store import Store

__all__ = ["Inbox", "InboxItem", "LeaseLost", "PendingEvent", "event_key"]

#: After this many failed attempts an event is set aside as ``dead`` (still listed).
MAX_ATTEMPTS = 25


class LeaseLost(Exception):
    """The inbox row is no longer held by this claim (another applier took it over)."""


def event_key(event: WebhookEvent) -> str:
    """The id an event is deduplicated by: the channel's event id, else a digest of it."""
    if event.event_id:
        return event.event_id[:255]
    body = event.model_dump_json(exclude={"raw", "response"})
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class InboxItem:
    """A claimed inbox row."""

    id: int
    account: str
    event: WebhookEvent
    attempts: int


@dataclass(frozen=True)
class PendingEvent:
    """An event received but not applied yet (or set aside after many failures)."""

    id: int
    account: str
    delivery_id: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    next_attempt_at: datetime


class Inbox:
    """Stores, claims and applies webhook events."""

    def __init__(
        self,
        store: Store,
        orderbook: OrderBook,
        listings: Listings,
        privacy: Privacy,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.orderbook = orderbook
        self.listings = listings
        self.privacy = privacy
        self.clock = clock

    # -- receiving ------------------------------------------------------------------------

    def put(self, account: str, events: Sequence[WebhookEvent]) -> list[int]:
        """Store verified events of ``account``; returns the ids of those new to the inbox."""
        if not events:
            return []
        now = self.clock()

        def work(conn: Connection) -> list[int]:
            i = t.inbox.c
            keys = {event_key(e): e for e in events}
            known = set(
                conn.execute(
                    sa.select(i.delivery_id).where(
                        i.account == account, self.store.among(i.delivery_id, keys)
                    )
                ).scalars()
            )
            ids: list[int] = []
            for key, event in keys.items():
                if key in known:
                    continue
                ids.append(
                    conn.execute(
                        t.inbox.insert()
                        .values(
                            account=account,
                            delivery_id=key,
                            kind=event.kind,
                            event=event.model_dump_json(),
                            status="pending",
                            attempts=0,
                            received_at=now,
                            next_attempt_at=now,
                        )
                        .returning(i.id)
                    ).scalar_one()
                )
            if ids:
                self.store.touched(conn, account)
            return ids

        return self.store.run(work)

    # -- applying -------------------------------------------------------------------------

    def claim(
        self, account: str, limit: int, lease: timedelta, ids: Sequence[int] | None = None
    ) -> Claim[InboxItem]:
        """Lease up to ``limit`` due pending events of ``account`` (or just ``ids``)."""
        token = str(uuid.uuid4())

        def work(conn: Connection) -> Claim[InboxItem]:
            now = self.clock()
            i = t.inbox.c
            query = (
                sa.select(i.id, i.event, i.attempts)
                .where(
                    i.account == account,
                    i.status == "pending",
                    sa.or_(i.lease_until.is_(None), i.lease_until < now),
                )
                .order_by(i.id)
                .limit(limit)
            )
            query = query.where(i.id.in_(list(ids))) if ids is not None else query
            query = query.where(i.next_attempt_at <= now) if ids is None else query
            rows = conn.execute(self.store.for_update_skip_locked(query)).all()
            claim: Claim[InboxItem] = Claim("inbox", account, token, lease)
            if rows:
                conn.execute(
                    t.inbox.update()
                    .where(i.id.in_([r.id for r in rows]))
                    .values(lease_until=now + lease, claim_token=token)
                )
            claim.items = [
                InboxItem(r.id, account, WebhookEvent.model_validate_json(r.event), r.attempts)
                for r in rows
            ]
            return claim

        return self.store.run(work)

    def apply(self, conn: Connection, account: str, event: WebhookEvent) -> ApplyResult:
        """Apply one event in the caller's transaction."""
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

    def mark_applied(self, conn: Connection, claim: Claim[InboxItem], item_id: int) -> None:
        """Mark an event applied, in the transaction that applied it.

        Raises:
            LeaseLost: the row is no longer held by ``claim`` (the transaction must roll back).
        """
        i = t.inbox.c
        done = conn.execute(
            t.inbox.update()
            .where(i.id == item_id, i.claim_token == claim.token)
            .values(
                status="applied",
                applied_at=self.clock(),
                lease_until=None,
                claim_token=None,
                last_error=None,
            )
        ).rowcount
        if not done:
            raise LeaseLost(f"inbox event {item_id} is held by another applier now")

    def fail(
        self, claim: Claim[InboxItem], item_id: int, error: str, delay: timedelta | None
    ) -> None:
        """Count a failed attempt; the event is retried later (set aside after many)."""
        now = self.clock()

        def work(conn: Connection) -> None:
            i = t.inbox.c
            mine = sa.and_(i.id == item_id, i.claim_token == claim.token)
            tries = conn.execute(sa.select(i.attempts).where(mine)).scalar()
            if tries is None:
                return
            tries += 1
            conn.execute(
                t.inbox.update()
                .where(mine)
                .values(
                    attempts=tries,
                    last_error=error[:2000],
                    status="dead" if tries >= MAX_ATTEMPTS else "pending",
                    next_attempt_at=now + (delay if delay is not None else backoff(tries)),
                    lease_until=None,
                    claim_token=None,
                )
            )

        self.store.run(work)

    def release(self, claim: Claim[InboxItem], ids: Sequence[int] | None = None) -> None:
        """Give up claimed events that were not applied (all of them by default)."""
        self.store.run(lambda conn: release_claim(t.inbox, claim, t.inbox.c.id, ids, conn))

    def keeper(self, claim: Claim[InboxItem]) -> LeaseKeeper:
        """A ``LeaseKeeper`` renewing ``claim`` while its events are applied."""
        return LeaseKeeper(
            lambda: self.store.run(lambda conn: renew_claim(t.inbox, claim, self.clock(), conn)),
            claim.lease,
            f"lease-inbox-{claim.account}",
        )

    # -- reading --------------------------------------------------------------------------

    def pending(self, account: str | None = None) -> list[PendingEvent]:
        """Events received but not applied (pending or set aside), oldest first."""
        i = t.inbox.c
        query = sa.select(t.inbox).where(i.status != "applied").order_by(i.id)
        if account is not None:
            query = query.where(i.account == account)
        with self.store.read() as conn:
            return [
                PendingEvent(
                    id=r.id,
                    account=r.account,
                    delivery_id=r.delivery_id,
                    kind=r.kind,
                    status=r.status,
                    attempts=r.attempts,
                    last_error=r.last_error,
                    received_at=r.received_at,
                    next_attempt_at=r.next_attempt_at,
                )
                for r in conn.execute(query)
            ]

    def depth(self) -> dict[str, tuple[int, datetime | None]]:
        """Per account: events not applied yet and when the oldest arrived."""
        i = t.inbox.c
        with self.store.read() as conn:
            return {
                r.account: (int(r.n), r.oldest)
                for r in conn.execute(
                    sa.select(
                        i.account,
                        sa.func.count().label("n"),
                        sa.func.min(i.received_at).label("oldest"),
                    )
                    .where(i.status == "pending")
                    .group_by(i.account)
                )
            }

    def due(self, account: str) -> datetime | None:
        """When the earliest pending event of ``account`` is due, if any."""
        i = t.inbox.c
        with self.store.read() as conn:
            value = conn.execute(
                sa.select(sa.func.min(i.next_attempt_at)).where(
                    i.account == account, i.status == "pending"
                )
            ).scalar()
        return value if isinstance(value, datetime) else None

    def prune(self, older_than: timedelta) -> int:
        """Forget applied events received before ``older_than`` ago (their ids too)."""
        cutoff = self.clock() - older_than
        i = t.inbox.c
        return self.store.run(
            lambda conn: (
                conn.execute(
                    t.inbox.delete().where(i.status == "applied", i.received_at < cutoff)
                ).rowcount
            )
        )
