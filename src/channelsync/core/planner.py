"""Recomputing the quantity every listing should show, and handing it to the outbox.

Called inside the transaction that changed the ledger, so the desired quantity is always
written together with the change that caused it ("desired before push").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.allocation import AllocationStep, Rule, allocate, bundle_available, shown
from channelsync.core.outbox import Outbox
from channelsync.core.store import Store

__all__ = ["Planner", "RuleBook"]

RuleKey = str | tuple[str, str]


class RuleBook:
    """Rules per account, with per-SKU overrides; ``Rule()`` where nothing is set."""

    def __init__(self, rules: Mapping[RuleKey, Rule] | None = None) -> None:
        self._account: dict[str, Rule] = {}
        self._sku: dict[tuple[str, str], Rule] = {}
        for key, rule in (rules or {}).items():
            self.put(key, rule)

    def put(self, key: RuleKey, rule: Rule) -> None:
        """Set the rule of an account (``"ebay-de"``) or of one SKU (``("ebay-de", "SKU")``)."""
        if not isinstance(rule, Rule):
            raise TypeError(f"rule for {key!r} must be a channelsync.Rule, got {type(rule)}")
        if isinstance(key, tuple):
            if len(key) != 2 or not all(isinstance(k, str) and k for k in key):
                raise ValueError(f"rule key {key!r} must be (account, sku)")
            self._sku[key] = rule
        elif isinstance(key, str) and key:
            self._account[key] = rule
        else:
            raise ValueError(f"rule key {key!r} must be an account name or (account, sku)")

    def rule(self, account: str, sku: str) -> Rule:
        """The rule that applies to ``sku`` on ``account``."""
        if self._sku:
            rule = self._sku.get((account, sku))
            if rule is not None:
                return rule
        rule = self._account.get(account)
        return _DEFAULT if rule is None else rule

    def accounts(self) -> set[str]:
        """Accounts that have a rule of their own."""
        return set(self._account) | {a for a, _ in self._sku}


_DEFAULT = Rule()


@dataclass(frozen=True)
class Desired:
    """What one listing should show and how that number arose."""

    account: str
    sku: str
    quantity: int | None
    steps: tuple[AllocationStep, ...]
    reason: str | None = None
    """Why nothing is pushed (``quantity`` None): disabled, untracked, channel-fulfilled."""


class Planner:
    """Computes desired quantities from the ledger and keeps the outbox up to date."""

    def __init__(self, store: Store, rules: RuleBook, outbox: Outbox) -> None:
        self.store = store
        self.rules = rules
        self.outbox = outbox

    def expand(
        self, conn: Connection, skus: Iterable[str]
    ) -> tuple[set[str], dict[str, dict[str, int]]]:
        """The SKUs whose listings depend on ``skus`` (bundles included), and those bundles."""
        skus = set(skus)
        rows = conn.execute(
            sa.select(t.bundles.c.bundle_sku).where(
                self.store.among(t.bundles.c.component_sku, skus)
            )
        ).all()
        affected = skus | {r.bundle_sku for r in rows}
        return affected, self.bundles(conn, affected)

    def bundles(self, conn: Connection, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        """Bundle definitions (component -> quantity) for those of ``skus`` that are bundles."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for row in conn.execute(
            sa.select(t.bundles).where(self.store.among(t.bundles.c.bundle_sku, skus))
        ):
            out[row.bundle_sku][row.component_sku] = row.quantity
        return dict(out)

    def desired(
        self,
        conn: Connection,
        skus: Iterable[str],
        accounts: Iterable[str] | None = None,
        *,
        steps: bool = True,
    ) -> list[Desired]:
        """What every listing of ``skus`` (bundles containing them included) should show.

        With ``steps=False`` the allocation steps are not recorded (the recompute path).
        """
        affected, bundles = self.expand(conn, skus)
        needed = set(affected)
        for comps in bundles.values():
            needed |= set(comps)
        levels = {
            r.sku: r
            for r in conn.execute(
                sa.select(
                    t.ledger.c.sku, t.ledger.c.on_hand, t.ledger.c.committed, t.ledger.c.tracked
                ).where(self.store.among(t.ledger.c.sku, needed))
            )
        }
        query = sa.select(
            t.listings.c.account,
            t.listings.c.sku,
            t.listings.c.manages_stock,
            t.listings.c.fulfilled_by,
        ).where(self.store.among(t.listings.c.sku, affected))
        if accounts is not None:
            query = query.where(t.listings.c.account.in_(set(accounts)))
        out: list[Desired] = []
        for row in conn.execute(query.order_by(t.listings.c.account, t.listings.c.sku)):
            out.append(self._one(row.account, row.sku, row, levels, bundles, steps))
        return out

    def _one(
        self,
        account: str,
        sku: str,
        listing: Any,
        levels: Mapping[str, Any],
        bundles: Mapping[str, Mapping[str, int]],
        with_steps: bool = True,
    ) -> Desired:
        rule = self.rules.rule(account, sku)
        if not rule.enabled:
            return Desired(account, sku, None, (), "rule disabled")
        if listing.fulfilled_by != "merchant":
            return Desired(account, sku, None, (), "fulfilled by the channel (its stock, not ours)")
        if not listing.manages_stock:
            return Desired(account, sku, None, (), "listing does not manage stock")
        if sku in bundles:
            comps = bundles[sku]
            untracked = [c for c in comps if c not in levels or not levels[c].tracked]
            if untracked:
                return Desired(
                    account, sku, None, (), f"bundle component not counted: {untracked[0]}"
                )
            avail = {c: levels[c].on_hand - levels[c].committed for c in comps}
            available = bundle_available(comps, avail)
            if not with_steps:
                return Desired(account, sku, shown(available, rule), ())
            first = AllocationStep(
                "bundle",
                ", ".join(f"{c}: {avail[c]}//{q}" for c, q in sorted(comps.items())),
                available,
            )
            steps = [first, *allocate(available, rule)[1:]]
        else:
            level = levels.get(sku)
            if level is None or not level.tracked:
                return Desired(account, sku, None, (), "SKU not counted yet (set_on_hand/adjust)")
            if not with_steps:
                return Desired(account, sku, shown(level.on_hand - level.committed, rule), ())
            steps = allocate(level.on_hand - level.committed, rule)
        return Desired(account, sku, steps[-1].quantity, tuple(steps))

    def recompute(self, conn: Connection, skus: Iterable[str]) -> int:
        """Write the desired quantity of every listing that depends on ``skus``; rows changed."""
        skus = set(skus)
        if not skus:
            return 0
        by_account: dict[str, dict[str, int]] = defaultdict(dict)
        for d in self.desired(conn, skus, steps=False):
            if d.quantity is not None:
                by_account[d.account][d.sku] = d.quantity
        # Accounts in a fixed order: outbox rows are locked in one order by every writer.
        return sum(self.outbox.set_desired(conn, a, by_account[a]) for a in sorted(by_account))
