"""Leases with tokens: rows claimed by one worker, renewed while in use.

A claim marks its rows with a fresh token and a lease time. Only the holder of the token
may settle the rows (acknowledge, fail, mark applied); a holder that dies stops renewing,
its lease runs out and another worker claims the rows. ``LeaseKeeper`` renews a claim on a
background thread every third of its lease for as long as the work runs, so work of any
length keeps its rows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["Claim", "LeaseKeeper", "release_claim", "renew_claim"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Claim(Generic[T]):
    """Rows leased to one pusher: only its ``token`` may acknowledge or fail them."""

    table: str
    account: str
    token: str
    lease: timedelta
    items: list[T] = field(default_factory=list)
    lost: bool = False
    """Set when a renewal found the lease gone (the rows may be pushed by someone else)."""

    def __bool__(self) -> bool:
        return bool(self.items)


class LeaseKeeper:
    """Renews a lease every third of its length on a background thread while in use.

    ``renew()`` returns whether the lease is still held; once it is not, the keeper stops
    and ``lost`` is set.
    """

    def __init__(self, renew: Callable[[], bool], lease: timedelta, name: str) -> None:
        self._renew = renew
        self._every = max(0.05, lease.total_seconds() / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.lost = False

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    self.lost = True
                    log.warning("%s: lease lost while in use", self._thread.name)
                    return
            except Exception:  # a store hiccup: the next renewal tries again
                log.warning("%s: lease renewal failed", self._thread.name, exc_info=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def renew_claim(table: sa.Table, claim: Claim[Any], now: datetime, conn: Connection) -> bool:
    """Extend the lease of ``claim``'s rows in ``table``; False (and ``claim.lost``) if none
    is held any more."""
    held = conn.execute(
        table.update()
        .where(table.c.claim_token == claim.token)
        .values(lease_until=now + claim.lease)
    ).rowcount
    if not held:
        claim.lost = True
    return bool(held)


def release_claim(
    table: sa.Table,
    claim: Claim[Any],
    key: sa.Column[Any],
    keys: Sequence[Any] | None,
    conn: Connection,
) -> None:
    """Free the rows of ``claim`` (those whose ``key`` is in ``keys``, or all of them)."""
    q = table.update().where(table.c.claim_token == claim.token)
    if keys is not None:
        q = q.where(key.in_(list(keys)))
    conn.execute(q.values(lease_until=None, claim_token=None))
