"""The merchant's catalogue as the engine needs it: bundles, prices, cost prices.

This module alone writes the ``products``, ``bundles`` and ``product_costs`` tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.checks import (
    check_instance,
    check_money,
    check_optional_text,
    check_quantity,
    check_sku,
    check_texts,
)
from channelsync.core.errors import InvalidInput
from channelsync.core.models import Money
from channelsync.core.outbox import Outbox
from channelsync.core.planner import Planner
from channelsync.core.store import Store

__all__ = ["Catalog", "CostBook", "check_sku", "read_costs"]


@dataclass(frozen=True)
class CostBook:
    """Every recorded cost price: per SKU, one amount per currency; and the bundles."""

    own: dict[str, dict[str, Decimal]]
    bundles: dict[str, dict[str, int]]

    def unit_cost(self, sku: str, currency: str) -> Decimal | None:
        """The cost of one unit of ``sku`` in ``currency`` (None if none is recorded).

        A SKU with a cost price of its own uses it; a bundle without one costs the sum
        of its components' (each needing a cost in ``currency``).
        """
        own = self.own.get(sku)
        if own is not None:
            return own.get(currency)
        comps = self.bundles.get(sku)
        if not comps:
            return None
        total = Decimal(0)
        for comp, qty in comps.items():
            part = self.own.get(comp, {}).get(currency)
            if part is None:
                return None
            total += part * qty
        return total

    def currencies(self, sku: str) -> list[str]:
        """The currencies ``sku`` has a cost price in (its components' common ones)."""
        own = self.own.get(sku)
        if own is not None:
            return sorted(own)
        comps = self.bundles.get(sku)
        if not comps:
            return []
        common = set.intersection(*(set(self.own.get(c, {})) for c in comps))
        return sorted(common)


def read_costs(conn: Connection) -> CostBook:
    """The catalogue's cost prices and bundles, for the reports."""
    own: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in conn.execute(sa.select(t.product_costs)):
        own[r.sku][r.currency] = Decimal(r.amount)
    bundles: dict[str, dict[str, int]] = defaultdict(dict)
    for r in conn.execute(sa.select(t.bundles)):
        bundles[r.bundle_sku][r.component_sku] = r.quantity
    return CostBook(dict(own), dict(bundles))


class Catalog:
    """Bundles, prices and cost prices (``SyncEngine`` delegates here)."""

    def __init__(
        self, store: Store, planner: Planner, outbox: Outbox, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.planner = planner
        self.outbox = outbox
        self.clock = clock

    def define_bundle(self, sku: str, components: Mapping[str, int]) -> None:
        """Declare ``sku`` a bundle of ``components`` (SKU -> units per bundle)."""
        check_sku(sku)
        check_instance(components, Mapping, "components")
        if not components:
            raise InvalidInput(f"bundle {sku!r} needs at least one component")
        for comp, qty in components.items():
            check_sku(comp, "component SKU")
            if comp == sku:
                raise InvalidInput(f"bundle {sku!r} cannot contain itself")
            check_quantity(qty, f"bundle {sku!r}: quantity of {comp!r}")
            if qty <= 0:
                raise InvalidInput(f"bundle {sku!r}: quantity of {comp!r} must be a positive int")

        def work(conn: Connection) -> None:
            nested = conn.execute(
                sa.select(t.bundles.c.bundle_sku).where(
                    t.bundles.c.bundle_sku.in_(list(components))
                )
            ).first()
            if nested is not None:
                raise InvalidInput(f"bundle {sku!r}: component {nested[0]!r} is itself a bundle")
            conn.execute(t.bundles.delete().where(t.bundles.c.bundle_sku == sku))
            conn.execute(
                t.bundles.insert(),
                [
                    {"bundle_sku": sku, "component_sku": c, "quantity": q}
                    for c, q in components.items()
                ],
            )
            self.planner.recompute(conn, [sku, *components])

        self.store.run(work)

    def set_price(self, sku: str, price: Money, accounts: Iterable[str] | None = None) -> int:
        """Queue ``price`` for every listing of ``sku`` (or only on ``accounts``); rows queued."""
        check_sku(sku)
        check_money(price, "price")
        if accounts is not None:
            accounts = check_texts(accounts, "accounts")
        now = self.clock()

        def work(conn: Connection) -> int:
            q = sa.select(t.listings.c.account).where(t.listings.c.sku == sku)
            if accounts is not None:
                q = q.where(t.listings.c.account.in_(list(accounts)))
            queued = self.outbox.queue_price(conn, sku, price, [r.account for r in conn.execute(q)])
            row = {
                "sku": sku,
                "price_amount": str(price.amount),
                "price_currency": price.currency,
                "updated_at": now,
            }
            self.store.upsert(conn, t.products, [row], keys=("sku",))
            return queued

        return self.store.run(work)

    def set_cost(self, sku: str, cost: Money, *, title: str | None = None) -> None:
        """Record the cost price of ``sku`` in ``cost.currency`` (for gross-margin reports).

        A SKU keeps one cost price per currency: setting a EUR cost leaves its USD cost.
        """
        check_sku(sku)
        check_money(cost, "cost")
        check_optional_text(title, "title")
        now = self.clock()
        row: dict[str, Any] = {
            "sku": sku,
            "cost_amount": str(cost.amount),
            "cost_currency": cost.currency,
            "updated_at": now,
        }
        if title is not None:
            row["title"] = title
        per_currency = {
            "sku": sku,
            "currency": cost.currency,
            "amount": str(cost.amount),
            "scaled": int((cost.amount * 10000).to_integral_value(ROUND_HALF_EVEN)),
            "updated_at": now,
        }

        def work(conn: Connection) -> None:
            self.store.upsert(conn, t.products, [row], keys=("sku",))
            self.store.upsert(conn, t.product_costs, [per_currency], keys=("sku", "currency"))

        self.store.run(work)

    def costs(self) -> CostBook:
        """Every cost price per SKU and currency, and the bundles."""
        with self.store.read() as conn:
            return read_costs(conn)
