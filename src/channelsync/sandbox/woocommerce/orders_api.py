"""The WooCommerce fake's order routes: orders, notes, refunds and Shipment Tracking."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from channelsync.sandbox._base import Scope
from channelsync.sandbox.woocommerce.api import Api
from channelsync.sandbox.woocommerce.shop import ORDER_STATUSES, FakeOrder, WcError, invalid_param

__all__ = ["OrderRoutes"]


class OrderRoutes(Api):
    """``/wc/v3/orders…`` and ``/wc-shipment-tracking/v3/orders/{id}/shipment-trackings``."""

    def _orders(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        query = request.query_params
        gmt = self._bool(query, "dates_are_gmt")
        order = self._enum(query, "order", "desc", ("asc", "desc"))
        orderby = self._enum(
            query, "orderby", "date", ("date", "id", "include", "title", "slug", "modified")
        )
        statuses: list[str] | None = None
        raw_status = query.get("status", "any")
        if raw_status != "any":
            statuses = [s.strip() for s in raw_status.split(",") if s.strip()]
            for status in statuses:
                if status not in (*ORDER_STATUSES, "trash", "any"):
                    raise invalid_param(
                        "status",
                        f"status[0] is not one of any, {', '.join(ORDER_STATUSES)}, trash.",
                    )
        after = before = None
        if (value := self._date(query, "modified_after", gmt)) is not None:
            after = ("modified", value)
        elif (value := self._date(query, "after", gmt)) is not None:
            after = ("created", value)
        if (value := self._date(query, "modified_before", gmt)) is not None:
            before = ("modified", value)
        elif (value := self._date(query, "before", gmt)) is not None:
            before = ("created", value)
        found = self.shop.orders_matching(after=after, before=before, statuses=statuses)
        exclude = self._ids(query, "exclude")
        include = self._ids(query, "include")
        found = [o for o in found if o.id not in exclude and (not include or o.id in include)]

        def key(o: FakeOrder) -> tuple[Any, ...]:
            if orderby == "modified":
                return (o.modified, o.id)
            if orderby == "date":
                return (o.created, o.id)
            return (o.id,)

        found.sort(key=key, reverse=order == "desc")
        return self._paged(request, found, self.shop.order_json)

    def _create_order(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        data = self._json_body(body)
        status = str(data.pop("status", "pending"))
        if status not in ORDER_STATUSES:
            raise invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
        set_paid = data.pop("set_paid", False) is True
        order = self.shop.add_order({**data, "status": "pending"})
        self.shop.set_status(order, "processing" if set_paid and status == "pending" else status)
        payload = self.shop.order_json(order)
        self._emit("order.created", order.id, payload)
        return JSONResponse(payload, status_code=201)

    def _find_order(self, params: dict[str, str], status: int = 404) -> FakeOrder:
        order = self.shop.orders.get(int(params["id"]))
        if order is None or (order.status == "trash" and status == 400):
            raise WcError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
        return order

    def _get_order(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        return JSONResponse(self.shop.order_json(self._find_order(params)))

    def _update_order(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._find_order(params, status=400)
        data = self._json_body(body)
        if "status" in data and data["status"] not in ORDER_STATUSES:
            raise invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
        if "customer_note" in data:
            order.data["customer_note"] = str(data["customer_note"])
        for entry in data.get("meta_data") or []:
            if isinstance(entry, dict) and entry.get("key"):
                meta = order.data.setdefault("meta_data", [])
                meta[:] = [m for m in meta if m.get("key") != entry["key"]]
                meta.append(
                    {"id": self.shop.next_id(), "key": entry["key"], "value": entry.get("value")}
                )
        if data.get("set_paid") is True and order.status == "pending":
            self.shop.set_status(order, "processing")
        if "status" in data:
            self.shop.set_status(order, str(data["status"]))
        self.shop.touch(order)
        payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)
        return JSONResponse(payload)

    def _delete_order(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._find_order(params)
        force = self._bool(request.query_params, "force")
        if force:
            payload = self.shop.order_json(order)
            del self.shop.orders[order.id]
        else:
            if order.status == "trash":
                raise WcError(
                    "woocommerce_rest_already_trashed",
                    "The shop_order has already been deleted.",
                    410,
                )
            order.data["status"] = "trash"
            self.shop.touch(order)
            payload = self.shop.order_json(order)
        self._emit("order.deleted", order.id, {"id": order.id})
        return JSONResponse(payload)

    def _notes(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._find_order(params)
        return JSONResponse([self.shop.note_json(order, n) for n in order.notes])

    def _add_note(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._find_order(params)
        data = self._json_body(body)
        note = data.get("note")
        if not isinstance(note, str) or not note:
            raise WcError(
                "rest_missing_callback_param", "Missing parameter(s): note", 400, params=["note"]
            )
        customer = data.get("customer_note", False)
        if not isinstance(customer, bool):
            raise invalid_param("customer_note", "customer_note is not of type boolean.")
        entry = self.shop.add_note(order, note, customer_note=customer, author="channelsync")
        return JSONResponse(self.shop.note_json(order, entry), status_code=201)

    def _refunds(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._find_order(params)
        return self._paged(request, order.refunds, lambda r: self.shop.refund_json(order, r))

    def _add_refund(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self.shop.orders.get(int(params["id"]))
        if order is None:
            raise WcError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
        data = self._json_body(body)
        for flag in ("api_refund", "api_restock"):
            if flag in data and not isinstance(data[flag], bool):
                raise invalid_param(flag, f"{flag} is not of type boolean.")
        if "amount" in data and not isinstance(data["amount"], str):
            raise invalid_param("amount", "amount is not of type string.")
        refund = self.shop.add_refund(order, data, api_user=1)
        payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)
        return JSONResponse(self.shop.refund_json(order, refund), status_code=201)

    def _tracking_order(self, params: dict[str, str]) -> FakeOrder:
        order = self.shop.orders.get(int(params["id"]))
        if order is None:
            raise WcError("woocommerce_rest_order_invalid_id", "Order ID is invalid.", 404)
        return order

    def _trackings(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._tracking_order(params)
        return JSONResponse([self.shop.tracking_json(order, t) for t in order.trackings])

    def _add_tracking(
        self, request: Request, body: bytes, params: dict[str, str], scope: Scope
    ) -> Response:
        order = self._tracking_order(params)
        entry = self.shop.add_tracking(order, self._json_body(body))
        payload = self.shop.order_json(order)
        self._emit("order.updated", order.id, payload)
        return JSONResponse(self.shop.tracking_json(order, entry), status_code=201)
