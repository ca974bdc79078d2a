"""The listings bound per account: a SKU on one channel account, with the channel's ids.

This module alone writes the ``listings`` table. Listings are bound by importing an
account's catalogue (streamed page by page, so memory does not grow with it), and their
``quantity`` follows what the channel was last seen or acknowledged to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.models import Listing, Money
from channelsync.core.store import Store

__all__ = ["Listings", "listing_from_row"]


def listing_from_row(row: Any) -> Listing:
    """A ``Listing`` from a row of the listings table."""
    price = (
        Money(amount=row.price_amount, currency=row.price_currency)
        if row.price_amount is not None and row.price_currency
        else None
    )
    ids = row.ids if isinstance(row.ids, dict) else json.loads(row.ids)
    return Listing(
        kind=row.kind,
        account=row.account,
        sku=row.sku,
        listing_id=row.listing_id,
        quantity=row.quantity,
        price=price,
        title=row.title,
        manages_stock=row.manages_stock,
        fulfilled_by=row.fulfilled_by,
        ids=ids,
        levels=(row.levels if isinstance(row.levels, dict) else json.loads(row.levels or "{}"))
        if getattr(row, "levels", None)
        else {},
    )


class Listings:
    """Reads and writes the listings of every account."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def get(self, conn: Connection, account: str, skus: Sequence[str]) -> dict[str, Listing]:
        """The bound listings of ``skus`` on ``account``."""
        ls = t.listings.c
        rows = conn.execute(
            sa.select(t.listings).where(ls.account == account, self.store.among(ls.sku, skus))
        )
        return {r.sku: listing_from_row(r) for r in rows}

    def shown(
        self,
        conn: Connection,
        account: str,
        skus: Sequence[str],
        channel_ids: Mapping[str, str] | None = None,
    ) -> dict[tuple[str, str], int | None]:
        """What the listings of ``skus`` were last seen showing, by (SKU, location): the
        listing's one quantity at location "", and where ``channel_ids`` (our location name
        -> the channel's id) is given, the quantity at each of those locations."""
        ls = t.listings.c
        out: dict[tuple[str, str], int | None] = {}
        if not channel_ids:
            for plain in conn.execute(
                sa.select(ls.sku, ls.quantity).where(
                    ls.account == account, self.store.among(ls.sku, skus)
                )
            ):
                out[(plain.sku, "")] = plain.quantity
            return out
        for r in conn.execute(
            sa.select(ls.sku, ls.quantity, ls.levels).where(
                ls.account == account, self.store.among(ls.sku, skus)
            )
        ):
            out[(r.sku, "")] = r.quantity
            levels = r.levels if isinstance(r.levels, dict) else json.loads(r.levels or "{}")
            for name, cid in channel_ids.items():
                if cid in levels:
                    out[(r.sku, name)] = levels[cid]
        return out

    def skus(self, conn: Connection, account: str) -> set[str]:
        """Every SKU bound on ``account``."""
        ls = t.listings.c
        return set(conn.execute(sa.select(ls.sku).where(ls.account == account)).scalars())

    def sku_pages(self, store: Store, account: str, size: int = 1000) -> Iterator[list[str]]:
        """Every SKU bound on ``account``, ``size`` at a time in SKU order (one short read
        transaction a page, so a scan of a large catalogue holds neither rows nor locks)."""
        ls = t.listings.c
        last: str | None = None
        while True:
            query = sa.select(ls.sku).where(ls.account == account)
            if last is not None:
                query = query.where(ls.sku > last)
            with store.read() as conn:
                page = list(conn.execute(query.order_by(ls.sku).limit(size)).scalars())
            if not page:
                return
            yield page
            last = page[-1]

    def all_skus(self, conn: Connection) -> set[str]:
        """Every SKU bound on any account."""
        return set(conn.execute(sa.select(t.listings.c.sku).distinct()).scalars())

    def bind(self, conn: Connection, listings: Sequence[Listing], run: str | None = None) -> None:
        """Insert or update ``listings`` (one page of import ``run``)."""
        now = self.clock()
        rows = [
            {
                "account": lst.account,
                "sku": lst.sku,
                "kind": lst.kind,
                "listing_id": lst.listing_id,
                "quantity": lst.quantity,
                "price_amount": str(lst.price.amount) if lst.price else None,
                "price_currency": lst.price.currency if lst.price else None,
                "title": lst.title,
                "manages_stock": lst.manages_stock,
                "fulfilled_by": lst.fulfilled_by,
                "ids": dict(lst.ids),
                "updated_at": now,
                "import_run": run,
                "levels": dict(lst.levels) or None,
            }
            for lst in listings
        ]
        self.store.bulk(
            conn,
            t.listings,
            rows,
            keys=("account", "sku"),
            update=tuple(c for c in rows[0] if c not in ("account", "sku")) if rows else (),
        )

    def seen_in_run(
        self, conn: Connection, account: str, skus: Sequence[str], run: str
    ) -> set[str]:
        """Those of ``skus`` that import ``run`` has bound already (listed twice)."""
        ls = t.listings.c
        return set(
            conn.execute(
                sa.select(ls.sku).where(
                    ls.account == account, ls.import_run == run, self.store.among(ls.sku, skus)
                )
            ).scalars()
        )

    def unseen_in_run(self, conn: Connection, account: str, run: str) -> list[str]:
        """Listings of ``account`` that import ``run`` did not see (gone from the channel)."""
        ls = t.listings.c
        return sorted(
            conn.execute(
                sa.select(ls.sku).where(
                    ls.account == account,
                    sa.or_(ls.import_run.is_(None), ls.import_run != run),
                )
            ).scalars()
        )

    def unbind(self, conn: Connection, account: str, skus: Iterable[str]) -> None:
        """Forget listings the channel no longer has."""
        skus = list(skus)
        if skus:
            ls = t.listings.c
            conn.execute(
                t.listings.delete().where(ls.account == account, self.store.among(ls.sku, skus))
            )

    def record_shown(
        self, conn: Connection, account: str, shown: Sequence[tuple[str, int]]
    ) -> None:
        """Record what the channel shows now for these (sku, quantity) pairs."""
        if shown:
            now = self.clock()
            self.store.bulk(
                conn,
                t.listings,
                [
                    {"quantity": q, "updated_at": now, "account": account, "sku": s}
                    for s, q in shown
                ],
                where=("account", "sku"),
            )
