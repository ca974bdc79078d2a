"""Feeds API 2021-06-30 and the JSON_LISTINGS_FEED processing of the fake."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from starlette.requests import Request

from channelsync.sandbox._base import request_state
from channelsync.sandbox.amazon._listings import ListingsApi
from channelsync.sandbox.amazon._state import (
    DOCUMENT_TTL,
    Answer,
    DocumentRecord,
    FeedRecord,
    error_answer,
    iso_ms,
)

__all__ = ["FeedsApi"]


class FeedsApi(ListingsApi):
    """Feeds API 2021-06-30 and the JSON_LISTINGS_FEED processing of the fake."""

    feed_types: ClassVar[frozenset[str]] = frozenset({"JSON_LISTINGS_FEED"})
    """The feed types the fake processes (the after-sale mixin adds the order feeds)."""

    def _op_createFeedDocument(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("contentType"), str):
            return error_answer(400, "InvalidInput", "Invalid input", "contentType is required.")
        document_id = str(uuid.uuid4())
        self._documents[document_id] = DocumentRecord(
            document_id, body["contentType"], self.clock()
        )
        return (
            201,
            {"feedDocumentId": document_id, "url": self._document_url(request, document_id)},
            {},
        )

    def _document_url(self, request: Request, document_id: str) -> str:
        base = str(request.base_url).rstrip("/")
        signature = hashlib.sha256(f"{document_id}:{self.seller_id}".encode()).hexdigest()
        return (
            f"{base}/_s3/feed-documents/{document_id}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature={signature}"
        )

    def _s3_error(self, status: int, code: str, message: str) -> Answer:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        ).encode()
        return status, body, {"content-type": "application/xml"}

    def _presigned(self, request: Request) -> DocumentRecord | Answer:
        document_id = request.path_params["documentId"]
        with self._state_lock:
            doc = self._documents.get(document_id)
        expected = hashlib.sha256(f"{document_id}:{self.seller_id}".encode()).hexdigest()
        if doc is None or request.query_params.get("X-Amz-Signature") != expected:
            return self._s3_error(403, "AccessDenied", "Access Denied")
        if self.clock() - doc.created > DOCUMENT_TTL:
            return self._s3_error(403, "AccessDenied", "Request has expired")
        return doc

    def _upload(self, request: Request, body: bytes) -> Answer:
        doc = self._presigned(request)
        if isinstance(doc, tuple):
            return doc
        if doc.result:
            return self._s3_error(403, "AccessDenied", "Access Denied")
        if request.headers.get("content-type") != doc.content_type:
            return self._s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        with self._state_lock:
            doc.content = body
        request_state(request.scope).items = len(body)
        return 200, b"", {"etag": f'"{hashlib.md5(body).hexdigest()}"'}  # noqa: S324 - S3's ETag

    def _download(self, request: Request) -> Answer:
        doc = self._presigned(request)
        if isinstance(doc, tuple):
            return doc
        if doc.content is None:
            return self._s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return 200, doc.content, {"content-type": doc.content_type}

    def _op_createFeed(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        if not isinstance(body, dict):
            return error_answer(
                400, "InvalidInput", "Invalid input", "A CreateFeedSpecification is required."
            )
        feed_type = body.get("feedType")
        markets = body.get("marketplaceIds")
        document_id = body.get("inputFeedDocumentId")
        if not feed_type or not isinstance(markets, list) or not markets or not document_id:
            return error_answer(
                400,
                "InvalidInput",
                "Invalid input",
                "feedType, marketplaceIds and inputFeedDocumentId are required.",
            )
        unknown = [m for m in markets if m not in self.marketplace_ids]
        if unknown:
            return error_answer(
                400, "InvalidInput", "Invalid input", f"Invalid marketplaceIds: {unknown}."
            )
        doc = self._documents.get(str(document_id))
        if doc is None or doc.result:
            return error_answer(
                400, "InvalidInput", "Invalid input", "Invalid inputFeedDocumentId."
            )
        if doc.content is None:
            return error_answer(
                400,
                "InvalidInput",
                "Invalid input",
                "The feed document has no content: upload it first.",
            )
        if feed_type not in self.feed_types:
            return error_answer(
                400,
                "InvalidInput",
                "Invalid input",
                f"The sandbox processes {', '.join(sorted(self.feed_types))} only,"
                f" not {feed_type}.",
            )
        feed_id = str(50_000_000_000 + next(self._ids))
        self._feeds[feed_id] = FeedRecord(
            feed_id,
            str(feed_type),
            [str(m) for m in markets],
            doc.document_id,
            self.clock(),
            partial_failure=self.take_partial_failure("createFeed"),
        )
        return 202, {"feedId": feed_id}, {}

    def _op_getFeed(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        feed = self._feeds.get(params["feedId"])
        if feed is None:
            return error_answer(404, "NotFound", f"Feed {params['feedId']} not found.")
        if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
            feed.polls += 1
            now = self.clock()
            if feed.started is None:
                feed.started = now
            done_at = feed.created + timedelta(seconds=self.feed_processing_seconds)
            if feed.polls > self.feed_processing_polls and now >= done_at:
                self._process(feed)
            else:
                feed.status = "IN_PROGRESS"
        answer: dict[str, Any] = {
            "feedId": feed.feed_id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplace_ids,
            "createdTime": iso_ms(feed.created),
            "processingStatus": feed.status,
            "processingStartTime": iso_ms(feed.started or feed.created),
        }
        if feed.ended is not None:
            answer["processingEndTime"] = iso_ms(feed.ended)
        if feed.result_document_id is not None:
            answer["resultFeedDocumentId"] = feed.result_document_id
        return 200, answer, {}

    def _op_getFeedDocument(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        doc = self._documents.get(params["feedDocumentId"])
        if doc is None:
            return error_answer(
                404, "NotFound", f"Feed document {params['feedDocumentId']} not found."
            )
        doc.created = self.clock()  # a fresh presigned URL, valid 5 minutes
        answer: dict[str, Any] = {
            "feedDocumentId": doc.document_id,
            "url": self._document_url(request, doc.document_id),
        }
        if doc.result:
            answer["compressionAlgorithm"] = "GZIP"
        return 200, answer, {}

    def _process(self, feed: FeedRecord) -> None:
        """Apply a JSON_LISTINGS_FEED and write its processing report (once)."""
        doc = self._documents[feed.document_id]
        content = doc.content or b""
        issues: list[dict[str, Any]] = []
        fatal: str | None = None
        messages: list[Any] = []
        try:
            parsed = json.loads(content.decode("utf-8"))
        except UnicodeDecodeError:
            fatal = "The feed document is not valid UTF-8."
        except ValueError:
            fatal = "The feed document is not valid JSON."
        else:
            fatal = self._feed_header_problem(parsed)
            if fatal is None:
                messages = parsed["messages"]
        accepted = invalid = 0
        if fatal is not None:
            issues.append({"code": "4000000", "severity": "ERROR", "message": fatal})
        else:
            seen: set[int] = set()
            for index, message in enumerate(messages):
                problems = self._message_problems(message, seen)
                message_id = message.get("messageId") if isinstance(message, dict) else None
                sku = message.get("sku") if isinstance(message, dict) else None
                ref: dict[str, Any] = {}
                if (
                    isinstance(message_id, int)
                    and not isinstance(message_id, bool)
                    and message_id >= 1
                ):
                    ref["messageId"] = message_id
                if isinstance(sku, str) and sku:
                    ref["sku"] = sku
                if not problems and feed.partial_failure and index == 0:
                    problems = [("5000", "An internal error occurred; resubmit this message.")]
                if not problems:
                    listing = self._listings.get(str(sku))
                    if message["operationType"] == "DELETE":
                        if listing is None:
                            problems = [("4000002", f"SKU '{sku}' does not exist for this seller.")]
                        else:
                            del self._listings[str(sku)]
                    elif listing is None:
                        problems = [("4000002", f"SKU '{sku}' does not exist for this seller.")]
                    else:
                        patches = message.get("patches") or _attributes_as_patches(
                            message.get("attributes") or {}
                        )
                        found = self._apply_patches(
                            listing, patches, feed.marketplace_ids, apply=True
                        )
                        problems = [(i["code"], i["message"]) for i in found]
                if problems:
                    invalid += 1
                    issues += [
                        {**ref, "code": c, "severity": "ERROR", "message": m} for c, m in problems
                    ]
                else:
                    accepted += 1
        report = {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed.feed_id},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": accepted + invalid,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
        if self.validator is not None:
            self.validator.record(
                self.validator.check_document("processing-report", report),
                f"processing report of feed {feed.feed_id}",
            )
        result_id = str(uuid.uuid4())
        self._documents[result_id] = DocumentRecord(
            result_id,
            "application/json",
            self.clock(),
            gzip.compress(json.dumps(report, ensure_ascii=False).encode("utf-8")),
            result=True,
        )
        feed.report = report
        feed.result_document_id = result_id
        feed.status = "FATAL" if fatal is not None else "DONE"
        feed.ended = self.clock()

    def _feed_header_problem(self, parsed: Any) -> str | None:
        if not isinstance(parsed, dict):
            return "The feed document is not a JSON object."
        header = parsed.get("header")
        if not isinstance(header, dict) or header.get("version") != "2.0":
            return "The feed header is missing or its version is not 2.0."
        if header.get("sellerId") != self.seller_id:
            return f"The feed's sellerId {header.get('sellerId')!r} is not the submitting seller."
        messages = parsed.get("messages")
        if not isinstance(messages, list) or not messages:
            return "The feed has no messages."
        if len(messages) > 25_000:
            return f"The feed has {len(messages)} messages; the most a feed may carry is 25000."
        return None

    def _message_problems(self, message: Any, seen: set[int]) -> list[tuple[str, str]]:
        if self.validator is not None:
            found = self.validator.check_document("listings-feed-message", message)
            if found:
                return [("4000001", f"The message does not match the schema: {found[0]}")]
        if not isinstance(message, dict):
            return [("4000001", "The message is not a JSON object.")]
        message_id = message.get("messageId")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id < 1:
            return [("4000001", "messageId must be a positive integer.")]
        if message_id in seen:
            return [("4000001", f"messageId {message_id} is used twice.")]
        seen.add(message_id)
        if not isinstance(message.get("sku"), str) or not message["sku"]:
            return [("4000001", "sku is required.")]
        kind = message.get("operationType")
        if kind not in ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"):
            return [("4000001", "operationType must be UPDATE, PARTIAL_UPDATE, PATCH or DELETE.")]
        if kind == "PATCH" and (
            not message.get("productType") or not message.get("patches") or "attributes" in message
        ):
            return [("4000001", "PATCH messages need productType and patches, and no attributes.")]
        if kind in ("UPDATE", "PARTIAL_UPDATE") and (
            not message.get("productType") or not message.get("attributes")
        ):
            return [("4000001", f"{kind} messages need productType and attributes.")]
        return []


def _attributes_as_patches(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"op": "replace", "path": f"/attributes/{name}", "value": value}
        for name, value in attributes.items()
    ]
