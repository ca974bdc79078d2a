"""The Amazon fake's after-sale: order feeds, buyer cancellation requests, Solicitations.

* ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` with ``StatusCode`` ``Failure`` cancels a whole order
  that has shipped nothing (every item needs a ``CancelReason``); its units go back to the
  listings, the items carry ``cancellationExecution`` (``cancelledBy`` ``MERCHANT``) and an
  open buyer request is answered. ``Success`` acknowledges the order.
* ``POST_PAYMENT_ADJUSTMENT_DATA`` refunds per item: the net of the components must be
  positive ("The net adjustment amount is not a positive amount and has therefore been
  rejected."), the ``Principal`` no more than the item's price less what was refunded of
  it, in the order's currency; ``QuantityCancelled`` (reasons ``NoInventory``,
  ``BuyerCanceled``, ``CustomerCancel``) takes units that have not shipped out of the order.
  A message with one bad item changes nothing.
* Both are processed when the feed is (see ``feed_processing_polls``) and answered with a
  gzip XML ``ProcessingReport``: one ``Result`` per failed message, naming the
  ``AmazonOrderID`` in ``AdditionalInfo``. The messages' wording follows Seller Central's
  help pages; the ``ResultMessageCode`` numbers are the fake's own (Amazon's are not
  published for these errors).
* Solicitations: ``getSolicitationActionsForOrder`` lists ``productReviewAndSellerFeedback``
  only from 5 days after the earliest delivery date to 30 days after the latest (the
  order's ``deliverByWindow``, else 2 and 5 days after its first package shipped), for an
  order not cancelled and not solicited before; ``createProductReviewAndSellerFeedback
  Solicitation`` answers 201 once and 403 ``Unauthorized`` otherwise, with the messages
  Amazon sends.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from lxml import etree
from starlette.requests import Request

from channelsync.sandbox.amazon._feeds import FeedsApi
from channelsync.sandbox.amazon._state import (
    Answer,
    DocumentRecord,
    FeedRecord,
    error_answer,
    iso_us,
    parse_time,
)

__all__ = ["ORDER_FEED_TYPES", "AfterSaleApi"]

ORDER_FEED_TYPES = frozenset({"POST_ORDER_ACKNOWLEDGEMENT_DATA", "POST_PAYMENT_ADJUSTMENT_DATA"})
CANCEL_REASONS = frozenset(
    {
        "NoInventory",
        "ShippingAddressUndeliverable",
        "CustomerExchange",
        "BuyerCanceled",
        "GeneralAdjustment",
        "CarrierCreditDecision",
        "RiskAssessmentInformationNotValid",
        "CarrierCoverageFailure",
        "CustomerReturn",
        "MerchandiseNotReceived",
    }
)
ADJUSTMENT_REASONS = frozenset(
    {
        "NoInventory",
        "CustomerReturn",
        "GeneralAdjustment",
        "CouldNotShip",
        "DifferentItem",
        "Abandoned",
        "CustomerCancel",
        "BuyerCanceled",
        "PriceError",
        "ProductOutofStock",
        "CustomerAddressIncorrect",
        "Exchange",
        "Other",
        "CarrierCreditDecision",
        "RiskAssessmentInformationNotValid",
        "CarrierCoverageFailure",
        "TransactionRecord",
        "Undeliverable",
        "RefusedDelivery",
    }
)
_CANCELLING = frozenset({"NoInventory", "BuyerCanceled", "CustomerCancel"})
SOLICITATION = "productReviewAndSellerFeedback"
_NOT_AVAILABLE = "The requested solicitation is not available for this amazonOrderId."
_OUT_OF_WINDOW = (
    "You can\u2019t use this feature to request a review outside the 5-30 day range after the"
    " order delivery date."
)


def _money(text: str | None) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class AfterSaleApi(FeedsApi):
    """Order feeds, cancellation requests and Solicitations of the Amazon fake."""

    feed_types: ClassVar[frozenset[str]] = FeedsApi.feed_types | ORDER_FEED_TYPES

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._adjustment_log: dict[str, list[dict[str, Any]]] = {}
        self._solicited_orders: set[str] = set()

    def _process(self, feed: FeedRecord) -> None:
        if feed.feed_type in ORDER_FEED_TYPES:
            self.process_order_feed(feed)
        else:
            super()._process(feed)

    # -- arranging (tests, the demo) -------------------------------------------------------

    def request_cancellation(
        self, order_id: str, reason: str = "Order placed by mistake", items: tuple[str, ...] = ()
    ) -> None:
        """The buyer asks to cancel (all items, or ``items``): ``cancellationRequest``."""
        with self._state_lock:
            order = self._orders[order_id]
            for item in order["orderItems"]:
                if items and item["orderItemId"] not in items:
                    continue
                item.setdefault("cancellation", {})["cancellationRequest"] = {
                    "requester": "BUYER",
                    "cancelReason": reason,
                }
            order["lastUpdatedTime"] = iso_us(self._tick())
            self._changed(order_id)  # searchable after its lag; a notification goes out

    def adjustments(self, order_id: str) -> list[dict[str, Any]]:
        """The adjustments (refunds) applied to an order by adjustment feeds."""
        with self._state_lock:
            return [dict(a) for a in self._adjusted().get(order_id, [])]

    def solicited(self, order_id: str) -> bool:
        """Whether a review request went out for the order."""
        with self._state_lock:
            return order_id in self._solicited()

    def _adjusted(self) -> dict[str, list[dict[str, Any]]]:
        return self._adjustment_log

    def _solicited(self) -> set[str]:
        return self._solicited_orders

    # -- order feeds -------------------------------------------------------------------------

    def process_order_feed(self, feed: FeedRecord) -> None:
        """Apply an order feed and write its XML processing report (the lock is held)."""
        doc = self._documents[feed.document_id]
        results: list[tuple[str, str | None, str, str]] = []  # (message id, order, code, text)
        processed = 0
        fatal: str | None = None
        try:
            root = etree.fromstring(doc.content or b"")
        except etree.XMLSyntaxError as exc:
            root = None
            fatal = f"The XML document is not well formed: {exc}"
        if root is not None:
            expected = (
                "OrderAcknowledgement"
                if feed.feed_type == "POST_ORDER_ACKNOWLEDGEMENT_DATA"
                else "OrderAdjustment"
            )
            if root.tag != "AmazonEnvelope" or (root.findtext("MessageType") or "") != expected:
                fatal = f"The document is not an AmazonEnvelope of MessageType {expected}."
            elif (root.findtext("Header/MerchantIdentifier") or "") != self.seller_id:
                fatal = "The MerchantIdentifier is not the submitting seller."
            else:
                for message in root.findall("Message"):
                    processed += 1
                    message_id = (message.findtext("MessageID") or "").strip()
                    body = message.find(expected)
                    order_id = body.findtext("AmazonOrderID") if body is not None else None
                    if body is None or not order_id:
                        results.append((message_id, None, "90001", "AmazonOrderID is required."))
                        continue
                    problem = (
                        self._acknowledge(order_id, body)
                        if expected == "OrderAcknowledgement"
                        else self._adjust(order_id, body)
                    )
                    if problem is not None:
                        results.append((message_id, order_id, problem[0], problem[1]))
        if fatal is not None:
            results.append(("0", None, "90000", fatal))
        report = self._xml_report(feed, processed, results)
        result_id = str(uuid.uuid4())
        self._documents[result_id] = DocumentRecord(
            result_id, "text/xml", self.clock(), gzip.compress(report), result=True
        )
        feed.result_document_id = result_id
        feed.status = "FATAL" if fatal is not None else "DONE"
        feed.ended = self.clock()

    def _xml_report(
        self, feed: FeedRecord, processed: int, results: list[tuple[str, str | None, str, str]]
    ) -> bytes:
        root = etree.Element("AmazonEnvelope")
        header = etree.SubElement(root, "Header")
        etree.SubElement(header, "DocumentVersion").text = "1.02"
        etree.SubElement(header, "MerchantIdentifier").text = self.seller_id
        etree.SubElement(root, "MessageType").text = "ProcessingReport"
        message = etree.SubElement(root, "Message")
        etree.SubElement(message, "MessageID").text = "1"
        report = etree.SubElement(message, "ProcessingReport")
        etree.SubElement(report, "DocumentTransactionID").text = feed.feed_id
        etree.SubElement(report, "StatusCode").text = "Complete"
        summary = etree.SubElement(report, "ProcessingSummary")
        failed = len({r[0] for r in results if r[1] is not None})
        etree.SubElement(summary, "MessagesProcessed").text = str(processed)
        etree.SubElement(summary, "MessagesSuccessful").text = str(processed - failed)
        etree.SubElement(summary, "MessagesWithError").text = str(failed)
        etree.SubElement(summary, "MessagesWithWarning").text = "0"
        for message_id, order_id, code, text in results:
            entry = etree.SubElement(report, "Result")
            etree.SubElement(entry, "MessageID").text = message_id
            etree.SubElement(entry, "ResultCode").text = "Error"
            etree.SubElement(entry, "ResultMessageCode").text = code
            etree.SubElement(entry, "ResultDescription").text = text
            if order_id:
                info = etree.SubElement(entry, "AdditionalInfo")
                etree.SubElement(info, "AmazonOrderID").text = order_id
        data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return data

    def _acknowledge(self, order_id: str, body: etree._Element) -> tuple[str, str] | None:
        order = self._orders.get(order_id)
        if order is None:
            return "90002", f"The order id {order_id} was not found for this seller."
        if (body.findtext("StatusCode") or "").strip() != "Failure":
            return None  # acknowledged
        fulfillment = order.setdefault("fulfillment", {})
        status = fulfillment.get("fulfillmentStatus")
        if status == "CANCELLED":
            return "90003", f"Order {order_id} is already cancelled."
        if status in ("SHIPPED", "PARTIALLY_SHIPPED") or order.get("packages"):
            return (
                "90004",
                f"Order {order_id} has shipped items and cannot be cancelled; refund it with"
                " an order adjustment.",
            )
        reasons: dict[str, str] = {}
        for item in body.findall("Item"):
            code = (item.findtext("AmazonOrderItemCode") or "").strip()
            reason = (item.findtext("CancelReason") or "").strip()
            if reason not in CANCEL_REASONS:
                return "90005", f"CancelReason {reason!r} of item {code} is not valid."
            reasons[code] = reason
        known = {i["orderItemId"] for i in order["orderItems"]}
        unknown = sorted(set(reasons) - known)
        if unknown:
            return "90006", f"Order {order_id} has no item {unknown[0]}."
        missing = sorted(known - set(reasons))
        if missing:
            return "90005", f"Item {missing[0]} of order {order_id} needs a CancelReason."
        for item in order["orderItems"]:
            item_f = item.setdefault(
                "fulfillment",
                {"quantityFulfilled": 0, "quantityUnfulfilled": item["quantityOrdered"]},
            )
            back = int(item_f.get("quantityUnfulfilled", 0))
            listing = self._listings.get(str(item.get("product", {}).get("sellerSku")))
            if listing is not None and listing.quantity is not None:
                listing.quantity += back
            item_f["quantityUnfulfilled"] = 0
            item.setdefault("cancellation", {})["cancellationExecution"] = {
                "cancelledBy": "MERCHANT",
                "cancelReason": reasons[item["orderItemId"]],
            }
        fulfillment["fulfillmentStatus"] = "CANCELLED"
        order["lastUpdatedTime"] = iso_us(self._tick())
        self._changed(str(order["orderId"]))
        return None

    def _adjust(self, order_id: str, body: etree._Element) -> tuple[str, str] | None:
        order = self._orders.get(order_id)
        if order is None:
            return "90002", f"The order id {order_id} was not found for this seller."
        items = {i["orderItemId"]: i for i in order["orderItems"]}
        log = self._adjusted().setdefault(order_id, [])
        plan: list[tuple[dict[str, Any], Decimal, int, str]] = []
        for adjusted in body.findall("AdjustedItem"):
            code = (adjusted.findtext("AmazonOrderItemCode") or "").strip()
            item = items.get(code)
            if item is None:
                return "90006", f"Order {order_id} has no item {code}."
            reason = (adjusted.findtext("AdjustmentReason") or "").strip()
            if reason not in ADJUSTMENT_REASONS:
                return "90007", f"AdjustmentReason {reason!r} is not valid."
            net = Decimal(0)
            principal = Decimal(0)
            price = item.get("product", {}).get("price", {}).get("unitPrice", {})
            currency = price.get("currencyCode")
            for component in adjusted.findall("ItemPriceAdjustments/Component"):
                amount_el = component.find("Amount")
                value = _money(amount_el.text if amount_el is not None else None)
                if value is None or amount_el is None:
                    return "90008", f"An amount of item {code} is not a number."
                if currency and amount_el.get("currency") != currency:
                    return (
                        "90009",
                        f"Item {code} was paid in {currency}, not {amount_el.get('currency')}.",
                    )
                net += value
                if (component.findtext("Type") or "") == "Principal":
                    principal += value
            if net <= 0:
                return (
                    "90010",
                    "The net adjustment amount is not a positive amount and has therefore been"
                    " rejected.",
                )
            unit = _money(price.get("amount")) or Decimal(0)
            paid = unit * int(item["quantityOrdered"])
            before = sum((a["principal"] for a in log if a["item"] == code), Decimal(0))
            if principal > paid - before:
                return (
                    "90011",
                    f"The refund amount requested for item {code}'s item-price or Principal"
                    f" ({principal:.2f}) exceeds the amount that can be refunded"
                    f" ({paid - before:.2f}).",
                )
            cancelled = int(adjusted.findtext("QuantityCancelled") or 0)
            open_units = int(
                item.get("fulfillment", {}).get("quantityUnfulfilled", item["quantityOrdered"])
            )
            if cancelled and reason not in _CANCELLING:
                return (
                    "90012",
                    "QuantityCancelled needs the reason NoInventory or BuyerCanceled,"
                    f" not {reason}.",
                )
            if cancelled > open_units:
                return (
                    "90013",
                    f"Item {code} has {open_units} unit(s) not shipped;"
                    f" {cancelled} cannot be cancelled.",
                )
            plan.append((item, principal, cancelled, reason))
        if not plan:
            return "90014", "The OrderAdjustment has no AdjustedItem."
        now = self._tick()
        for item, principal, cancelled, reason in plan:
            log.append(
                {
                    "item": item["orderItemId"],
                    "principal": principal,
                    "quantity_cancelled": cancelled,
                    "reason": reason,
                    "time": iso_us(now),
                }
            )
            if cancelled:
                item_f = item.setdefault(
                    "fulfillment",
                    {"quantityFulfilled": 0, "quantityUnfulfilled": item["quantityOrdered"]},
                )
                item_f["quantityUnfulfilled"] = (
                    int(item_f.get("quantityUnfulfilled", 0)) - cancelled
                )
                listing = self._listings.get(str(item.get("product", {}).get("sellerSku")))
                if listing is not None and listing.quantity is not None:
                    listing.quantity += cancelled
        fulfillment = order.setdefault("fulfillment", {})
        if all(
            i.get("fulfillment", {}).get("quantityUnfulfilled", i["quantityOrdered"]) == 0
            for i in order["orderItems"]
        ):
            shipped = any(
                i.get("fulfillment", {}).get("quantityFulfilled", 0) for i in order["orderItems"]
            )
            fulfillment["fulfillmentStatus"] = "SHIPPED" if shipped else "CANCELLED"
        order["lastUpdatedTime"] = iso_us(now)
        self._changed(order_id)
        return None

    # -- Solicitations -----------------------------------------------------------------------

    def _solicitation_window(self, order: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
        window = order.get("fulfillment", {}).get("deliverByWindow") or {}
        earliest = parse_time(str(window.get("earliestDateTime") or ""))
        latest = parse_time(str(window.get("latestDateTime") or ""))
        if earliest is None or latest is None:
            shipped = [
                t for p in order.get("packages") or [] if (t := parse_time(str(p.get("shipTime"))))
            ]
            if not shipped:
                return None
            earliest = min(shipped) + timedelta(days=2)
            latest = min(shipped) + timedelta(days=5)
        return earliest + timedelta(days=5), latest + timedelta(days=30)

    def _solicitable(self, order_id: str) -> str | None:
        """None when the order may be solicited now, else Amazon's message why not."""
        order = self._orders.get(order_id)
        if order is None:
            return _NOT_AVAILABLE
        if order_id in self._solicited():
            return _NOT_AVAILABLE
        if order.get("fulfillment", {}).get("fulfillmentStatus") in ("CANCELLED", "UNFULFILLABLE"):
            return _NOT_AVAILABLE
        window = self._solicitation_window(order)
        now = self.clock()
        if window is None or not window[0] <= now <= window[1]:
            return _OUT_OF_WINDOW
        return None

    def _marketplace_problem(self, order_id: str, query: Mapping[str, str]) -> Answer | None:
        markets = [m for m in (query.get("marketplaceIds") or "").split(",") if m]
        if len(markets) != 1:
            return error_answer(
                400,
                "InvalidInput",
                "Missing or invalid request parameters: [marketplaceIds]",
                "One marketplace id is required.",
            )
        order = self._orders.get(order_id)
        if order is None:
            return error_answer(404, "NotFound", f"Order {order_id} not found.")
        if order["salesChannel"].get("marketplaceId") != markets[0]:
            return error_answer(
                400, "InvalidInput", "The order was not placed in this marketplace."
            )
        return None

    def _op_getSolicitationActionsForOrder(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        order_id = params["amazonOrderId"]
        problem = self._marketplace_problem(order_id, query)
        if problem is not None:
            return problem
        market = query["marketplaceIds"]
        base = f"/solicitations/v1/orders/{order_id}"
        actions = []
        if self._solicitable(order_id) is None:
            actions.append(
                {
                    "href": f"{base}/solicitations/{SOLICITATION}?marketplaceIds={market}",
                    "name": SOLICITATION,
                }
            )
        return (
            200,
            {"_links": {"actions": actions, "self": {"href": f"{base}?marketplaceIds={market}"}}},
            {"content-type": "application/hal+json"},
        )

    def _op_createProductReviewAndSellerFeedbackSolicitation(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        order_id = params["amazonOrderId"]
        problem = self._marketplace_problem(order_id, query)
        if problem is not None:
            return problem
        why = self._solicitable(order_id)
        if why is not None:
            return error_answer(403, "Unauthorized", why, "")
        self._solicited().add(order_id)
        return 201, {}, {"content-type": "application/hal+json"}
