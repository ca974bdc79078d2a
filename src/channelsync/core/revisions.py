"""The revision budget: how many writes a listing may take per channel day (eBay: 250).

Owns the ``listing_revisions`` table: writes counted per (account, listing, channel day).
The outbox already coalesces changes (ten changes during a wait are one write of the
newest value); this module spends the rest of the cap with care:

- a drop (to a lower quantity, or to zero) always goes out while any revision is left:
  it can only prevent an oversell;
- an increase waits once the listing's budget runs low (``reserve`` revisions left, a
  tenth of the cap by default), so the day's last revisions are kept for drops;
- nothing goes out once the cap is reached (the channel would refuse it); the row waits
  for the next channel day.

Held rows are reported with the reason (``AccountReport.held``) and stay pending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.store import Store

__all__ = ["RevisionBudget", "Write", "allowed"]


@dataclass(frozen=True)
class Write:
    """One listing write to weigh: the listing it revises, the value, and the last one."""

    sku: str
    listing_key: str
    quantity: int
    acked: int | None


def allowed(write: Write, used: int, cap: int, reserve: int) -> str | None:
    """None when ``write`` may go out with ``used`` revisions spent today, else why not."""
    if used >= cap:
        return f"{used} of {cap} revisions used today: the channel takes no more until tomorrow"
    drop = write.acked is None or write.quantity < write.acked or write.quantity == 0
    if not drop and used >= cap - reserve:
        return (
            f"{used} of {cap} revisions used today: increases wait for tomorrow, the last"
            f" {cap - used} are kept for drops"
        )
    return None


class RevisionBudget:
    """Counts and rations writes per listing and channel day."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def day(now: datetime, timezone: str) -> date:
        """The channel's calendar day at ``now``."""
        return now.astimezone(ZoneInfo(timezone)).date()

    @staticmethod
    def next_day(now: datetime, timezone: str) -> datetime:
        """When the channel's next calendar day starts (aware)."""
        zone = ZoneInfo(timezone)
        local = now.astimezone(zone)
        return datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)

    def take(
        self,
        account: str,
        writes: Sequence[Write],
        *,
        cap: int,
        timezone: str,
        reserve: int | None = None,
    ) -> tuple[list[Write], list[tuple[Write, str]]]:
        """Split ``writes`` into those that go out (counted now) and those held, with why.

        Writes are counted when they are sent: a failed write costs a revision it may not
        have cost on the channel, never the other way round.
        """
        if not writes:
            return [], []
        keep = max(1, cap // 10) if reserve is None else reserve
        today = self.day(self.clock(), timezone)
        now = self.clock()

        def work(conn: Connection) -> tuple[list[Write], list[tuple[Write, str]]]:
            r = t.listing_revisions.c
            keys = sorted({w.listing_key for w in writes})
            used: dict[str, int] = {
                row[0]: int(row[1])
                for row in conn.execute(
                    sa.select(r.listing_key, r.count).where(
                        r.account == account, r.day == today, self.store.among(r.listing_key, keys)
                    )
                )
            }
            known = set(used)
            go: list[Write] = []
            held: list[tuple[Write, str]] = []
            for write in writes:
                why = allowed(write, used.get(write.listing_key, 0), cap, keep)
                if why is not None:
                    held.append((write, why))
                    continue
                used[write.listing_key] = used.get(write.listing_key, 0) + 1
                go.append(write)
            for key in {w.listing_key for w in go}:
                if key in known:
                    conn.execute(
                        t.listing_revisions.update()
                        .where(r.account == account, r.listing_key == key, r.day == today)
                        .values(count=used[key], updated_at=now)
                    )
                else:
                    conn.execute(
                        t.listing_revisions.insert().values(
                            account=account,
                            listing_key=key,
                            day=today,
                            count=used[key],
                            updated_at=now,
                        )
                    )
            return go, held

        return self.store.run(work)

    def used(self, account: str, listing_key: str, timezone: str) -> int:
        """Revisions of ``listing_key`` counted today."""
        today = self.day(self.clock(), timezone)
        r = t.listing_revisions.c
        with self.store.read() as conn:
            return int(
                conn.execute(
                    sa.select(r.count).where(
                        r.account == account, r.listing_key == listing_key, r.day == today
                    )
                ).scalar()
                or 0
            )

    def forget_before(self, day: date) -> int:
        """Drop counts of days before ``day``; rows removed."""
        r = t.listing_revisions.c
        return int(
            self.store.run(
                lambda conn: conn.execute(t.listing_revisions.delete().where(r.day < day)).rowcount
            )
        )
