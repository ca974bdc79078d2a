"""Reading a channel before writing it: the guard's facts, and the unseen sales it found.

For a channel without compare-and-set that can read its listings in bulk
(``SupportsReadStock``), ``StockCheck.review`` reads the claimed listings once, asks
``core.guard.judge`` what to send for each, and remembers the units a channel was found to
have sold that the ledger had not read (the ``unseen_sales`` table, owned here): they stay
off what is sent until an order pull has run long enough after they were found for the
channel's order search to hold them (``ChannelLimits.search_lag``), by which time the ledger
counts them itself, or until the ledger reads those orders sooner, by webhook or
notification (``sales_read``). Rows that must wait are deferred in the outbox, not failed.

Rows per location (accounts whose ``locations`` map our names to channel location ids) are
checked the same way, one verdict per (SKU, location), when the channel reads quantities per
location (``SupportsReadLevels``: Magento sources); their unseen sales are remembered per
location. Shopify keeps compare-and-set; channels that cannot read are written as before.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import Channel, SupportsReadLevels, SupportsReadStock
from channelsync.core.errors import ChannelError
from channelsync.core.guard import Facts, Verdict, judge
from channelsync.core.leases import Claim
from channelsync.core.models import Listing
from channelsync.core.outbox import ChannelMove, Outbox, PendingStock
from channelsync.core.retry import RetryPolicy
from channelsync.core.revisions import RevisionBudget, Write
from channelsync.core.store import Store

__all__ = ["Review", "StockCheck", "sales_read"]

log = logging.getLogger(__name__)

#: How long a held listing waits before it is looked at again, at least.
RECHECK = timedelta(seconds=60)
#: Another account's unseen sales count here until it pulled orders this long after them.
OTHERS_FOR = timedelta(minutes=5)
#: An order pull must end this long after ``seen_at + search_lag`` to count as complete.
PULL_MARGIN = timedelta(seconds=60)

Row = tuple[str, str]
"""An outbox row of the account: (SKU, our location), the location "" for the listing's one
quantity."""


def _name(row: Row) -> str:
    """How a row is named in logs and held reasons: the SKU, ``SKU@location`` per location."""
    return f"{row[0]}@{row[1]}" if row[1] else row[0]


@dataclass
class Review:
    """What to do with a claimed batch: send these quantities, or read the orders first."""

    send: list[tuple[PendingStock, int]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
    """(row, why) of rows deferred without a write; the row is the SKU, or ``SKU@location``
    for a row per location."""
    pull: bool = False
    """A listing sold units the ledger has not read: pull the account's orders first."""
    unseen: dict[Row, int] = field(default_factory=dict)
    """(SKU, location) -> units the channel sold that the ledger has not read (kept off the
    value); the location is "" for the listing's one quantity."""


class StockCheck:
    """Reads a channel's listings before a stock write and decides what goes out."""

    def __init__(self, store: Store, outbox: Outbox, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.revisions = RevisionBudget(store, clock)

    @staticmethod
    def applies(channel: Channel) -> bool:
        """Whether the channel's pooled listings are read before writes (no compare-and-set,
        can read)."""
        return not channel.limits.supports_compare_and_set and isinstance(
            channel, SupportsReadStock
        )

    @staticmethod
    def applies_per_location(channel: Channel) -> bool:
        """Whether the channel's rows per location are read before writes (no
        compare-and-set, reads per location)."""
        return not channel.limits.supports_compare_and_set and isinstance(
            channel, SupportsReadLevels
        )

    def review(
        self,
        channel: Channel,
        claim: Claim[PendingStock],
        rows: Sequence[PendingStock],
        *,
        pulled: bool,
        policy: RetryPolicy,
        locations: Mapping[str, str] | None = None,
    ) -> Review:
        """Decide what to send to the claimed ``rows`` (listings bound); defers held rows.

        ``pulled`` says the account's orders were read since these rows were claimed.
        ``locations`` maps our location names to the channel's location ids (accounts that
        keep a quantity per location): rows per location are read and judged per (SKU,
        location) where the channel can read them so, else sent as they are.
        """
        if not rows:
            return Review()
        pooled = self.applies(channel)
        located = self.applies_per_location(channel)
        checked = [r for r in rows if (located if r.location else pooled)]
        review = (
            self._check(channel, claim, checked, pulled=pulled, policy=policy, ids=locations or {})
            if checked
            else Review()
        )
        if review.pull:
            return review
        ids = {id(r) for r in checked}
        review.send += [(r, r.desired) for r in rows if id(r) not in ids]
        return self._budget(channel, claim, review)

    def _read(
        self,
        channel: Channel,
        rows: Sequence[PendingStock],
        ids: Mapping[str, str],
        policy: RetryPolicy,
    ) -> dict[Row, int | None]:
        """What the channel shows for each row now; empty where the read failed."""
        shown: dict[Row, int | None] = {}
        pooled = [r.listing for r in rows if not r.location and r.listing is not None]
        located = [r for r in rows if r.location and r.listing is not None]
        try:
            if pooled:
                assert isinstance(channel, SupportsReadStock)
                reader = channel
                got = policy.call(partial(reader.read_stock, _unique(pooled)))
                shown.update(((sku, ""), q) for sku, q in got.items())
            if located:
                assert isinstance(channel, SupportsReadLevels)
                levels = channel
                listings = _unique([r.listing for r in located if r.listing is not None])
                per = policy.call(partial(levels.read_levels, listings))
                # Every mapped location of these SKUs: a sale may show at another one.
                for sku in {r.sku for r in located}:
                    for name, cid in ids.items():
                        shown[(sku, name)] = per.get(sku, {}).get(cid)
        except ChannelError as exc:
            log.warning(
                "account %s: listings not read before writing (%s); increases wait",
                channel.account,
                exc,
            )
            return {}
        return shown

    def _check(
        self,
        channel: Channel,
        claim: Claim[PendingStock],
        rows: Sequence[PendingStock],
        *,
        pulled: bool,
        policy: RetryPolicy,
        ids: Mapping[str, str],
    ) -> Review:
        account = channel.account
        limits = channel.limits
        now = self.clock()
        acked_at, acked, unseen, others = self.store.run(
            partial(self._state, account=account, rows=[r.key for r in rows], lag=limits.search_lag)
        )
        read = self._read(channel, rows, ids, policy)
        shown = _total_drops(read, acked)
        settle = timedelta(seconds=limits.write_settle_seconds)
        verdicts: list[tuple[PendingStock, Verdict]] = []
        facts_of: dict[Row, Facts] = {}
        for row in rows:
            written = acked_at.get(row.key)
            # Units other channels were found to have sold that the ledger has not read
            # are known sold too: they come off this listing's value as well.
            facts = Facts(
                row.sku,
                desired=row.desired - others.get(row.sku, 0),
                expected=row.acked,
                shown=shown.get(row.key),
                settled=written is None or now - written >= settle,
                unseen=unseen.get(row.key, 0),
            )
            facts_of[row.key] = facts
            verdicts.append((row, judge(facts, pulled=pulled)))
        if any(v.action == "pull" for _, v in verdicts) and not pulled:
            row, first = next((r, v) for r, v in verdicts if v.action == "pull")
            log.info(
                "account %s: %s: %s; reading orders first", account, _name(row.key), first.reason
            )
            return Review(pull=True)
        review = Review()
        defer: list[tuple[Row, datetime, str]] = []
        confirmed: list[tuple[Row, int]] = []
        for row, verdict in verdicts:
            key = row.key
            if verdict.unseen:
                review.unseen[key] = verdict.unseen
            if verdict.action == "hold":
                written = acked_at.get(key)
                until = (written + settle) if written and now < written + settle else now + RECHECK
                defer.append((key, until, f"held: {verdict.reason}"))
                review.held.append((_name(key), verdict.reason))
                continue
            assert verdict.quantity is not None
            trusted = facts_of[key].shown is not None and facts_of[key].settled
            if (
                trusted
                and not verdict.unseen
                and verdict.quantity == row.acked == facts_of[key].shown == read.get(key)
            ):
                confirmed.append((key, verdict.quantity))  # read back as written
                continue
            wait = max(RECHECK, timedelta(seconds=limits.search_lag) + PULL_MARGIN)
            if verdict.quantity == row.acked and verdict.unseen:
                # The channel already shows what may go out; the rest waits for the orders.
                defer.append((key, now + wait, f"held: {verdict.reason}"))
                review.held.append((_name(key), verdict.reason))
                continue
            if verdict.unseen:
                # Sent lower than desired: look again once the orders can be read.
                defer.append((key, now + wait, f"reduced: {verdict.reason}"))
            review.send.append((row, verdict.quantity))
        claimed = {r.key: r.acked for r in rows}
        self.store.run(
            partial(self._remember, account=account, unseen=review.unseen, claimed=claimed, now=now)
        )
        sent = {r.key for r, _ in review.send}
        self.outbox.defer(claim, [d for d in defer if d[0] not in sent], release=True)
        self.outbox.defer(claim, [d for d in defer if d[0] in sent], release=False)
        self.outbox.ack_stock(claim, confirmed)
        return review

    def after_push(self, channel: Channel, acked: Sequence[str | Row]) -> None:
        """Once a channel that applies writes later (Amazon) has settled, read them back.

        A sale between our write and its application is overwritten by the absolute
        value, while the ledger takes it off what it believes the channel shows: the
        read-back after ``write_settle_seconds`` finds and corrects the difference.
        ``acked`` names the rows written: SKUs, or (SKU, location) for rows per location.
        """
        settle = channel.limits.write_settle_seconds
        if settle <= 0 or not acked or not self.applies(channel):
            return
        at = self.clock() + timedelta(seconds=settle)
        self.outbox.recheck(channel.account, [(row, at) for row in acked])

    def _budget(self, channel: Channel, claim: Claim[PendingStock], review: Review) -> Review:
        """Keep the writes within the listing's revisions per day (``core.revisions``).

        Rows per location are not budgeted (they never were: eBay's cap is on the Trading
        listing, which is pooled)."""
        cap = channel.limits.revisions_per_day
        if cap is None or not review.send:
            return review
        zone = channel.limits.revisions_timezone
        writes = [
            Write(
                row.sku,
                (row.listing.listing_id if row.listing is not None else None) or row.sku,
                quantity,
                row.acked,
            )
            for row, quantity in review.send
            if not row.location
        ]
        if not writes:
            return review
        _, refused = self.revisions.take(channel.account, writes, cap=cap, timezone=zone)
        if not refused:
            return review
        out = {w.sku for w, _ in refused}
        tomorrow = RevisionBudget.next_day(self.clock(), zone)
        self.outbox.defer(
            claim, [(w.sku, tomorrow, f"held: {why}") for w, why in refused], release=True
        )
        review.held += [(w.sku, why) for w, why in refused]
        review.send = [(row, q) for row, q in review.send if row.location or row.sku not in out]
        log.info(
            "account %s: %d listing write(s) held by the daily revision cap (first: %s: %s)",
            channel.account,
            len(refused),
            refused[0][0].sku,
            refused[0][1],
        )
        return review

    def unseen(self, account: str) -> dict[str, int]:
        """SKU -> units ``account`` was found to have sold that the ledger has not read
        (summed over its locations)."""
        with self.store.read() as conn:
            u = t.unseen_sales.c
            out: dict[str, int] = {}
            for r in conn.execute(sa.select(u.sku, u.units).where(u.account == account)):
                out[r.sku] = out.get(r.sku, 0) + int(r.units)
            return out

    # -- the table ------------------------------------------------------------------------

    def _state(
        self, conn: Connection, *, account: str, rows: list[Row], lag: float
    ) -> tuple[dict[Row, datetime], dict[Row, int], dict[Row, int], dict[str, int]]:
        o, u, a = t.outbox.c, t.unseen_sales.c, t.accounts.c
        skus = sorted({sku for sku, _ in rows})
        wanted = set(rows)
        acked_at: dict[Row, datetime] = {}
        acked: dict[Row, int] = {}  # every row of these SKUs (each location's expectation)
        for r in conn.execute(
            sa.select(o.sku, o.location, o.acked, o.acked_at).where(
                o.account == account, self.store.among(o.sku, skus)
            )
        ):
            if r.acked is not None:
                acked[(r.sku, r.location)] = int(r.acked)
            if r.acked_at is not None and (r.sku, r.location) in wanted:
                acked_at[(r.sku, r.location)] = r.acked_at
        last_pull = conn.execute(sa.select(a.last_pull_at).where(a.account == account)).scalar()
        unseen: dict[Row, int] = {}
        expired: list[Row] = []
        for r in conn.execute(
            sa.select(u.sku, u.location, u.units, u.seen_at).where(
                u.account == account, self.store.among(u.sku, skus)
            )
        ):
            complete = r.seen_at + timedelta(seconds=lag) + PULL_MARGIN
            if last_pull is not None and last_pull >= complete:
                expired.append((r.sku, r.location))  # the ledger has read every order up to then
            else:
                unseen[(r.sku, r.location)] = r.units
        others: dict[str, int] = {}
        pulls = {
            r.account: r.last_pull_at for r in conn.execute(sa.select(a.account, a.last_pull_at))
        }
        for row in conn.execute(
            sa.select(u.account, u.sku, u.units, u.seen_at).where(
                u.account != account, self.store.among(u.sku, skus)
            )
        ):
            # Counted until that account has read its orders well past the search lag
            # (its own lane drops the row; OTHERS_FOR bounds it meanwhile), at whichever
            # of its locations it was found.
            other_pull = pulls.get(row.account)
            if other_pull is None or other_pull < row.seen_at + OTHERS_FOR:
                others[row.sku] = others.get(row.sku, 0) + int(row.units)
        for sku, location in expired:
            conn.execute(
                t.unseen_sales.delete().where(
                    u.account == account, u.sku == sku, u.location == location
                )
            )
        return acked_at, acked, unseen, others

    def _remember(
        self,
        conn: Connection,
        *,
        account: str,
        unseen: dict[Row, int],
        claimed: Mapping[Row, int | None],
        now: datetime,
    ) -> None:
        if not unseen:
            return
        skus = sorted({s for s, _ in unseen})
        # An order read meanwhile (a notification applied while the channel was being read)
        # lowered the row's acknowledged value by its units: those are unseen no longer.
        o = t.outbox.c
        read_since: dict[Row, int] = {}
        for r in conn.execute(
            sa.select(o.sku, o.location, o.acked).where(
                o.account == account, self.store.among(o.sku, skus)
            )
        ):
            before = claimed.get((r.sku, r.location))
            if before is not None and r.acked is not None and r.acked < before:
                read_since[(r.sku, r.location)] = before - r.acked
        unseen = {key: n - read_since.get(key, 0) for key, n in unseen.items()}
        u = t.unseen_sales.c
        known = {
            (r.sku, r.location): r.units
            for r in conn.execute(
                sa.select(u.sku, u.location, u.units).where(
                    u.account == account, self.store.among(u.sku, skus)
                )
            )
        }
        for (sku, location), units in unseen.items():
            where = (u.account == account) & (u.sku == sku) & (u.location == location)
            if units <= 0:
                if (sku, location) in known:
                    conn.execute(t.unseen_sales.delete().where(where))
            elif (sku, location) not in known:
                conn.execute(
                    t.unseen_sales.insert().values(
                        account=account, sku=sku, location=location, units=units, seen_at=now
                    )
                )
            elif units != known[(sku, location)]:
                conn.execute(t.unseen_sales.update().where(where).values(units=units, seen_at=now))


def sales_read(
    store: Store,
    conn: Connection,
    account: str,
    moved: Mapping[tuple[str, str], Sequence[ChannelMove]],
) -> None:
    """The ledger has just read sales ``account`` made itself (``moved``, keyed by (SKU,
    location)): they are unseen no longer.

    Units a read found sold and unread are remembered until an order pull has surely read
    them; an order brought sooner (a webhook, an Amazon notification, a pull soon after)
    must take them off that memory, or the sale counts twice: once in the ledger, once
    more off this listing and every other account's. Only sales made by the time of that
    read (``at <= seen_at``) can be among the remembered units. The units are taken off
    the SKU's remembered rows whatever their location: a channel that does not say which
    location a sale took may have lowered another one than the ledger charged.
    """
    sold: dict[str, list[ChannelMove]] = defaultdict(list)
    for (sku, _), moves in moved.items():
        sold[sku] += [m for m in moves if m.units > 0]
    sold = {sku: moves for sku, moves in sold.items() if moves}
    if not sold:
        return
    u = t.unseen_sales.c
    rows = conn.execute(
        sa.select(u.sku, u.location, u.units, u.seen_at)
        .where(u.account == account, store.among(u.sku, sold))
        .order_by(u.sku, u.location)
    ).all()
    left: dict[str, int] = {}
    for r in rows:
        if r.sku not in left:
            left[r.sku] = sum(m.units for m in sold[r.sku] if m.at <= r.seen_at)
        read = min(left[r.sku], int(r.units))
        if not read:
            continue
        left[r.sku] -= read
        where = (u.account == account) & (u.sku == r.sku) & (u.location == r.location)
        if r.units > read:
            conn.execute(t.unseen_sales.update().where(where).values(units=r.units - read))
        else:
            conn.execute(t.unseen_sales.delete().where(where))


def _total_drops(shown: dict[Row, int | None], acked: Mapping[Row, int]) -> dict[Row, int | None]:
    """Per SKU at several locations, only a drop of the total is a sale not read yet.

    A channel that does not say which location a sale took (eBay's Inventory API; Magento,
    until a source ships the order) may lower another location than the one the ledger
    charged: that location reads low while the charged one reads high. Units one location
    shows above what it should make up for another's drop; what remains of the drops (the
    SKU's total below the sum of its locations' expectations) is kept, on the locations
    that dropped, and the rest of their drops is read as the expectation.
    """
    out = dict(shown)
    by_sku: dict[str, list[tuple[Row, int, int]]] = {}
    for key, value in shown.items():
        if key[1] and value is not None and key in acked:
            by_sku.setdefault(key[0], []).append((key, value, acked[key]))
    for found in by_sku.values():
        left = max(0, sum(expected - value for _, value, expected in found))
        for key, value, expected in sorted(found):
            drop = expected - value
            if drop <= 0:
                continue
            kept = min(drop, left)
            left -= kept
            out[key] = expected - kept
    return out


def _unique(listings: Sequence[Listing]) -> list[Listing]:
    """Each listing once (by SKU), in order."""
    return list({x.sku: x for x in listings}.values())
