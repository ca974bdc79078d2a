"""``ShopifyFake``: the Admin GraphQL API of one shop, on loopback.

It serves ``POST /admin/api/{version}/graphql.json``: checks ``X-Shopify-Access-Token``
(401 otherwise), parses and validates the document with graphql-core against the schema
of that version, caps input arrays at 250 items, computes the query cost, runs Shopify's
leaky bucket (refusing with ``THROTTLED`` and HTTP 200 when the cost is not available,
``MAX_COST_EXCEEDED`` above 1,000 points), executes against the shop state, refunds the
difference between requested and actual cost, and answers with ``extensions.cost``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from graphql import DocumentNode, GraphQLError, get_operation_ast, parse, validate
from graphql.error import GraphQLSyntaxError
from graphql.execution import execute_sync
from graphql.execution.values import get_variable_values
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelsync.core.models import utcnow
from channelsync.sandbox._base import ASGIApp, FakeMarketplace, FaultKind, request_state
from channelsync.sandbox.shopify.cost import QueryCost
from channelsync.sandbox.shopify.schema import flavour_of, schema_for
from channelsync.sandbox.shopify.state import ShopState

__all__ = ["LeakyBucket", "ShopifyFake"]

MAX_INPUT = 250
MAX_COST = 1_000
#: The API versions the fake answers (Shopify supports each version for a year).
VERSIONS = (
    "2025-01",
    "2025-04",
    "2025-07",
    "2025-10",
    "2026-01",
    "2026-04",
    "2026-07",
    "2026-10",
    "unstable",
)
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


@functools.lru_cache(maxsize=512)
def _parse(query: str) -> DocumentNode:
    return parse(query)


class LeakyBucket:
    """Shopify's per app-and-shop bucket: ``size`` points, restored at ``rate`` per second."""

    def __init__(self, size: float, rate: float) -> None:
        self.size = float(size)
        self.rate = float(rate)
        self._level = float(size)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _restore(self) -> None:
        now = time.monotonic()
        self._level = min(self.size, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, cost: float) -> bool:
        """Spend ``cost`` if available."""
        with self._lock:
            self._restore()
            if cost > self._level:
                return False
            self._level -= cost
            return True

    def give(self, points: float) -> None:
        """Refund points (requested minus actual)."""
        with self._lock:
            self._level = min(self.size, self._level + points)

    def status(self) -> dict[str, float | int]:
        """``throttleStatus`` as Shopify reports it."""
        with self._lock:
            self._restore()
            return {
                "maximumAvailable": self.size,
                "currentlyAvailable": int(self._level),
                "restoreRate": self.rate,
            }

    def configure(self, size: float, rate: float) -> None:
        """Change the plan (the bucket starts full)."""
        with self._lock:
            self.size, self.rate = float(size), float(rate)
            self._level, self._stamp = float(size), time.monotonic()


class ShopifyFake(FakeMarketplace):
    """A Shopify shop with the Admin GraphQL API, for tests, demos and offline work.

    Args:
        latency_ms: added to every request.
        clock: the shop's clock (order and inventory timestamps).
        shop: the shop's myshopify domain.
        currency: the shop currency.
        bucket_size: points in the leaky bucket (Standard plan: 2,000).
        restore_rate: points restored per second (Standard plan: 100).
        cancel_delay: seconds Shopify's asynchronous cancel job takes.
    """

    name = "shopify"

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        shop: str = "channelsync-sandbox.myshopify.com",
        currency: str = "USD",
        bucket_size: float = 2_000,
        restore_rate: float = 100,
        cancel_delay: float = 0.05,
    ) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        self.shop = shop
        self.currency = currency
        self.access_token = "shpat_sandbox_" + uuid.uuid4().hex
        self.webhook_secret = "shpss_sandbox_" + uuid.uuid4().hex
        self.bucket = LeakyBucket(bucket_size, restore_rate)
        self.throttled = 0
        """Requests the leaky bucket refused with ``THROTTLED`` (injected faults not counted)."""
        self._cancel_delay = cancel_delay
        self.state = self._new_state()

    def _new_state(self) -> ShopState:
        state = ShopState(
            shop=self.shop,
            currency=self.currency,
            clock=self.clock,
            notify=self._notify,
            cancel_delay=self._cancel_delay,
        )
        state.partial_failure = self.take_partial_failure
        return state

    def reset(self) -> None:
        """Forget the shop's catalogue, orders, call log, faults and deliveries."""
        with self.lock:
            self.state = self._new_state()
            self.calls.reset()
            self.faults.clear()
            self.deliveries.clear()
            self.unsubscribe_all()
            self.bucket.configure(self.bucket.size, self.bucket.rate)
            self.throttled = 0

    def set_plan(self, *, bucket_size: float, restore_rate: float) -> None:
        """Change the rate limit (Standard 2,000/100, Advanced 4,000/200, Plus 20,000/1,000)."""
        self.bucket.configure(bucket_size, restore_rate)

    # -- the public surface ----------------------------------------------------------------

    def channel(self, account: str = "shopify-main", **options: Any) -> Any:
        """A real ``ShopifyChannel`` aimed at this fake, with its credentials."""
        from channelsync.adapters.shopify import ShopifyChannel, ShopifyConfig

        if self.url is None:
            raise RuntimeError("the Shopify fake is not served yet (use it inside a Sandbox)")
        transport_options = {k: options.pop(k) for k in ("clock", "sleep") if k in options}
        config = ShopifyConfig(
            account=account,
            shop=options.pop("shop", self.shop),
            access_token=options.pop("access_token", self.access_token),
            webhook_secret=options.pop("webhook_secret", self.webhook_secret),
            **options,
        )
        return ShopifyChannel(config, base_url=self.url, **transport_options)

    def cancel_order(self, order_id: str) -> None:
        """The merchant cancels the order in the Shopify admin with "restock items" ticked
        (``orderCancel`` with ``restock: true``): its units return to ``available``."""
        channel = self.channel(account="shopify-admin", cancel_restock=True)
        try:
            channel.cancel_order(order_id, "cancelled in the sandbox")
        finally:
            channel.close()

    def seed_listing(
        self,
        sku: str,
        *,
        quantity: int,
        price: str,
        title: str | None = None,
        tracked: bool = True,
        location: str | None = None,
    ) -> None:
        """A product with one variant of ``sku``, ``quantity`` available at a location.

        ``location``: a location's GID (``add_location``) or name; default the primary one.
        Seeding the SKU again at another location stocks it there as well, so several calls
        stock one item at several locations.
        """
        with self.lock:
            self.state.seed_listing(
                sku,
                quantity=quantity,
                price=Decimal(price),
                title=title,
                tracked=tracked,
                location=location,
            )

    def add_location(self, name: str) -> str:
        """Create another location (``name`` unique in the shop); returns its GID.

        The shop starts with one, its primary location ``"Shop location"``
        (``gid://shopify/Location/1``).
        """
        with self.lock:
            return self.state.add_location(name).gid

    def location_id(self, name: str) -> str:
        """The GID of the location called ``name``."""
        with self.lock:
            return self.state.find_location(name).gid

    def deactivate_location(self, location: str) -> None:
        """The merchant deactivates a location: it leaves ``locations`` and takes no stock."""
        with self.lock:
            self.state.find_location(location).active = False

    def ids(self, sku: str) -> dict[str, str]:
        """The GIDs of ``sku``'s variant, product and inventory item."""
        with self.lock:
            variant = self.state.variants[self.state.by_sku[sku]]
            item = self.state.items[variant.item]
            return {
                "variant_id": variant.gid,
                "product_id": self.state.products[variant.product].gid,
                "inventory_item_id": item.gid,
                "location_id": self.state.primary.gid,
            }

    def seed_order(self, order: Any, *, location: str | None = None) -> str:
        """Store an order given as Shopify's REST order JSON (the ``orders/*`` webhook body).

        Stock is not touched (the order is history). Missing ids, timestamps, name and
        line quantities are filled in as Shopify would. Its fulfillment order is assigned
        to ``location`` (GID or name; default the primary location). Returns the order id.
        """
        if not isinstance(order, Mapping) or not isinstance(order.get("line_items", []), list):
            raise TypeError("seed_order takes a REST order dict (as in the orders/* webhooks)")
        with self.lock:
            return self.state.store_order(order, location=location)

    def place_order(
        self, sku: str, qty: int = 1, *, location: str | Mapping[str, int] | None = None
    ) -> str:
        """A buyer checks out: ``available`` drops, ``orders/create`` is sent; returns the id.

        The order's fulfillment order is assigned to ``location`` (GID or name), where its
        units move from ``available`` to ``committed``. A mapping (location -> units) splits
        the line over fulfillment orders at several locations. Without one, Shopify's
        routing: the primary location when it has every unit, else the first location that
        has, else the units split over the stocked locations in turn.
        """
        with self.lock:
            order = self.state.place_order(sku, qty, location)
            self._notify("orders/create", order)
            return str(order["id"])

    def quantity(self, sku: str, location: str | None = None) -> int | None:
        """``available`` of ``sku`` at ``location`` (GID or name), None when not stocked there.

        Without a location: the sum over every location the item is stocked at (None when
        it is stocked nowhere), what buyers can buy. A shop with one location (or an item
        stocked only at the primary one) reads the same either way.
        """
        with self.lock:
            self.state.settle_jobs()
            if location is not None:
                level = self.state.level(sku, location)
                return level.available if level is not None else None
            item = self.state.item_of(sku)
            if item is None or not item.levels:
                return None
            return sum(level.available for level in item.levels.values())

    def levels(self, sku: str) -> dict[str, int]:
        """``available`` of ``sku`` per location GID it is stocked at."""
        with self.lock:
            self.state.settle_jobs()
            item = self.state.item_of(sku)
            if item is None:
                raise KeyError(sku)
            return {loc.gid: item.levels[loc.gid].available for loc in self.state.stocked(item)}

    def quantities(self, sku: str, location: str | None = None) -> dict[str, int] | None:
        """``available``, ``committed`` and ``on_hand`` of ``sku`` at ``location`` (None: not
        stocked there), or summed over its locations when none is given."""
        with self.lock:
            self.state.settle_jobs()
            item = self.state.item_of(sku)
            if item is None:
                return None
            if location is not None:
                level = self.state.level(sku, location)
                found = [level] if level is not None else []
            else:
                found = list(item.levels.values())
            if not found:
                return None
            return {
                "available": sum(lvl.available for lvl in found),
                "committed": sum(lvl.committed for lvl in found),
                "on_hand": sum(lvl.on_hand for lvl in found),
            }

    def set_quantity(self, sku: str, quantity: int, *, location: str | None = None) -> None:
        """The merchant edits ``available`` in the Shopify admin (at ``location``, default
        the primary one)."""
        with self.lock:
            level = self.state.level(sku, location)
            if level is None:
                raise KeyError(sku)
            delta = quantity - level.available
            level.available, level.on_hand = quantity, level.on_hand + delta
            level.updated_at = self.state.stamp()

    def price(self, sku: str) -> Decimal:
        """The variant price of ``sku``."""
        with self.lock:
            return self.state.variants[self.state.by_sku[sku]].price

    def order(self, order_id: str) -> dict[str, Any]:
        """A copy of an order's REST JSON as the shop holds it now."""
        with self.lock:
            self.state.settle_jobs()
            copied: dict[str, Any] = json.loads(json.dumps(self.state.orders[str(order_id)]))
            return copied

    # -- webhooks --------------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        """The ``X-Shopify-Hmac-Sha256`` of ``body``."""
        digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def webhook(self, topic: str, payload: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """A signed delivery of ``payload`` on ``topic`` (headers and body), as Shopify sends."""
        body = json.dumps(payload, default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": self.sign(body),
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": "2026-10",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.clock().isoformat(),
        }
        return headers, body

    def _notify(self, topic: str, order: Mapping[str, Any]) -> None:
        headers, body = self.webhook(topic, order)
        self.send_webhook(topic, headers, body)

    # -- serving ---------------------------------------------------------------------------

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The root field the request calls (``inventorySetQuantities``, ``orders``...)."""
        try:
            request = json.loads(body)
            document = _parse(request["query"])
            operation = get_operation_ast(document, request.get("operationName"))
        except (ValueError, KeyError, TypeError, GraphQLSyntaxError):
            return "graphql"
        if operation is None:
            return "graphql"
        for selection in operation.selection_set.selections:
            name = getattr(selection, "name", None)
            if name is not None:
                return str(name.value)
        return "graphql"

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """Shopify's throttle (HTTP 200 with the ``THROTTLED`` error, as earned) and 5xx answers."""
        request_id = str(uuid.uuid4())
        if kind == "throttle":
            # One answer for THROTTLED, injected or earned: HTTP 200 with the error and the
            # bucket's state, as Shopify's GraphQL Admin API answers it.
            status = self.bucket.status()
            body = {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": int(status["currentlyAvailable"]) + 50,
                        "actualQueryCost": None,
                        "throttleStatus": status,
                    }
                },
            }
            return (
                200,
                {"content-type": "application/json", "x-request-id": request_id},
                json.dumps(body).encode(),
            )
        body = {
            "errors": [
                {
                    "message": "Internal error. Looks like something went wrong on our end.\n"
                    f"Request ID: {request_id} (include this in support requests).",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                }
            ]
        }
        return (
            500,
            {"content-type": "application/json", "x-request-id": request_id},
            json.dumps(body).encode(),
        )

    def build_app(self) -> ASGIApp:
        """The Starlette app: the GraphQL endpoint of every supported version."""

        async def graphql_endpoint(request: Request) -> Response:
            version = request.path_params["version"]
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return JSONResponse({"errors": INVALID_TOKEN}, status_code=401)
            if version not in VERSIONS:
                return JSONResponse({"errors": "Not Found"}, status_code=404)
            try:
                payload = json.loads(await request.body())
                query = payload["query"]
                variables = payload.get("variables") or {}
                if not isinstance(query, str) or not isinstance(variables, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                return JSONResponse(
                    {"errors": {"query": "Required parameter missing or invalid"}},
                    status_code=400,
                )
            state = request_state(request.scope)
            quantities = (variables.get("input") or {}) if isinstance(variables, dict) else {}
            if isinstance(quantities, dict) and isinstance(quantities.get("quantities"), list):
                state.items = len(quantities["quantities"])
            body = self.run(version, query, variables, payload.get("operationName"))
            return JSONResponse(body, headers={"x-request-id": str(uuid.uuid4())})

        async def not_found(request: Request) -> Response:
            return JSONResponse({"errors": "Not Found"}, status_code=404)

        return Starlette(
            routes=[
                Route("/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
                Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    def run(
        self,
        version: str,
        query: str,
        variables: Mapping[str, Any],
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Answer one GraphQL request as Shopify would (the body; the status is 200)."""
        flavour = flavour_of(version)
        schema = schema_for(flavour)
        try:
            document = _parse(query)
        except GraphQLSyntaxError as exc:
            return {"errors": [exc.formatted]}
        problems = validate(schema, document)
        if problems:
            return {"errors": [p.formatted for p in problems]}
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return {"errors": [{"message": "An operation name is required"}]}
        coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables))
        if isinstance(coerced, list):
            return {"errors": [e.formatted for e in coerced]}
        too_big = _oversized(getattr(coerced, "coerced", coerced))
        if too_big is not None:
            path, size = too_big
            return {
                "errors": [
                    {
                        "message": f"The input array size of {size} is greater than the maximum"
                        f" allowed of {MAX_INPUT}.",
                        "path": path,
                        "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                    }
                ]
            }
        cost = QueryCost(schema, document, operation, coerced)
        try:
            requested = cost.requested()
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        if requested > MAX_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query max"
                        f" cost limit ({MAX_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": MAX_COST,
                        },
                    }
                ]
            }
        if not self.bucket.take(requested):
            with self.lock:
                self.throttled += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }
        with self.lock:
            self.state.settle_jobs()
            mutation = operation.operation.value == "mutation"
            result = execute_sync(
                schema,
                document,
                root_value=self.state.mutation_root() if mutation else self.state.query_root(),
                context_value={
                    "flavour": flavour,
                    "idempotency_required": version == "unstable" or version >= "2026-04",
                },
                variable_values=dict(variables),
                operation_name=operation_name,
            )
        data = result.data
        actual = cost.actual(data)
        self.bucket.give(max(0, requested - actual))
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["data"] = data
        body["extensions"] = {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }
        return body


def _oversized(value: Any, path: tuple[str, ...] = ()) -> tuple[list[str], int] | None:
    """The first input list longer than 250 items, with its path."""
    if isinstance(value, list):
        if len(value) > MAX_INPUT:
            return list(path), len(value)
        for n, item in enumerate(value):
            found = _oversized(item, (*path, str(n)))
            if found:
                return found
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found = _oversized(item, (*path, str(key)))
            if found:
                return found
    return None
