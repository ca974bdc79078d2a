"""One customer file across channels: a person is every order of the same buyer.

This module alone writes the ``customer_links`` and ``customer_edits`` tables.

A buyer's *identity* (``salesbook.identity_of``) is their normalised e-mail, or the
channel's stable buyer id where the channel hides the e-mail (Amazon relay addresses,
eBay). Each identity is a person of its own unless the merchant merged it into another
(``merge``: recorded, undone with ``split``). A person's id is the identity at the root
of the merge, e.g. ``email:erika@example.test``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.errors import InvalidInput, UnknownCustomer
from channelsync.core.gdpr import Privacy
from channelsync.core.models import OrderStatus
from channelsync.core.results import CustomerEdit, Person
from channelsync.core.salesbook import SalesBook, identity_of
from channelsync.core.store import Store

__all__ = ["CustomerFile"]


@dataclass
class _Gather:
    person: str
    identities: set[str] = field(default_factory=set)
    emails: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    orders: list[tuple[str, str]] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    revenue: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    refunds: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    returned: int = 0


class CustomerFile:
    """People across channels: the customer file, manual merges and splits, and GDPR
    requests acting on a person (``SyncEngine`` delegates here)."""

    def __init__(
        self,
        store: Store,
        salesbook: SalesBook,
        privacy: Privacy,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.salesbook = salesbook
        self.privacy = privacy
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------

    def links(self, conn: Connection) -> dict[str, str]:
        """identity -> person, for every identity a merge moved."""
        lk = t.customer_links.c
        return {r.identity: r.person for r in conn.execute(sa.select(lk.identity, lk.person))}

    def people(self, account: str | None = None) -> list[Person]:
        """Every person with a (not cancelled, not forgotten) order, newest buyer first;
        with ``account``, only people who ordered there."""
        self.salesbook.refresh()
        o = t.orders.c
        query = (
            sa.select(
                o.account,
                o.order_id,
                o.kind,
                o.customer_id,
                o.customer_email,
                o.customer_name,
                o.created_at,
                o.total_amount,
                o.currency,
            )
            .where(
                o.redacted_at.is_(None),
                o.status != OrderStatus.CANCELLED.value,
                sa.or_(o.customer_id.is_not(None), o.customer_email.is_not(None)),
            )
            .order_by(o.created_at, o.account, o.order_id)
        )
        groups: dict[str, _Gather] = {}
        with self.store.read() as conn:
            links = self.links(conn)
            rows = conn.execute(query).all()
        totals = self.salesbook.order_totals([(r.account, r.order_id) for r in rows])
        for r in rows:
            identity = identity_of(r.kind, r.account, r.customer_id, r.customer_email)
            if identity is None:
                continue
            person = links.get(identity, identity)
            g = groups.get(person)
            if g is None:
                g = groups[person] = _Gather(person)
            g.identities.add(identity)
            if r.customer_email and r.customer_email not in g.emails:
                g.emails.append(r.customer_email)
            if r.customer_name:
                g.names.append(r.customer_name)
            g.accounts.add(r.account)
            g.orders.append((r.account, r.order_id))
            g.first = g.first or r.created_at
            g.last = r.created_at
            figures = totals.get((r.account, r.order_id), {})
            if r.total_amount is not None and r.currency:
                g.revenue[r.currency] += Decimal(r.total_amount)
            else:
                for cur, (revenue, _, _) in figures.items():
                    g.revenue[cur] += revenue
            for cur, (_, refunds, returned) in figures.items():
                if refunds:
                    g.refunds[cur] += refunds
                g.returned += returned
        people = [_person(g) for g in groups.values()]
        if account is not None:
            people = [p for p in people if account in p.accounts]
        return sorted(people, key=lambda p: (p.last_order_at, p.person_id), reverse=True)

    def person(self, ref: str) -> Person:
        """The person ``ref`` names: a person id, an identity, an e-mail (any case) or
        ``account/order_id`` of one of their orders.

        Raises:
            UnknownCustomer: no person matches.
        """
        text = ref.strip()
        candidates = {text}
        if "@" in text and ":" not in text:
            candidates.add(f"email:{text.lower()}")
        with self.store.read() as conn:
            links = self.links(conn)
        wanted = {links.get(c, c) for c in candidates}
        for p in self.people():
            if p.person_id in wanted or wanted & set(p.identities):
                return p
            if "/" in text and tuple(text.split("/", 1)) in p.order_ids:
                return p
        raise UnknownCustomer(f"no customer {ref!r} in the customer file")

    def edits(self) -> list[CustomerEdit]:
        """Every merge and split, oldest first."""
        e = t.customer_edits.c
        with self.store.read() as conn:
            return [
                CustomerEdit(r.id, r.action, r.identity, r.person, r.actor, r.note, r.at)
                for r in conn.execute(sa.select(t.customer_edits).order_by(e.id))
            ]

    # -- merging and splitting ---------------------------------------------------------------

    def merge(
        self, into: str, other: str, *, actor: str | None = None, note: str | None = None
    ) -> Person:
        """Make ``other`` (a person, with every identity merged into it) part of ``into``.

        Raises:
            UnknownCustomer: either is not in the customer file.
            InvalidInput: they are the same person already.
        """
        target = self.person(into)
        source = self.person(other)
        if target.person_id == source.person_id:
            raise InvalidInput(f"{into!r} and {other!r} are the same customer already")
        now = self.clock()

        def work(conn: Connection) -> None:
            lk = t.customer_links.c
            moved = set(source.identities) | {source.person_id}
            for identity in sorted(moved):
                if identity == target.person_id:
                    continue
                self.store.upsert(
                    conn,
                    t.customer_links,
                    [{"identity": identity, "person": target.person_id, "updated_at": now}],
                    keys=("identity",),
                )
                conn.execute(
                    t.customer_edits.insert().values(
                        action="merge",
                        identity=identity,
                        person=target.person_id,
                        actor=actor,
                        note=note,
                        at=now,
                    )
                )
            conn.execute(
                t.customer_links.update()
                .where(lk.person == source.person_id)
                .values(person=target.person_id, updated_at=now)
            )

        self.store.run(work)
        return self.person(target.person_id)

    def split(self, identity: str, *, actor: str | None = None, note: str | None = None) -> Person:
        """Take ``identity`` (``email:...``, ``ebay:...``) out of the person it was merged
        into: it becomes a person of its own again (with the identities merged under it
        when it was the root staying together under another of them).

        Raises:
            UnknownCustomer: the identity is in no order of the file.
            InvalidInput: the identity is a person of its own already.
        """
        owner = self.person(identity)
        wanted = identity.strip()
        if wanted not in owner.identities:
            wanted = f"email:{wanted.lower()}" if "@" in wanted else wanted
        if len(owner.identities) == 1:
            raise InvalidInput(f"{identity!r} is a customer of its own; nothing to split")
        now = self.clock()

        def work(conn: Connection) -> None:
            lk = t.customer_links.c
            if owner.person_id == wanted:
                rest = sorted(i for i in owner.identities if i != wanted)
                root = rest[0]
                conn.execute(t.customer_links.delete().where(lk.identity == root))
                conn.execute(
                    t.customer_links.update()
                    .where(lk.person == wanted)
                    .values(person=root, updated_at=now)
                )
            else:
                root = owner.person_id
                conn.execute(t.customer_links.delete().where(lk.identity == wanted))
            conn.execute(
                t.customer_edits.insert().values(
                    action="split", identity=wanted, person=root, actor=actor, note=note, at=now
                )
            )

        self.store.run(work)
        return self.person(wanted)

    # -- personal data -------------------------------------------------------------------------

    def export(self, ref: str) -> dict[str, Any]:
        """Everything the store holds about the person ``ref`` names, on every channel
        (GDPR art. 15), with the merges that made them one person."""
        p = self.person(ref)
        data = self.privacy.export(orders=p.order_ids)
        data["person"] = p.as_dict()
        data["edits"] = [
            e.as_dict()
            for e in self.edits()
            if e.identity in p.identities or e.person == p.person_id
        ]
        return data

    def forget(self, ref: str) -> int:
        """Erase the person's personal data from every order on every channel and their
        merges (GDPR art. 17); returns the orders redacted."""
        p = self.person(ref)
        names = set(p.identities) | {p.person_id}

        def work(conn: Connection) -> int:
            lk = t.customer_links.c
            e = t.customer_edits.c
            conn.execute(
                t.customer_links.delete().where(
                    sa.or_(lk.identity.in_(names), lk.person.in_(names))
                )
            )
            conn.execute(
                t.customer_edits.update()
                .where(e.identity.in_(names))
                .values(identity="(forgotten)", note=None)
            )
            conn.execute(
                t.customer_edits.update()
                .where(e.person.in_(names))
                .values(person="(forgotten)", note=None)
            )
            return self.privacy.redact_orders_in(conn, p.order_ids)

        return self.store.run(work)


def _person(g: _Gather) -> Person:
    assert g.first is not None
    assert g.last is not None
    return Person(
        person_id=g.person,
        name=g.names[-1] if g.names else None,
        email=g.emails[-1] if g.emails else None,
        emails=g.emails,
        identities=sorted(g.identities),
        accounts=sorted(g.accounts),
        orders=len(g.orders),
        order_ids=list(g.orders),
        first_order_at=g.first,
        last_order_at=g.last,
        revenue=dict(g.revenue),
        refunds=dict(g.refunds),
        returned_units=g.returned,
    )
