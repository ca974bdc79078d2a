"""``AmazonChannel``: an Amazon seller account (SP-API) as a channelsync ``Channel``.

Orders are read with the Orders API v2026-01-01 ``searchOrders`` (about once every three
minutes: ``limits.min_poll_interval``), with ``ORDER_CHANGE`` notifications through SQS
(``sqs.OrderChangeReader``) for real time. Stock and prices go out by one of two routes,
whichever finishes the batch sooner (``choose_route``): one ``patchListingsItem`` per SKU
paced at its rate limit, or one ``JSON_LISTINGS_FEED`` of up to 25,000 messages whose
processing report is mapped back to each SKU. Listings fulfilled by Amazon (FBA) are never
written: Amazon owns that stock.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from channelsync.adapters._paging import Paginator
from channelsync.adapters._skus import syncable_sku
from channelsync.adapters.amazon.aftersale import AmazonAfterSale
from channelsync.adapters.amazon.client import RATE_LIMITS, AmazonClient
from channelsync.adapters.amazon.config import AmazonConfig
from channelsync.adapters.amazon.feeds import (
    CONTENT_TYPE,
    FEED_TYPE,
    MAX_MESSAGES,
    ListingsFeed,
)
from channelsync.adapters.amazon.mapping import (
    KIND,
    ORDER_DATA_ERRORS,
    confirm_shipment_body,
    listing_from_item,
    order_failure,
    order_from_wire,
    price_patch,
    stock_patch,
)
from channelsync.adapters.amazon.payloads import (
    ListingIssue,
    OrderRead,
    SubmissionResponse,
    UnreadableOrder,
)
from channelsync.core.channel import (
    CancelOperation,
    ChannelLimits,
    OperationReceipt,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RefundOperation,
    ReviewStatus,
    StockUpdate,
    WebhookEvent,
)
from channelsync.core.errors import (
    ChannelError,
    Conflict,
    ItemError,
    NotFound,
    Rejected,
    TransientError,
    Unavailable,
    WebhookVerificationError,
)
from channelsync.core.models import Listing, Order, Shipment, utcnow

__all__ = ["GENERIC_PRODUCT_TYPE", "AmazonChannel", "Route", "choose_route", "route_threshold"]

log = logging.getLogger(__name__)

Route = Literal["patch", "feed"]

#: ``read_stock`` reads up to this many SKUs one by one (getListingsItem, 5 a second);
#: more are read from every page of searchListingsItems.
SMALL_READ = 20

#: The product type sent when a SKU's own is unknown: Amazon accepts it for offer-only
#: attributes (quantity, price), which is all channelsync writes.
GENERIC_PRODUCT_TYPE = "PRODUCT"


def choose_route(
    items: int,
    *,
    patch_rate: float,
    patch_tokens: float,
    feed_seconds: float,
    patch_latency: float = 0.0,
) -> Route:
    """The route that finishes ``items`` writes sooner.

    The patch route sends one request per item, paced by its bucket: it takes
    ``max((items - patch_tokens) / patch_rate, items * patch_latency)`` seconds (the
    tokens in hand go at once; each request also takes its round trip, one after the
    other). The feed route takes ``feed_seconds``: the expected processing time plus any
    wait for the feed operations' own buckets. Ties go to patches (results come sooner).
    """
    if items <= 0:
        return "patch"
    patch_seconds = max(max(0.0, items - patch_tokens) / patch_rate, items * patch_latency)
    return "patch" if patch_seconds <= feed_seconds else "feed"


def route_threshold(
    *, patch_rate: float, patch_tokens: float, feed_seconds: float, patch_latency: float = 0.0
) -> int:
    """The most items the patch route takes (``choose_route`` picks the feed above it)."""
    by_rate = patch_tokens + patch_rate * feed_seconds
    by_latency = feed_seconds / patch_latency if patch_latency > 0 else math.inf
    return max(0, math.floor(min(by_rate, by_latency) + 1e-9))


class _Write:
    """One SKU to write: its product type and JSON Patch operations."""

    __slots__ = ("patches", "product_type", "quantity", "sku")

    def __init__(
        self, sku: str, product_type: str, patches: list[dict[str, Any]], quantity: int | None
    ) -> None:
        self.sku = sku
        self.product_type = product_type
        self.patches = patches
        self.quantity = quantity


class AmazonChannel:
    """One Amazon seller account on one SP-API region.

    Args:
        config: the account (``AmazonConfig``).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        base_url: the SP-API base URL (default: the region's host); the sandbox sets it.
        token_url: the LWA token endpoint (default ``https://api.amazon.com/auth/o2/token``).
        clock: the wall clock (aware UTC).
        sleep: how to wait between feed status polls.
    """

    kind = KIND

    def __init__(
        self,
        config: AmazonConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        token_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = AmazonClient(
            config, base_url=base_url, token_url=token_url, transport=transport
        )
        self._clock = clock
        self._sleep = sleep
        self._known: dict[str, Listing] = {}
        self._known_lock = threading.Lock()
        self._patch_latency = 0.0
        self.last_routes: list[Route] = []
        self._limits = ChannelLimits(
            stock_batch=MAX_MESSAGES,
            price_batch=MAX_MESSAGES,
            page_size=100,
            rate_limits=tuple(RATE_LIMITS.values()),
            min_poll_interval=180.0,
            supports_compare_and_set=False,
            # Amazon applies an accepted patch minutes later; its order search lags about
            # two minutes (lastUpdatedBefore must be two minutes in the past).
            write_settle_seconds=config.write_settle_seconds,
            search_lag=config.order_search_lag_seconds,
        )
        self.aftersale = AmazonAfterSale(self.client, config, clock=clock, sleep=sleep)

    def __repr__(self) -> str:
        return f"AmazonChannel(account={self.config.account!r}, region={self.config.region!r})"

    # -- identity -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The merchant's name for this account."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """Batch sizes (a feed holds 25,000 messages) and Amazon's published rate limits."""
        return self._limits

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order changed at or after ``updated_after``, oldest change first.

        ``searchOrders`` pages (100 orders each) are read to the end first, then sorted:
        Amazon does not promise an order of results, and the engine commits its cursor as
        it goes. An order that does not read or map is yielded as an ``OrderFailure`` in
        its place (by its ``lastUpdatedTime``; one without a readable time comes first).
        """
        if updated_after > self._clock():
            return
        pages: Paginator[OrderRead, str] = Paginator(
            lambda token: self.client.search_orders(updated_after, token),
            channel=self.account,
            operation="searchOrders",
        )
        orders: dict[str, Order | OrderFailure] = {}
        for n, item in enumerate(pages):
            mapped = self._map(item)
            orders[mapped.order_id or f"(unidentified {n})"] = mapped  # later pages win
        yield from sorted(orders.values(), key=_stream_key)

    def read_order(self, order_id: str) -> Order | OrderFailure:
        """One order read now (``getOrder``), or the ``OrderFailure`` that says why it cannot
        be mapped: what a notification's targeted fetch uses."""
        return self._map(self.client.get_order(order_id))

    def fetch_order(self, order_id: str) -> Order:
        """One order, read now (``getOrder``); ``Rejected`` when it cannot be mapped."""
        order = self.read_order(order_id)
        if isinstance(order, OrderFailure):
            raise Rejected(order.error, channel=self.account, operation="getOrder")
        return order

    def _map(self, item: OrderRead) -> Order | OrderFailure:
        if isinstance(item, UnreadableOrder):
            return self._failure(item.raw, item.error)
        wire, raw = item
        try:
            return order_from_wire(wire, account=self.account, raw=raw)
        except ORDER_DATA_ERRORS as exc:
            return self._failure(raw, exc)

    def _failure(self, raw: dict[str, Any], exc: Exception) -> OrderFailure:
        failure = order_failure(raw, exc)
        log.warning(
            "account %s: Amazon order %s cannot be read (%s)",
            self.account,
            failure.order_id,
            failure.error,
        )
        return failure

    # -- listings -------------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[Listing]:
        """Every listing of the seller (``searchListingsItems``, 20 per page).

        Each listing's product type is remembered for later writes; FBA listings come back
        with ``fulfilled_by="channel"``.
        """

        def page(token: str | None) -> tuple[list[Listing], str | None]:
            results = self.client.search_listings(token)
            listings = [
                listing_from_item(
                    item, account=self.account, marketplace_ids=self.config.marketplace_ids
                )
                for item in results.items
                if syncable_sku(self.account, item.sku, f"listing {item.sku[:40]!r}")
            ]
            with self._known_lock:
                self._known.update((lst.sku, lst) for lst in listings)
            return listings, results.pagination.next_token if results.pagination else None

        yield from Paginator(page, channel=self.account, operation="searchListingsItems")

    def fetch_listing(self, sku: str) -> Listing:
        """One listing (``getListingsItem``)."""
        listing = listing_from_item(
            self.client.get_listing(sku),
            account=self.account,
            marketplace_ids=self.config.marketplace_ids,
        )
        with self._known_lock:
            self._known[sku] = listing
        return listing

    def read_stock(self, listings: Sequence[Listing]) -> dict[str, int | None]:
        """What each listing shows now: ``getListingsItem`` per SKU for up to 20 SKUs,
        else every page of ``searchListingsItems`` (20 a call).

        Amazon reads back an accepted patch only once it has processed it (minutes later):
        ``limits.write_settle_seconds`` tells the engine not to take such a read as the truth.
        """
        skus = list(dict.fromkeys(lst.sku for lst in listings))
        if len(skus) <= SMALL_READ:
            out: dict[str, int | None] = {}
            for sku in skus:
                try:
                    out[sku] = self.fetch_listing(sku).quantity
                except NotFound:
                    out[sku] = None
            return out
        found = {lst.sku: lst.quantity for lst in self.fetch_listings()}
        return {sku: found.get(sku) for sku in skus}

    # -- writes ---------------------------------------------------------------------------

    def _listing(self, sku: str, given: Listing | None) -> Listing | None:
        if given is not None:
            return given
        with self._known_lock:
            return self._known.get(sku)

    def _product_type(self, listing: Listing | None) -> str:
        if listing is not None and listing.ids.get("productType"):
            return listing.ids["productType"]
        return GENERIC_PRODUCT_TYPE

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set merchant-fulfilled quantities; one result per update.

        FBA listings are refused per item without a call (Amazon owns that stock).
        """
        results: dict[str, PushResult] = {}
        writes: dict[str, _Write] = {}
        for u in updates:
            listing = self._listing(u.sku, u.listing)
            if listing is not None and listing.fulfilled_by == "channel":
                results[u.sku] = PushResult.failure(
                    ItemError(
                        u.sku,
                        "fulfilled by Amazon (FBA): Amazon owns this stock, channelsync"
                        " never writes it",
                        code="FULFILLED_BY_AMAZON",
                    )
                )
                writes.pop(u.sku, None)
                continue
            writes[u.sku] = _Write(
                u.sku,
                self._product_type(listing),
                [stock_patch(u.quantity, self.config.stock_patch_op)],
                u.quantity,
            )
        results.update(self._write(list(writes.values())))
        return [results[u.sku] for u in updates]

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set B2C prices in every configured marketplace that sells in the price's currency."""
        results: dict[str, PushResult] = {}
        writes: dict[str, _Write] = {}
        for u in updates:
            markets = [
                m
                for m in self.config.marketplace_ids
                if self.config.currency_of(m) == u.price.currency
            ]
            if not markets:
                results[u.sku] = PushResult.failure(
                    ItemError(
                        u.sku,
                        f"no configured marketplace sells in {u.price.currency}",
                        code="CURRENCY_MISMATCH",
                    )
                )
                writes.pop(u.sku, None)
                continue
            try:
                patch = price_patch(u.price, markets)
            except ValueError as exc:
                results[u.sku] = PushResult.failure(ItemError(u.sku, str(exc), code="PRICE"))
                writes.pop(u.sku, None)
                continue
            writes[u.sku] = _Write(
                u.sku, self._product_type(self._listing(u.sku, u.listing)), [patch], None
            )
        results.update(self._write(list(writes.values())))
        return [results[u.sku] for u in updates]

    def route_for(self, items: int) -> Route:
        """The route a write of ``items`` SKUs would take now (see ``choose_route``)."""
        return choose_route(
            items,
            patch_rate=self.client.buckets["patchListingsItem"].rate,
            patch_tokens=self.client.buckets["patchListingsItem"].available,
            feed_seconds=self._feed_seconds(),
            patch_latency=self._patch_latency,
        )

    def _feed_seconds(self) -> float:
        b = self.client.buckets
        return (
            self.config.feed_processing_estimate
            + b["createFeedDocument"].wait_time()
            + b["createFeed"].wait_time()
        )

    def _write(self, writes: list[_Write]) -> dict[str, PushResult]:
        if not writes:
            return {}
        route = self.route_for(len(writes))
        self.last_routes.append(route)
        log.info("%s: writing %d SKU(s) by %s", self.account, len(writes), route)
        if route == "patch":
            return self._write_patches(writes)
        results: dict[str, PushResult] = {}
        for start in range(0, len(writes), MAX_MESSAGES):
            results.update(self._write_feed(writes[start : start + MAX_MESSAGES]))
        return results

    def _write_patches(self, writes: list[_Write]) -> dict[str, PushResult]:
        results: dict[str, PushResult] = {}
        for i, w in enumerate(writes):
            started = time.monotonic()
            try:
                answer = self.client.patch_listing(w.sku, w.product_type, w.patches)
            except (NotFound, Rejected, Conflict) as exc:
                results[w.sku] = PushResult.failure(
                    ItemError(w.sku, exc.message, code=exc.code or type(exc).__name__, raw=exc.raw)
                )
                continue
            except ChannelError as exc:
                if not results:
                    raise
                # Keep what went through; the rest is retried by the next cycle.
                for rest in writes[i:]:
                    results[rest.sku] = PushResult.failure(
                        ItemError(
                            rest.sku,
                            f"not sent: {exc.message}",
                            code=exc.code,
                            retryable=isinstance(exc, TransientError),
                        )
                    )
                return results
            finally:
                elapsed = time.monotonic() - started
                self._patch_latency = 0.8 * self._patch_latency + 0.2 * elapsed
            results[w.sku] = self._submission_result(w, answer)
        return results

    def _submission_result(self, w: _Write, answer: SubmissionResponse) -> PushResult:
        errors = [i for i in answer.issues if i.severity == "ERROR"]
        for issue in answer.issues:
            if issue.severity != "ERROR":
                log.warning(
                    "%s: %s %s on %s: %s",
                    self.account,
                    issue.severity,
                    issue.code,
                    w.sku,
                    issue.message,
                )
        if answer.status == "INVALID" or errors:
            return PushResult.failure(_issue_error(w.sku, errors, answer.status))
        return PushResult.success(w.sku, w.quantity)

    def _write_feed(self, writes: list[_Write]) -> dict[str, PushResult]:
        feed = ListingsFeed(
            self.config.seller_id, issue_locale=self.config.primary_marketplace.locale
        )
        for w in writes:
            feed.patch(w.sku, w.product_type, w.patches)
        document = self.client.create_feed_document(CONTENT_TYPE)
        self.client.upload_document(document.url, feed.document(), CONTENT_TYPE)
        feed_id = self.client.create_feed(FEED_TYPE, document.feed_document_id).feed_id
        log.info("%s: feed %s submitted with %d message(s)", self.account, feed_id, len(feed))
        deadline = time.monotonic() + self.config.feed_timeout
        while True:
            self._sleep(self.config.feed_poll_interval)
            status = self.client.get_feed(feed_id)
            if status.processing_status in ("DONE", "FATAL", "CANCELLED"):
                break
            if time.monotonic() >= deadline:
                raise Unavailable(
                    f"feed {feed_id} still {status.processing_status} after"
                    f" {self.config.feed_timeout:.0f}s",
                    channel=self.account,
                    operation="getFeed",
                )
        quantities = {w.sku: w.quantity for w in writes}
        if status.processing_status == "CANCELLED":
            return {
                w.sku: PushResult.failure(
                    ItemError(
                        w.sku, f"feed {feed_id} was cancelled", code="CANCELLED", retryable=True
                    )
                )
                for w in writes
            }
        if status.result_feed_document_id is None:
            if status.processing_status == "DONE":
                raise Unavailable(
                    f"feed {feed_id} is DONE without a processing report",
                    channel=self.account,
                    operation="getFeed",
                )
            return {
                w.sku: PushResult.failure(
                    ItemError(w.sku, f"feed {feed_id} failed (FATAL), no report", code="FATAL")
                )
                for w in writes
            }
        report = self.client.processing_report(status.result_feed_document_id)
        results: dict[str, PushResult] = {}
        for sku, outcome in feed.outcome(report).items():
            for issue in outcome.warnings:
                log.warning(
                    "%s: feed %s %s %s on %s: %s",
                    self.account,
                    feed_id,
                    issue.severity,
                    issue.code,
                    sku,
                    issue.message,
                )
            if status.processing_status == "FATAL" and outcome.ok:
                results[sku] = PushResult.failure(
                    ItemError(sku, f"feed {feed_id} failed (FATAL)", code="FATAL")
                )
            elif outcome.ok:
                results[sku] = PushResult.success(sku, quantities[sku])
            else:
                first = outcome.errors[0]
                message = "; ".join(f"{e.code}: {e.message}" for e in outcome.errors)
                results[sku] = PushResult.failure(
                    ItemError(sku, message, code=first.code or "FEED_ERROR")
                )
        return results

    # -- fulfillment ----------------------------------------------------------------------

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Confirm a merchant-fulfilled shipment (``confirmShipment``).

        The order is read first: a package with the same tracking number already on the
        order means this shipment was confirmed before (a repeat changes nothing).
        """
        order = self.fetch_order(order_id)
        if order.lines and all(ln.fulfilled_by_channel for ln in order.lines):
            raise Rejected(
                f"order {order_id} is fulfilled by Amazon: Amazon ships it",
                channel=self.account,
                operation="confirmShipment",
            )
        if shipment.tracking_number and any(
            s.tracking_number == shipment.tracking_number for s in order.shipments
        ):
            log.info("%s: %s already carries %s", self.account, order_id, "this shipment")
            return
        marketplace = _marketplace_of(order) or self.config.marketplace_ids[0]
        digest = hashlib.sha256(f"{order_id}:{shipment.tracking_number}".encode()).hexdigest()
        try:
            body = confirm_shipment_body(
                order,
                shipment,
                marketplace_id=marketplace,
                package_reference_id=str(int(digest[:8], 16) % 999_999_999 + 1),
            )
        except ValueError as exc:
            raise Rejected(str(exc), channel=self.account, operation="confirmShipment") from exc
        self.client.confirm_shipment(order_id, body)

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Amazon offers sellers no order cancellation in the Orders API: always ``Rejected``.

        Cancellation is a feed, processed later: ``channelsync orders cancel`` (the engine's
        ``cancel``, through ``cancel_lines``) sends it and follows it up; or cancel in
        Seller Central.
        """
        raise Rejected(
            f"order {order_id}: the SP-API Orders API has no seller cancellation; use"
            " channelsync orders cancel (an order acknowledgement feed) or Seller Central",
            channel=self.account,
            operation="cancelOrder",
        )

    # -- after-sale (SupportsCancel, SupportsRefund, SupportsOperationStatus) --------------
    # No record_return: Amazon runs returns itself; refund with reason CustomerReturn.

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel a whole order (acknowledgement ``Failure``) or some units (adjustment with
        ``QuantityCancelled``); see ``aftersale``."""
        return self.aftersale.cancel_lines(operation)

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """Refund through ``POST_PAYMENT_ADJUSTMENT_DATA``; see ``aftersale``."""
        return self.aftersale.refund(operation)

    def operation_status(self, order_id: str, receipt: OperationReceipt) -> OperationReceipt:
        """An order feed's outcome for the order, read from its processing report."""
        return self.aftersale.operation_status(order_id, receipt)

    def review_request_status(self, order: Order) -> ReviewStatus:
        """Whether Solicitations offers the review request for ``order`` now."""
        return self.aftersale.review_request_status(order)

    def send_review_request(self, order: Order) -> None:
        """Send Amazon's product review and seller feedback request for ``order``."""
        self.aftersale.send_review_request(order)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Amazon sends no HTTP webhooks: always ``WebhookVerificationError``.

        ``ORDER_CHANGE`` notifications arrive through SQS; read them with
        ``channelsync.adapters.amazon.webhooks.OrderChangeReader``.
        """
        raise WebhookVerificationError(
            "Amazon delivers notifications through SQS or EventBridge, not HTTP webhooks:"
            " use channelsync.adapters.amazon.webhooks.OrderChangeReader"
        )

    def close(self) -> None:
        """Close the HTTP pool."""
        self.client.close()

    def __enter__(self) -> AmazonChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _issue_error(sku: str, errors: Sequence[ListingIssue], status: str) -> ItemError:
    if not errors:
        return ItemError(sku, f"Amazon answered {status} without issues", code=status)
    message = "; ".join(f"{e.code}: {e.message}" for e in errors)
    return ItemError(sku, message, code=errors[0].code or status)


def _marketplace_of(order: Order) -> str | None:
    channel = order.raw.get("salesChannel")
    if isinstance(channel, dict):
        mid = channel.get("marketplaceId")
        return mid if isinstance(mid, str) else None
    return None


_NO_TIME = datetime.min.replace(tzinfo=UTC)


def _stream_key(item: Order | OrderFailure) -> tuple[datetime, str]:
    """Oldest change first; a failure without a readable time first of all."""
    return (item.updated_at or _NO_TIME, item.order_id or "")
