"""Orders API v2026-01-01 (searchOrders, getOrder) and v0 confirmShipment of the fake."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from starlette.requests import Request

from channelsync.sandbox._base import request_state
from channelsync.sandbox.amazon._state import (
    DATASETS,
    FULFILLMENT_STATUSES,
    MARKETS,
    AmazonState,
    Answer,
    PageSnapshot,
    csv_values,
    error_answer,
    invalid_input,
    iso_ms,
    iso_us,
    parse_time,
)

__all__ = ["OrdersApi"]


class OrdersApi(AmazonState):
    """Orders API v2026-01-01 (searchOrders, getOrder) and v0 confirmShipment of the fake."""

    def _shaped(self, order: dict[str, Any], included: set[str]) -> dict[str, Any]:
        out = copy.deepcopy(order)
        for dataset, (order_keys, item_keys) in DATASETS.items():
            if dataset in included:
                continue
            for key in order_keys:
                out.pop(key, None)
            for item in out.get("orderItems", []):
                for key in item_keys:
                    item.pop(key, None)
        return out

    def _included(self, query: Mapping[str, str]) -> set[str] | Answer:
        values = csv_values([query.get("includedData", "")])
        bad = [v for v in values if v not in DATASETS]
        if bad:
            return invalid_input(f"includedData value(s) not supported: {', '.join(bad)}")
        return set(values)

    def _op_searchOrders(  # noqa: N802 - named after the operation
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        created_after = query.get("createdAfter")
        updated_after = query.get("lastUpdatedAfter")
        if bool(created_after) == bool(updated_after):
            return invalid_input(
                "Exactly one of createdAfter and lastUpdatedAfter must be provided."
            )
        if created_after and (query.get("lastUpdatedBefore")):
            return invalid_input("lastUpdatedBefore cannot be combined with createdAfter.")
        if updated_after and query.get("createdBefore"):
            return invalid_input("createdBefore cannot be combined with lastUpdatedAfter.")
        now = self.clock()
        field_name = "createdTime" if created_after else "lastUpdatedTime"
        after = parse_time(created_after or updated_after or "")
        if after is None:
            return invalid_input(
                f"{'createdAfter' if created_after else 'lastUpdatedAfter'} is not ISO 8601."
            )
        if after > now:
            return invalid_input("The after date cannot be in the future.")
        before_raw = query.get("createdBefore" if created_after else "lastUpdatedBefore")
        before = parse_time(before_raw) if before_raw else None
        if before_raw and before is None:
            return invalid_input("The before date is not ISO 8601.")
        if before is not None and before < after:
            return invalid_input("The before date must be equal to or after the after date.")
        if before is not None and before > now - timedelta(minutes=2):
            return invalid_input(
                "The before date must be at least two minutes before the time of the request."
            )
        try:
            size = int(query.get("maxResultsPerPage", "100"))
        except ValueError:
            return invalid_input("maxResultsPerPage must be an integer.")
        if not 1 <= size <= 100:
            return invalid_input("maxResultsPerPage must be between 1 and 100.")
        included = self._included(query)
        if isinstance(included, tuple):
            return included
        statuses = set(csv_values([query.get("fulfillmentStatuses", "")]))
        bad = statuses - set(FULFILLMENT_STATUSES)
        if bad:
            return invalid_input(f"fulfillmentStatuses not supported: {', '.join(sorted(bad))}")
        markets = set(csv_values([query.get("marketplaceIds", "")]))
        unknown = markets - set(self.marketplace_ids) - set(MARKETS)
        if unknown:
            return invalid_input(f"Invalid marketplaceIds: {', '.join(sorted(unknown))}")
        fulfilled_by = set(csv_values([query.get("fulfilledBy", "")]))
        key = json.dumps(
            {k: v for k, v in sorted(query.items()) if k != "paginationToken"}, sort_keys=True
        )
        token = query.get("paginationToken")
        if token:
            page = self._pages.get(token)
            if page is None or page.key != key:
                return invalid_input("The paginationToken is not valid for this request.")
            ids, offset = page.ids, page.offset
        else:
            matching = []
            for order_id in self._orders:
                order = self.searchable(order_id)  # the search index lags behind
                if order is None:
                    continue
                when = parse_time(str(order[field_name]))
                if when is None or when < after or (before is not None and when > before):
                    continue
                if when > now:
                    continue
                fulfillment = order.get("fulfillment", {})
                if statuses and fulfillment.get("fulfillmentStatus") not in statuses:
                    continue
                if fulfilled_by and fulfillment.get("fulfilledBy") not in fulfilled_by:
                    continue
                if markets and order["salesChannel"].get("marketplaceId") not in markets:
                    continue
                matching.append(order)
            # Amazon promises no order of results: this fake returns them by creation time.
            matching.sort(key=lambda o: (str(o["createdTime"]), str(o["orderId"])))
            ids, offset = [str(o["orderId"]) for o in matching], 0
        chunk = ids[offset : offset + size]
        found = [self.searchable(i) for i in chunk]
        answer: dict[str, Any] = {
            "orders": [self._shaped(doc, included) for doc in found if doc is not None]
        }
        if offset + size < len(ids):
            next_token = secrets.token_urlsafe(24)
            self._pages[next_token] = PageSnapshot(key, ids, offset + size)
            answer["pagination"] = {"nextToken": next_token}
        bound = iso_ms(before or now)
        answer["createdBefore" if created_after else "lastUpdatedBefore"] = bound
        request_state(request.scope).items = len(chunk)
        return 200, answer, {}

    def _op_getOrder(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        included = self._included(query)
        if isinstance(included, tuple):
            return included
        order = self._orders.get(params["orderId"])
        if order is None:
            return error_answer(404, "NotFound", f"Order {params['orderId']} not found.")
        return 200, {"order": self._shaped(order, included)}, {}

    def _op_confirmShipment(  # noqa: N802
        self, params: Mapping[str, str], query: Mapping[str, str], body: Any, request: Request
    ) -> Answer:
        order = self._orders.get(params["orderId"])
        if order is None:
            return error_answer(404, "NotFound", f"Order {params['orderId']} not found.")
        if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
            return error_answer(400, "InvalidInput", "Invalid Input", "packageDetail is required.")
        if body.get("marketplaceId") != order["salesChannel"].get("marketplaceId"):
            return error_answer(
                400, "InvalidInput", "Invalid Input", "marketplaceId does not match the order."
            )
        detail = body["packageDetail"]
        for required in (
            "packageReferenceId",
            "carrierCode",
            "trackingNumber",
            "shipDate",
            "orderItems",
        ):
            if not detail.get(required):
                return error_answer(
                    400, "InvalidInput", "Invalid Input", f"{required} is required."
                )
        shipped = parse_time(str(detail["shipDate"]))
        if shipped is None:
            return error_answer(400, "InvalidInput", "Invalid Input")
        fulfillment = order.setdefault("fulfillment", {})
        if fulfillment.get("fulfilledBy") == "AMAZON":
            return error_answer(
                400, "InvalidInput", "Invalid Input", "The order is fulfilled by Amazon."
            )
        if fulfillment.get("fulfillmentStatus") in ("CANCELLED", "PENDING", "PENDING_AVAILABILITY"):
            return error_answer(
                400,
                "InvalidInput",
                "Invalid Input",
                f"The order is {fulfillment.get('fulfillmentStatus')} and cannot ship.",
            )
        packages = order.setdefault("packages", [])
        if any(p.get("packageReferenceId") == str(detail["packageReferenceId"]) for p in packages):
            return error_answer(
                400, "InvalidInput", "Invalid Input", "packageReferenceId is already used."
            )
        items = {i["orderItemId"]: i for i in order["orderItems"]}
        wanted: list[tuple[dict[str, Any], int]] = []
        for entry in detail["orderItems"]:
            item = items.get(entry.get("orderItemId"))
            qty = entry.get("quantity")
            if item is None or not isinstance(qty, int) or qty < 1:
                return error_answer(
                    400, "InvalidInput", "Invalid Input", f"Invalid order item {entry}."
                )
            item_f = item.setdefault(
                "fulfillment",
                {"quantityFulfilled": 0, "quantityUnfulfilled": item["quantityOrdered"]},
            )
            if qty > item_f.get("quantityUnfulfilled", 0):
                return error_answer(
                    400,
                    "InvalidInput",
                    "Invalid Input",
                    f"Item {item['orderItemId']} has"
                    f" {item_f.get('quantityUnfulfilled', 0)} unit(s) to ship.",
                )
            wanted.append((item, qty))
        for item, qty in wanted:
            item["fulfillment"]["quantityFulfilled"] = (
                item["fulfillment"].get("quantityFulfilled", 0) + qty
            )
            item["fulfillment"]["quantityUnfulfilled"] -= qty
        now = self._tick()
        packages.append(
            {
                "packageReferenceId": str(detail["packageReferenceId"]),
                "createdTime": iso_ms(now),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": detail.get("carrierName") or detail["carrierCode"],
                "shipTime": iso_ms(shipped),
                "shippingService": detail.get("shippingMethod") or "Standard",
                "trackingNumber": detail["trackingNumber"],
                "packageItems": [
                    {"orderItemId": item["orderItemId"], "quantity": qty} for item, qty in wanted
                ],
            }
        )
        done = all(
            i.get("fulfillment", {}).get("quantityUnfulfilled", 0) == 0 for i in order["orderItems"]
        )
        fulfillment["fulfillmentStatus"] = "SHIPPED" if done else "PARTIALLY_SHIPPED"
        order["lastUpdatedTime"] = iso_us(now)
        self._changed(str(order["orderId"]))
        return 204, None, {}
