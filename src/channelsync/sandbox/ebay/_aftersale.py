"""The eBay fake's after-sale: Post-Order cancellations and returns, Fulfillment issueRefund.

What eBay enforces, modelled here:

* ``POST /post-order/v2/cancellation/check_eligibility`` answers ``eligible`` with the
  order's ``failureReason`` list: an order that shipped cannot be cancelled (every line
  must be eligible: ``ITEM_LEVEL_ELIGIBILITY_FAILURE``), one already cancelled or with a
  cancellation under way has ``CANCELLATION_EXIST``, a fully refunded one
  ``FULL_REFUNDED_ORDER``. Only whole orders are cancelled.
* ``POST /post-order/v2/cancellation`` (seller, reasons ``BUYER_ASKED_CANCEL``,
  ``OUT_OF_STOCK_OR_CANNOT_FULFILL``, ``ADDRESS_ISSUES``) answers ``cancelId``, or, for an
  order not eligible, ``orderEligibilityResult`` without one. The cancellation closes
  (``cancelState`` ``CLOSED``; ``cancelStatus`` ``CANCEL_CLOSED_WITH_REFUND`` for a paid
  order, eBay refunding the buyer, ``CANCEL_CLOSED_FOR_COMMITMENT`` for an unpaid one) and
  the Trading order becomes ``Cancelled``/``CancelComplete``.
* ``POST /sell/fulfillment/v1/order/{orderId}/issue_refund`` checks what the Fulfillment
  contract lists (errorIds 34903-34924): a reason from ``ReasonForRefundEnum``, an amount
  positive with two decimals in the order's currency, never more than the order (34915) or
  a line (34924) has left, no refund while another is processing (34922). Refunds are
  ``PENDING`` and become ``REFUNDED`` after ``refund_reads`` reads of the order (getOrder),
  as eBay processes them asynchronously; a refunded one appears in the Trading order's
  ``MonetaryDetails/Refunds``.
* Post-Order returns are opened by the buyer (``open_return``); the seller finds them with
  ``GET /return/search`` and marks the item received (``POST /return/{id}/mark_as_received``,
  from ``ITEM_SHIPPED`` or ``READY_FOR_SHIPPING`` only).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lxml import etree
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelsync.adapters.ebay.mapping import format_time

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.sandbox.ebay._fake import EbayFake
    from channelsync.sandbox.ebay._state import XmlOrder

__all__ = ["OPERATIONS", "AfterSaleState", "routes"]

FULFILLMENT = "/sell/fulfillment/v1"
POST_ORDER = "/post-order/v2"

#: Seller cancel reasons of the Post-Order ``CancelReasonEnum``.
SELLER_CANCEL_REASONS = frozenset(
    {"BUYER_ASKED_CANCEL", "OUT_OF_STOCK_OR_CANNOT_FULFILL", "ADDRESS_ISSUES"}
)
#: The Fulfillment API's ``ReasonForRefundEnum``.
REFUND_REASONS = frozenset(
    {
        "BUYER_CANCEL",
        "SELLER_CANCEL",
        "ITEM_NOT_RECEIVED",
        "BUYER_RETURN",
        "ITEM_NOT_AS_DESCRIBED",
        "OTHER_ADJUSTMENT",
        "SHIPPING_DISCOUNT",
    }
)

OPERATIONS = [
    ("POST", rf"^{POST_ORDER}/cancellation/check_eligibility$", "checkCancellationEligibility"),
    ("GET", rf"^{POST_ORDER}/cancellation/[^/]+$", "getCancellation"),
    ("GET", rf"^{POST_ORDER}/return/search$", "searchReturns"),
    ("GET", rf"^{POST_ORDER}/return/[^/]+$", "getReturn"),
    ("POST", rf"^{POST_ORDER}/return/[^/]+/mark_as_received$", "markReturnReceived"),
    ("POST", rf"^{FULFILLMENT}/order/[^/]+/issue_refund$", "issueRefund"),
]


@dataclass
class RefundRecord:
    """A refund issued with issueRefund."""

    refund_id: str
    amount: Decimal
    currency: str
    transaction_id: str | None  # None: order level
    status: str = "PENDING"
    reads: int = 0
    date: str | None = None


@dataclass
class ReturnRecord:
    """A buyer's return request."""

    return_id: str
    order_id: str
    item_id: str
    transaction_id: str
    quantity: int
    reason: str
    state: str = "ITEM_SHIPPED"
    created: str = ""
    received: str | None = None


@dataclass
class AfterSaleState:
    """What the fake keeps about cancellations, refunds and returns."""

    cancellations: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, list[RefundRecord]] = field(default_factory=dict)
    returns: dict[str, ReturnRecord] = field(default_factory=dict)
    refund_reads: int = 1
    """How many getOrder reads see a refund PENDING before it is REFUNDED."""
    ids: Any = field(default_factory=lambda: itertools.count(1))


def _error(status: int, error_id: int, domain: str, message: str) -> JSONResponse:
    entry = {"errorId": error_id, "domain": domain, "category": "REQUEST", "message": message}
    return JSONResponse({"errors": [entry]}, status_code=status)


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _total(order: XmlOrder) -> tuple[Decimal, str]:
    el = order.element.find("Total")
    if el is None or el.text is None:
        return Decimal(0), ""
    return Decimal(el.text), el.get("currencyID", "")


def _lines(order: XmlOrder) -> list[etree._Element]:
    return list(order.element.findall("TransactionArray/Transaction"))


def _line_total(txn: etree._Element) -> Decimal:
    price = Decimal(txn.findtext("TransactionPrice") or "0")
    return price * int(txn.findtext("QuantityPurchased") or "0")


def _shipped(order: XmlOrder) -> bool:
    el = order.element
    return el.find("ShippedTime") is not None or any(
        t.find("ShippedTime") is not None for t in _lines(order)
    )


def _set(el: etree._Element, tag: str, text: str) -> None:
    node = el.find(tag)
    if node is None:
        node = etree.SubElement(el, tag)
    node.text = text


class AfterSale:
    """The handlers, bound to one fake."""

    def __init__(self, fake: EbayFake) -> None:
        self.fake = fake
        self.state: AfterSaleState = fake.aftersale

    # -- cancellations -----------------------------------------------------------------------

    def eligibility(self, order_id: str) -> dict[str, Any]:
        """``OrderEligibilityResult`` of an order (the caller holds the fake's lock)."""
        order = self.fake.orders.get(order_id)
        if order is None:
            return {
                "legacyOrderId": order_id,
                "eligible": False,
                "failureReason": ["INVALID_ORDER"],
            }
        reasons: list[str] = []
        items = []
        for txn in _lines(order):
            shipped = (
                txn.find("ShippedTime") is not None or order.element.find("ShippedTime") is not None
            )
            items.append(
                {
                    "itemId": txn.findtext("Item/ItemID") or "",
                    "transactionId": txn.findtext("TransactionID") or "",
                    "eligible": not shipped,
                    "failureReason": [],
                }
            )
        if any(not i["eligible"] for i in items):
            reasons.append("ITEM_LEVEL_ELIGIBILITY_FAILURE")
        status = order.element.findtext("OrderStatus") or ""
        if status == "Cancelled" or any(
            c["legacyOrderId"] == order_id for c in self.state.cancellations.values()
        ):
            reasons.append("CANCELLATION_EXIST")
        total, _ = _total(order)
        refunded = sum((r.amount for r in self.state.refunds.get(order_id, [])), Decimal(0))
        if total > 0 and refunded >= total:
            reasons.append("FULL_REFUNDED_ORDER")
        result: dict[str, Any] = {
            "legacyOrderId": order_id,
            "eligible": not reasons,
            "itemEligibilityResult": items,
        }
        if reasons:
            result["failureReason"] = reasons
        else:
            result["eligibleCancelReason"] = sorted(SELLER_CANCEL_REASONS)
        return result

    async def check_eligibility(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        try:
            order_id = str(json.loads(await request.body())["legacyOrderId"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 1111, "API_POSTORDER", "legacyOrderId is required.")
        with self.fake.lock:
            return JSONResponse(self.eligibility(order_id))

    async def create_cancellation(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        try:
            payload = json.loads(await request.body())
            order_id = str(payload["legacyOrderId"])
            reason = str(payload["cancelReason"])
        except (ValueError, KeyError, TypeError):
            return _error(
                400, 1111, "API_POSTORDER", "legacyOrderId and cancelReason are required."
            )
        if reason not in SELLER_CANCEL_REASONS:
            return _error(400, 1111, "API_POSTORDER", f"Invalid cancelReason {reason}.")
        with self.fake.lock:
            eligibility = self.eligibility(order_id)
            if not eligibility["eligible"]:
                return JSONResponse({"orderEligibilityResult": eligibility}, status_code=200)
            order = self.fake.orders[order_id]
            paid = order.element.find("PaidTime") is not None
            cancel_id = str(5_000_000_000 + next(self.state.ids))
            now = format_time(self.fake.clock())
            self.state.cancellations[cancel_id] = {
                "cancelId": cancel_id,
                "legacyOrderId": order_id,
                "requestorType": "SELLER",
                "cancelReason": reason,
                "cancelState": "CLOSED",
                "cancelStatus": "CANCEL_CLOSED_WITH_REFUND"
                if paid
                else "CANCEL_CLOSED_FOR_COMMITMENT",
                "cancelCloseReason": "FULL_REFUNDED" if paid else "BUYER_CONFIRM_NOT_PAID",
                "cancelRequestDate": {"value": now},
                "cancelCloseDate": {"value": now},
            }
            _set(order.element, "OrderStatus", "Cancelled")
            _set(order.element, "CancelStatus", "CancelComplete")
            for txn in _lines(order):
                self.fake.restock_line(txn)
            self.fake.touch_order(order)
            self.fake.cancellations.append(
                {"orderId": order_id, "reason": reason, "cancelId": cancel_id}
            )
        return JSONResponse({"cancelId": cancel_id}, status_code=201)

    async def get_cancellation(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        cancel_id = request.url.path.rsplit("/", 1)[-1]
        with self.fake.lock:
            detail = self.state.cancellations.get(cancel_id)
            if detail is None:
                return _error(404, 1113, "API_POSTORDER", f"Cancellation {cancel_id} not found.")
            return JSONResponse({"cancelDetail": dict(detail)})

    # -- refunds -----------------------------------------------------------------------------

    async def issue_refund(self, request: Request) -> Response:
        denied = self.fake.rest_auth(request)
        if denied is not None:
            return denied
        order_id = request.path_params["order_id"]
        raw = await request.body()
        if not raw:
            return _error(400, 34902, "API_FULFILLMENT", "Request can't be empty.")
        try:
            payload = json.loads(raw)
        except ValueError:
            return _error(400, 34902, "API_FULFILLMENT", "Request can't be empty.")
        reason = payload.get("reasonForRefund")
        if not reason:
            return _error(400, 34903, "API_FULFILLMENT", "The refund reason must be specified.")
        if reason not in REFUND_REASONS:
            return _error(400, 34903, "API_FULFILLMENT", f"Invalid reasonForRefund {reason}.")
        comment = payload.get("comment") or ""
        if len(comment) > 1000:
            return _error(
                400,
                34921,
                "API_FULFILLMENT",
                "The comment exceeds the length limit, please make sure it doesn't exceed"
                " 1000 characters.",
            )
        items = payload.get("refundItems")
        order_level = payload.get("orderLevelRefundAmount")
        if not items and not order_level:
            return _error(
                400,
                34905,
                "API_FULFILLMENT",
                "Either orderLevelRefundAmount or refundItems must be specified.",
            )
        with self.fake.lock:
            order = self.fake.orders.get(order_id)
            if order is None:
                return _error(400, 34913, "API_FULFILLMENT", "Can not find the order.")
            if order.element.find("PaidTime") is None:
                return _error(
                    409,
                    34917,
                    "API_FULFILLMENT",
                    "The order status is not correct, refund can't be triggered against the order.",
                )
            total, currency = _total(order)
            existing = self.state.refunds.setdefault(order_id, [])
            if any(r.status == "PENDING" for r in existing):
                return _error(
                    400,
                    34922,
                    "API_FULFILLMENT",
                    "Refund can't be issued while previous refund is processing.",
                )
            asked: list[tuple[str | None, Decimal]] = []
            targets: list[dict[str, Any]] = [{"refundAmount": order_level}] if order_level else []
            targets += list(items or [])
            for entry in targets:
                amount_el = entry.get("refundAmount") or {}
                if amount_el.get("value") in (None, ""):
                    return _error(
                        400, 34906, "API_FULFILLMENT", "The amount value must be specified."
                    )
                value = _money(amount_el.get("value"))
                if value is None or value <= 0 or value != value.quantize(Decimal("0.01")):
                    return _error(
                        400,
                        34907,
                        "API_FULFILLMENT",
                        "The amount value must be positive and within two decimals.",
                    )
                if not amount_el.get("currency"):
                    return _error(
                        400, 34908, "API_FULFILLMENT", "The amount currency must be specified."
                    )
                if amount_el.get("currency") != currency:
                    return _error(
                        400, 34909, "API_FULFILLMENT", "The amount currency isn't correct."
                    )
                txn_id: str | None = None
                if entry is not targets[0] or not order_level:
                    ref = entry.get("legacyReference") or {}
                    line_id = entry.get("lineItemId")
                    if not ref and not line_id:
                        return _error(
                            400,
                            34910,
                            "API_FULFILLMENT",
                            "Either legacyReference or lineItemId must be specified for item"
                            " level refund.",
                        )
                    if ref and not ref.get("legacyItemId"):
                        return _error(
                            400,
                            34911,
                            "API_FULFILLMENT",
                            "Legacy item id must be specified for item level refund if you use"
                            " legacyReference.",
                        )
                    if ref and not ref.get("legacyTransactionId"):
                        return _error(
                            400,
                            34912,
                            "API_FULFILLMENT",
                            "Legacy transaction id must be specified for item level refund if"
                            " you use legacyReference.",
                        )
                    txn = next(
                        (
                            t
                            for t in _lines(order)
                            if (
                                ref
                                and t.findtext("Item/ItemID") == str(ref.get("legacyItemId"))
                                and t.findtext("TransactionID")
                                == str(ref.get("legacyTransactionId"))
                            )
                            or (line_id and t.findtext("TransactionID") == str(line_id))
                        ),
                        None,
                    )
                    if txn is None:
                        return _error(
                            400, 34914, "API_FULFILLMENT", "Can't find the item in the order."
                        )
                    txn_id = txn.findtext("TransactionID")
                    line_left = (
                        _line_total(txn)
                        - sum(
                            (r.amount for r in existing if r.transaction_id == txn_id), Decimal(0)
                        )
                        - sum((v for t, v in asked if t == txn_id), Decimal(0))
                    )
                    if value > line_left:
                        return _error(
                            409,
                            34924,
                            "API_FULFILLMENT",
                            "The item refund amount exceeds the item remaining amount.",
                        )
                asked.append((txn_id, value))
            already = sum((r.amount for r in existing), Decimal(0))
            if already + sum((v for _, v in asked), Decimal(0)) > total:
                return _error(
                    400, 34915, "API_FULFILLMENT", "The refund amount exceeds order amount."
                )
            refund_id = f"5{next(self.state.ids):010d}"
            for txn_id, value in asked:
                existing.append(RefundRecord(refund_id, value, currency, txn_id))
            self.fake.touch_order(order)
        return JSONResponse({"refundId": refund_id, "refundStatus": "PENDING"})

    def settle_refunds(self, order_id: str) -> None:
        """A read of the order: pending refunds move on (the caller holds the lock)."""
        order = self.fake.orders.get(order_id)
        if order is None:
            return
        changed = False
        for record in self.state.refunds.get(order_id, []):
            if record.status != "PENDING":
                continue
            record.reads += 1
            if record.reads > self.state.refund_reads:
                record.status = "REFUNDED"
                record.date = format_time(self.fake.clock())
                refunds = order.element.find("MonetaryDetails/Refunds")
                if refunds is None:
                    details = order.element.find("MonetaryDetails")
                    if details is None:
                        details = etree.SubElement(order.element, "MonetaryDetails")
                    refunds = etree.SubElement(details, "Refunds")
                el = etree.SubElement(refunds, "Refund")
                etree.SubElement(el, "RefundStatus").text = "Successful"
                etree.SubElement(el, "RefundType").text = "RefundAmount"
                etree.SubElement(el, "RefundTo").text = order.element.findtext("BuyerUserID") or ""
                etree.SubElement(el, "RefundTime").text = record.date
                amount = etree.SubElement(el, "RefundAmount", currencyID=record.currency)
                amount.text = f"{record.amount:.2f}"
                etree.SubElement(el, "ReferenceID", type="RefundID").text = record.refund_id
                changed = True
        if changed:
            self.fake.touch_order(order)

    def refunds_json(
        self, order_id: str
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """(order-level refunds, line id -> its refunds) in the Fulfillment API's shape."""
        order_level: list[dict[str, Any]] = []
        by_line: dict[str, list[dict[str, Any]]] = {}
        for r in self.state.refunds.get(order_id, []):
            entry: dict[str, Any] = {
                "refundId": r.refund_id,
                "refundStatus": r.status,
                "amount": {"value": f"{r.amount:.2f}", "currency": r.currency},
            }
            if r.date:
                entry["refundDate"] = r.date
            if r.transaction_id is None:
                order_level.append(entry)
            else:
                by_line.setdefault(r.transaction_id, []).append(entry)
        return order_level, by_line

    # -- returns -----------------------------------------------------------------------------

    def open_return(self, order_id: str, transaction_id: str, quantity: int, reason: str) -> str:
        """A buyer opens a return (the item is on its way back)."""
        with self.fake.lock:
            order = self.fake.orders[order_id]
            txn = next(t for t in _lines(order) if t.findtext("TransactionID") == transaction_id)
            return_id = str(5_200_000_000 + next(self.state.ids))
            self.state.returns[return_id] = ReturnRecord(
                return_id,
                order_id,
                txn.findtext("Item/ItemID") or "",
                transaction_id,
                quantity,
                reason,
                created=format_time(self.fake.clock()),
            )
            status = txn.find("Status")
            if status is not None:
                _set(status, "ReturnStatus", "ReturnOpen")
            self.fake.touch_order(order)
            return return_id

    def _return_json(self, r: ReturnRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "returnId": r.return_id,
            "orderId": r.order_id,
            "state": r.state,
            "status": r.state,
            "creationInfo": {
                "item": {
                    "itemId": r.item_id,
                    "transactionId": r.transaction_id,
                    "returnQuantity": r.quantity,
                },
                "reason": r.reason,
                "creationDate": {"value": r.created},
            },
        }
        return body

    async def search_returns(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        order_id = request.query_params.get("order_id")
        states = request.query_params.get("return_state")
        with self.fake.lock:
            found = [
                self._return_json(r)
                for r in self.state.returns.values()
                if (order_id is None or r.order_id == order_id)
                and (states is None or r.state in states.split(","))
            ]
        return JSONResponse(
            {
                "members": found,
                "total": len(found),
                "paginationOutput": {"totalEntries": len(found)},
            }
        )

    async def get_return(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        return_id = request.url.path.rsplit("/", 1)[-1]
        with self.fake.lock:
            record = self.state.returns.get(return_id)
            if record is None:
                return _error(404, 1202, "API_RETURN", f"Return {return_id} not found.")
            return JSONResponse({"summary": self._return_json(record)})

    async def mark_received(self, request: Request) -> Response:
        denied = self._iaf(request)
        if denied is not None:
            return denied
        return_id = request.url.path.rstrip("/").split("/")[-2]
        with self.fake.lock:
            record = self.state.returns.get(return_id)
            if record is None:
                return _error(404, 1202, "API_RETURN", f"Return {return_id} not found.")
            if record.state not in ("ITEM_SHIPPED", "READY_FOR_SHIPPING"):
                return _error(
                    409,
                    1210,
                    "API_RETURN",
                    f"The action is not available for a return in state {record.state}.",
                )
            record.state = "ITEM_DELIVERED"
            record.received = format_time(self.fake.clock())
            self.fake.touch_order(self.fake.orders[record.order_id])
        return Response(status_code=200)

    def _iaf(self, request: Request) -> Response | None:
        return self.fake.rest_auth(request, scheme="IAF")


def routes(fake: EbayFake) -> list[Route]:
    """The after-sale routes of the fake."""
    handlers = AfterSale(fake)
    return [
        Route(
            f"{POST_ORDER}/cancellation/check_eligibility",
            handlers.check_eligibility,
            methods=["POST"],
        ),
        Route(f"{POST_ORDER}/cancellation", handlers.create_cancellation, methods=["POST"]),
        Route(
            f"{POST_ORDER}/cancellation/{{cancel_id}}", handlers.get_cancellation, methods=["GET"]
        ),
        Route(f"{POST_ORDER}/return/search", handlers.search_returns, methods=["GET"]),
        Route(f"{POST_ORDER}/return/{{return_id}}", handlers.get_return, methods=["GET"]),
        Route(
            f"{POST_ORDER}/return/{{return_id}}/mark_as_received",
            handlers.mark_received,
            methods=["POST"],
        ),
        Route(
            f"{FULFILLMENT}/order/{{order_id}}/issue_refund",
            handlers.issue_refund,
            methods=["POST"],
        ),
    ]
