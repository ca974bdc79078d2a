"""The wire: Admin GraphQL over httpx, paced by query cost, errors mapped in one place.

Every request goes to ``/admin/api/{version}/graphql.json`` with the
``X-Shopify-Access-Token`` header. Before sending, the client waits for the operation's
expected cost in the local bucket; after each answer it adopts Shopify's
``throttleStatus``. Answers become typed payloads (``payloads.py``) or one of
channelsync's errors:

* ``THROTTLED`` (HTTP 200 or 429) -> ``RateLimited``, ``retry_after`` =
  (requested - available) / restoreRate
* HTTP 401/403, GraphQL ``ACCESS_DENIED``, 402 (frozen shop), 423 (locked shop) -> ``AuthError``
* HTTP 5xx, ``INTERNAL_SERVER_ERROR``, timeouts, resets -> ``Unavailable``
* ``MAX_COST_EXCEEDED``, ``MAX_INPUT_SIZE_EXCEEDED``, validation errors -> ``Rejected``

``userErrors`` are returned in the payloads for the channel to turn into per-item errors.
The client never retries: the engine's retry policy does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from channelsync.adapters._http import HttpClient, error_for_status, parse_retry_after
from channelsync.adapters.shopify import queries as q
from channelsync.adapters.shopify._throttle import CostThrottle, retry_after
from channelsync.adapters.shopify.config import ShopifyConfig, version_at_least
from channelsync.adapters.shopify.payloads import (
    ActivateData,
    ActivatePayload,
    CurrentItem,
    FulfillmentCreateData,
    FulfillmentCreatePayload,
    FulfillmentStateData,
    FulfillmentStateOrder,
    GqlError,
    GqlLocation,
    GqlOrder,
    GraphQLResponse,
    InventoryLevelConnection,
    ItemLevelsData,
    LineItemConnection,
    LocationsData,
    OrderCancelData,
    OrderCancelPayload,
    OrderLineItemsData,
    OrderLocationsData,
    OrderLocationsOrder,
    OrderQuantitiesData,
    OrderQuantitiesOrder,
    OrdersData,
    OrderStateData,
    OrderStateOrder,
    PageInfo,
    PricesData,
    PricesPayload,
    RefundCreateData,
    RefundCreatePayload,
    RefundStateData,
    RefundStateOrder,
    ReturnCloseData,
    ReturnCreateData,
    ReturnPayload,
    ReturnProcessData,
    ReturnStateData,
    ReturnStateOrder,
    SetQuantitiesPayload,
    SetStockData,
    ShopContextData,
    UnreadableOrder,
    VariantConnection,
    VariantsData,
)
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)

__all__ = ["OrderNode", "ShopifyClient"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_AUTH_CODES = frozenset({"ACCESS_DENIED", "UNAUTHORIZED", "FORBIDDEN"})
_TRANSIENT_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TIMEOUT"})

OrderNode = tuple[GqlOrder, dict[str, Any]]
"""A GraphQL order, typed, with the node exactly as received (for ``Order.raw``)."""


class ShopifyClient:
    """One shop's Admin GraphQL endpoint.

    Args:
        config: the account's configuration.
        transport: an httpx transport (tests hand ``httpx.MockTransport``).
        base_url: scheme and host to use instead of ``https://{shop}`` (the sandbox).
        throttle: the cost-based pacer (one per client by default).
    """

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        throttle: CostThrottle | None = None,
    ) -> None:
        self.config = config
        self.path = f"/admin/api/{config.api_version}/graphql.json"
        self.throttle = throttle or CostThrottle()
        self.http = HttpClient(
            config.account,
            base_url or f"https://{config.shop}",
            transport=transport,
            timeout=config.timeout,
            headers={
                "X-Shopify-Access-Token": config.access_token.get_secret_value(),
                "Accept": "application/json",
            },
        )

    def __repr__(self) -> str:
        return f"ShopifyClient({self.config.account!r}, {self.http.base_url}{self.path})"

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # -- the one request path ------------------------------------------------------------------

    def execute(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        *,
        cost: float | None = None,
    ) -> dict[str, Any]:
        """Send one GraphQL operation; returns ``data`` or raises a ``ChannelError``.

        ``cost`` is the request's expected cost when the caller knows it (paged queries
        compute it from their page size); otherwise what Shopify last charged for
        ``operation``, or a first estimate.
        """
        if cost is not None:
            self.throttle.bucket.acquire(cost)
        else:
            self.throttle.acquire(operation, q.ESTIMATED_COST.get(operation, 100))
        response = self.http.request(
            operation,
            "POST",
            self.path,
            json={"query": document, "variables": dict(variables), "operationName": operation},
        )
        request_id = response.headers.get("x-request-id")
        try:
            payload: GraphQLResponse | None = GraphQLResponse.model_validate_json(response.content)
        except ValidationError:
            payload = None
        if payload is not None:
            self.throttle.observe(operation, payload.cost)
        throttled = payload is not None and any(e.code == "THROTTLED" for e in payload.errors)
        if throttled or response.status_code == 429:
            wait = retry_after(payload.cost if payload else None)
            if wait is None:
                wait = parse_retry_after(response.headers.get("retry-after"))
            raise RateLimited(
                "Shopify throttled the request (query cost over the available bucket)",
                retry_after=wait,
                channel=self.config.account,
                operation=operation,
                status=response.status_code,
                code="THROTTLED",
                request_id=request_id,
                raw=response.content,
            )
        if response.status_code >= 400:
            raise self._http_error(response, operation, payload, request_id)
        if payload is None:
            raise Unavailable(
                "Shopify answered with a body that is not GraphQL JSON",
                channel=self.config.account,
                operation=operation,
                status=response.status_code,
                request_id=request_id,
                raw=response.content,
            )
        if payload.errors:
            raise self._graphql_error(response, operation, payload.errors, request_id)
        if payload.data is None:
            raise Unavailable(
                "Shopify answered without data or errors",
                channel=self.config.account,
                operation=operation,
                status=response.status_code,
                request_id=request_id,
                raw=response.content,
            )
        return payload.data

    def _http_error(
        self,
        response: httpx.Response,
        operation: str,
        payload: GraphQLResponse | None,
        request_id: str | None,
    ) -> ChannelError:
        first = payload.errors[0] if payload is not None and payload.errors else None
        message = first.message if first is not None else None
        code = first.code if first is not None else None
        if response.status_code in (402, 423):
            why = "frozen (unpaid)" if response.status_code == 402 else "locked"
            return AuthError(
                f"the shop is {why}: the Admin API refuses this app"
                + (f": {message}" if message else ""),
                channel=self.config.account,
                operation=operation,
                status=response.status_code,
                code=code,
                request_id=request_id,
                raw=response.content,
            )
        return error_for_status(
            response,
            channel=self.config.account,
            operation=operation,
            code=code,
            message=message,
            request_id=request_id,
        )

    def _graphql_error(
        self,
        response: httpx.Response,
        operation: str,
        errors: Sequence[GqlError],
        request_id: str | None,
    ) -> ChannelError:
        first = errors[0]
        code = first.code
        rid = request_id or (first.extensions.request_id if first.extensions else None)
        text = first.message.strip() or "GraphQL error"
        if len(errors) > 1:
            text += f" (and {len(errors) - 1} more)"
        kw: dict[str, Any] = {
            "channel": self.config.account,
            "operation": operation,
            "status": response.status_code,
            "code": code,
            "request_id": rid,
            "raw": response.content,
        }
        if code in _AUTH_CODES:
            return AuthError(text, **kw)
        if code in _TRANSIENT_CODES:
            return Unavailable(text, **kw)
        if code == "NOT_FOUND":
            return NotFound(text, **kw)
        return Rejected(text, **kw)

    def _parse(self, model: type[M], data: Mapping[str, Any], operation: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Rejected(
                f"unexpected {operation} answer shape: {exc.errors()[0]['msg']}"
                f" at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
                channel=self.config.account,
                operation=operation,
            ) from exc

    def page_size(self, most: int, per_node: int) -> int:
        """Nodes per page: ``most``, fewer when the shop's bucket cannot hold a full page."""
        room = int((self.throttle.bucket.capacity - 2) // per_node)
        return max(1, min(most, room))

    # -- operations ------------------------------------------------------------------------------

    def shop_context(self, location_id: str | None) -> ShopContextData:
        """The shop's currency and the synced location (the primary one when ``None``)."""
        data = self.execute("ShopContext", q.SHOP_CONTEXT, {"locationId": location_id})
        return self._parse(ShopContextData, data, "ShopContext")

    def orders_page(
        self, search: str, after: str | None
    ) -> tuple[list[OrderNode | UnreadableOrder], PageInfo]:
        """One page of orders matching ``search``, by ``UPDATED_AT`` ascending.

        The page's envelope (``pageInfo``) must read, or ``Rejected`` is raised; each order
        is read on its own, and one that does not read comes back as ``UnreadableOrder`` in
        its place, so a malformed order never hides the rest of its page.
        """
        first = self.page_size(q.ORDERS_PAGE, q.ORDER_COST)
        data = self.execute(
            "Orders",
            q.ORDERS,
            {"first": first, "after": after, "query": search},
            cost=2 + first * q.ORDER_COST,
        )
        page = self._parse(OrdersData, data, "Orders").orders
        nodes: list[OrderNode | UnreadableOrder] = []
        for node in page.nodes:
            try:
                nodes.append((GqlOrder.model_validate(node), node))
            except ValidationError as exc:
                nodes.append(UnreadableOrder(raw=node, error=exc))
        return nodes, page.page_info

    def order_line_items(self, order_gid: str, after: str | None) -> LineItemConnection | None:
        """One page (250) of an order's line items.

        Raises ``pydantic.ValidationError`` when the lines do not read: that is the order's
        data, not the wire, and the channel reports the order as unreadable.
        """
        data = self.execute("OrderLineItems", q.ORDER_LINE_ITEMS, {"id": order_gid, "after": after})
        order = OrderLineItemsData.model_validate(data).order
        return order.line_items if order is not None else None

    def order_quantities(
        self, order_gid: str, *, fulfillments: int, refunds: int, lines: int
    ) -> OrderQuantitiesOrder | None:
        """An order's first ``fulfillments`` fulfillments and first ``refunds`` refunds, each
        with its first ``lines`` line items (units shipped; units refunded and restock type).

        Raises ``ValueError`` when the document would exceed Shopify's 1,000-point limit, and
        ``pydantic.ValidationError`` when the answer does not read (the order's data).
        """
        cost = q.quantities_cost(fulfillments, refunds, lines)
        if cost > q.MAX_QUERY_COST:
            raise ValueError(f"OrderQuantities would request {cost} points (limit 1000)")
        data = self.execute(
            "OrderQuantities",
            q.ORDER_QUANTITIES,
            {"id": order_gid, "fulfillments": fulfillments, "refunds": refunds, "lines": lines},
            cost=cost,
        )
        return OrderQuantitiesData.model_validate(data).order

    def locations(self) -> list[GqlLocation]:
        """Every active location of the shop (fulfilment-service ones included), all pages."""
        found: list[GqlLocation] = []
        after: str | None = None
        for _ in range(1_000):
            first = self.page_size(q.LOCATIONS_PAGE, 1)
            data = self.execute(
                "Locations", q.LOCATIONS, {"first": first, "after": after}, cost=2 + first
            )
            page = self._parse(LocationsData, data, "Locations").locations
            found.extend(page.nodes)
            if not page.page_info.has_next_page or not page.page_info.end_cursor:
                return found
            after = page.page_info.end_cursor
        raise Rejected(
            "the locations do not end (1,000 pages)",
            channel=self.config.account,
            operation="Locations",
        )

    def variants_page(
        self, after: str | None, *, location_id: str | None = None, levels: int = 1
    ) -> VariantConnection:
        """One page of product variants with ``available`` at ``location_id`` (a shop with
        one location), or else at up to ``levels`` locations each item is stocked at."""
        if location_id is not None:
            first = self.page_size(q.VARIANTS_PAGE, q.VARIANT_COST)
            data = self.execute(
                "Variants",
                q.VARIANTS,
                {"first": first, "after": after, "locationId": location_id},
                cost=2 + first * q.VARIANT_COST,
            )
            return self._parse(VariantsData, data, "Variants").product_variants
        per_variant = q.variant_cost(levels)
        first = self.page_size(min(q.VARIANTS_PAGE, 998 // per_variant), per_variant)
        data = self.execute(
            "VariantsLevels",
            q.VARIANTS_LEVELS,
            {"first": first, "after": after, "levels": levels},
            cost=2 + first * per_variant,
        )
        return self._parse(VariantsData, data, "VariantsLevels").product_variants

    def item_levels(self, item_id: str, after: str | None) -> InventoryLevelConnection | None:
        """A page of an inventory item's levels (None: no such item)."""
        data = self.execute("ItemLevels", q.ITEM_LEVELS, {"id": item_id, "after": after})
        item = self._parse(ItemLevelsData, data, "ItemLevels").inventory_item
        return item.inventory_levels if item is not None else None

    def order_locations(
        self, order_gid: str, *, orders: int, lines: int
    ) -> OrderLocationsOrder | None:
        """An order's first ``orders`` fulfillment orders, each with its first ``lines``
        lines' units and its assigned location (None: no such order).

        Raises ``ValueError`` over the 1,000-point limit and ``pydantic.ValidationError``
        when the answer does not read (the order's data).
        """
        cost = q.locations_cost(orders, lines)
        if cost > q.MAX_QUERY_COST:
            raise ValueError(f"OrderLocations would request {cost} points (limit 1000)")
        data = self.execute(
            "OrderLocations",
            q.ORDER_LOCATIONS,
            {"id": order_gid, "orders": orders, "lines": lines},
            cost=cost,
        )
        return OrderLocationsData.model_validate(data).order

    def _payload(self, result: M | None, field: str, operation: str) -> M:
        """A mutation's payload; ``Rejected`` when Shopify returned null for it."""
        if result is None:
            raise Rejected(
                f"{field} returned null", channel=self.config.account, operation=operation
            )
        return result

    def set_quantities(
        self, payload: Mapping[str, Any], idempotency_key: str | None
    ) -> SetQuantitiesPayload:
        """``inventorySetQuantities`` with ``payload`` as its input."""
        data = self.execute("SetStock", q.stock_set(idempotency_key), {"input": dict(payload)})
        return self._payload(
            self._parse(SetStockData, data, "SetStock").inventory_set_quantities,
            "inventorySetQuantities",
            "SetStock",
        )

    def current_levels(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        """``available`` of each (inventory item, location) pair (None: not stocked there)."""
        found: dict[tuple[str, str], int | None] = {}
        unique = list(dict.fromkeys(pairs))
        for start in range(0, len(unique), q.CURRENT_LEVELS_MAX):
            chunk = unique[start : start + q.CURRENT_LEVELS_MAX]
            variables: dict[str, Any] = {}
            for n, (item, location) in enumerate(chunk):
                variables[f"i{n}"], variables[f"l{n}"] = item, location
            data = self.execute("CurrentLevels", q.current_levels(len(chunk)), variables)
            for n, pair in enumerate(chunk):
                node = data.get(f"i{n}")
                if node is None:
                    found[pair] = None
                    continue
                level = self._parse(CurrentItem, node, "CurrentLevels").inventory_level
                found[pair] = level.quantity("available") if level is not None else None
        return found

    def activate(
        self, item_id: str, location_id: str, available: int, idempotency_key: str | None
    ) -> ActivatePayload:
        """``inventoryActivate``: stock the item at the location with ``available`` units."""
        data = self.execute(
            "ActivateInventory",
            q.inventory_activate(idempotency_key),
            {"inventoryItemId": item_id, "locationId": location_id, "available": available},
        )
        return self._payload(
            self._parse(ActivateData, data, "ActivateInventory").inventory_activate,
            "inventoryActivate",
            "ActivateInventory",
        )

    def update_prices(
        self, product_id: str, variants: Sequence[Mapping[str, Any]]
    ) -> PricesPayload:
        """``productVariantsBulkUpdate`` of one product's variants (partial updates allowed)."""
        data = self.execute(
            "SetPrices",
            q.PRICES_SET,
            {"productId": product_id, "variants": [dict(v) for v in variants]},
        )
        return self._payload(
            self._parse(PricesData, data, "SetPrices").product_variants_bulk_update,
            "productVariantsBulkUpdate",
            "SetPrices",
        )

    def fulfillment_state(self, order_gid: str) -> FulfillmentStateOrder | None:
        """The order's fulfillments and open fulfillment orders (None: no such order)."""
        data = self.execute("FulfillmentState", q.FULFILLMENT_STATE, {"id": order_gid})
        return self._parse(FulfillmentStateData, data, "FulfillmentState").order

    def create_fulfillment(self, fulfillment: Mapping[str, Any]) -> FulfillmentCreatePayload:
        """``fulfillmentCreate``."""
        data = self.execute(
            "CreateFulfillment", q.FULFILLMENT_CREATE, {"fulfillment": dict(fulfillment)}
        )
        return self._payload(
            self._parse(FulfillmentCreateData, data, "CreateFulfillment").fulfillment_create,
            "fulfillmentCreate",
            "CreateFulfillment",
        )

    def order_state(self, order_gid: str) -> OrderStateOrder | None:
        """Whether the order is cancelled, and its fulfillment status."""
        data = self.execute("OrderState", q.ORDER_STATE, {"id": order_gid})
        return self._parse(OrderStateData, data, "OrderState").order

    def cancel_order(
        self,
        order_gid: str,
        *,
        reason: str,
        restock: bool,
        refund: bool,
        staff_note: str | None,
        notify_customer: bool,
    ) -> OrderCancelPayload:
        """``orderCancel``: starts Shopify's asynchronous cancel job."""
        variables: dict[str, Any] = {
            "orderId": order_gid,
            "reason": reason,
            "restock": restock,
            "staffNote": staff_note,
            "notifyCustomer": notify_customer,
        }
        if version_at_least(self.config.api_version, "2025-10"):
            document = q.ORDER_CANCEL
            variables["refundMethod"] = {"originalPaymentMethodsRefund": refund}
        else:
            document = q.ORDER_CANCEL_LEGACY
            variables["refund"] = refund
        data = self.execute("CancelOrder", document, variables)
        return self._payload(
            self._parse(OrderCancelData, data, "CancelOrder").order_cancel,
            "orderCancel",
            "CancelOrder",
        )

    # -- after-sale ----------------------------------------------------------------------------

    def refund_state(self, order_gid: str) -> RefundStateOrder | None:
        """The order's transactions and refunds (None: no such order)."""
        data = self.execute("RefundState", q.REFUND_STATE, {"id": order_gid})
        return self._parse(RefundStateData, data, "RefundState").order

    def create_refund(
        self, refund: Mapping[str, Any], idempotency_key: str | None
    ) -> RefundCreatePayload:
        """``refundCreate`` (``@idempotent`` with a key)."""
        data = self.execute(
            "CreateRefund", q.refund_create(idempotency_key), {"input": dict(refund)}
        )
        return self._payload(
            self._parse(RefundCreateData, data, "CreateRefund").refund_create,
            "refundCreate",
            "CreateRefund",
        )

    def return_state(self, order_gid: str) -> ReturnStateOrder | None:
        """The order's fulfillment line items and its returns (None: no such order)."""
        data = self.execute("ReturnState", q.RETURN_STATE, {"id": order_gid})
        return self._parse(ReturnStateData, data, "ReturnState").order

    def create_return(self, return_input: Mapping[str, Any]) -> ReturnPayload:
        """``returnCreate``."""
        data = self.execute("CreateReturn", q.RETURN_CREATE, {"returnInput": dict(return_input)})
        return self._payload(
            self._parse(ReturnCreateData, data, "CreateReturn").return_create,
            "returnCreate",
            "CreateReturn",
        )

    def process_return(self, process: Mapping[str, Any]) -> ReturnPayload:
        """``returnProcess``."""
        data = self.execute("ProcessReturn", q.RETURN_PROCESS, {"input": dict(process)})
        return self._payload(
            self._parse(ReturnProcessData, data, "ProcessReturn").return_process,
            "returnProcess",
            "ProcessReturn",
        )

    def close_return(self, return_gid: str) -> ReturnPayload:
        """``returnClose``."""
        data = self.execute("CloseReturn", q.RETURN_CLOSE, {"id": return_gid})
        return self._payload(
            self._parse(ReturnCloseData, data, "CloseReturn").return_close,
            "returnClose",
            "CloseReturn",
        )
