"""The Shopify fake's after-sale: ``refundCreate`` and returns (create, process, close).

What Shopify enforces, modelled here:

* ``refundCreate`` refunds at most what was captured less earlier refunds (successful
  ``SALE``/``CAPTURE`` transactions, refunded through ``transactions`` naming their parent
  and gateway); ``allowOverRefunding`` lifts that. A line refunds at most its current
  quantity; ``CANCEL`` restocks units not yet fulfilled and ``RETURN`` units that were,
  at a location (``LEGACY_RESTOCK`` is refused on creation). From 2026-04 the mutation
  needs ``@idempotent(key:)``; a key repeats the first result, and with other input is an
  ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``. Orders seeded without transactions get one
  ``SALE`` of their total when they are paid.
* ``returnCreate`` takes fulfilled units (``FulfillmentLineItem`` ids) not returned yet and
  opens the return (``OPEN``) with a reverse fulfillment order; ``returnProcess`` disposes
  its units (``RESTOCKED`` needs a location and puts them back on hand and available;
  ``NOT_RESTOCKED``, ``MISSING``, ``PROCESSING_REQUIRED`` do not); ``returnClose`` closes
  an open return.

User error messages follow Shopify's where its documentation quotes them; the others are
worded here (the codes and fields are Shopify's).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError

if TYPE_CHECKING:  # pragma: no cover
    from graphql import GraphQLResolveInfo

    from channelsync.sandbox.shopify.state import ShopState

__all__ = ["SDL", "ShopAfterSale"]

SDL = """
enum OrderTransactionKind { AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE
  SUGGESTED_REFUND VOID }
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }
type OrderTransaction {
  id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! gateway: String
  amountSet: MoneyBag! createdAt: DateTime! parentTransaction: OrderTransaction
}
enum ReturnStatus { CANCELED CLOSED DECLINED OPEN REQUESTED }
enum ReturnReason { COLOR DEFECTIVE NOT_AS_DESCRIBED OTHER SIZE_TOO_LARGE SIZE_TOO_SMALL STYLE
  UNKNOWN UNWANTED WRONG_ITEM }
enum ReverseFulfillmentOrderDispositionType { MISSING NOT_RESTOCKED PROCESSING_REQUIRED
  RESTOCKED }
enum ReturnErrorCode { ALREADY_EXISTS BLANK CREATION_FAILED EQUAL_TO GREATER_THAN
  GREATER_THAN_OR_EQUAL_TO INCLUSION INTERNAL_ERROR INVALID INVALID_STATE LESS_THAN
  LESS_THAN_OR_EQUAL_TO NOTIFICATION_FAILED NOT_A_NUMBER NOT_EDITABLE NOT_FOUND PRESENT TAKEN
  TOO_BIG TOO_LONG TOO_SHORT WRONG_LENGTH }
interface ReturnLineItemType { id: ID! quantity: Int! processedQuantity: Int! }
type ReturnLineItem implements ReturnLineItemType {
  id: ID! quantity: Int! processedQuantity: Int! returnReason: ReturnReason
  returnReasonNote: String! fulfillmentLineItem: FulfillmentLineItem!
}
type ReturnLineItemTypeConnection {
  edges: [ReturnLineItemTypeEdge!]! nodes: [ReturnLineItemType!]! pageInfo: PageInfo!
}
type ReturnLineItemTypeEdge { cursor: String! node: ReturnLineItemType! }
type ReverseFulfillmentOrderDisposition {
  id: ID! quantity: Int! type: ReverseFulfillmentOrderDispositionType! location: Location
}
type ReverseFulfillmentOrderLineItem {
  id: ID! totalQuantity: Int! fulfillmentLineItem: FulfillmentLineItem
  dispositions: [ReverseFulfillmentOrderDisposition!]!
}
type ReverseFulfillmentOrderLineItemConnection {
  edges: [ReverseFulfillmentOrderLineItemEdge!]! nodes: [ReverseFulfillmentOrderLineItem!]!
  pageInfo: PageInfo!
}
type ReverseFulfillmentOrderLineItemEdge { cursor: String! node: ReverseFulfillmentOrderLineItem! }
type ReverseFulfillmentOrder {
  id: ID! lineItems(first: Int, after: String): ReverseFulfillmentOrderLineItemConnection!
}
type ReverseFulfillmentOrderConnection {
  edges: [ReverseFulfillmentOrderEdge!]! nodes: [ReverseFulfillmentOrder!]! pageInfo: PageInfo!
}
type ReverseFulfillmentOrderEdge { cursor: String! node: ReverseFulfillmentOrder! }
type Return {
  id: ID! name: String! status: ReturnStatus! totalQuantity: Int!
  returnLineItems(first: Int, after: String): ReturnLineItemTypeConnection!
  reverseFulfillmentOrders(first: Int, after: String): ReverseFulfillmentOrderConnection!
}
type ReturnConnection { edges: [ReturnEdge!]! nodes: [Return!]! pageInfo: PageInfo! }
type ReturnEdge { cursor: String! node: Return! }

extend type Order {
  transactions(first: Int): [OrderTransaction!]!
  totalRefundedSet: MoneyBag!
  returns(first: Int, after: String): ReturnConnection!
}
extend type QueryRoot { return(id: ID!): Return }

input OrderTransactionInput {
  amount: Money! gateway: String! kind: OrderTransactionKind! orderId: ID! parentId: ID
}
input RefundLineItemInput {
  lineItemId: ID! quantity: Int! restockType: RefundLineItemRestockType locationId: ID
}
input ShippingRefundInput { amount: Money fullRefund: Boolean }
input RefundInput {
  orderId: ID! note: String notify: Boolean currency: CurrencyCode
  allowOverRefunding: Boolean = false refundLineItems: [RefundLineItemInput!]
  shipping: ShippingRefundInput transactions: [OrderTransactionInput!]
}
type RefundCreatePayload { order: Order refund: Refund userErrors: [UserError!]! }

input ReturnLineItemInput {
  fulfillmentLineItemId: ID! quantity: Int! returnReason: ReturnReason
  returnReasonNote: String = ""
}
input ReturnInput {
  orderId: ID! returnLineItems: [ReturnLineItemInput!]! notifyCustomer: Boolean = false
  requestedAt: DateTime
}
input ReverseFulfillmentOrderDisposeInput {
  reverseFulfillmentOrderLineItemId: ID! quantity: Int! locationId: ID
  dispositionType: ReverseFulfillmentOrderDispositionType!
}
input ReturnProcessReturnLineItemInput {
  id: ID! quantity: Int! dispositions: [ReverseFulfillmentOrderDisposeInput!]
}
input ReturnProcessInput {
  returnId: ID! returnLineItems: [ReturnProcessReturnLineItemInput!] = []
  notifyCustomer: Boolean = false note: String
}
type ReturnUserError { code: ReturnErrorCode field: [String!] message: String! }
type ReturnCreatePayload { return: Return userErrors: [ReturnUserError!]! }
type ReturnProcessPayload { return: Return userErrors: [ReturnUserError!]! }
type ReturnClosePayload { return: Return userErrors: [ReturnUserError!]! }

extend type Mutation {
  refundCreate(input: RefundInput!): RefundCreatePayload
  returnCreate(returnInput: ReturnInput!): ReturnCreatePayload
  returnProcess(input: ReturnProcessInput!): ReturnProcessPayload
  returnClose(id: ID!): ReturnClosePayload
}
"""

_PAID = frozenset({"paid", "partially_refunded", "refunded", "partially_paid"})


def _num(gid: Any, kind: str) -> str | None:
    text = str(gid or "")
    prefix = f"gid://shopify/{kind}/"
    if text.startswith(prefix):
        text = text[len(prefix) :].split("?", 1)[0]
    return text if text.isdigit() else None


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


class ShopAfterSale:
    """Refunds and returns of a ``ShopState`` (the caller holds the fake's lock)."""

    def __init__(self, state: ShopState) -> None:
        self.state = state
        self.returns: dict[int, dict[str, Any]] = {}
        """Return number -> its record (order id, status, lines, reverse line items)."""

    # -- reading ---------------------------------------------------------------------------

    def transactions(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's transactions (a paid order seeded without any gets one SALE)."""
        if "transactions" not in order:
            txs: list[dict[str, Any]] = []
            total = _money(order.get("total_price")) or Decimal(0)
            if (order.get("financial_status") or "") in _PAID and total > 0:
                txs.append(
                    {
                        "id": self.state.next_id(),
                        "kind": "sale",
                        "status": "success",
                        "amount": f"{total:.2f}",
                        "gateway": order.get("gateway") or "bogus",
                        "created_at": order.get("processed_at") or order.get("created_at"),
                        "parent_id": None,
                    }
                )
            order["transactions"] = txs
        result: list[dict[str, Any]] = order["transactions"]
        return result

    def refunded(self, order: dict[str, Any]) -> Decimal:
        """Money refunded so far (successful refund transactions)."""
        return sum(
            (
                _money(t.get("amount")) or Decimal(0)
                for t in self.transactions(order)
                if t.get("kind") == "refund" and (t.get("status") or "success") == "success"
            ),
            Decimal(0),
        )

    def captured(self, order: dict[str, Any]) -> Decimal:
        """Money captured (successful SALE and CAPTURE transactions)."""
        return sum(
            (
                _money(t.get("amount")) or Decimal(0)
                for t in self.transactions(order)
                if t.get("kind") in ("sale", "capture")
                and (t.get("status") or "success") == "success"
            ),
            Decimal(0),
        )

    def order_fields(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The ``Order`` fields this module adds."""
        order = cast(dict[str, Any], record)  # the shop's own record: transactions are kept on it
        currency = order.get("currency") or self.state.currency
        order_id = str(order["id"])

        def transactions(_info: Any, first: int | None = None) -> list[dict[str, Any]]:
            by_id = {str(t["id"]): t for t in self.transactions(order)}
            out = [self._render_tx(t, by_id, currency) for t in self.transactions(order)]
            return out[:first] if first is not None else out

        def returns(_info: Any, first: int | None = None, after: str | None = None) -> Any:
            from channelsync.sandbox.shopify.state import connection

            mine = [n for n, r in self.returns.items() if r["order_id"] == order_id]
            return connection(
                mine, key=lambda n: (n,), render=self.render_return, first=first, after=after
            )

        return {
            "transactions": transactions,
            "totalRefundedSet": lambda _info: _bag(self.refunded(order), currency),
            "returns": returns,
        }

    def _render_tx(
        self, tx: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]], currency: str
    ) -> dict[str, Any]:
        parent = by_id.get(str(tx.get("parent_id"))) if tx.get("parent_id") else None
        return {
            "id": f"gid://shopify/OrderTransaction/{tx['id']}",
            "kind": str(tx.get("kind") or "sale").upper(),
            "status": str(tx.get("status") or "success").upper(),
            "gateway": tx.get("gateway"),
            "amountSet": _bag(_money(tx.get("amount")) or Decimal(0), currency),
            "createdAt": tx.get("created_at"),
            "parentTransaction": (
                self._render_tx(parent, by_id, currency) if parent is not None else None
            ),
        }

    def find_return(self, _info: Any, id: str) -> dict[str, Any] | None:
        """``QueryRoot.return``."""
        number = _num(id, "Return")
        return self.render_return(int(number)) if number and int(number) in self.returns else None

    def render_return(self, number: int) -> dict[str, Any]:
        """A GraphQL ``Return``."""
        from channelsync.sandbox.shopify.state import connection

        record = self.returns[number]
        order = self.state.orders[record["order_id"]]
        currency = order.get("currency") or self.state.currency

        def fulfillment_line(ref: tuple[str, int]) -> dict[str, Any] | None:
            found = self._fulfillment_line(order, ref[0], ref[1])
            if found is None:
                return None
            fli, line = found
            return {
                "id": fli,
                "quantity": int(line.get("quantity", 0)),
                "lineItem": self.state.render_line(
                    self.state._line(order, str(line["id"])) or line, currency
                ),
            }

        def render_line(li: dict[str, Any]) -> dict[str, Any]:
            return {
                "__typename": "ReturnLineItem",
                "id": f"gid://shopify/ReturnLineItem/{li['number']}",
                "quantity": li["quantity"],
                "processedQuantity": li["processed"],
                "returnReason": li.get("reason"),
                "returnReasonNote": li.get("note") or "",
                "fulfillmentLineItem": fulfillment_line(li["fulfillment_line"]),
            }

        def render_reverse_line(li: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": f"gid://shopify/ReverseFulfillmentOrderLineItem/{li['reverse_number']}",
                "totalQuantity": li["quantity"],
                "fulfillmentLineItem": fulfillment_line(li["fulfillment_line"]),
                "dispositions": [
                    {
                        "id": f"gid://shopify/ReverseFulfillmentOrderDisposition/{d['id']}",
                        "quantity": d["quantity"],
                        "type": d["type"],
                        "location": (
                            self.state.render_location(self.state.locations[d["location"]])
                            if d.get("location") in self.state.locations
                            else None
                        ),
                    }
                    for d in li["dispositions"]
                ],
            }

        lines = record["lines"]
        return {
            "id": f"gid://shopify/Return/{number}",
            "name": record["name"],
            "status": record["status"],
            "totalQuantity": sum(li["quantity"] for li in lines),
            "returnLineItems": lambda _info, first=None, after=None: connection(
                lines,
                key=lambda li: (li["number"],),
                render=render_line,
                first=first,
                after=after,
            ),
            "reverseFulfillmentOrders": lambda _info, first=None, after=None: connection(
                [record],
                key=lambda r: (r["reverse_number"],),
                render=lambda r: {
                    "id": f"gid://shopify/ReverseFulfillmentOrder/{r['reverse_number']}",
                    "lineItems": lambda _i, first=None, after=None: connection(
                        r["lines"],
                        key=lambda li: (li["reverse_number"],),
                        render=render_reverse_line,
                        first=first,
                        after=after,
                    ),
                },
                first=first,
                after=after,
            ),
        }

    # -- fulfillment line items ------------------------------------------------------------

    def _fulfillment_line(
        self, order: Mapping[str, Any], fulfillment_id: str, position: int
    ) -> tuple[str, Mapping[str, Any]] | None:
        """(FulfillmentLineItem GID, the fulfillment's line) of a fulfillment's n-th line."""
        for f in order.get("fulfillments") or []:
            if str(f.get("id")) != fulfillment_id:
                continue
            items = list(f.get("line_items") or [])
            if not 0 <= position < len(items):
                return None
            number = int(fulfillment_id) if fulfillment_id.isdigit() else 0
            return f"gid://shopify/FulfillmentLineItem/{number * 1000 + position + 1}", items[
                position
            ]
        return None

    def _fulfillment_line_ref(
        self, order: Mapping[str, Any], gid: str
    ) -> tuple[str, int, Mapping[str, Any]] | None:
        """(fulfillment id, position, line) a ``FulfillmentLineItem`` GID names."""
        number = _num(gid, "FulfillmentLineItem")
        if number is None:
            return None
        fulfillment_number, position = divmod(int(number) - 1, 1000)
        for f in order.get("fulfillments") or []:
            if str(f.get("id")) == str(fulfillment_number) and (
                (f.get("status") or "success").lower() == "success"
            ):
                items = list(f.get("line_items") or [])
                if 0 <= position < len(items):
                    return str(f["id"]), position, items[position]
        return None

    def _returned(self, order_id: str, ref: tuple[str, int]) -> int:
        """Units of a fulfillment line in returns that are not cancelled or declined."""
        return sum(
            li["quantity"]
            for r in self.returns.values()
            if r["order_id"] == order_id and r["status"] not in ("CANCELED", "DECLINED")
            for li in r["lines"]
            if tuple(li["fulfillment_line"]) == ref
        )

    # -- refundCreate ----------------------------------------------------------------------

    def refund_create(self, info: GraphQLResolveInfo[Any], input: dict[str, Any]) -> Any:
        """``refundCreate`` with Shopify's checks (see the module doc)."""
        state = self.state
        key = state._idempotency_key(info)
        if key is None and info.context["idempotency_required"]:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation: pass"
                ' @idempotent(key: "<unique key>").',
                extensions={"code": "BAD_REQUEST"},
            )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        stored = state.idempotency.get(f"refundCreate:{key}") if key else None
        if stored is not None:
            seen, result = stored
            if seen != fingerprint:
                return self._refuse_refund(
                    None,
                    "The same idempotency key cannot be used with different operation parameters.",
                )
            return result
        result = self._refund(input)
        if key is not None and not result["userErrors"]:
            state.idempotency[f"refundCreate:{key}"] = (fingerprint, result)
        return result

    @staticmethod
    def _refuse_refund(field: list[str] | None, message: str) -> dict[str, Any]:
        return {"order": None, "refund": None, "userErrors": [{"field": field, "message": message}]}

    def _refund(self, input: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        number = _num(input.get("orderId"), "Order")
        order = state.orders.get(number) if number else None
        if order is None:
            return self._refuse_refund(["orderId"], "Order does not exist")
        order_id = str(order["id"])
        if order.get("test") is False and order.get("financial_status") == "voided":
            return self._refuse_refund(["orderId"], "Order payment was voided")
        currency = order.get("currency") or state.currency
        wanted_currency = input.get("currency")
        presentment = order.get("presentment_currency") or currency
        if presentment != currency and not wanted_currency:
            return self._refuse_refund(
                ["currency"], "Currency is required when the presentment currency differs"
            )
        plans: list[tuple[dict[str, Any], int, str, str | None, int]] = []
        removing: dict[str, int] = {}
        for i, rli in enumerate(input.get("refundLineItems") or []):
            path = ["refundLineItems", str(i)]
            line_no = _num(rli.get("lineItemId"), "LineItem")
            line = state._line(order, line_no) if line_no else None
            if line is None:
                return self._refuse_refund([*path, "lineItemId"], "Line item does not exist")
            qty = int(rli["quantity"])
            kind = str(rli.get("restockType") or "NO_RESTOCK")
            current = int(line.get("current_quantity", line["quantity"]))
            already = removing.get(str(line["id"]), 0)
            if qty <= 0 or qty + already > current:
                return self._refuse_refund(
                    [*path, "quantity"], "cannot refund more items than were purchased"
                )
            removing[str(line["id"])] = already + qty
            unfulfilled = int(line.get("fulfillable_quantity", 0) or 0)
            fulfilled = current - unfulfilled
            if kind == "LEGACY_RESTOCK":
                return self._refuse_refund(
                    [*path, "restockType"],
                    "LEGACY_RESTOCK is not accepted when creating new refunds",
                )
            if kind == "CANCEL" and qty > unfulfilled:
                return self._refuse_refund(
                    [*path, "restockType"],
                    f"only {unfulfilled} unfulfilled unit(s) can be restocked as CANCEL;"
                    " restock fulfilled units as RETURN",
                )
            if kind == "RETURN" and qty > fulfilled:
                return self._refuse_refund(
                    [*path, "restockType"],
                    f"only {fulfilled} fulfilled unit(s) can be restocked as RETURN;"
                    " restock unfulfilled units as CANCEL",
                )
            location = None
            if kind in ("CANCEL", "RETURN"):
                location = rli.get("locationId") or state.line_location(order_id, str(line["id"]))
                if location not in state.locations:
                    return self._refuse_refund([*path, "locationId"], "Location does not exist")
            plans.append((line, qty, kind, location, unfulfilled))
        txs = self.transactions(order)
        by_id = {str(t["id"]): t for t in txs}
        refunded_by_parent: dict[str, Decimal] = {}
        for t in txs:
            if t.get("kind") == "refund" and t.get("parent_id"):
                pid = str(t["parent_id"])
                refunded_by_parent[pid] = refunded_by_parent.get(pid, Decimal(0)) + (
                    _money(t.get("amount")) or Decimal(0)
                )
        new_txs: list[dict[str, Any]] = []
        total = Decimal(0)
        for j, tx in enumerate(input.get("transactions") or []):
            path = ["transactions", str(j)]
            amount = _money(tx.get("amount"))
            if amount is None or amount <= 0:
                return self._refuse_refund([*path, "amount"], "Amount must be greater than 0")
            if str(tx.get("kind")) != "REFUND":
                return self._refuse_refund([*path, "kind"], "Kind must be REFUND")
            if _num(tx.get("orderId"), "Order") != order_id:
                return self._refuse_refund([*path, "orderId"], "Order does not match")
            parent_no = _num(tx.get("parentId"), "OrderTransaction")
            parent = by_id.get(parent_no or "")
            if parent is None or parent.get("kind") not in ("sale", "capture"):
                return self._refuse_refund(
                    [*path, "parentId"], "Parent transaction must be a successful sale or capture"
                )
            if str(tx.get("gateway")) != str(parent.get("gateway")):
                return self._refuse_refund(
                    [*path, "gateway"], "Gateway must match the parent transaction's gateway"
                )
            left = (_money(parent.get("amount")) or Decimal(0)) - refunded_by_parent.get(
                str(parent["id"]), Decimal(0)
            )
            if amount > left and not input.get("allowOverRefunding"):
                return self._refuse_refund(
                    [*path, "amount"],
                    f"Amount cannot be greater than the {left:.2f} {currency} refundable on"
                    " the parent transaction",
                )
            refunded_by_parent[str(parent["id"])] = (
                refunded_by_parent.get(str(parent["id"]), Decimal(0)) + amount
            )
            total += amount
            new_txs.append(
                {
                    "id": state.next_id(),
                    "kind": "refund",
                    "status": "success",
                    "amount": f"{amount:.2f}",
                    "gateway": parent.get("gateway"),
                    "parent_id": parent["id"],
                    "created_at": None,
                }
            )
        maximum = self.captured(order) - self.refunded(order)
        if total > maximum and not input.get("allowOverRefunding"):
            return self._refuse_refund(
                ["transactions"],
                f"Refund amount {total:.2f} {currency} exceeds the {maximum:.2f} {currency}"
                " that can be refunded",
            )
        return self._apply_refund(order, input, plans, new_txs, total)

    def _apply_refund(
        self,
        order: dict[str, Any],
        input: Mapping[str, Any],
        plans: list[tuple[dict[str, Any], int, str, str | None, int]],
        new_txs: list[dict[str, Any]],
        total: Decimal,
    ) -> dict[str, Any]:
        state = self.state
        now = state.stamp().isoformat().replace("+00:00", "Z")
        record_id = state.next_id()
        lines_out = []
        for line, qty, kind, location, unfulfilled in plans:
            removed_unfulfilled = min(qty, unfulfilled) if kind in ("CANCEL", "NO_RESTOCK") else 0
            if kind == "NO_RESTOCK":
                fulfilled_left = int(line.get("current_quantity", line["quantity"])) - unfulfilled
                removed_unfulfilled = max(0, qty - fulfilled_left)
            line["current_quantity"] = int(line.get("current_quantity", line["quantity"])) - qty
            line["fulfillable_quantity"] = unfulfilled - removed_unfulfilled
            if kind in ("CANCEL", "RETURN") and location is not None:
                self._restock(line, location, qty, on_hand=kind == "RETURN")
            lines_out.append(
                {
                    "id": state.next_id(),
                    "line_item_id": line["id"],
                    "quantity": qty,
                    "restock_type": kind.lower(),
                    "location_id": _num(location, "Location") if location else None,
                }
            )
        for tx in new_txs:
            tx["created_at"] = now
        self.transactions(order).extend(new_txs)
        record = {
            "id": record_id,
            "admin_graphql_api_id": f"gid://shopify/Refund/{record_id}",
            "created_at": now,
            "note": input.get("note"),
            "restock": any(kind != "NO_RESTOCK" for _, _, kind, _, _ in plans),
            "refund_line_items": lines_out,
            "transactions": [copy.deepcopy(t) for t in new_txs],
        }
        order.setdefault("refunds", []).append(record)
        price = _money(order.get("total_price")) or Decimal(0)
        if total > 0 or self.refunded(order) > 0:
            order["financial_status"] = (
                "refunded" if self.refunded(order) >= price > 0 else "partially_refunded"
            )
        state.touch(order)
        state.notify("orders/updated", order)
        rendered = state.render_order(order)
        refund = rendered["refunds"](None)[-1]
        return {"order": rendered, "refund": refund, "userErrors": []}

    def _restock(self, line: Mapping[str, Any], location: str, qty: int, *, on_hand: bool) -> None:
        state = self.state
        variant_number = line.get("variant_id")
        if not variant_number or int(variant_number) not in state.variants:
            return
        item = state.items[state.variants[int(variant_number)].item]
        level = item.levels.get(location)
        if level is None or not item.tracked:
            return
        level.available += qty
        if on_hand:
            level.on_hand += qty
        else:
            # Unfulfilled units (CANCEL) were committed there: they become available again.
            level.committed = max(0, level.committed - qty)
        level.updated_at = state.stamp()

    # -- returns ---------------------------------------------------------------------------

    @staticmethod
    def _refuse_return(code: str, field: list[str] | None, message: str) -> dict[str, Any]:
        return {"return": None, "userErrors": [{"code": code, "field": field, "message": message}]}

    def return_create(self, _info: Any, returnInput: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        """``returnCreate``: an OPEN return of fulfilled units not returned yet."""
        state = self.state
        number = _num(returnInput.get("orderId"), "Order")
        order = state.orders.get(number) if number else None
        if order is None:
            return self._refuse_return("NOT_FOUND", ["returnInput", "orderId"], "Order not found")
        order_id = str(order["id"])
        items = returnInput.get("returnLineItems") or []
        if not items:
            return self._refuse_return(
                "BLANK", ["returnInput", "returnLineItems"], "Return line items can't be blank"
            )
        lines: list[dict[str, Any]] = []
        asked: dict[tuple[str, int], int] = {}
        for i, item in enumerate(items):
            path = ["returnInput", "returnLineItems", str(i)]
            ref = self._fulfillment_line_ref(order, str(item.get("fulfillmentLineItemId")))
            if ref is None:
                return self._refuse_return(
                    "NOT_FOUND", [*path, "fulfillmentLineItemId"], "Fulfillment line item not found"
                )
            fulfillment_id, position, line = ref
            key = (fulfillment_id, position)
            qty = int(item["quantity"])
            returnable = int(line.get("quantity", 0)) - self._returned(order_id, key)
            returnable -= asked.get(key, 0)
            if qty <= 0:
                return self._refuse_return(
                    "GREATER_THAN", [*path, "quantity"], "Quantity must be greater than 0"
                )
            if qty > returnable:
                return self._refuse_return(
                    "INVALID",
                    [*path, "quantity"],
                    f"Quantity cannot exceed the returnable quantity ({max(0, returnable)})",
                )
            asked[key] = asked.get(key, 0) + qty
            lines.append(
                {
                    "number": state.next_id(),
                    "reverse_number": state.next_id(),
                    "fulfillment_line": key,
                    "order_line": str(line.get("id")),
                    "quantity": qty,
                    "processed": 0,
                    "reason": item.get("returnReason"),
                    "note": item.get("returnReasonNote") or "",
                    "dispositions": [],
                }
            )
        return_number = state.next_id()
        count = sum(1 for r in self.returns.values() if r["order_id"] == order_id) + 1
        self.returns[return_number] = {
            "order_id": order_id,
            "name": f"{order.get('name')}-R{count}",
            "status": "OPEN",
            "reverse_number": state.next_id(),
            "lines": lines,
        }
        state.touch(order)
        return {"return": self.render_return(return_number), "userErrors": []}

    def return_process(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        """``returnProcess``: dispose return line items (restock at a location or not)."""
        state = self.state
        number = _num(input.get("returnId"), "Return")
        record = self.returns.get(int(number)) if number else None
        if record is None:
            return self._refuse_return("NOT_FOUND", ["input", "returnId"], "Return not found")
        if record["status"] != "OPEN":
            return self._refuse_return(
                "INVALID_STATE",
                ["input", "returnId"],
                f"Return is {record['status'].lower()} and cannot be processed",
            )
        by_number = {li["number"]: li for li in record["lines"]}
        by_reverse = {li["reverse_number"]: li for li in record["lines"]}
        plan: list[tuple[dict[str, Any], list[tuple[int, str, str | None]]]] = []
        for i, item in enumerate(input.get("returnLineItems") or []):
            path = ["input", "returnLineItems", str(i)]
            li_no = _num(item.get("id"), "ReturnLineItem")
            li: dict[str, Any] | None = by_number.get(int(li_no)) if li_no else None
            if li is None:
                return self._refuse_return("NOT_FOUND", [*path, "id"], "Return line item not found")
            entry: dict[str, Any] = li
            qty = int(item["quantity"])
            if qty <= 0 or qty > li["quantity"] - li["processed"]:
                return self._refuse_return(
                    "INVALID",
                    [*path, "quantity"],
                    f"Quantity cannot exceed the unprocessed quantity"
                    f" ({li['quantity'] - li['processed']})",
                )
            disposals: list[tuple[int, str, str | None]] = []
            for j, d in enumerate(item.get("dispositions") or []):
                dpath = [*path, "dispositions", str(j)]
                rev_no = _num(
                    d.get("reverseFulfillmentOrderLineItemId"), "ReverseFulfillmentOrderLineItem"
                )
                if rev_no is None or by_reverse.get(int(rev_no)) is not li:
                    return self._refuse_return(
                        "NOT_FOUND",
                        [*dpath, "reverseFulfillmentOrderLineItemId"],
                        "Reverse fulfillment order line item not found",
                    )
                kind = str(d["dispositionType"])
                location = d.get("locationId")
                if kind == "RESTOCKED":
                    if not location:
                        return self._refuse_return(
                            "BLANK",
                            [*dpath, "locationId"],
                            "Location is required when the disposition type is RESTOCKED",
                        )
                    if location not in state.locations:
                        return self._refuse_return(
                            "NOT_FOUND", [*dpath, "locationId"], "Location not found"
                        )
                disposals.append((int(d["quantity"]), kind, location))
            if disposals and sum(q for q, _, _ in disposals) != qty:
                return self._refuse_return(
                    "INVALID",
                    [*path, "dispositions"],
                    "The dispositions' quantities must add up to the quantity processed",
                )
            plan.append((entry, disposals or [(qty, "NOT_RESTOCKED", None)]))
        order = state.orders[record["order_id"]]
        for li, disposals in plan:
            for qty, kind, location in disposals:
                li["processed"] += qty
                li["dispositions"].append(
                    {"id": state.next_id(), "quantity": qty, "type": kind, "location": location}
                )
                line = state._line(order, li["order_line"])
                if kind == "RESTOCKED" and location is not None and line is not None:
                    self._restock(line, location, qty, on_hand=True)
        state.touch(order)
        state.notify("orders/updated", order)
        return {"return": self.render_return(int(number or 0)), "userErrors": []}

    def return_close(self, _info: Any, id: str) -> dict[str, Any]:
        """``returnClose``: an open return is complete."""
        number = _num(id, "Return")
        record = self.returns.get(int(number)) if number else None
        if record is None:
            return self._refuse_return("NOT_FOUND", ["id"], "Return not found")
        if record["status"] != "OPEN":
            return self._refuse_return(
                "INVALID_STATE", ["id"], f"Return is {record['status'].lower()}, not open"
            )
        record["status"] = "CLOSED"
        return {"return": self.render_return(int(number or 0)), "userErrors": []}

    def mutations(self) -> dict[str, Callable[..., Any]]:
        """The mutation resolvers."""
        return {
            "refundCreate": self.refund_create,
            "returnCreate": self.return_create,
            "returnProcess": self.return_process,
            "returnClose": self.return_close,
        }
