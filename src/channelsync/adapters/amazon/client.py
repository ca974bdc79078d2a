"""``AmazonClient``: the SP-API operations as typed calls, paced per operation.

Each operation has a token bucket with Amazon's published rate and burst; a call waits
for capacity before it goes out (pacing, not retrying), and the bucket adopts the rate
that ``x-amzn-RateLimit-Limit`` reports for this seller. A 429 drains the bucket and
raises ``RateLimited`` with the time one request needs to come back. JSON becomes the
typed models of ``wire.py`` here; nothing past this module sees a vendor dict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from channelsync.adapters._ratelimit import TokenBucket
from channelsync.adapters.amazon.config import LWA_TOKEN_URL, AmazonConfig
from channelsync.adapters.amazon.gateway import SpApiGateway, SpResponse
from channelsync.adapters.amazon.payloads import (
    CreateFeedDocumentResponse,
    CreateFeedResponse,
    Feed,
    FeedDocument,
    ItemSearchResults,
    ListingsItem,
    OrderRead,
    ProcessingReport,
    SearchOrdersResponse,
    SpOrder,
    SubmissionResponse,
    UnreadableOrder,
)
from channelsync.core.channel import RateLimit
from channelsync.core.errors import RateLimited, Unavailable

__all__ = ["PACING_MARGIN", "RATE_LIMITS", "AmazonClient", "iso"]

log = logging.getLogger(__name__)

#: Amazon's published default usage plans (rate per second, burst) of what we call.
RATE_LIMITS: dict[str, RateLimit] = {
    r.operation: r
    for r in (
        RateLimit(operation="searchOrders", per_second=0.0056, burst=20),
        RateLimit(operation="getOrder", per_second=0.5, burst=30),
        RateLimit(operation="confirmShipment", per_second=2, burst=10),
        RateLimit(operation="getListingsItem", per_second=5, burst=10),
        RateLimit(operation="searchListingsItems", per_second=5, burst=5),
        RateLimit(operation="patchListingsItem", per_second=5, burst=5),
        RateLimit(operation="createFeedDocument", per_second=0.5, burst=15),
        RateLimit(operation="createFeed", per_second=0.0083, burst=15),
        RateLimit(operation="getFeed", per_second=2, burst=15),
        RateLimit(operation="getFeedDocument", per_second=0.0222, burst=10),
        RateLimit(operation="getSolicitationActionsForOrder", per_second=1, burst=5),
        RateLimit(
            operation="createProductReviewAndSellerFeedbackSolicitation", per_second=1, burst=5
        ),
    )
}

M = TypeVar("M", bound=BaseModel)

#: Requests are paced at this share of the published (or reported) rate: Amazon counts
#: arrivals, and network jitter can bring two of our evenly spaced requests closer.
PACING_MARGIN = 0.95


def iso(value: datetime) -> str:
    """An aware datetime as SP-API wants it: UTC, whole seconds, ``Z``."""
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class AmazonClient:
    """Typed, paced SP-API calls for one account.

    Args:
        config: the account.
        base_url: the SP-API base URL (default: the region's host).
        token_url: the LWA token endpoint (default: Amazon's).
        transport: an httpx transport for tests.
        clock, sleep: monotonic time and waiting, for the token buckets.
    """

    def __init__(
        self,
        config: AmazonConfig,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.gateway = SpApiGateway(
            config,
            endpoint=base_url or config.endpoint,
            token_url=token_url or LWA_TOKEN_URL,
            transport=transport,
        )
        self.buckets = {
            op: TokenBucket(limit.per_second * PACING_MARGIN, limit.burst, clock=clock, sleep=sleep)
            for op, limit in RATE_LIMITS.items()
        }

    @property
    def account(self) -> str:
        """The account name."""
        return self.config.account

    def _paced(self, operation: str, send: Callable[[], SpResponse]) -> SpResponse:
        bucket = self.buckets[operation]
        # Token refresh and SDK client set-up happen before the slot is taken, so the
        # request leaves when the bucket says (Amazon counts arrivals, not our intents).
        self.gateway.prepare()
        bucket.acquire()
        try:
            response = send()
        except RateLimited as exc:
            bucket.sync(0.0)
            if exc.retry_after is None:
                exc.retry_after = 1.0 / bucket.rate
            raise
        rate = response.rate_limit
        if rate is not None and abs(rate * PACING_MARGIN - bucket.rate) > 1e-9:
            log.info("%s: %s rate is %.4f/s for this seller", self.account, operation, rate)
            bucket.sync(bucket.available, rate=rate * PACING_MARGIN)
        return response

    def _parse(self, model: type[M], response: SpResponse, operation: str) -> M:
        try:
            return model.model_validate(response.body)
        except ValidationError as exc:
            raise Unavailable(
                f"{operation}: unexpected answer: {exc.errors()[0]['msg']}"
                f" at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
                channel=self.account,
                operation=operation,
                status=response.status,
                request_id=response.request_id,
            ) from exc

    # -- orders -------------------------------------------------------------------------------

    def search_orders(
        self, updated_after: datetime, token: str | None
    ) -> tuple[list[OrderRead], str | None]:
        """One page of orders changed at or after ``updated_after`` (and the next token).

        The page's envelope (``orders`` list, ``pagination``) must read, else
        ``Unavailable``; each order is read on its own, and one that does not read as an
        Orders API 2026-01-01 order comes back as ``UnreadableOrder`` in its place.
        """
        params: dict[str, Any] = {
            "lastUpdatedAfter": iso(updated_after),
            "marketplaceIds": ",".join(self.config.marketplace_ids),
            "maxResultsPerPage": 100,
            "includedData": ",".join(self.config.included_data),
        }
        if token is not None:
            params["paginationToken"] = token
        response = self._paced("searchOrders", lambda: self.gateway.search_orders(params))
        page = self._parse(SearchOrdersResponse, response, "searchOrders")
        orders = [_order(dict(raw)) for raw in page.orders]
        return orders, page.pagination.next_token if page.pagination else None

    def get_order(self, order_id: str) -> OrderRead:
        """One order with its items (``UnreadableOrder`` when it does not read)."""
        params = {"includedData": ",".join(self.config.included_data)}
        response = self._paced("getOrder", lambda: self.gateway.get_order(order_id, params))
        raw = response.body.get("order")
        if not isinstance(raw, dict):
            raise Unavailable(
                "getOrder: the answer has no order",
                channel=self.account,
                operation="getOrder",
                status=response.status,
                request_id=response.request_id,
            )
        return _order(raw)

    def confirm_shipment(self, order_id: str, body: dict[str, Any]) -> None:
        """Confirm a shipment (204 on success)."""
        self._paced("confirmShipment", lambda: self.gateway.confirm_shipment(order_id, body))

    # -- listings -----------------------------------------------------------------------------

    def search_listings(self, token: str | None) -> ItemSearchResults:
        """One page (20) of the seller's listings with summaries, offers and quantities."""
        params: dict[str, Any] = {
            "marketplaceIds": ",".join(self.config.marketplace_ids),
            "includedData": "summaries,offers,fulfillmentAvailability",
            "pageSize": 20,
            "sortBy": "sku",
            "sortOrder": "ASC",
        }
        if token is not None:
            params["pageToken"] = token
        response = self._paced("searchListingsItems", lambda: self.gateway.search_listings(params))
        return self._parse(ItemSearchResults, response, "searchListingsItems")

    def get_listing(self, sku: str) -> ListingsItem:
        """One listing with summaries, offers and quantities."""
        params = {
            "marketplaceIds": ",".join(self.config.marketplace_ids),
            "includedData": "summaries,offers,fulfillmentAvailability",
        }
        response = self._paced("getListingsItem", lambda: self.gateway.get_listing(sku, params))
        return self._parse(ListingsItem, response, "getListingsItem")

    def patch_listing(
        self, sku: str, product_type: str, patches: Iterable[dict[str, Any]]
    ) -> SubmissionResponse:
        """Apply JSON Patch operations to one listing."""
        body = {"productType": product_type, "patches": list(patches)}
        params = {
            "marketplaceIds": ",".join(self.config.marketplace_ids),
            "includedData": "issues",
            "issueLocale": self.config.primary_marketplace.locale,
        }
        response = self._paced(
            "patchListingsItem", lambda: self.gateway.patch_listing(sku, body, params)
        )
        return self._parse(SubmissionResponse, response, "patchListingsItem")

    # -- feeds --------------------------------------------------------------------------------

    def create_feed_document(self, content_type: str) -> CreateFeedDocumentResponse:
        """A new feed document and the presigned URL to upload it to."""
        response = self._paced(
            "createFeedDocument", lambda: self.gateway.create_feed_document(content_type)
        )
        return self._parse(CreateFeedDocumentResponse, response, "createFeedDocument")

    def upload_document(self, url: str, content: bytes, content_type: str) -> None:
        """Upload the document's bytes (not an SP-API operation: no bucket)."""
        self.gateway.upload_document(url, content, content_type)

    def create_feed(self, feed_type: str, document_id: str) -> CreateFeedResponse:
        """Submit an uploaded document as a feed for every configured marketplace."""
        response = self._paced(
            "createFeed",
            lambda: self.gateway.create_feed(feed_type, document_id, self.config.marketplace_ids),
        )
        return self._parse(CreateFeedResponse, response, "createFeed")

    def get_feed(self, feed_id: str) -> Feed:
        """A feed's processing status."""
        response = self._paced("getFeed", lambda: self.gateway.get_feed(feed_id))
        return self._parse(Feed, response, "getFeed")

    def processing_report(self, document_id: str) -> ProcessingReport:
        """Download and read a ``JSON_LISTINGS_FEED`` processing report."""
        response = self._paced(
            "getFeedDocument", lambda: self.gateway.get_feed_document(document_id)
        )
        doc = self._parse(FeedDocument, response, "getFeedDocument")
        text = self.gateway.download_document(doc.url, doc.compression_algorithm)
        try:
            return ProcessingReport.model_validate_json(text)
        except ValidationError as exc:
            raise Unavailable(
                f"the processing report of document {document_id} does not read: "
                f"{exc.errors()[0]['msg']}",
                channel=self.account,
                operation="getFeedDocument",
            ) from exc

    def feed_report_text(self, document_id: str) -> str:
        """Download a processing report as text (the XML reports of the order feeds)."""
        response = self._paced(
            "getFeedDocument", lambda: self.gateway.get_feed_document(document_id)
        )
        doc = self._parse(FeedDocument, response, "getFeedDocument")
        return self.gateway.download_document(doc.url, doc.compression_algorithm)

    # -- solicitations ------------------------------------------------------------------------

    def solicitation_actions(self, order_id: str, marketplace_id: str) -> list[str]:
        """The solicitation types available for an order now (``_links.actions[].name``)."""
        response = self._paced(
            "getSolicitationActionsForOrder",
            lambda: self.gateway.get_solicitation_actions(order_id, marketplace_id),
        )
        links = response.body.get("_links")
        actions = links.get("actions") if isinstance(links, dict) else None
        if not isinstance(actions, list):
            return []
        return [str(a["name"]) for a in actions if isinstance(a, dict) and a.get("name")]

    def create_review_solicitation(self, order_id: str, marketplace_id: str) -> None:
        """Send the buyer Amazon's review and feedback request (201 on success)."""
        self._paced(
            "createProductReviewAndSellerFeedbackSolicitation",
            lambda: self.gateway.create_review_solicitation(order_id, marketplace_id),
        )

    def close(self) -> None:
        """Close the HTTP pool."""
        self.gateway.close()


def _order(raw: dict[str, Any]) -> OrderRead:
    try:
        return SpOrder.model_validate(raw), raw
    except ValidationError as exc:
        return UnreadableOrder(raw=raw, error=exc)
