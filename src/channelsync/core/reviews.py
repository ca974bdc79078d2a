"""Review requests: at most one per order, never for an order cancelled, refunded or returned.

This module alone writes the ``review_requests`` table.

Where a review request goes depends on the channel:

* **A channel that sends them itself** (``SupportsReviewRequests``: Amazon's Solicitations
  API) decides the window: Amazon offers its "request a review" from 5 to 30 days after
  delivery, once per order. channelsync asks the channel whether the order is eligible
  now, sends it when it is, and records the answer (``sent``, or ``refused`` with Amazon's
  reason, or ``expired``).
* **eBay** has no seller API for this: eBay asks buyers for feedback itself, and its
  member messages may not be used to solicit feedback. eBay orders are never listed.
* **Your own shop** (Shopify, WooCommerce, any other channel): channelsync does not send
  email. It lists the orders whose review request is due (``after`` days after their last
  shipment, and no later than ``within`` days after that) and hands each to a callback you
  give (your review app, your mailer); the order is recorded as ``sent`` when the callback
  returns. ``mark_sent`` records orders your own tool handled from the list.

An order is left out when it is cancelled or refunded, has any refund (partial ones too),
any cancelled unit, any returned unit, or an after-sale operation under way; and when a
request was recorded for it before (``review_requests`` holds one row per order).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.aftersale import recorded_refunds, with_recorded_refunds
from channelsync.core.channel import Channel, SupportsReviewRequests
from channelsync.core.errors import ChannelError, OperationRefused, Rejected
from channelsync.core.models import Order, OrderStatus
from channelsync.core.store import Store

__all__ = ["ReviewDue", "ReviewOutcome", "ReviewRequests"]

log = logging.getLogger(__name__)

Via = Literal["channel", "callback"]
Recorded = Literal["sent", "refused", "expired"]

#: Channel kinds that offer sellers no review request at all (see the module docstring).
NO_REVIEW_API = frozenset({"ebay"})


@dataclass(frozen=True)
class ReviewDue:
    """An order whose review request can go out now."""

    account: str
    order_id: str
    number: str | None
    kind: str
    via: Via
    """``channel``: the channel sends it (Amazon); ``callback``: your own tool does."""
    shipped_at: datetime
    customer_name: str | None
    customer_email: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["shipped_at"] = self.shipped_at.isoformat()
        return data


@dataclass(frozen=True)
class ReviewOutcome:
    """What happened to one order's review request."""

    account: str
    order_id: str
    status: Literal["sent", "refused", "expired", "not_yet", "skipped", "failed", "dry_run"]
    via: Via
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _shipped_at(order: Order) -> datetime | None:
    times = [s.shipped_at for s in order.shipments if s.shipped_at is not None]
    if times:
        return max(times)
    return order.updated_at if order.status is OrderStatus.SHIPPED else None


def _spoiled(order: Order) -> str | None:
    """Why an order never gets a review request (None: it may)."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return order.status.value
    if order.status is not OrderStatus.SHIPPED:
        return "not shipped"
    if order.refunds:
        return "refunded"
    if any(line.quantity_cancelled for line in order.lines):
        return "units cancelled"
    return None


class ReviewRequests:
    """Which orders are due a review request, and sending or handing them over."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        channel_of: Callable[[str], Channel | None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.channel_of = channel_of

    def due(
        self,
        *,
        account: str | None = None,
        accounts: Iterable[str] | None = None,
        after: timedelta = timedelta(days=7),
        within: timedelta = timedelta(days=30),
    ) -> list[ReviewDue]:
        """Orders whose review request may go out now, oldest shipment first.

        ``accounts`` are the accounts that opted in (None: every account with a channel);
        ``account`` narrows to one.

        For your own shop's accounts: shipped at least ``after`` ago and at most
        ``after + within`` ago. For channels that send requests themselves, every order
        shipped within their own window (the channel decides when it opens: Amazon's is
        5 to 30 days after delivery).
        """
        if after < timedelta(0) or within <= timedelta(0):
            raise OperationRefused("after must not be negative and within must be positive")
        now = self.clock()
        allowed = None if accounts is None else set(accounts)
        out = []
        with self.store.read() as conn:
            oldest = now - max(after + within, _CHANNEL_WINDOW) - _SLACK
            for order in self._candidates(conn, account, oldest):
                if allowed is not None and order.account not in allowed:
                    continue
                channel = self.channel_of(order.account)
                if channel is None or channel.kind in NO_REVIEW_API:
                    continue
                shipped = _shipped_at(order)
                if shipped is None:
                    continue
                via: Via = "channel" if isinstance(channel, SupportsReviewRequests) else "callback"
                if via == "callback" and not (shipped + after <= now <= shipped + after + within):
                    continue
                if via == "channel" and now > shipped + _CHANNEL_WINDOW:
                    continue
                customer = order.customer
                out.append(
                    ReviewDue(
                        account=order.account,
                        order_id=order.order_id,
                        number=order.number,
                        kind=order.kind,
                        via=via,
                        shipped_at=shipped,
                        customer_name=customer.name if customer else None,
                        customer_email=customer.email if customer else None,
                    )
                )
        return sorted(out, key=lambda d: (d.shipped_at, d.account, d.order_id))

    def send(
        self,
        *,
        account: str | None = None,
        accounts: Iterable[str] | None = None,
        callback: Callable[[ReviewDue], None] | None = None,
        after: timedelta = timedelta(days=7),
        within: timedelta = timedelta(days=30),
        dry_run: bool = False,
    ) -> list[ReviewOutcome]:
        """Send what is due: through the channel where it sends them, else through
        ``callback`` (orders are left due when there is none). Each order is recorded
        once, so running this again never asks a buyer twice."""
        out = []
        for due in self.due(account=account, accounts=accounts, after=after, within=within):
            if dry_run:
                out.append(ReviewOutcome(due.account, due.order_id, "dry_run", due.via))
                continue
            if due.via == "callback":
                if callback is None:
                    out.append(
                        ReviewOutcome(
                            due.account,
                            due.order_id,
                            "skipped",
                            due.via,
                            "your shop sends its own review emails: give a callback, or"
                            " mark the order sent once your tool has asked",
                        )
                    )
                    continue
                callback(due)
                out.append(self._record(due, "sent", None))
                continue
            out.append(self._through_channel(due))
        return out

    def mark_sent(self, pairs: Iterable[tuple[str, str]], *, detail: str | None = None) -> int:
        """Record orders (account, order id) as asked by your own tool; returns how many
        were new (an order recorded before stays as it was)."""
        wanted = list(pairs)

        def work(conn: Connection) -> int:
            n = 0
            for account, order_id in wanted:
                n += self._insert(conn, account, order_id, "sent", "callback", detail)
            return n

        return self.store.run(work)

    def history(self, account: str | None = None) -> list[ReviewOutcome]:
        """The review requests recorded, newest first."""
        r = t.review_requests.c
        query = sa.select(t.review_requests).order_by(r.at.desc())
        if account is not None:
            query = query.where(r.account == account)
        with self.store.read() as conn:
            return [
                ReviewOutcome(row.account, row.order_id, row.status, row.via, row.detail)
                for row in conn.execute(query)
            ]

    # -- internals ---------------------------------------------------------------------------

    def _through_channel(self, due: ReviewDue) -> ReviewOutcome:
        channel = self.channel_of(due.account)
        if not isinstance(channel, SupportsReviewRequests):  # pragma: no cover - due() checked
            return ReviewOutcome(due.account, due.order_id, "skipped", due.via)
        with self.store.read() as conn:
            order = self._order(conn, due.account, due.order_id)
        if order is None or _spoiled(order) is not None:
            return ReviewOutcome(due.account, due.order_id, "skipped", due.via, "changed")
        try:
            status = channel.review_request_status(order)
            if status == "not_yet":
                return ReviewOutcome(due.account, due.order_id, "not_yet", due.via)
            if status == "expired":
                return self._record(due, "expired", "the channel's window has passed")
            if status in ("unavailable", "sent"):
                return self._record(
                    due, "refused", "the channel does not offer a review request for it"
                )
            channel.send_review_request(order)
        except Rejected as exc:
            return self._record(due, "refused", exc.message)
        except ChannelError as exc:  # transient or auth: nothing recorded, try again later
            log.warning("review request of %s/%s: %s", due.account, due.order_id, exc)
            return ReviewOutcome(due.account, due.order_id, "failed", due.via, exc.message)
        return self._record(due, "sent", None)

    def _record(self, due: ReviewDue, status: Recorded, detail: str | None) -> ReviewOutcome:
        self.store.run(
            lambda conn: self._insert(conn, due.account, due.order_id, status, due.via, detail)
        )
        return ReviewOutcome(due.account, due.order_id, status, due.via, detail)

    def _insert(
        self,
        conn: Connection,
        account: str,
        order_id: str,
        status: str,
        via: str,
        detail: str | None,
    ) -> int:
        r = t.review_requests.c
        exists = conn.execute(
            sa.select(r.status).where(r.account == account, r.order_id == order_id)
        ).first()
        if exists is not None:
            return 0
        conn.execute(
            t.review_requests.insert().values(
                account=account,
                order_id=order_id,
                status=status,
                via=via,
                detail=(detail or None) and detail[:2000],
                at=self.clock(),
            )
        )
        return 1

    def _order(self, conn: Connection, account: str, order_id: str) -> Order | None:
        doc = conn.execute(
            sa.select(t.orders.c.doc).where(
                t.orders.c.account == account, t.orders.c.order_id == order_id
            )
        ).scalar()
        if doc is None:
            return None
        order = Order.model_validate_json(doc)
        recorded = recorded_refunds(conn, account, [order_id]).get((account, order_id), ())
        return with_recorded_refunds(order, recorded)

    def _candidates(self, conn: Connection, account: str | None, since: datetime) -> list[Order]:
        o = t.orders.c
        query = sa.select(o.account, o.order_id, o.doc).where(
            o.status == OrderStatus.SHIPPED.value,
            o.updated_at >= since,
            o.redacted_at.is_(None),
        )
        if account is not None:
            query = query.where(o.account == account)
        rows = list(conn.execute(query))
        if not rows:
            return []
        asked = {
            (row.account, row.order_id)
            for row in conn.execute(
                sa.select(t.review_requests.c.account, t.review_requests.c.order_id)
            )
        }
        returned = {
            (row.account, row.order_id)
            for row in conn.execute(sa.select(t.returns.c.account, t.returns.c.order_id).distinct())
        }
        busy = {
            (row.account, row.order_id)
            for row in conn.execute(
                sa.select(t.aftersale_ops.c.account, t.aftersale_ops.c.order_id).where(
                    t.aftersale_ops.c.status == "pending"
                )
            )
        }
        refunds = recorded_refunds(conn, account)
        out = []
        for row in rows:
            pair = (row.account, row.order_id)
            if pair in asked or pair in returned or pair in busy:
                continue
            order = with_recorded_refunds(Order.model_validate_json(row.doc), refunds.get(pair, ()))
            if _spoiled(order) is None:
                out.append(order)
        return out


#: How long after shipping an order may still be in a channel's own window (Amazon's ends
#: 30 days after the latest delivery date; delivery takes a few days).
_CHANNEL_WINDOW = timedelta(days=40)
#: Orders change after shipping (tracking, a late refund): read a little further back.
_SLACK = timedelta(days=2)
