"""``AcmeChannel``: the ``Channel`` of one Acme Market account."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import httpx

from acme_channel.client import AcmeClient
from acme_channel.config import AcmeConfig
from acme_channel.mapping import KIND, listing_from_payload, order_from_payload
from acme_channel.webhooks import parse_delivery
from channelsync.core.channel import (
    ChannelLimits,
    OrderFailure,
    PriceUpdate,
    PushResult,
    StockUpdate,
    WebhookEvent,
)
from channelsync.core.errors import ItemError
from channelsync.core.models import Listing, Order, Shipment

__all__ = ["AcmeChannel"]

#: Acme takes at most 50 items per stock or price write.
BATCH = 50


class AcmeChannel:
    """One Acme Market account.

    Args:
        config: the account's configuration.
        transport: an httpx transport (tests).
        base_url: where the API lives instead of Acme's host (the sandbox).
    """

    kind = KIND

    def __init__(
        self,
        config: AcmeConfig,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
    ) -> None:
        self.config = config
        self._client = AcmeClient(config, base_url=base_url, transport=transport)

    @property
    def account(self) -> str:
        """The merchant's name for this account."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """50 items per write, the configured page size."""
        return ChannelLimits(stock_batch=BATCH, price_batch=BATCH, page_size=self.config.page_size)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order changed at or after ``updated_after``, oldest change first."""
        since = updated_after.isoformat()
        cursor: str | None = None
        while True:
            page = self._client.orders(since, cursor, self.config.page_size)
            for raw in page.orders:
                try:
                    yield order_from_payload(raw, self.account)
                except ValueError as exc:  # pydantic's ValidationError is a ValueError
                    yield OrderFailure(
                        order_id=str(raw.get("id")) if raw.get("id") else None,
                        error=f"order {raw.get('id')} cannot be read: {exc}",
                        raw=dict(raw),
                    )
            if page.next is None:
                return
            cursor = page.next

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """One order as Acme has it now (None: unknown)."""
        from channelsync.core.errors import NotFound

        try:
            raw = self._client.order(order_id)
        except NotFound:
            return None
        try:
            return order_from_payload(raw, self.account)
        except ValueError as exc:
            return OrderFailure(order_id=order_id, error=str(exc), raw=raw)

    def fetch_listings(self) -> Iterator[Listing]:
        """Every listing, page by page."""
        cursor: str | None = None
        while True:
            page = self._client.listings(cursor, self.config.page_size)
            for item in page.listings:
                yield listing_from_payload(item, self.account)
            if page.next is None:
                return
            cursor = page.next

    def _write(
        self, what: str, items: list[dict[str, object]], skus: list[str]
    ) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(items), BATCH):
            got = {r.sku: r for r in self._client.write(what, items[start : start + BATCH])}
            for sku in skus[start : start + BATCH]:
                outcome = got.get(sku)
                if outcome is not None and outcome.ok:
                    results.append(PushResult.success(sku))
                else:
                    reason = outcome.error if outcome else "no result for this item"
                    results.append(PushResult.failure(ItemError(sku, reason or "refused")))
        return results

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set absolute quantities, 50 per call."""
        items: list[dict[str, object]] = [{"sku": u.sku, "qty": u.quantity} for u in updates]
        return self._write("stock", items, [u.sku for u in updates])

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set prices, 50 per call."""
        items: list[dict[str, object]] = [
            {"sku": u.sku, "price": str(u.price.amount), "currency": u.price.currency}
            for u in updates
        ]
        return self._write("prices", items, [u.sku for u in updates])

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Ship the whole order (Acme ignores a repeat with the same tracking number)."""
        self._client.ship(order_id, shipment.carrier, shipment.tracking_number)

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel an unshipped order."""
        self._client.cancel(order_id)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify ``X-Acme-Signature`` and return the order event."""
        return parse_delivery(self.account, self.config.webhook_secret, headers, body)
