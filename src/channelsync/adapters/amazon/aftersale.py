"""Amazon's after-sale for ``AmazonChannel``: order feeds and Solicitations.

The SP-API has no call that cancels or refunds an order: both are feeds, processed
asynchronously (see ``orderfeeds``).

* **Cancel a whole order** (nothing shipped): ``POST_ORDER_ACKNOWLEDGEMENT_DATA`` with
  ``StatusCode`` ``Failure`` and each item's ``CancelReason`` (``BuyerCanceled`` when the
  buyer asked: that reason does not count against the seller's cancellation rate).
* **Cancel some units**: ``POST_PAYMENT_ADJUSTMENT_DATA``, the item's ``Principal`` for
  those units with ``QuantityCancelled`` (reason ``NoInventory`` or ``BuyerCanceled``).
* **Refund**: ``POST_PAYMENT_ADJUSTMENT_DATA``, one ``AdjustedItem`` per order item with its
  share of the amount as ``Principal`` (``CustomerReturn`` for returned units).
* **Returns**: Amazon runs them (the buyer's return request, the label, the return centre);
  the seller refunds with the adjustment feed when the parcel is back. There is nothing to
  record on Amazon, so ``AmazonChannel`` does not offer ``record_return``: channelsync
  records the return (and restocks) on its own.

Each operation waits up to ``AmazonConfig.order_feed_wait`` for the processing report; a
feed still in process leaves the operation ``pending`` with the feed id as its reference,
and ``operation_status`` (``channelsync orders settle``) reads the report later. The
report's errors for the order (``AdditionalInfo/AmazonOrderID``) become ``Rejected``.

A feed has no idempotency key: an attempt interrupted between ``createFeed`` and the
engine's record of the feed id can, when repeated, adjust twice. The engine keeps that
window to one request; a buyer cancellation of the same order is caught by the status
check before the feed.

Review requests use Solicitations v1: ``getSolicitationActionsForOrder`` lists
``productReviewAndSellerFeedback`` only inside Amazon's window (5 to 30 days after
delivery) and once per order; ``createProductReviewAndSellerFeedbackSolicitation`` sends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from channelsync.adapters.amazon.client import AmazonClient
from channelsync.adapters.amazon.config import AmazonConfig
from channelsync.adapters.amazon.orderfeeds import (
    ACKNOWLEDGEMENT,
    ADJUSTMENT,
    CONTENT_TYPE,
    AdjustedItem,
    acknowledgement_feed,
    adjustment_feed,
    cancel_reason,
    parse_processing_report,
)
from channelsync.adapters.amazon.payloads import SpOrder, SpOrderItem, UnreadableOrder
from channelsync.core.channel import (
    CancelOperation,
    OperationReceipt,
    RefundOperation,
    ReviewStatus,
)
from channelsync.core.errors import AuthError, Rejected, Unavailable
from channelsync.core.models import Money, Order, OrderStatus, Refund

__all__ = ["REVIEW_SOLICITATION", "AmazonAfterSale"]

log = logging.getLogger(__name__)

REVIEW_SOLICITATION = "productReviewAndSellerFeedback"

#: ``AdjustmentReason`` of OrderAdjustment.xsd for channelsync's refund reasons.
_ADJUSTMENT_REASONS = {
    "customer_request": "GeneralAdjustment",
    "out_of_stock": "NoInventory",
    "address_issue": "CustomerAddressIncorrect",
    "fraud": "RiskAssessmentInformationNotValid",
    "payment_declined": "GeneralAdjustment",
    "damaged": "CustomerReturn",
    "wrong_item": "DifferentItem",
    "not_as_described": "CustomerReturn",
    "other": "GeneralAdjustment",
}

#: Solicitation answers (403 ``Unauthorized``) that say "not for this order", not "no access".
_NOT_FOR_THIS_ORDER = ("not available for this", "outside the", "already")

_CENT = Decimal("0.01")


def _units_reason(reason: str) -> str:
    """The adjustment reason for units cancelled before shipping (QuantityCancelled)."""
    return "BuyerCanceled" if reason == "customer_request" else "NoInventory"


class AmazonAfterSale:
    """Cancellations, refunds and review requests of one Amazon account."""

    def __init__(
        self,
        client: AmazonClient,
        config: AmazonConfig,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.config = config
        self.account = config.account
        self._clock = clock
        self._sleep = sleep

    # -- reading the order --------------------------------------------------------------------

    def _order(self, order_id: str, operation: str) -> SpOrder:
        read = self.client.get_order(order_id)
        if isinstance(read, UnreadableOrder):
            raise Rejected(
                f"order {order_id} does not read as an Orders API order: {read.error}",
                channel=self.account,
                operation=operation,
            )
        order, _ = read
        if order.fulfillment and order.fulfillment.fulfilled_by == "AMAZON":
            raise Rejected(
                f"order {order_id} is fulfilled by Amazon (FBA): Amazon cancels and refunds"
                " it (the buyer asks Amazon; or use Seller Central's Manage Orders)",
                channel=self.account,
                operation=operation,
            )
        return order

    def _item(self, order: SpOrder, line_id: str, operation: str) -> SpOrderItem:
        for item in order.order_items:
            if item.order_item_id == line_id:
                return item
        raise Rejected(
            f"order {order.order_id} has no item {line_id}",
            channel=self.account,
            operation=operation,
        )

    @staticmethod
    def _status(order: SpOrder) -> str | None:
        return order.fulfillment.fulfillment_status if order.fulfillment else None

    @staticmethod
    def _unit_price(item: SpOrderItem) -> Money | None:
        price = item.product.price.unit_price if item.product.price else None
        if price is None or price.amount is None or not price.currency_code:
            return None
        return Money(amount=Decimal(str(price.amount)), currency=price.currency_code)

    @staticmethod
    def _open(item: SpOrderItem) -> int:
        if item.fulfillment and item.fulfillment.quantity_unfulfilled is not None:
            return max(0, item.fulfillment.quantity_unfulfilled)
        shipped = item.fulfillment.quantity_fulfilled if item.fulfillment else None
        return max(0, item.quantity_ordered - (shipped or 0))

    @staticmethod
    def _shipped(order: SpOrder) -> bool:
        return bool(order.packages) or any(
            (i.fulfillment.quantity_fulfilled or 0) > 0 for i in order.order_items if i.fulfillment
        )

    # -- cancel -------------------------------------------------------------------------------

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """A whole order by acknowledgement ``Failure``; some units by adjustment."""
        name = "cancel"
        order = self._order(operation.order_id, name)
        if self._status(order) == "CANCELLED":
            return OperationReceipt(detail="Amazon has the order cancelled already")
        if not operation.lines:
            if self._shipped(order):
                raise Rejected(
                    f"order {order.order_id} has shipped items: Amazon cancels only orders"
                    " that have shipped nothing; refund the shipped units instead",
                    channel=self.account,
                    operation=name,
                )
            reason = cancel_reason(operation.reason)
            body = acknowledgement_feed(
                self.config.seller_id,
                order.order_id,
                {i.order_item_id: reason for i in order.order_items},
                cancel=True,
            )
            return self._submit(ACKNOWLEDGEMENT, body, order.order_id, None)
        items = []
        for line_id, units in operation.lines.items():
            item = self._item(order, line_id, name)
            left = self._open(item)
            if units > left:
                raise Rejected(
                    f"order {order.order_id}: item {line_id} has {left} unit(s) not shipped;"
                    f" {units} cannot be cancelled (refund shipped units instead)",
                    channel=self.account,
                    operation=name,
                )
            price = self._unit_price(item)
            if price is None:
                raise Rejected(
                    f"order {order.order_id}: item {line_id} carries no price, which the"
                    " adjustment that cancels its units needs; cancel it in Seller Central",
                    channel=self.account,
                    operation=name,
                )
            items.append(
                AdjustedItem(
                    order_item_id=line_id,
                    reason=_units_reason(operation.reason),
                    principal=price.amount * units,
                    currency=price.currency,
                    quantity_cancelled=units,
                )
            )
        body = adjustment_feed(self.config.seller_id, order.order_id, items)
        return self._submit(ADJUSTMENT, body, order.order_id, None)

    # -- refund -------------------------------------------------------------------------------

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """One adjustment feed: each item's share of the amount as its ``Principal``."""
        name = "refund"
        order = self._order(operation.order_id, name)
        amount = operation.amount
        for item in order.order_items:
            price = self._unit_price(item)
            if price is not None and price.currency != amount.currency:
                raise Rejected(
                    f"order {order.order_id} was paid in {price.currency}: Amazon refunds in"
                    f" that currency only, not {amount.currency}",
                    channel=self.account,
                    operation=name,
                )
        shares = self._shares(order, operation)
        items = []
        for line_id, share in shares.items():
            cancelled = operation.cancelled.get(line_id, 0)
            if cancelled:
                reason = _units_reason(operation.reason)
            elif operation.returned.get(line_id):
                reason = "CustomerReturn"
            else:
                reason = _ADJUSTMENT_REASONS.get(operation.reason, "GeneralAdjustment")
            items.append(
                AdjustedItem(
                    order_item_id=line_id,
                    reason=reason,
                    principal=share,
                    currency=amount.currency,
                    quantity_cancelled=cancelled,
                )
            )
        body = adjustment_feed(self.config.seller_id, order.order_id, items)
        refund = Refund(
            refund_id="",
            amount=amount,
            reason=operation.note or operation.reason,
            lines=dict(operation.lines),
        )
        return self._submit(ADJUSTMENT, body, order.order_id, refund)

    def _shares(self, order: SpOrder, operation: RefundOperation) -> dict[str, Decimal]:
        """Order item id -> Principal: the engine's line shares, else the amount split
        over the items by what they cost (the last item takes the rounding)."""
        name = "refund"
        if operation.lines and set(operation.line_amounts) == set(operation.lines):
            for line_id in operation.lines:
                self._item(order, line_id, name)
            return {lid: m.amount for lid, m in operation.line_amounts.items() if m.amount > 0}
        pool = (
            [self._item(order, lid, name) for lid in operation.lines]
            if operation.lines
            else list(order.order_items)
        )
        weights: dict[str, Decimal] = {}
        for item in pool:
            price = self._unit_price(item)
            units = operation.lines.get(item.order_item_id, item.quantity_ordered)
            if price is not None and units > 0:
                weights[item.order_item_id] = price.amount * units
        total = sum(weights.values(), Decimal(0))
        if total <= 0:
            raise Rejected(
                f"order {order.order_id}: its items carry no prices to split the refund over;"
                " refund it in Seller Central",
                channel=self.account,
                operation=name,
            )
        amount = operation.amount.amount
        shares: dict[str, Decimal] = {}
        given = Decimal(0)
        ids = list(weights)
        for n, line_id in enumerate(ids):
            if n == len(ids) - 1:
                share = amount - given
            else:
                share = (amount * weights[line_id] / total).quantize(_CENT, ROUND_HALF_UP)
            given += share
            if share > 0:
                shares[line_id] = share
        return shares

    # -- feeds --------------------------------------------------------------------------------

    def _submit(
        self, feed_type: str, body: bytes, order_id: str, refund: Refund | None
    ) -> OperationReceipt:
        document = self.client.create_feed_document(CONTENT_TYPE)
        self.client.upload_document(document.url, body, CONTENT_TYPE)
        feed_id = self.client.create_feed(feed_type, document.feed_document_id).feed_id
        log.info("%s: %s feed %s for order %s", self.account, feed_type, feed_id, order_id)
        receipt = OperationReceipt(
            status="pending",
            reference=feed_id,
            refund=refund.model_copy(update={"refund_id": feed_id}) if refund else None,
            detail=f"{feed_type} feed {feed_id}",
        )
        deadline = time.monotonic() + self.config.order_feed_wait
        while time.monotonic() < deadline:
            self._sleep(self.config.feed_poll_interval)
            receipt = self.operation_status(order_id, receipt)
            if receipt.status == "done":
                break
        return receipt

    def operation_status(self, order_id: str, receipt: OperationReceipt) -> OperationReceipt:
        """The feed's state: ``pending`` while Amazon processes it, ``done`` when its report
        has no error for the order, else ``Rejected`` with the report's errors."""
        feed_id = receipt.reference
        if feed_id is None:
            return receipt
        feed = self.client.get_feed(feed_id)
        status = feed.processing_status
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            return receipt.model_copy(update={"status": "pending"})
        if status == "CANCELLED":
            raise Rejected(
                f"order {order_id}: feed {feed_id} was cancelled before Amazon processed it;"
                " nothing changed, send the operation again with a new key",
                channel=self.account,
                operation="getFeed",
                code="CANCELLED",
            )
        if feed.result_feed_document_id is None:
            if status == "DONE":
                raise Unavailable(
                    f"feed {feed_id} is DONE without a processing report",
                    channel=self.account,
                    operation="getFeed",
                )
            raise Rejected(
                f"order {order_id}: Amazon refused feed {feed_id} ({status}) without a report",
                channel=self.account,
                operation="getFeed",
                code=status,
            )
        text = self.client.feed_report_text(feed.result_feed_document_id)
        try:
            report = parse_processing_report(text)
        except ValueError as exc:
            raise Unavailable(
                f"the processing report of feed {feed_id} does not read: {exc}",
                channel=self.account,
                operation="getFeedDocument",
            ) from exc
        errors = report.errors_of(order_id)
        if errors or status == "FATAL":
            described = "; ".join(f"{code}: {text}" for code, text in errors) or status
            raise Rejected(
                f"Amazon refused feed {feed_id} for order {order_id}: {described}",
                channel=self.account,
                operation="getFeed",
                code=errors[0][0] if errors else status,
            )
        return receipt.model_copy(update={"status": "done"})

    # -- review requests ------------------------------------------------------------------

    def _marketplace(self, order: Order) -> str:
        channel = order.raw.get("salesChannel")
        if isinstance(channel, dict) and isinstance(channel.get("marketplaceId"), str):
            return str(channel["marketplaceId"])
        return self.config.marketplace_ids[0]

    def review_request_status(self, order: Order) -> ReviewStatus:
        """``eligible`` when Amazon lists the review solicitation for the order now; else
        ``not_yet``/``expired`` by the ship date (Amazon's window is 5 to 30 days after
        delivery), ``unavailable`` otherwise (sent before, cancelled, not allowed)."""
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return "unavailable"
        actions = self.client.solicitation_actions(order.order_id, self._marketplace(order))
        if REVIEW_SOLICITATION in actions:
            return "eligible"
        shipped = [s.shipped_at for s in order.shipments if s.shipped_at is not None]
        now = self._clock()
        if not shipped or now < min(shipped) + timedelta(days=5):
            return "not_yet"
        if now > max(shipped) + timedelta(days=35):
            return "expired"
        return "unavailable"

    def send_review_request(self, order: Order) -> None:
        """``createProductReviewAndSellerFeedbackSolicitation``; Amazon's "not for this
        order" answers (403) become ``Rejected``."""
        try:
            self.client.create_review_solicitation(order.order_id, self._marketplace(order))
        except AuthError as exc:
            if any(part in exc.message for part in _NOT_FOR_THIS_ORDER):
                raise Rejected(
                    f"Amazon will not send a review request for order {order.order_id}:"
                    f" {exc.message}",
                    channel=self.account,
                    operation=exc.operation,
                    status=exc.status,
                    code=exc.code,
                    request_id=exc.request_id,
                ) from exc
            raise AuthError(
                f"{exc.message} (the app needs the Buyer Solicitation role for review requests)",
                channel=self.account,
                operation=exc.operation,
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from exc
