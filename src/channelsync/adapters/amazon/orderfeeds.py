"""Order feeds: acknowledgement (seller cancellation), payment adjustment (refunds), and
their XML processing reports (pure, no I/O).

Amazon's Orders API has no seller cancellation or refund: both go through feeds. A whole
order is cancelled with ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` (``StatusCode`` ``Failure``,
each item with its ``CancelReason``); some units of an item, and refunds, with
``POST_PAYMENT_ADJUSTMENT_DATA`` (``AdjustedItem`` with ``ItemPriceAdjustments`` and, for
units that will not ship, ``QuantityCancelled`` with reason ``NoInventory`` or
``BuyerCanceled``). Amazon answers with an XML ``ProcessingReport`` whose ``Result``
entries name the ``MessageID`` and, in ``AdditionalInfo``, the ``AmazonOrderID``: that is
how each order learns its own outcome. (The flat-file forms,
``POST_FLAT_FILE_ORDER_ACKNOWLEDGEMENT_DATA`` and ``POST_FLAT_FILE_PAYMENT_ADJUSTMENT_DATA``,
carry the same fields.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

__all__ = [
    "ACKNOWLEDGEMENT",
    "ADJUSTMENT",
    "CONTENT_TYPE",
    "AdjustedItem",
    "FeedResult",
    "acknowledgement_feed",
    "adjustment_feed",
    "cancel_reason",
    "parse_processing_report",
]

ACKNOWLEDGEMENT = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT = "POST_PAYMENT_ADJUSTMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"

#: ``CancelReason`` of OrderAcknowledgement.xsd for channelsync's reasons.
_CANCEL_REASONS = {
    "out_of_stock": "NoInventory",
    "customer_request": "BuyerCanceled",
    "address_issue": "ShippingAddressUndeliverable",
    "fraud": "RiskAssessmentInformationNotValid",
    "payment_declined": "GeneralAdjustment",
}


def cancel_reason(reason: str) -> str:
    """The ``CancelReason`` for a channelsync reason (``GeneralAdjustment`` otherwise)."""
    return _CANCEL_REASONS.get(reason, "GeneralAdjustment")


@dataclass(frozen=True)
class AdjustedItem:
    """One ``AdjustedItem``: an order item's refund, and units cancelled before shipping."""

    order_item_id: str
    reason: str
    principal: Decimal
    currency: str
    quantity_cancelled: int = 0


def _envelope(seller_id: str, message_type: str) -> etree._Element:
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    root = etree.Element("AmazonEnvelope", nsmap={"xsi": xsi})
    root.set(f"{{{xsi}}}noNamespaceSchemaLocation", "amzn-envelope.xsd")
    header = etree.SubElement(root, "Header")
    etree.SubElement(header, "DocumentVersion").text = "1.01"
    etree.SubElement(header, "MerchantIdentifier").text = seller_id
    etree.SubElement(root, "MessageType").text = message_type
    return root


def _bytes(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def acknowledgement_feed(
    seller_id: str, order_id: str, items: Mapping[str, str], *, cancel: bool
) -> bytes:
    """One ``OrderAcknowledgement`` message: ``Failure`` cancels the whole order, each
    item (order item id -> ``CancelReason``) with its reason; ``Success`` acknowledges."""
    root = _envelope(seller_id, "OrderAcknowledgement")
    message = etree.SubElement(root, "Message")
    etree.SubElement(message, "MessageID").text = "1"
    ack = etree.SubElement(message, "OrderAcknowledgement")
    etree.SubElement(ack, "AmazonOrderID").text = order_id
    etree.SubElement(ack, "StatusCode").text = "Failure" if cancel else "Success"
    for item_id, reason in items.items():
        item = etree.SubElement(ack, "Item")
        etree.SubElement(item, "AmazonOrderItemCode").text = item_id
        etree.SubElement(item, "CancelReason").text = reason
    return _bytes(root)


def adjustment_feed(seller_id: str, order_id: str, items: Sequence[AdjustedItem]) -> bytes:
    """One ``OrderAdjustment`` message refunding each item's ``Principal``."""
    root = _envelope(seller_id, "OrderAdjustment")
    message = etree.SubElement(root, "Message")
    etree.SubElement(message, "MessageID").text = "1"
    adjustment = etree.SubElement(message, "OrderAdjustment")
    etree.SubElement(adjustment, "AmazonOrderID").text = order_id
    for entry in items:
        item = etree.SubElement(adjustment, "AdjustedItem")
        etree.SubElement(item, "AmazonOrderItemCode").text = entry.order_item_id
        etree.SubElement(item, "AdjustmentReason").text = entry.reason
        prices = etree.SubElement(item, "ItemPriceAdjustments")
        component = etree.SubElement(prices, "Component")
        etree.SubElement(component, "Type").text = "Principal"
        amount = etree.SubElement(component, "Amount", currency=entry.currency)
        amount.text = f"{entry.principal:.2f}"
        if entry.quantity_cancelled:
            etree.SubElement(item, "QuantityCancelled").text = str(entry.quantity_cancelled)
    return _bytes(root)


@dataclass
class FeedResult:
    """What a processing report says: its status and the results per order id."""

    status: str
    processed: int = 0
    successful: int = 0
    errors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """AmazonOrderID -> [(ResultMessageCode, ResultDescription)] of its errors."""
    feed_errors: list[tuple[str, str]] = field(default_factory=list)
    """Errors that name no order (the whole document was refused)."""

    def errors_of(self, order_id: str) -> list[tuple[str, str]]:
        """The errors that concern ``order_id`` (the document's own errors included)."""
        return [*self.feed_errors, *self.errors.get(order_id, [])]


def parse_processing_report(text: str) -> FeedResult:
    """Read an XML ``ProcessingReport``; ``ValueError`` when it is not one."""
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the processing report is not XML: {exc}") from exc
    report = root.find(".//ProcessingReport")
    if report is None:
        raise ValueError("the document has no ProcessingReport")
    result = FeedResult(status=(report.findtext("StatusCode") or "").strip())
    summary = report.find("ProcessingSummary")
    if summary is not None:
        result.processed = int(summary.findtext("MessagesProcessed") or 0)
        result.successful = int(summary.findtext("MessagesSuccessful") or 0)
    for entry in report.findall("Result"):
        if (entry.findtext("ResultCode") or "").strip() != "Error":
            continue
        error = (
            (entry.findtext("ResultMessageCode") or "").strip(),
            (entry.findtext("ResultDescription") or "").strip(),
        )
        order_id = (entry.findtext("AdditionalInfo/AmazonOrderID") or "").strip()
        if order_id:
            result.errors.setdefault(order_id, []).append(error)
        else:
            result.feed_errors.append(error)
    return result
