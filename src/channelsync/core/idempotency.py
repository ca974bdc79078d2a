"""Idempotency keys: a key names one operation with one payload.

Callers pass a key (an ERP export id, a request id) to make a repeat of a write harmless.
The first use records the key with the operation's name and a digest of its payload, in
the transaction that applies it. A later use with the same operation and payload is a
no-op; with another operation or payload it raises ``IdempotencyConflict`` naming the key,
and nothing of the call is applied. Two workers using one key at once race on the key's
primary key: the loser's transaction is repeated (``Store.run``) and finds the winner's row.

This module alone reads and writes the ``idempotency_keys`` table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.errors import IdempotencyConflict, InvalidInput

__all__ = ["IdempotencyKeys", "check_key", "digest"]

MAX_KEY = 255


def check_key(key: object) -> str:
    """Return ``key`` if it is a valid idempotency key, else raise ``InvalidInput``.

    A key is a string of 1 to 255 characters without control characters or surrounding
    whitespace; the same on every store.
    """
    if not isinstance(key, str):
        raise InvalidInput(f"idempotency_key must be a string, got {type(key).__name__} {key!r}")
    if not key or key != key.strip():
        raise InvalidInput(f"idempotency_key {key!r} is empty or has surrounding whitespace")
    if len(key) > MAX_KEY:
        raise InvalidInput(f"idempotency_key is {len(key)} characters long; at most {MAX_KEY}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise InvalidInput(f"idempotency_key {key!r} contains a control character")
    return key


def digest(payload: Any) -> str:
    """A stable digest of a JSON-able payload (mappings compared regardless of order)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyKeys:
    """Records idempotency keys and refuses a key reused for another payload."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def first_use(self, conn: Connection, key: str | None, operation: str, payload: Any) -> bool:
        """Whether the operation should be applied now, recording ``key`` if so.

        Returns True for a call without a key and for a key never seen (recorded now, in
        the caller's transaction), False for a repeat of the same operation and payload.

        Raises:
            IdempotencyConflict: the key was used for another operation or payload.
            InvalidInput: the key is not a valid key.
        """
        if key is None:
            return True
        check_key(key)
        wanted = digest(payload)
        k = t.idempotency_keys.c
        row = conn.execute(sa.select(k.operation, k.digest).where(k.key == key)).first()
        if row is None:
            conn.execute(
                t.idempotency_keys.insert().values(
                    key=key, operation=operation, digest=wanted, created_at=self.clock()
                )
            )
            return True
        if row.operation != operation:
            raise IdempotencyConflict(
                f"idempotency_key {key!r} was used for {row.operation}, not {operation}:"
                " use a new key for a new operation (nothing was applied)",
                key=key,
                operation=row.operation,
            )
        if row.digest != wanted:
            raise IdempotencyConflict(
                f"idempotency_key {key!r} was used for {operation} with another payload:"
                " use a new key for a new operation (nothing was applied)",
                key=key,
                operation=row.operation,
            )
        return False
