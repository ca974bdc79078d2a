"""Channel accounts in the store: their state, order cursors, and which worker runs them.

This module alone writes the ``accounts``, ``cursors``, ``workers`` and
``account_leases`` tables.

Several worker processes (on one machine or many) share the accounts of one PostgreSQL
store. Each worker registers itself and renews a heartbeat; each account is run by the
one worker holding its lease. A worker takes free accounts up to its fair share
(accounts divided by live workers, rounded up) and gives back what it holds beyond
that, so a worker that joins gets its share and a worker that dies (no heartbeat for one
lease) has its accounts taken over by the others: within twice the lease at most.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.store import Store

__all__ = ["AccountState", "Accounts", "Assignment", "WorkerInfo"]

ORDERS = "orders"


@dataclass(frozen=True)
class AccountState:
    """What the store remembers about one account between cycles."""

    listings_imported_at: datetime | None
    last_pull_at: datetime | None
    needs_repull: bool


@dataclass(frozen=True)
class WorkerInfo:
    """A worker process sharing the store."""

    worker_id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    lease_seconds: float
    alive: bool
    accounts: tuple[str, ...]


@dataclass
class Assignment:
    """The outcome of one lease round of a worker."""

    held: dict[str, str]
    """Account -> lease token, for every account this worker runs now."""
    gained: list[str]
    lost: list[str]
    """Accounts whose lease another worker took (this worker must stop running them)."""
    surplus: list[str]
    """Accounts held beyond the fair share: stop their lanes, then ``release`` them."""


class Accounts:
    """Account state, order cursors, workers and account leases."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    # -- state ----------------------------------------------------------------------------

    def state(self, conn: Connection, account: str) -> AccountState | None:
        """The stored state of ``account``; None for an account never run."""
        a = t.accounts.c
        row = conn.execute(
            sa.select(a.listings_imported_at, a.last_pull_at, a.needs_repull).where(
                a.account == account
            )
        ).first()
        if row is None:
            return None
        return AccountState(row[0], row[1], bool(row[2]))

    def touch(self, conn: Connection, account: str, kind: str, **values: Any) -> None:
        """Create the account's row if needed and set ``values`` on it."""
        self.store.upsert(
            conn, t.accounts, [{"account": account, "kind": kind}], keys=("account",), update=()
        )
        if values:
            conn.execute(
                t.accounts.update().where(t.accounts.c.account == account).values(**values)
            )

    # -- cursors --------------------------------------------------------------------------

    def cursor(self, conn: Connection, account: str, stream: str = ORDERS) -> datetime | None:
        """Where ``stream`` of ``account`` stands (the newest change applied)."""
        c = t.cursors.c
        value = conn.execute(
            sa.select(c.position).where(c.account == account, c.stream == stream)
        ).scalar()
        return value if isinstance(value, datetime) else None

    def advance(
        self, conn: Connection, account: str, position: datetime, stream: str = ORDERS
    ) -> None:
        """Move the cursor forward to ``position`` (never back)."""
        current = self.cursor(conn, account, stream)
        if current is None or position > current:
            self.store.upsert(
                conn,
                t.cursors,
                [
                    {
                        "account": account,
                        "stream": stream,
                        "position": position,
                        "updated_at": self.clock(),
                    }
                ],
                keys=("account", "stream"),
            )

    # -- workers --------------------------------------------------------------------------

    @staticmethod
    def new_worker_id() -> str:
        """A worker id naming the host and process (``host:pid:random``)."""
        return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def register(self, worker_id: str, lease: timedelta) -> None:
        """Announce a worker (or renew its heartbeat)."""
        now = self.clock()
        host, _, rest = worker_id.partition(":")
        row = {
            "worker_id": worker_id,
            "host": host,
            "pid": int(rest.split(":")[0]) if rest.split(":")[0].isdigit() else os.getpid(),
            "started_at": now,
            "heartbeat_at": now,
            "lease_seconds": lease.total_seconds(),
            "stopping": False,
        }
        self.store.run(
            lambda conn: self.store.upsert(
                conn,
                t.workers,
                [row],
                keys=("worker_id",),
                update=("heartbeat_at", "lease_seconds", "stopping"),
            )
        )

    def retire(self, worker_id: str) -> None:
        """A worker stops: its accounts are free at once, and it leaves the list."""

        def work(conn: Connection) -> None:
            conn.execute(t.account_leases.delete().where(t.account_leases.c.worker_id == worker_id))
            conn.execute(t.workers.delete().where(t.workers.c.worker_id == worker_id))

        self.store.run(work)

    def workers(self) -> list[WorkerInfo]:
        """Every worker that announced itself, live or not, with the accounts it holds."""
        now = self.clock()
        with self.store.read() as conn:
            leases: dict[str, list[str]] = {}
            for r in conn.execute(
                sa.select(t.account_leases.c.account, t.account_leases.c.worker_id).where(
                    t.account_leases.c.lease_until >= now
                )
            ):
                leases.setdefault(r.worker_id, []).append(r.account)
            rows = conn.execute(sa.select(t.workers).order_by(t.workers.c.started_at)).all()
        return [
            WorkerInfo(
                worker_id=r.worker_id,
                host=r.host,
                pid=r.pid,
                started_at=r.started_at,
                heartbeat_at=r.heartbeat_at,
                lease_seconds=r.lease_seconds,
                alive=_alive(r, now),
                accounts=tuple(sorted(leases.get(r.worker_id, ()))),
            )
            for r in rows
        ]

    # -- account leases -------------------------------------------------------------------

    def assign(
        self,
        worker_id: str,
        accounts: Iterable[str],
        lease: timedelta,
        held: dict[str, str],
    ) -> Assignment:
        """One lease round: renew the heartbeat and the leases held, take free accounts up
        to the fair share, and name what is held beyond it.

        ``held`` is what the worker believes it holds (account -> token).
        """
        names = sorted(set(accounts))

        def work(conn: Connection) -> Assignment:
            now = self.clock()
            w = t.workers.c
            conn.execute(
                t.workers.update()
                .where(w.worker_id == worker_id)
                .values(heartbeat_at=now, lease_seconds=lease.total_seconds())
            )
            live = [
                r.worker_id
                for r in conn.execute(sa.select(t.workers).where(w.stopping.is_(False)))
                if _alive(r, now)
            ]
            if worker_id not in live:
                live.append(worker_id)
            share = math.ceil(len(names) / max(1, len(live)))
            lc = t.account_leases.c
            rows = {
                r.account: r
                for r in conn.execute(
                    self.store.for_update(
                        sa.select(t.account_leases)
                        .where(self.store.among(lc.account, names))
                        .order_by(lc.account)
                    )
                )
            }
            until = now + lease
            mine: dict[str, str] = {}
            lost: list[str] = []
            for account, token in held.items():
                row = rows.get(account)
                if row is not None and row.worker_id == worker_id and row.token == token:
                    conn.execute(
                        t.account_leases.update()
                        .where(lc.account == account)
                        .values(lease_until=until)
                    )
                    mine[account] = token
                else:
                    lost.append(account)
            free = [
                a
                for a in names
                if a not in mine
                and (a not in rows or rows[a].lease_until < now or rows[a].worker_id not in live)
            ]
            # Spread: each worker prefers other accounts, so two joining at once rarely
            # compete for the same ones.
            free.sort(key=lambda a: hashlib.blake2b(f"{worker_id}/{a}".encode()).digest())
            gained: list[str] = []
            for account in free[: max(0, share - len(mine))]:
                token = str(uuid.uuid4())
                values = {
                    "worker_id": worker_id,
                    "token": token,
                    "lease_until": until,
                    "acquired_at": now,
                }
                if account in rows:
                    conn.execute(
                        t.account_leases.update().where(lc.account == account).values(**values)
                    )
                else:
                    conn.execute(t.account_leases.insert().values(account=account, **values))
                mine[account] = token
                gained.append(account)
            surplus = sorted(mine)[share:] if len(mine) > share and len(live) > 1 else []
            return Assignment(held=mine, gained=gained, lost=lost, surplus=surplus)

        return self.store.run(work)

    def release(self, worker_id: str, accounts: Iterable[str]) -> None:
        """Give up the leases of ``accounts`` (their lanes have stopped)."""
        names = list(accounts)
        if not names:
            return
        lc = t.account_leases.c
        self.store.run(
            lambda conn: conn.execute(
                t.account_leases.delete().where(
                    lc.worker_id == worker_id, self.store.among(lc.account, names)
                )
            )
        )

    def holder(self, account: str) -> str | None:
        """The worker holding ``account``'s lease now, if any."""
        lc = t.account_leases.c
        with self.store.read() as conn:
            value = conn.execute(
                sa.select(lc.worker_id).where(lc.account == account, lc.lease_until >= self.clock())
            ).scalar()
        return None if value is None else str(value)


def _alive(row: Any, now: datetime) -> bool:
    return bool(row.heartbeat_at + timedelta(seconds=row.lease_seconds) >= now)
