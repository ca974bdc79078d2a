"""The sandbox's control endpoint: HTTP routes that act on the fakes as buyers and sellers do.

A program outside the sandbox's process (a shell, another language, ``channelsync sandbox
order|ship|cancel``) drives the fakes through it. JSON in, JSON out; every route names the
fake by kind (``shopify``, ``woocommerce``, ``amazon``, ``ebay``, ``magento``):

=======  ====================================  =============================================
GET      ``/``                                 the fakes (URL, account) and these routes
POST     ``/fakes/{kind}/orders``              ``{"sku": "MUG-1", "qty": 2}``: a buyer buys;
                                               201 ``{"order_id": ..., "quantity": ...}``
POST     ``/fakes/{kind}/orders/{id}/ship``    ``{"carrier": "DHL", "tracking_number": ..}``
                                               (both optional): the seller ships it
POST     ``/fakes/{kind}/orders/{id}/cancel``  the order is cancelled (units return)
GET      ``/fakes/{kind}/listings/{sku}``      ``{"sku": ..., "quantity": ...}``
PUT      ``/fakes/{kind}/listings/{sku}``      ``{"quantity": 5, "price": "19.99"}``: list it
POST     ``/fakes/{kind}/faults``              ``{"fault": "throttle", "times": 3}``
=======  ====================================  =============================================

Errors answer ``{"error": "..."}``: 404 for an unknown fake, SKU or order, 400 for a bad
body, 409 when the marketplace refuses (a cancelled order shipped, too few units).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from channelsync.core.errors import ChannelsyncError
from channelsync.sandbox._base import FAULT_KINDS, FakeMarketplace

if TYPE_CHECKING:  # pragma: no cover
    from starlette.requests import Request
    from starlette.responses import Response

    from channelsync.sandbox._runner import Sandbox

__all__ = ["ROUTES", "control_app"]

#: (method, path, what it does): what ``GET /`` lists.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/", "the fakes and these routes"),
    ("POST", "/fakes/{kind}/orders", 'a buyer buys: {"sku": "MUG-1", "qty": 2}'),
    (
        "POST",
        "/fakes/{kind}/orders/{order_id}/ship",
        'the seller ships every open unit: {"carrier": "DHL", "tracking_number": "..."}',
    ),
    ("POST", "/fakes/{kind}/orders/{order_id}/cancel", "the order is cancelled; units return"),
    ("GET", "/fakes/{kind}/listings/{sku}", "the quantity the marketplace shows"),
    ("PUT", "/fakes/{kind}/listings/{sku}", 'list it: {"quantity": 5, "price": "19.99"}'),
    ("POST", "/fakes/{kind}/faults", 'inject a fault: {"fault": "throttle", "times": 3}'),
)


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise _Problem(400, f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _Problem(400, "the body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise _Problem(400, f"{key!r} must be a non-empty string")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _Problem(400, f"{key!r} must be a non-empty string when given")
    return value


def _count(data: dict[str, Any], key: str, default: int, minimum: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Problem(400, f"{key!r} must be a whole number of at least {minimum}")
    return value


def control_app(sb: Sandbox) -> Any:
    """The Starlette app of ``sb``'s control endpoint (see the module's docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from channelsync.sandbox._config import account_name

    def fake_of(request: Request) -> FakeMarketplace:
        kind = request.path_params["kind"]
        fake = sb.fakes.get(kind)
        if fake is None:
            known = ", ".join(sorted(sb.fakes))
            raise _Problem(404, f"no {kind!r} fake runs in this sandbox (running: {known})")
        return fake

    def listed(fake: FakeMarketplace, sku: str) -> int:
        quantity = fake.quantity(sku)
        if quantity is None:
            raise _Problem(404, f"{sku!r} is not listed on the {fake.name} fake")
        return quantity

    def order_call(fake: FakeMarketplace, order_id: str, action: Callable[[], None]) -> None:
        try:
            action()
        except KeyError:
            raise _Problem(404, f"the {fake.name} fake has no order {order_id!r}") from None
        except (ChannelsyncError, ValueError) as exc:
            status = 404 if getattr(exc, "status", None) == 404 else 409
            raise _Problem(
                status, f"the {fake.name} fake refused order {order_id!r}: {exc}"
            ) from None

    def index(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fakes = {
            kind: {"url": fake.url, "account": account_name(kind)}
            for kind, fake in sb.fakes.items()
        }
        routes = [{"method": m, "path": p, "does": d} for m, p, d in ROUTES]
        return 200, {"fakes": fakes, "routes": routes}

    def place(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        sku = _text(body, "sku")
        qty = _count(body, "qty", 1, 1)
        listed(fake, sku)
        try:
            order_id = fake.place_order(sku, qty)
        except (KeyError, ValueError) as exc:
            raise _Problem(409, f"the {fake.name} fake refused the order: {exc}") from None
        return 201, {"order_id": order_id, "sku": sku, "qty": qty, "quantity": fake.quantity(sku)}

    def ship(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        order_id = request.path_params["order_id"]
        carrier = _text(body, "carrier", "DHL")
        tracking = _optional_text(body, "tracking_number")
        order_call(
            fake,
            order_id,
            lambda: fake.ship_order(order_id, carrier=carrier, tracking_number=tracking),
        )
        return 200, {"order_id": order_id, "shipped": True, "carrier": carrier}

    def cancel(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        order_id = request.path_params["order_id"]
        order_call(fake, order_id, lambda: fake.cancel_order(order_id))
        return 200, {"order_id": order_id, "cancelled": True}

    def show_listing(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        sku = request.path_params["sku"]
        return 200, {"sku": sku, "quantity": listed(fake, sku)}

    def put_listing(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        sku = request.path_params["sku"]
        quantity = _count(body, "quantity", -1, 0)
        price = _text(body, "price", "19.99")
        title = _optional_text(body, "title")
        try:
            fake.seed_listing(sku, quantity=quantity, price=price, title=title)
        except (ArithmeticError, ValueError) as exc:
            raise _Problem(400, f"the {fake.name} fake cannot list {sku!r}: {exc}") from None
        return 200, {"sku": sku, "quantity": fake.quantity(sku)}

    def faults(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        fake = fake_of(request)
        fault = _text(body, "fault")
        if fault not in FAULT_KINDS:
            raise _Problem(400, f"unknown fault {fault!r}; choose one of {', '.join(FAULT_KINDS)}")
        times = _count(body, "times", 1, 1)
        operation = _optional_text(body, "operation")
        fake.inject(fault, times, operation=operation)
        return 200, {"fault": fault, "times": times, "pending": fake.faults.pending()}

    def endpoint(
        handler: Callable[[Request, dict[str, Any]], tuple[int, Any]],
    ) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            try:
                body = _body(await request.body())
                # The fakes' calls block (ship and cancel go through their HTTP API).
                status, data = await run_in_threadpool(handler, request, body)
            except _Problem as problem:
                return JSONResponse({"error": problem.message}, status_code=problem.status)
            return JSONResponse(data, status_code=status)

        return run

    return Starlette(
        routes=[
            Route("/", endpoint(index), methods=["GET"]),
            Route("/fakes/{kind}/orders", endpoint(place), methods=["POST"]),
            Route("/fakes/{kind}/orders/{order_id}/ship", endpoint(ship), methods=["POST"]),
            Route("/fakes/{kind}/orders/{order_id}/cancel", endpoint(cancel), methods=["POST"]),
            Route("/fakes/{kind}/listings/{sku:path}", endpoint(show_listing), methods=["GET"]),
            Route("/fakes/{kind}/listings/{sku:path}", endpoint(put_listing), methods=["PUT"]),
            Route("/fakes/{kind}/faults", endpoint(faults), methods=["POST"]),
        ]
    )
