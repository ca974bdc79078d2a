"""``JSON_LISTINGS_FEED`` documents and their processing reports (pure, no I/O).

A feed carries up to 25,000 messages, each a ``PATCH`` of one SKU. Amazon answers with a
processing report whose issues name the ``messageId`` (and usually the SKU) they concern;
``ListingsFeed.outcome`` maps each issue back to the SKU we sent under that id, so every
item of a push gets its own result. Issues without a message id concern the whole feed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from channelsync.adapters.amazon.payloads import ProcessingReport, ReportIssue

__all__ = ["FEED_TYPE", "MAX_MESSAGES", "FeedItemOutcome", "ListingsFeed"]

FEED_TYPE = "JSON_LISTINGS_FEED"
MAX_MESSAGES = 25_000
CONTENT_TYPE = "application/json; charset=UTF-8"


@dataclass
class FeedItemOutcome:
    """What the processing report says about one SKU of the feed."""

    sku: str
    errors: list[ReportIssue] = field(default_factory=list)
    warnings: list[ReportIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No ERROR issue: the message was accepted."""
        return not self.errors


class ListingsFeed:
    """A ``JSON_LISTINGS_FEED`` (v2) being built: one ``PATCH`` message per SKU.

    ::

        feed = ListingsFeed(seller_id="A1...", issue_locale="en_US")
        feed.patch("SKU-1", "PRODUCT", [stock_patch(5)])
        body = feed.document()          # UTF-8 bytes, ready to upload
        outcomes = feed.outcome(report)  # SKU -> FeedItemOutcome
    """

    def __init__(self, seller_id: str, *, issue_locale: str | None = None) -> None:
        self.seller_id = seller_id
        self.issue_locale = issue_locale
        self._messages: list[dict[str, Any]] = []
        self.skus: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def patch(self, sku: str, product_type: str, patches: Sequence[Mapping[str, Any]]) -> int:
        """Add a ``PATCH`` message for ``sku``; returns its message id."""
        if len(self._messages) >= MAX_MESSAGES:
            raise ValueError(f"a listings feed holds at most {MAX_MESSAGES} messages")
        if sku in self.skus.values():
            raise ValueError(f"SKU {sku!r} is already in this feed")
        message_id = len(self._messages) + 1
        self._messages.append(
            {
                "messageId": message_id,
                "sku": sku,
                "operationType": "PATCH",
                "productType": product_type,
                "patches": [dict(p) for p in patches],
            }
        )
        self.skus[message_id] = sku
        return message_id

    def document(self) -> bytes:
        """The feed document as UTF-8 JSON bytes (upload exactly these bytes)."""
        if not self._messages:
            raise ValueError("an empty feed cannot be sent")
        header: dict[str, Any] = {"sellerId": self.seller_id, "version": "2.0"}
        if self.issue_locale:
            header["issueLocale"] = self.issue_locale
        body = {"header": header, "messages": self._messages}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def outcome(self, report: ProcessingReport) -> dict[str, FeedItemOutcome]:
        """Each SKU's errors and warnings from the processing report.

        An issue is tied to its message by ``messageId`` (the SKU we sent under that id),
        else by ``sku``; an issue naming neither (a feed-level problem) counts against
        every message. Messages the report does not mention were accepted.
        """
        outcomes = {sku: FeedItemOutcome(sku) for sku in self.skus.values()}
        by_sku = set(outcomes)
        for issue in report.issues:
            targets: list[str]
            if issue.message_id is not None and issue.message_id in self.skus:
                targets = [self.skus[issue.message_id]]
            elif issue.sku is not None and issue.sku in by_sku:
                targets = [issue.sku]
            elif issue.message_id is None and issue.sku is None:
                targets = list(outcomes)
            else:
                continue  # names a message this feed did not send
            for sku in targets:
                bucket = (
                    outcomes[sku].errors if issue.severity == "ERROR" else outcomes[sku].warnings
                )
                bucket.append(issue)
        return outcomes
