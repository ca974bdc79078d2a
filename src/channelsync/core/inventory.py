"""Merchant-side stock changes: counts and adjustments, checked and made idempotent.

``SyncEngine.set_on_hand``, ``set_on_hand_many``, ``adjust`` and ``adjust_many`` land
here. Arguments are checked before anything is written (a bad SKU or quantity anywhere
in a batch refuses the whole batch, naming it), an idempotency key makes a repeat of the
same call a no-op and a reuse for another payload an ``IdempotencyConflict``, and each
batch is applied with set-based statements in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channelsync.core.checks import MAX_QUANTITY, check_bool, check_quantity, check_sku
from channelsync.core.errors import ConfigError, InvalidInput
from channelsync.core.idempotency import IdempotencyKeys, check_key
from channelsync.core.ledger import ApplyResult, Ledger
from channelsync.core.locations import DEFAULT_LOCATION, check_location
from channelsync.core.store import Store

__all__ = ["MAX_QUANTITY", "Inventory", "check_quantity"]


def _check_location(value: object) -> str:
    try:
        return check_location(value)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__} {value!r:.80}")
    return value


class Inventory:
    """Counts and adjustments with validation and idempotency keys."""

    def __init__(self, store: Store, ledger: Ledger, keys: IdempotencyKeys) -> None:
        self.store = store
        self.ledger = ledger
        self.keys = keys

    def set_on_hand_many(
        self,
        counts: Mapping[str, int],
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        note: str | None = None,
        operation: str = "set_on_hand_many",
        location: str = DEFAULT_LOCATION,
    ) -> ApplyResult:
        """Record physical counts (SKU -> units on hand at ``location``) in one transaction."""
        if not isinstance(counts, Mapping):
            raise InvalidInput(
                f"counts must be a mapping of SKU to units, got {type(counts).__name__}"
            )
        for sku, qty in counts.items():
            check_sku(sku)
            check_quantity(qty, f"on_hand for {sku!r}")
        if idempotency_key is not None:
            check_key(idempotency_key)
        _check_text(source, "source")
        if note is not None:
            _check_text(note, "note")
        _check_location(location)
        payload: dict[str, Any] = {"counts": dict(counts)}
        if location != DEFAULT_LOCATION:
            payload["location"] = location

        def work(conn: Any) -> ApplyResult:
            if not self.keys.first_use(conn, idempotency_key, operation, payload):
                return ApplyResult()
            return self.ledger.set_on_hand_many(
                conn, counts, source=source, key=idempotency_key, note=note, location=location
            )

        return self.store.run(work)

    def adjust_many(
        self,
        deltas: Mapping[str, int],
        reason: str,
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        operation: str = "adjust_many",
        location: str = DEFAULT_LOCATION,
        allow_negative: bool = False,
    ) -> ApplyResult:
        """Change on_hand of several SKUs at ``location`` by their deltas, with one reason.

        A delta that would take on_hand at ``location`` below zero refuses the whole batch
        (``InvalidInput``) unless ``allow_negative``; an allowed one says so in its journal
        row.
        """
        if not isinstance(deltas, Mapping):
            raise InvalidInput(
                f"deltas must be a mapping of SKU to units, got {type(deltas).__name__}"
            )
        for sku, delta in deltas.items():
            check_sku(sku)
            check_quantity(delta, f"delta for {sku!r}", negative=True)
        _check_text(reason, "reason")
        if not reason.strip():
            raise InvalidInput("adjust needs a reason (receipt, return, damage, ...)")
        if idempotency_key is not None:
            check_key(idempotency_key)
        _check_text(source, "source")
        _check_location(location)
        check_bool(allow_negative, "allow_negative")
        payload: dict[str, Any] = {"deltas": dict(deltas), "reason": reason}
        if location != DEFAULT_LOCATION:
            payload["location"] = location
        if allow_negative:
            payload["allow_negative"] = True

        def work(conn: Any) -> ApplyResult:
            if not self.keys.first_use(conn, idempotency_key, operation, payload):
                return ApplyResult()
            return self.ledger.adjust_many(
                conn,
                deltas,
                reason,
                source=source,
                key=idempotency_key,
                location=location,
                allow_negative=allow_negative,
            )

        return self.store.run(work)

    def transfer(
        self,
        sku: str,
        units: int,
        source_location: str,
        target_location: str,
        *,
        idempotency_key: str | None = None,
        source: str = "caller",
        note: str | None = None,
    ) -> ApplyResult:
        """Move ``units`` on hand of ``sku`` between two locations (the total stays)."""
        check_sku(sku)
        check_quantity(units, f"units of {sku!r} to transfer")
        if units == 0:
            raise InvalidInput(f"transfer of {sku!r}: 0 units moves nothing")
        _check_location(source_location)
        _check_location(target_location)
        if source_location == target_location:
            raise InvalidInput(f"transfer of {sku!r}: from and to are both {source_location!r}")
        if idempotency_key is not None:
            check_key(idempotency_key)
        _check_text(source, "source")
        if note is not None:
            _check_text(note, "note")
        payload = {
            "sku": sku,
            "units": units,
            "from": source_location,
            "to": target_location,
        }

        def work(conn: Any) -> ApplyResult:
            if not self.keys.first_use(conn, idempotency_key, "transfer", payload):
                return ApplyResult()
            return self.ledger.transfer(
                conn,
                sku,
                units,
                source_location,
                target_location,
                source=source,
                key=idempotency_key,
                note=note,
            )

        return self.store.run(work)
