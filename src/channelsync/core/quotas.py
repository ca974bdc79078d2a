"""Spent channel call quotas, stored: they survive a restart and show in reports and doctor.

Owns the ``channel_quotas`` table. A channel that can have a quota spent for hours (eBay's
daily Trading call quota, error 518) implements ``SupportsQuotas``; after each cycle the
engine stores what it reports, and hands the stored state back when it starts, so a new
worker process does not spend calls to find out, and ``channelsync doctor`` can say when
the quota comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import Channel, QuotaState, SupportsQuotas
from channelsync.core.store import Store

__all__ = ["QuotaBook"]


class QuotaBook:
    """Stores and restores the spent quotas of channel accounts."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def restore(self, channel: Channel) -> list[QuotaState]:
        """Tell ``channel`` which of its quotas are known spent; returns them."""
        states = self.spent(channel.account)
        if states and isinstance(channel, SupportsQuotas):
            channel.restore_quotas(states)
        return states

    def record(self, channel: Channel) -> list[QuotaState]:
        """Store what ``channel`` reports spent now (and forget what came back)."""
        if not isinstance(channel, SupportsQuotas):
            return []
        states = channel.quotas()
        now = self.clock()
        account = channel.account

        def work(conn: Connection) -> None:
            q = t.channel_quotas.c
            conn.execute(t.channel_quotas.delete().where(q.account == account))
            for state in states:
                if state.blocked_until > now:
                    conn.execute(
                        t.channel_quotas.insert().values(
                            account=account,
                            resource=state.resource,
                            blocked_until=state.blocked_until,
                            code=state.code,
                            detail=state.detail,
                            updated_at=now,
                        )
                    )

        self.store.run(work)
        return [s for s in states if s.blocked_until > now]

    def spent(self, account: str | None = None) -> list[QuotaState]:
        """Quotas still spent now (of ``account``, or of every account)."""
        now = self.clock()
        q = t.channel_quotas.c
        query = sa.select(q.resource, q.blocked_until, q.code, q.detail).where(
            q.blocked_until > now
        )
        if account is not None:
            query = query.where(q.account == account)
        with self.store.read() as conn:
            return [
                QuotaState(
                    resource=r.resource, blocked_until=r.blocked_until, code=r.code, detail=r.detail
                )
                for r in conn.execute(query.order_by(q.account, q.resource))
            ]

    def by_account(self) -> dict[str, list[QuotaState]]:
        """Every account's quotas still spent now."""
        now = self.clock()
        q = t.channel_quotas.c
        out: dict[str, list[QuotaState]] = {}
        with self.store.read() as conn:
            for r in conn.execute(
                sa.select(q.account, q.resource, q.blocked_until, q.code, q.detail)
                .where(q.blocked_until > now)
                .order_by(q.account, q.resource)
            ):
                out.setdefault(r.account, []).append(
                    QuotaState(
                        resource=r.resource,
                        blocked_until=r.blocked_until,
                        code=r.code,
                        detail=r.detail,
                    )
                )
        return out
