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
from channelsync.core.errors import InvalidInput
from channelsync.core.locations import LocationBook
from channelsync.core.outbox import Outbox
from channelsync.core.store import Store

__all__ = ["Planner", "RuleBook"]

RuleKey = str | tuple[str, str] | tuple[str, str | None, str]


class RuleBook:
    """Rules per account, with per-SKU and per-location overrides; ``Rule()`` where nothing
    is set.

    Keys: ``"ebay-de"`` (the account), ``("ebay-de", "SKU-1")`` (one SKU on it), and for
    channels that keep a quantity per location ``("shopify-main", None, "berlin")`` (every
    SKU at one location, e.g. a buffer for the shop floor) or ``("shopify-main", "SKU-1",
    "berlin")``. The most specific one that is set applies.
    """

    def __init__(self, rules: Mapping[Any, Rule] | None = None) -> None:
        self._account: dict[str, Rule] = {}
        self._sku: dict[tuple[str, str], Rule] = {}
        self._location: dict[tuple[str, str | None, str], Rule] = {}
        for key, rule in (rules or {}).items():
            self.put(key, rule)

    def put(self, key: RuleKey, rule: Rule) -> None:
        """Set the rule of an account, an (account, SKU) or an (account, SKU or None,
        location)."""
        if not isinstance(rule, Rule):
            raise InvalidInput(
                f"rule for {key!r:.80} must be a channelsync.Rule, got {type(rule).__name__}"
            )
        if isinstance(key, tuple) and len(key) == 3:
            account, sku, location = key
            if not (isinstance(account, str) and account and isinstance(location, str)):
                raise InvalidInput(f"rule key {key!r} must be (account, sku or None, location)")
            if sku is not None and not (isinstance(sku, str) and sku):
                raise InvalidInput(f"rule key {key!r}: the SKU must be a string or None")
            self._location[(account, sku, location)] = rule
        elif isinstance(key, tuple):
            if len(key) != 2 or not all(isinstance(k, str) and k for k in key):
                raise InvalidInput(f"rule key {key!r} must be (account, sku)")
            self._sku[(key[0], key[1])] = rule
        elif isinstance(key, str) and key:
            self._account[key] = rule
        else:
            raise InvalidInput(f"rule key {key!r} must be an account name or (account, sku)")

    def rule(self, account: str, sku: str, location: str = "") -> Rule:
        """The rule that applies to ``sku`` on ``account`` (at ``location``, for channels
        that keep a quantity per location)."""
        if location and self._location:
            for key in ((account, sku, location), (account, None, location)):
                found = self._location.get(key)
                if found is not None:
                    return found
        if self._sku:
            rule = self._sku.get((account, sku))
            if rule is not None:
                return rule
        rule = self._account.get(account)
        return _DEFAULT if rule is None else rule

    def accounts(self) -> set[str]:
        """Accounts that have a rule of their own."""
        return set(self._account) | {a for a, _ in self._sku} | {k[0] for k in self._location}


_DEFAULT = Rule()


def _not_pushed(rule: Rule, listing: Any) -> str | None:
    """Why nothing is pushed to ``listing`` under ``rule``, or None."""
    if not rule.enabled:
        return "rule disabled"
    if listing.fulfilled_by != "merchant":
        return "fulfilled by the channel (its stock, not ours)"
    if not listing.manages_stock:
        return "listing does not manage stock"
    return None


def _available(
    sku: str,
    levels: Mapping[str, Any],
    at: Mapping[tuple[str, str], tuple[int, int]] | None,
    scope: tuple[str, ...] | None,
) -> int:
    """On hand minus committed of ``sku``: in total, or summed over ``scope``'s locations."""
    if scope is None or at is None:
        level = levels[sku]
        return int(level.on_hand - level.committed)
    return sum(at[(sku, loc)][0] - at[(sku, loc)][1] for loc in scope if (sku, loc) in at)


@dataclass(frozen=True, slots=True)
class Desired:
    """What one listing should show and how that number arose."""

    account: str
    sku: str
    quantity: int | None
    steps: tuple[AllocationStep, ...]
    reason: str | None = None
    """Why nothing is pushed (``quantity`` None): disabled, untracked, channel-fulfilled."""
    location: str = ""
    """Our location name, for channels that keep a quantity per location ("": pooled)."""


class Planner:
    """Computes desired quantities from the ledger and keeps the outbox up to date."""

    def __init__(
        self,
        store: Store,
        rules: RuleBook,
        outbox: Outbox,
        locations: LocationBook | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.outbox = outbox
        self.locations = locations or LocationBook()

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
        """What every listing of ``skus`` (bundles containing them included) should show:
        one figure per listing, or one per location for channels that keep a quantity per
        location.

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
        rows = conn.execute(query.order_by(t.listings.c.account, t.listings.c.sku)).all()
        at: dict[tuple[str, str], tuple[int, int]] | None = None
        if any(self.locations.of(r.account).names for r in rows):
            ll = t.ledger_locations.c
            at = {
                (r.sku, r.location): (r.on_hand, r.committed)
                for r in conn.execute(
                    sa.select(ll.sku, ll.location, ll.on_hand, ll.committed).where(
                        self.store.among(ll.sku, needed)
                    )
                )
            }
        out: list[Desired] = []
        for row in rows:
            where = self.locations.of(row.account)
            if where.per_location:
                for name in where.channel_ids:
                    out.append(self._one(row, levels, bundles, steps, at, (name,), location=name))
            else:
                scope = where.names or None
                out.append(self._one(row, levels, bundles, steps, at, scope))
        return out

    def _one(
        self,
        listing: Any,
        levels: Mapping[str, Any],
        bundles: Mapping[str, Mapping[str, int]],
        with_steps: bool,
        at: Mapping[tuple[str, str], tuple[int, int]] | None,
        scope: tuple[str, ...] | None,
        location: str = "",
    ) -> Desired:
        account, sku = listing.account, listing.sku
        rule = self.rules.rule(account, sku, location)
        reason = _not_pushed(rule, listing)
        if reason is not None:
            return Desired(account, sku, None, (), reason, location)
        if sku not in bundles:
            level = levels.get(sku)
            if level is None or not level.tracked:
                return Desired(
                    account, sku, None, (), "SKU not counted yet (set_on_hand/adjust)", location
                )
            total = _available(sku, levels, at, scope)
            if not with_steps:  # the recompute path: no steps, no strings
                return Desired(account, sku, shown(total, rule), (), None, location)
            steps = allocate(total, rule)
            if scope is not None:
                where = ", ".join(scope)
                steps[0] = AllocationStep("available", f"on_hand - committed at {where}", total)
            return Desired(account, sku, steps[-1].quantity, tuple(steps), None, location)
        comps = bundles[sku]
        untracked = [c for c in comps if c not in levels or not levels[c].tracked]
        if untracked:
            return Desired(
                account, sku, None, (), f"bundle component not counted: {untracked[0]}", location
            )
        avail = {c: _available(c, levels, at, scope) for c in comps}
        total = bundle_available(comps, avail)
        if not with_steps:
            return Desired(account, sku, shown(total, rule), (), None, location)
        first = AllocationStep(
            "bundle",
            ", ".join(f"{c}: {avail[c]}//{q}" for c, q in sorted(comps.items()))
            + ("" if scope is None else f" (at {', '.join(scope)})"),
            total,
        )
        steps = [first, *allocate(total, rule)[1:]]
        return Desired(account, sku, steps[-1].quantity, tuple(steps), None, location)

    def recompute(self, conn: Connection, skus: Iterable[str]) -> int:
        """Write the desired quantity of every listing that depends on ``skus``; rows changed."""
        skus = set(skus)
        if not skus:
            return 0
        by_account: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        for d in self.desired(conn, skus, steps=False):
            if d.quantity is not None:
                by_account[d.account][(d.sku, d.location)] = d.quantity
        # Accounts in a fixed order: outbox rows are locked in one order by every writer.
        return sum(self.outbox.set_desired(conn, a, by_account[a]) for a in sorted(by_account))
