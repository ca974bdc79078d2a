"""Stock writes of the Shopify adapter: ``available`` per inventory item and location.

``StockWriter`` turns ``StockUpdate`` items into ``inventorySetQuantities`` calls of up to
250 quantities (whatever their locations), with compare-and-swap, Shopify's
all-or-nothing answers (the refused items fail alone, the others go again), idempotency
keys, and locations where an item is not stocked (``inventoryActivate`` when the account
allows it). ``ShopifyChannel.push_stock`` hands its updates here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channelsync.adapters.shopify.client import ShopifyClient
from channelsync.adapters.shopify.config import ShopifyConfig
from channelsync.adapters.shopify.mapping import gid, quantity_input
from channelsync.adapters.shopify.payloads import SetQuantitiesPayload, UserError
from channelsync.core.channel import PushResult, StockUpdate
from channelsync.core.errors import ItemError
from channelsync.core.models import Listing

__all__ = ["BATCH", "StockWriter"]

log = logging.getLogger(__name__)

#: ``inventorySetQuantities`` takes at most 250 quantities.
BATCH = 250
_STALE = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})
_RETRYABLE = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST"})
_NEW_KEY = "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"
_NOT_STOCKED = "ITEM_NOT_STOCKED_AT_LOCATION"
_NO_LOCATION = "INVALID_LOCATION"


class StockWriter:
    """Writes stock updates of one account.

    Args:
        config: the account.
        client: its Admin API client.
        default_location: the account's default location GID (read lazily: only updates
            without a location, whose listing names none, need it).
        location_name: a location GID as people read it (``"berlin (gid://...)"``).
    """

    def __init__(
        self,
        config: ShopifyConfig,
        client: ShopifyClient,
        *,
        default_location: Callable[[], str],
        location_name: Callable[[str], str],
    ) -> None:
        self.config = config
        self.client = client
        self._default_location = default_location
        self._location_name = location_name

    def push(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set ``available`` with ``inventorySetQuantities``, 250 per call, compare-and-swap.

        Each update sets its ``location`` (a location GID or numeric id), or the account's
        default location when it has none; one call carries up to 250 quantities across
        locations, and each result names the update's ``location``. An item whose expected
        quantity no longer matches (a sale Shopify counted) fails alone as a conflict
        carrying Shopify's current quantity there; the engine re-reads orders and
        recomputes instead of overwriting the sale. Shopify applies none of a call with an
        item error, so the other items are sent again without it.

        At a location where the item is not stocked, Shopify refuses the quantity: 0 is
        what it shows there already (success); more is stocked there with
        ``inventoryActivate`` when ``config.activate_locations`` is on, else the item fails
        saying how to stock it. Two updates of one SKU and location: the last one counts.
        """
        results: list[PushResult | None] = [None] * len(updates)
        ready: dict[tuple[str, str], _Write] = {}
        for n, update in enumerate(updates):
            listing = update.listing
            if listing is None or "inventory_item_id" not in listing.ids:
                results[n] = PushResult.failure(
                    ItemError(
                        update.sku,
                        "no Shopify inventory item is bound to this SKU (import listings first)",
                        code="NO_LISTING",
                    ),
                    location=update.location,
                )
                continue
            write = _Write(
                n,
                update,
                gid("InventoryItem", listing.ids["inventory_item_id"]),
                self._where(update, listing),
            )
            earlier = ready.pop((write.item, write.location), None)
            if earlier is not None:
                results[earlier.n] = PushResult.failure(
                    ItemError(
                        update.sku,
                        "a later update of this SKU and location in the same push replaces it",
                        code="SUPERSEDED",
                    ),
                    location=earlier.update.location,
                )
            ready[(write.item, write.location)] = write
        writes = sorted(ready.values(), key=lambda w: w.n)
        for start in range(0, len(writes), BATCH):
            self._push_batch(writes[start : start + BATCH], results)
        return [
            r if r is not None else no_result(u.sku, u.location)
            for r, u in zip(results, updates, strict=True)
        ]

    def _where(self, update: StockUpdate, listing: Listing) -> str:
        """The location GID an update sets: its own, else the listing's default, else the
        account's."""
        if update.location:
            return gid("Location", update.location)
        default = listing.ids.get("location_id")
        return gid("Location", default) if default else self._default_location()

    def _push_batch(self, batch: list[_Write], results: list[PushResult | None]) -> None:
        if self.config.cas_field == "changeFromQuantity":
            self._set_quantities(batch, results, compare=True)
            return
        # Before 2026-01 the compare check is per call: opt out only for items without one.
        checked = [w for w in batch if w.update.expected is not None]
        unchecked = [w for w in batch if w.update.expected is None]
        if checked:
            self._set_quantities(checked, results, compare=True)
        if unchecked:
            self._set_quantities(unchecked, results, compare=False)

    def _set_quantities(
        self, batch: list[_Write], results: list[PushResult | None], *, compare: bool
    ) -> None:
        pending = list(batch)
        salt: str | None = None
        for _ in range(len(batch) + 2):
            if not pending:
                return
            payload: dict[str, Any] = {
                "name": "available",
                "reason": self.config.inventory_reason,
                "referenceDocumentUri": self.config.reference_document_uri,
                "quantities": [
                    quantity_input(
                        w.update,
                        location_id=w.location,
                        cas_field=self.config.cas_field,
                        compare=compare,
                    )
                    for w in pending
                ],
            }
            if self.config.cas_field == "compareQuantity":
                payload["ignoreCompareQuantity"] = not compare
            key = (
                self._batch_key(payload, [w.update for w in pending], salt)
                if self.config.needs_idempotency_key
                else None
            )
            result = self.client.set_quantities(payload, key)
            if not result.user_errors:
                self._settle_ok(pending, result, results)
                return
            if any(e.code == _NEW_KEY for e in result.user_errors) and salt is None:
                salt = uuid.uuid4().hex  # Shopify wants a fresh key after a failed attempt
                continue
            pending = self._settle_errors(pending, result, results)
        for w in pending:
            results[w.n] = PushResult.failure(
                ItemError(
                    w.update.sku,
                    "Shopify kept refusing the batch",
                    code="BATCH_REFUSED",
                    retryable=True,
                ),
                location=w.update.location,
            )

    def _batch_key(
        self, payload: Mapping[str, Any], updates: Sequence[StockUpdate], salt: str | None
    ) -> str:
        """One key per logical write: the same batch retried reuses it; another batch cannot."""
        if any(u.idempotency_key is None for u in updates) and salt is None:
            salt = uuid.uuid4().hex
        digest = hashlib.sha256(
            json.dumps(
                {
                    "account": self.config.account,
                    "input": payload,
                    "keys": [u.idempotency_key for u in updates],
                    "salt": salt,
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        return str(uuid.UUID(digest[:32]))

    @staticmethod
    def _settle_ok(
        pending: list[_Write], result: SetQuantitiesPayload, results: list[PushResult | None]
    ) -> None:
        after: dict[tuple[str, str], int] = {}
        group = result.inventory_adjustment_group
        if group is not None:
            for change in group.changes:
                if (
                    change.name == "available"
                    and change.item
                    and change.location
                    and change.quantity_after_change is not None
                ):
                    after[(change.item.id, change.location.id)] = change.quantity_after_change
        for w in pending:
            results[w.n] = PushResult.success(
                w.update.sku,
                after.get((w.item, w.location), w.update.quantity),
                location=w.update.location,
            )

    def _settle_errors(
        self,
        pending: list[_Write],
        result: SetQuantitiesPayload,
        results: list[PushResult | None],
    ) -> list[_Write]:
        """Record the items Shopify refused; return the ones to send again."""
        by_index: dict[int, UserError] = {}
        general: list[UserError] = []
        for error in result.user_errors:
            index = error.index("quantities")
            if index is not None and 0 <= index < len(pending):
                by_index.setdefault(index, error)
            else:
                general.append(error)
        if not by_index:
            first = general[0]
            for w in pending:
                results[w.n] = PushResult.failure(
                    ItemError(
                        w.update.sku,
                        first.message,
                        code=first.code,
                        retryable=first.code in _RETRYABLE,
                    ),
                    location=w.update.location,
                )
            return []
        stale = [
            (pending[i].item, pending[i].location) for i, e in by_index.items() if e.code in _STALE
        ]
        current = self.client.current_levels(stale) if stale else {}
        for i, error in by_index.items():
            w = pending[i]
            u = w.update
            if error.code in _STALE:
                now = current.get((w.item, w.location))
                results[w.n] = PushResult.failure(
                    ItemError(
                        u.sku,
                        f"compare-and-swap lost at {self._location_name(w.location)}: Shopify"
                        f" shows {now}, channelsync expected {u.expected} (a change Shopify"
                        " counted that the ledger has not seen)",
                        code=error.code,
                        conflict=True,
                        current=now,
                    ),
                    location=u.location,
                )
            elif error.code == _NOT_STOCKED:
                results[w.n] = self._not_stocked(w)
            elif error.code == _NO_LOCATION:
                results[w.n] = PushResult.failure(
                    ItemError(
                        u.sku,
                        f"Shopify has no location {w.location}: check this account's locations"
                        " mapping (ShopifyChannel.locations() lists the shop's)",
                        code=error.code,
                    ),
                    location=u.location,
                )
            else:
                results[w.n] = PushResult.failure(
                    ItemError(
                        u.sku, error.message, code=error.code, retryable=error.code in _RETRYABLE
                    ),
                    location=u.location,
                )
        rest = [w for i, w in enumerate(pending) if i not in by_index]
        if result.inventory_adjustment_group is not None:
            # Shopify applied the others after all: record them instead of sending twice.
            self._settle_ok(rest, result, results)
            return []
        return rest

    def _not_stocked(self, write: _Write) -> PushResult:
        """An update at a location where Shopify does not stock the item.

        0 is what the location shows already. More: ``inventoryActivate`` stocks the item
        there with that quantity when ``config.activate_locations`` is on (the merchant
        asked channelsync to manage which locations stock which items); otherwise the item
        fails saying how to stock it.
        """
        u = write.update
        where = self._location_name(write.location)
        if u.quantity == 0:
            return PushResult.success(u.sku, 0, location=u.location)
        if not self.config.activate_locations:
            return PushResult.failure(
                ItemError(
                    u.sku,
                    f"not stocked at Shopify location {where}, so it cannot show {u.quantity}"
                    " there: stock it at that location in Shopify's admin (the product's"
                    " inventory locations), or set activate_locations = true for this account"
                    " to let channelsync stock it there",
                    code=_NOT_STOCKED,
                ),
                location=u.location,
            )
        key = None
        if self.config.needs_idempotency_key:
            key = _derived_key(
                self.config.account,
                "activate",
                write.item,
                write.location,
                u.quantity,
                u.idempotency_key,
            )
        payload = self.client.activate(write.item, write.location, u.quantity, key)
        if payload.user_errors or payload.inventory_level is None:
            return PushResult.failure(
                ItemError(
                    u.sku,
                    f"Shopify refused to stock it at {where}: "
                    + ("; ".join(e.message for e in payload.user_errors) or "no inventory level"),
                    code="ACTIVATE_REFUSED",
                ),
                location=u.location,
            )
        shown = payload.inventory_level.quantity("available")
        log.info(
            "%s: %s stocked at Shopify location %s (%s)", self.config.account, u.sku, where, shown
        )
        return PushResult.success(
            u.sku, shown if shown is not None else u.quantity, location=u.location
        )


@dataclass(frozen=True)
class _Write:
    """One stock update on its way: its position, the inventory item and location GIDs."""

    n: int
    update: StockUpdate
    item: str
    location: str


def _derived_key(*parts: object) -> str:
    """A UUID derived from ``parts``: the same write retried gets the same key."""
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()
    return str(uuid.UUID(digest[:32]))


def no_result(sku: str, location: str | None = None) -> PushResult:
    """The result of an item no call answered (retryable)."""
    return PushResult.failure(
        ItemError(sku, "no result for this item", code="NO_RESULT", retryable=True),
        location=location,
    )
