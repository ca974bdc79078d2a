"""``AcmeFake``: Acme Market's API on loopback, served by ``channelsync.sandbox.Sandbox``."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from acme_channel.webhooks import sign
from channelsync.core.models import utcnow
from channelsync.plugins import SandboxAccount
from channelsync.sandbox import FakeMarketplace

__all__ = ["AcmeFake", "sandbox_account"]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class AcmeFake(FakeMarketplace):
    """Acme Market: listings, orders, 50-item batch writes, a Bearer API key."""

    name = "acme"

    def __init__(self, *, latency_ms: float = 0.0, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        self.api_key = secrets.token_hex(16)
        self.webhook_secret = secrets.token_hex(16)
        self.listings: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, list[str | None]] = {}
        self._ids = itertools.count(1)

    def channel(self, account: str = "acme-main", **options: Any) -> Any:
        """A real ``AcmeChannel`` aimed at this fake."""
        from acme_channel import AcmeChannel, AcmeConfig

        config = AcmeConfig(
            account=account, api_key=self.api_key, webhook_secret=self.webhook_secret, **options
        )
        return AcmeChannel(config, base_url=self.url)

    def seed_listing(
        self, sku: str, *, quantity: int, price: str, title: str | None = None
    ) -> None:
        """List ``sku``."""
        with self.lock:
            self.listings[sku] = {
                "id": f"L{len(self.listings) + 1}",
                "sku": sku,
                "qty": quantity,
                "price": price,
                "currency": "EUR",
            }

    def _now(self) -> str:
        return self.clock().isoformat()

    def seed_order(self, order: Any) -> str:
        """Store an order as Acme's JSON."""
        with self.lock:
            data = dict(order)
            data.setdefault("id", f"A{next(self._ids):05d}")
            self.orders[str(data["id"])] = data
            return str(data["id"])

    def place_order(self, sku: str, qty: int = 1) -> str:
        """A buyer buys ``qty`` of ``sku``; the listing's quantity drops; a webhook goes out."""
        with self.lock:
            listing = self.listings[sku]
            listing["qty"] -= qty
            now = self._now()
            oid = f"A{next(self._ids):05d}"
            order = {
                "id": oid,
                "status": "open",
                "currency": "EUR",
                "created": now,
                "updated": now,
                "lines": [{"id": f"{oid}-1", "sku": sku, "qty": qty, "price": listing["price"]}],
            }
            self.orders[oid] = order
        body = json.dumps({"id": f"evt-{oid}", "order": order}).encode()
        self.send_webhook("order", self.webhook_headers(body), body)
        return oid

    def webhook_headers(self, body: bytes) -> dict[str, str]:
        """The headers Acme sends with ``body``."""
        return {
            "X-Acme-Signature": sign(self.webhook_secret, body),
            "Content-Type": "application/json",
        }

    def quantity(self, sku: str) -> int | None:
        """The quantity Acme shows."""
        with self.lock:
            listing = self.listings.get(sku)
            return None if listing is None else int(listing["qty"])

    def operation_for(self, method: str, path: str, headers: Any, body: bytes) -> str:
        """``GET listings``, ``POST stock``..."""
        return f"{method} {path.removeprefix('/v1/').split('/')[0]}"

    def fault_response(self, kind: Any, operation: str) -> tuple[int, dict[str, str], bytes]:
        """Acme's throttle and server error answers."""
        if kind == "throttle":
            body = {"error": {"code": "rate_limited", "message": "slow down"}}
            return (
                429,
                {"content-type": "application/json", "retry-after": "1"},
                json.dumps(body).encode(),
            )
        body = {"error": {"code": "internal", "message": "try again"}}
        return 503, {"content-type": "application/json"}, json.dumps(body).encode()

    def build_app(self) -> Any:
        """The routes."""

        def authorized(request: Request) -> bool:
            return request.headers.get("authorization") == f"Bearer {self.api_key}"

        def page(rows: list[dict[str, Any]], request: Request, key: str) -> JSONResponse:
            limit = min(100, int(request.query_params.get("limit", "100")))
            start = int(request.query_params.get("cursor") or 0)
            chunk = rows[start : start + limit]
            more = start + limit < len(rows)
            return JSONResponse({key: chunk, "next": str(start + limit) if more else None})

        async def listings(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            with self.lock:
                return page(
                    sorted(self.listings.values(), key=lambda r: r["id"]), request, "listings"
                )

        async def orders(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            since = request.query_params.get("updated_since", "")
            with self.lock:
                rows = sorted(
                    (o for o in self.orders.values() if str(o.get("updated", "")) >= since),
                    key=lambda o: (str(o.get("updated")), str(o["id"])),
                )
                return page(rows, request, "orders")

        async def order(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            with self.lock:
                found = self.orders.get(request.path_params["id"])
                if found is None:
                    return _error(404, "not_found", "no such order")
                return JSONResponse(found)

        async def write(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            items = (await request.json()).get("items", [])
            if len(items) > 50:
                return _error(400, "too_many", "at most 50 items per call")
            what = request.path_params["what"]
            results = []
            with self.lock:
                for item in items:
                    listing = self.listings.get(item["sku"])
                    if listing is None:
                        results.append({"sku": item["sku"], "ok": False, "error": "unknown SKU"})
                        continue
                    if what == "stock":
                        listing["qty"] = int(item["qty"])
                    else:
                        listing["price"] = str(Decimal(item["price"]))
                    results.append({"sku": item["sku"], "ok": True})
            return JSONResponse({"results": results})

        async def ship(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            body = await request.json()
            with self.lock:
                found = self.orders.get(request.path_params["id"])
                if found is None:
                    return _error(404, "not_found", "no such order")
                done = self.shipments.setdefault(found["id"], [])
                if body.get("tracking") and body["tracking"] in done:
                    return JSONResponse({"ok": True})  # a repeat
                if found["status"] == "cancelled":
                    return _error(409, "cancelled", "the order is cancelled")
                done.append(body.get("tracking"))
                for line in found["lines"]:
                    line["shipped"] = line["qty"] - line.get("cancelled", 0)
                found["status"], found["updated"] = "shipped", self._now()
            return JSONResponse({"ok": True})

        async def cancel(request: Request) -> JSONResponse:
            if not authorized(request):
                return _error(401, "unauthorized", "bad API key")
            with self.lock:
                found = self.orders.get(request.path_params["id"])
                if found is None:
                    return _error(404, "not_found", "no such order")
                if found["status"] == "shipped":
                    return _error(409, "shipped", "a shipped order cannot be cancelled")
                if found["status"] != "cancelled":
                    for line in found["lines"]:
                        line["cancelled"] = line["qty"] - line.get("shipped", 0)
                    found["status"], found["updated"] = "cancelled", self._now()
            return JSONResponse({"ok": True})

        return Starlette(
            routes=[
                Route("/v1/listings", listings),
                Route("/v1/orders", orders),
                Route("/v1/orders/{id}", order),
                Route("/v1/orders/{id}/shipments", ship, methods=["POST"]),
                Route("/v1/orders/{id}/cancel", cancel, methods=["POST"]),
                Route("/v1/{what:str}", write, methods=["POST"]),
            ]
        )


def sandbox_account(fake: AcmeFake) -> SandboxAccount:
    """How ``channelsync sandbox`` aims an account at the fake."""
    return SandboxAccount(
        channel_args={"base_url": str(fake.url)},
        secrets={"api_key": fake.api_key, "webhook_secret": fake.webhook_secret},
    )
