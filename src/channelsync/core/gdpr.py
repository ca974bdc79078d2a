"""Personal data in the store: export on request, redact on request or after retention.

Orders keep their figures (SKUs, quantities, amounts: the merchant's books need them)
while the customer, both addresses and the raw channel payload are removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.checks import check_optional_text, check_text, check_texts
from channelsync.core.errors import InvalidInput
from channelsync.core.models import Order
from channelsync.core.orderbook import OrderBook
from channelsync.core.salesbook import SalesBook
from channelsync.core.store import Store

__all__ = ["Privacy"]


class Privacy:
    """Customer-data requests against the store (GDPR art. 15 and 17)."""

    def __init__(
        self,
        store: Store,
        orderbook: OrderBook,
        clock: Callable[[], datetime],
        salesbook: SalesBook | None = None,
    ) -> None:
        self.store = store
        self.orderbook = orderbook
        self.clock = clock
        self.salesbook = salesbook or SalesBook(store)

    def _match(
        self,
        account: str | None,
        customer_ids: Iterable[str],
        emails: Iterable[str],
        order_ids: Iterable[str],
        pairs: Iterable[tuple[str, str]] = (),
    ) -> sa.ColumnElement[bool]:
        o = t.orders.c
        check_optional_text(account, "account")
        ids = check_texts(customer_ids, "customer_ids")
        mails = [e.strip().lower() for e in check_texts(emails, "emails")]
        orders = check_texts(order_ids, "order_ids")
        keys = list(pairs)
        if not (ids or mails or orders or keys):
            raise InvalidInput("name the customer: customer_ids, emails or order_ids")
        clauses = []
        if keys:
            clauses.append(sa.tuple_(o.account, o.order_id).in_(keys))
        if ids:
            clauses.append(o.customer_id.in_(ids))
        if mails:
            clauses.append(sa.func.lower(o.customer_email).in_(mails))
        if orders:
            clauses.append(o.order_id.in_(orders))
        cond = sa.or_(*clauses)
        return sa.and_(o.account == account, cond) if account else cond

    def export(
        self,
        *,
        account: str | None = None,
        customer_ids: Iterable[str] = (),
        emails: Iterable[str] = (),
        orders: Iterable[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """Everything the store holds about a customer, as JSON-ready data.

        ``orders`` names (account, order id) pairs, e.g. a person's from the customer file.
        """
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(t.orders.c.doc)
                .where(self._match(account, customer_ids, emails, (), orders))
                .order_by(t.orders.c.created_at)
            ).all()
        found = [Order.model_validate_json(r.doc) for r in rows]
        return {
            "customers": sorted({o.customer.model_dump_json() for o in found if o.customer}),
            "orders": [o.model_dump(mode="json", exclude={"raw"}) for o in found],
        }

    def redact(
        self,
        *,
        account: str | None = None,
        customer_ids: Iterable[str] = (),
        emails: Iterable[str] = (),
        order_ids: Iterable[str] = (),
    ) -> int:
        """Remove a customer's personal data from their orders; returns orders redacted."""
        cond = self._match(account, customer_ids, emails, order_ids)
        return self.store.run(lambda conn: self._redact_where(conn, cond))

    def redact_orders_in(self, conn: Connection, orders: Iterable[tuple[str, str]]) -> int:
        """Redact the (account, order id) pairs ``orders`` in the caller's transaction."""
        keys = list(orders)
        if not keys:
            return 0
        return self._redact_where(conn, self._match(None, (), (), (), keys))

    def redact_account(self, account: str) -> int:
        """Remove every customer's personal data of one account (a shop uninstalled)."""
        check_text(account, "account")
        return self.store.run(lambda conn: self._redact_where(conn, t.orders.c.account == account))

    def redact_in(
        self,
        conn: Connection,
        *,
        account: str,
        customer_ids: Iterable[str] = (),
        emails: Iterable[str] = (),
        order_ids: Iterable[str] = (),
        everything: bool = False,
    ) -> int:
        """``redact`` (``redact_account`` with ``everything``) in the caller's transaction."""
        cond = (
            t.orders.c.account == account
            if everything
            else self._match(account, customer_ids, emails, order_ids)
        )
        return self._redact_where(conn, cond)

    def redact_older_than(self, age: timedelta) -> int:
        """Retention: remove personal data from orders created more than ``age`` ago."""
        if not isinstance(age, timedelta) or age <= timedelta(0):
            raise InvalidInput(f"age must be a positive timedelta, got {age!r:.80}")
        cutoff = self.clock() - age
        return self.store.run(lambda conn: self._redact_where(conn, t.orders.c.created_at < cutoff))

    def _redact_where(self, conn: Connection, cond: sa.ColumnElement[bool]) -> int:
        self.salesbook.forget(conn, cond)
        return self.orderbook.redact(conn, cond)
