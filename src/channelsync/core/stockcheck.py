"""Reading a channel before writing it: the guard's facts, and the unseen sales it found.

For a channel without compare-and-set that can read its listings in bulk
(``SupportsReadStock``), ``StockCheck.review`` reads the claimed listings once, asks
``core.guard.judge`` what to send for each, and remembers the units a channel was found to
have sold that the ledger had not read (the ``unseen_sales`` table, owned here): they stay
off what is sent until an order pull has run long enough after they were found for the
channel's order search to hold them (``ChannelLimits.search_lag``), by which time the ledger
counts them itself, or until the ledger reads those orders sooner, by webhook or
notification (``sales_read``). Rows that must wait are deferred in the outbox, not failed.

Shopify keeps compare-and-set; channels that cannot read are written as before.
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
from channelsync.core.channel import Channel, SupportsReadStock
from channelsync.core.errors import ChannelError
from channelsync.core.guard import Facts, Verdict, judge
from channelsync.core.leases import Claim
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


@dataclass
class Review:
    """What to do with a claimed batch: send these quantities, or read the orders first."""

    send: list[tuple[PendingStock, int]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
    """(SKU, why) of rows deferred without a write."""
    pull: bool = False
    """A listing sold units the ledger has not read: pull the account's orders first."""
    unseen: dict[str, int] = field(default_factory=dict)
    """SKU -> units the channel sold that the ledger has not read (kept off the value)."""


class StockCheck:
    """Reads a channel's listings before a stock write and decides what goes out."""

    def __init__(self, store: Store, outbox: Outbox, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.revisions = RevisionBudget(store, clock)

    @staticmethod
    def applies(channel: Channel) -> bool:
        """Whether the channel is read before writes (no compare-and-set, can read)."""
        return not channel.limits.supports_compare_and_set and isinstance(
            channel, SupportsReadStock
        )

    def review(
        self,
        channel: Channel,
        claim: Claim[PendingStock],
        rows: Sequence[PendingStock],
        *,
        pulled: bool,
        policy: RetryPolicy,
    ) -> Review:
        """Decide what to send to the claimed ``rows`` (listings bound); defers held rows.

        ``pulled`` says the account's orders were read since these rows were claimed.
        """
        if not rows:
            return Review()
        if not self.applies(channel):
            return self._budget(channel, claim, Review(send=[(r, r.desired) for r in rows]))
        assert isinstance(channel, SupportsReadStock)
        account = channel.account
        limits = channel.limits
        now = self.clock()
        acked_at, unseen, others = self.store.run(
            partial(self._state, account=account, skus=[r.sku for r in rows], lag=limits.search_lag)
        )
        listings = [r.listing for r in rows if r.listing is not None]
        try:
            shown = policy.call(partial(channel.read_stock, listings))
        except ChannelError as exc:
            log.warning(
                "account %s: listings not read before writing (%s); increases wait", account, exc
            )
            shown = {}
        settle = timedelta(seconds=limits.write_settle_seconds)
        verdicts: list[tuple[PendingStock, Verdict]] = []
        facts_of: dict[str, Facts] = {}
        for row in rows:
            written = acked_at.get(row.sku)
            # Units other channels were found to have sold that the ledger has not read
            # are known sold too: they come off this listing's value as well.
            facts = Facts(
                row.sku,
                desired=row.desired - others.get(row.sku, 0),
                expected=row.acked,
                shown=shown.get(row.sku),
                settled=written is None or now - written >= settle,
                unseen=unseen.get(row.sku, 0),
            )
            facts_of[row.sku] = facts
            verdicts.append((row, judge(facts, pulled=pulled)))
        if any(v.action == "pull" for _, v in verdicts) and not pulled:
            first = next(v for _, v in verdicts if v.action == "pull")
            log.info("account %s: %s: %s; reading orders first", account, first.sku, first.reason)
            return Review(pull=True)
        review = Review()
        defer: list[tuple[str, datetime, str]] = []
        confirmed: list[tuple[str, int]] = []
        for row, verdict in verdicts:
            if verdict.unseen:
                review.unseen[row.sku] = verdict.unseen
            if verdict.action == "hold":
                written = acked_at.get(row.sku)
                until = (written + settle) if written and now < written + settle else now + RECHECK
                defer.append((row.sku, until, f"held: {verdict.reason}"))
                review.held.append((row.sku, verdict.reason))
                continue
            assert verdict.quantity is not None
            trusted = facts_of[row.sku].shown is not None and facts_of[row.sku].settled
            if (
                trusted
                and not verdict.unseen
                and verdict.quantity == row.acked == facts_of[row.sku].shown
            ):
                confirmed.append((row.sku, verdict.quantity))  # read back as written
                continue
            wait = max(RECHECK, timedelta(seconds=limits.search_lag) + PULL_MARGIN)
            if verdict.quantity == row.acked and verdict.unseen:
                # The channel already shows what may go out; the rest waits for the orders.
                defer.append((row.sku, now + wait, f"held: {verdict.reason}"))
                review.held.append((row.sku, verdict.reason))
                continue
            if verdict.unseen:
                # Sent lower than desired: look again once the orders can be read.
                defer.append((row.sku, now + wait, f"reduced: {verdict.reason}"))
            review.send.append((row, verdict.quantity))
        claimed = {r.sku: r.acked for r in rows}
        self.store.run(
            partial(self._remember, account=account, unseen=review.unseen, claimed=claimed, now=now)
        )
        held = {sku for sku, _ in review.held}
        self.outbox.defer(claim, [d for d in defer if d[0] in held], release=True)
        self.outbox.defer(claim, [d for d in defer if d[0] not in held], release=False)
        self.outbox.ack_stock(claim, confirmed)
        return self._budget(channel, claim, review)

    def after_push(self, channel: Channel, acked: Sequence[str]) -> None:
        """Once a channel that applies writes later (Amazon) has settled, read them back.

        A sale between our write and its application is overwritten by the absolute
        value, while the ledger takes it off what it believes the channel shows: the
        read-back after ``write_settle_seconds`` finds and corrects the difference.
        """
        settle = channel.limits.write_settle_seconds
        if settle <= 0 or not acked or not self.applies(channel):
            return
        at = self.clock() + timedelta(seconds=settle)
        self.outbox.recheck(channel.account, [(sku, at) for sku in acked])

    def _budget(self, channel: Channel, claim: Claim[PendingStock], review: Review) -> Review:
        """Keep the writes within the listing's revisions per day (``core.revisions``)."""
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
        ]
        _, refused = self.revisions.take(channel.account, writes, cap=cap, timezone=zone)
        if not refused:
            return review
        out = {w.sku for w, _ in refused}
        tomorrow = RevisionBudget.next_day(self.clock(), zone)
        self.outbox.defer(
            claim, [(w.sku, tomorrow, f"held: {why}") for w, why in refused], release=True
        )
        review.held += [(w.sku, why) for w, why in refused]
        review.send = [(row, q) for row, q in review.send if row.sku not in out]
        log.info(
            "account %s: %d listing write(s) held by the daily revision cap (first: %s: %s)",
            channel.account,
            len(refused),
            refused[0][0].sku,
            refused[0][1],
        )
        return review

    def unseen(self, account: str) -> dict[str, int]:
        """SKU -> units ``account`` was found to have sold that the ledger has not read."""
        with self.store.read() as conn:
            u = t.unseen_sales.c
            return {
                r.sku: r.units
                for r in conn.execute(sa.select(u.sku, u.units).where(u.account == account))
            }

    # -- the table ------------------------------------------------------------------------

    def _state(
        self, conn: Connection, *, account: str, skus: list[str], lag: float
    ) -> tuple[dict[str, datetime], dict[str, int], dict[str, int]]:
        o, u, a = t.outbox.c, t.unseen_sales.c, t.accounts.c
        acked_at = {
            r.sku: r.acked_at
            for r in conn.execute(
                sa.select(o.sku, o.acked_at).where(
                    o.account == account, self.store.among(o.sku, skus)
                )
            )
            if r.acked_at is not None
        }
        last_pull = conn.execute(sa.select(a.last_pull_at).where(a.account == account)).scalar()
        unseen: dict[str, int] = {}
        expired: list[str] = []
        for r in conn.execute(
            sa.select(u.sku, u.units, u.seen_at).where(
                u.account == account, self.store.among(u.sku, skus)
            )
        ):
            complete = r.seen_at + timedelta(seconds=lag) + PULL_MARGIN
            if last_pull is not None and last_pull >= complete:
                expired.append(r.sku)  # the ledger has read every order up to then
            else:
                unseen[r.sku] = r.units
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
            # (its own lane drops the row; OTHERS_FOR bounds it meanwhile).
            other_pull = pulls.get(row.account)
            if other_pull is None or other_pull < row.seen_at + OTHERS_FOR:
                others[row.sku] = others.get(row.sku, 0) + int(row.units)
        if expired:
            conn.execute(
                t.unseen_sales.delete().where(
                    u.account == account, self.store.among(u.sku, expired)
                )
            )
        return acked_at, unseen, others

    def _remember(
        self,
        conn: Connection,
        *,
        account: str,
        unseen: dict[str, int],
        claimed: Mapping[str, int | None],
        now: datetime,
    ) -> None:
        if not unseen:
            return
        # An order read meanwhile (a notification applied while the channel was being read)
        # lowered the row's acknowledged value by its units: those are unseen no longer.
        o = t.outbox.c
        read_since: dict[str, int] = {}
        for r in conn.execute(
            sa.select(o.sku, o.acked).where(
                o.account == account, o.location == "", self.store.among(o.sku, unseen)
            )
        ):
            before = claimed.get(r.sku)
            if before is not None and r.acked is not None and r.acked < before:
                read_since[r.sku] = before - r.acked
        unseen = {sku: n - read_since.get(sku, 0) for sku, n in unseen.items()}
        u = t.unseen_sales.c
        known = {
            r.sku: r.units
            for r in conn.execute(
                sa.select(u.sku, u.units).where(
                    u.account == account, self.store.among(u.sku, unseen)
                )
            )
        }
        for sku, units in unseen.items():
            if units <= 0:
                if sku in known:
                    conn.execute(t.unseen_sales.delete().where(u.account == account, u.sku == sku))
            elif sku not in known:
                conn.execute(
                    t.unseen_sales.insert().values(
                        account=account, sku=sku, units=units, seen_at=now
                    )
                )
            elif units != known[sku]:
                conn.execute(
                    t.unseen_sales.update()
                    .where(u.account == account, u.sku == sku)
                    .values(units=units, seen_at=now)
                )


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
    read (``at <= seen_at``) can be among the remembered units.
    """
    sold: dict[str, list[ChannelMove]] = defaultdict(list)
    for (sku, _), moves in moved.items():
        sold[sku] += [m for m in moves if m.units > 0]
    sold = {sku: moves for sku, moves in sold.items() if moves}
    if not sold:
        return
    u = t.unseen_sales.c
    rows = conn.execute(
        sa.select(u.sku, u.units, u.seen_at).where(u.account == account, store.among(u.sku, sold))
    ).all()
    for r in rows:
        read = sum(m.units for m in sold[r.sku] if m.at <= r.seen_at)
        if not read:
            continue
        where = (u.account == account) & (u.sku == r.sku)
        if r.units > read:
            conn.execute(t.unseen_sales.update().where(where).values(units=r.units - read))
        else:
            conn.execute(t.unseen_sales.delete().where(where))
