"""``AmazonFake``: the Selling Partner API and Login with Amazon, on loopback.

It speaks SP-API JSON on the real paths: the LWA token endpoint (refresh-token grant),
Orders API v2026-01-01 ``searchOrders``/``getOrder`` (pagination tokens, ``includedData``
datasets), Orders v0 ``confirmShipment``, Listings Items 2021-08-01
``getListingsItem``/``searchListingsItems``/``patchListingsItem``, and the Feeds
2021-06-30 flow with a presigned-style upload URL it serves itself and a
``JSON_LISTINGS_FEED`` processing report (gzip) that lists every invalid message, the
order feeds (acknowledgement, payment adjustment) with their XML processing reports, and
Solicitations v1 (see ``_aftersale``). Every
operation has a token bucket with Amazon's published rate and burst and answers 429
``QuotaExceeded`` with ``x-amzn-RateLimit-Limit`` when it runs dry; errors come in the
``{"errors": [...]}`` shape with ``x-amzn-RequestId``. Attach an ``SpApiModelValidator``
(``fake.validator = ...``) to check all traffic against Amazon's published models.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channelsync.adapters._ratelimit import TokenBucket
from channelsync.core.errors import ConfigError
from channelsync.sandbox._base import ASGIApp, FaultKind, request_state
from channelsync.sandbox.amazon._aftersale import AfterSaleApi
from channelsync.sandbox.amazon._orders import OrdersApi
from channelsync.sandbox.amazon._state import (
    MARKETS,
    PUBLISHED_RATE_LIMITS,
    QUOTA_EXCEEDED,
    Answer,
    ListingRecord,
    Override,
    error_answer,
    invalid_input,
    iso_ms,
    iso_us,
    money_json,
    parse_time,
)

__all__ = ["PUBLISHED_RATE_LIMITS", "AmazonFake"]


class AmazonFake(OrdersApi, AfterSaleApi):
    """A faithful fake of the SP-API (one EU seller: DE, FR, IT) and of Login with Amazon.

    Args:
        latency_ms: added to every request.
        clock: the fake's wall clock (aware UTC): order times, token and URL expiry.
        marketplace_ids: the seller's marketplaces (the first is where buyers buy).
        validator: an ``SpApiModelValidator`` checking all traffic (or None).
    """

    def channel(self, account: str = "amazon-eu", **options: Any) -> Any:
        """A real ``AmazonChannel`` aimed at this fake (SP-API base URL and token endpoint).

        Options are ``AmazonConfig`` fields (``feed_poll_interval`` defaults to 0.02 s here)
        plus ``transport``, ``clock`` and ``sleep`` for the channel.
        """
        from channelsync.adapters.amazon import AmazonChannel, AmazonConfig

        if self.url is None:
            raise ConfigError("the Amazon fake is not served yet: start it in a Sandbox first")
        channel_kw = {k: options.pop(k) for k in ("transport", "clock", "sleep") if k in options}
        settings: dict[str, Any] = {
            "account": account,
            "seller_id": self.seller_id,
            "marketplace_ids": self.marketplace_ids,
            "region": "eu",
            "lwa_client_id": self.lwa_client_id,
            "lwa_client_secret": self.lwa_client_secret,
            "refresh_token": self.refresh_token,
            "feed_poll_interval": 0.02,
            "feed_timeout": 60.0,
            "timeout": self.client_timeout,
            # What this fake's delays are (each shortened only where a caller did so).
            "write_settle_seconds": max(self.patch_apply_delay, self.feed_processing_seconds),
            "order_search_lag_seconds": max(self.order_search_lag),
        }
        settings.update(options)
        channel = AmazonChannel(
            AmazonConfig(**settings),
            base_url=self.url,
            token_url=f"{self.url}/auth/o2/token",
            **channel_kw,
        )
        with self._state_lock:
            self._channels.append(channel)
        return channel

    def close(self) -> None:
        """Close the channels this fake made, then stop the webhook sender."""
        with self._state_lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()
        super().close()

    def seed_listing(
        self,
        sku: str,
        *,
        quantity: int,
        price: str,
        title: str | None = None,
        fulfilled_by: str = "MERCHANT",
        product_type: str = "PRODUCT",
    ) -> None:
        """List ``sku`` in every marketplace of the seller with one price (in each
        marketplace's currency) and ``quantity`` units; ``fulfilled_by="AMAZON"`` for FBA."""
        if fulfilled_by not in ("MERCHANT", "AMAZON"):
            raise ValueError("fulfilled_by is MERCHANT or AMAZON")
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        amount = Decimal(price)
        now = self.clock()
        with self._state_lock:
            old = self._listings.get(sku)
            self._listings[sku] = ListingRecord(
                sku=sku,
                product_type=product_type,
                title=title or f"Sandbox product {sku}",
                asin=old.asin if old else "B0" + hashlib.sha1(sku.encode()).hexdigest()[:8].upper(),  # noqa: S324
                quantity=quantity,
                fulfilled_by=fulfilled_by,
                prices={m: amount for m in self.marketplace_ids},
                created=old.created if old else now,
                updated=now,
                marketplace_ids=self.marketplace_ids,
            )

    def seed_order(self, order: Mapping[str, Any]) -> str:
        """Store one Orders API v2026-01-01 ``Order`` (with its ``orderItems``) as given.

        Stock does not change (the order is history). Raises ``ValueError`` when the
        order lacks what the model requires (or, with a validator, breaks the model).
        """
        doc = copy.deepcopy(dict(order))
        missing = [
            k
            for k in ("orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems")
            if k not in doc
        ]
        if missing:
            raise ValueError(f"an Orders API 2026-01-01 order needs {', '.join(missing)}")
        if self.validator is not None:
            problems = self.validator.check_order(doc)
            if problems:
                raise ValueError(f"not an Orders API 2026-01-01 order: {problems[0]}")
        if parse_time(str(doc["lastUpdatedTime"])) is None:
            raise ValueError("lastUpdatedTime is not an ISO 8601 time with a zone")
        with self._state_lock:
            order_id = str(doc["orderId"])
            self._orders[order_id] = doc
            # History the seller had before: indexed already, nobody notified.
            self._versions[order_id] = [(self.clock(), copy.deepcopy(doc))]
        return order_id

    def place_order(self, sku: str, qty: int = 1) -> str:
        """A buyer buys ``qty`` of ``sku`` in the first marketplace; the quantity drops.

        FBA listings make an Amazon-fulfilled order (Amazon's stock drops).
        """
        if qty < 1:
            raise ValueError("qty must be at least 1")
        with self._state_lock:
            self._settle()
            listing = self._listings.get(sku)
            if listing is None:
                raise KeyError(f"no listing {sku!r} in the Amazon fake")
            if listing.quantity is None or listing.quantity < qty:
                raise ValueError(f"{sku} has {listing.quantity} units, cannot sell {qty}")
            now = self._tick()
            n = next(self._ids)
            order_id = f"305-{n:07d}-{secrets.randbelow(10**7):07d}"
            market = self.marketplace_ids[0]
            currency, market_name, country = MARKETS[market]
            unit = listing.prices[market]
            total = unit * qty
            fba = listing.fulfilled_by == "AMAZON"
            self._orders[order_id] = {
                "orderId": order_id,
                "createdTime": iso_us(now),
                "lastUpdatedTime": iso_us(now),
                "programs": [],
                "salesChannel": {
                    "channelName": "AMAZON",
                    "marketplaceId": market,
                    "marketplaceName": market_name,
                },
                "buyer": {
                    "buyerName": "Sandbox Buyer",
                    "buyerEmail": f"{secrets.token_hex(6)}@marketplace.{market_name.lower()}",
                },
                "recipient": {
                    "deliveryAddress": {
                        "name": "Sandbox Buyer",
                        "addressLine1": "Teststraße 1",
                        "city": "Berlin",
                        "postalCode": "10115",
                        "countryCode": country,
                        "addressType": "RESIDENTIAL",
                    }
                },
                "proceeds": {
                    "grandTotal": money_json(total, currency),
                    "breakdowns": [{"type": "ITEM", "subtotal": money_json(total, currency)}],
                },
                "fulfillment": {
                    "fulfillmentStatus": "UNSHIPPED",
                    "fulfilledBy": "AMAZON" if fba else "MERCHANT",
                    "fulfillmentServiceLevel": "STANDARD",
                },
                "orderItems": [
                    {
                        "orderItemId": f"{n:07d}{secrets.randbelow(10**7):07d}",
                        "quantityOrdered": qty,
                        "product": {
                            "asin": listing.asin,
                            "title": listing.title,
                            "sellerSku": sku,
                            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                            "price": {"unitPrice": money_json(unit, currency)},
                        },
                        "proceeds": {
                            "proceedsTotal": money_json(total, currency),
                            "breakdowns": [
                                {"type": "ITEM", "subtotal": money_json(total, currency)}
                            ],
                        },
                        "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": qty},
                    }
                ],
                "packages": [],
            }
            listing.quantity -= qty
            listing.updated = now
            self._changed(order_id)
            return order_id

    def quantity(self, sku: str) -> int | None:
        """The quantity the listing shows (merchant or, for FBA, Amazon's); None: not listed.

        An accepted patch not applied yet (``patch_apply_delay``) does not show here either.
        """
        with self._state_lock:
            self._settle()
            listing = self._listings.get(sku)
            return None if listing is None else listing.quantity

    def price(self, sku: str, marketplace_id: str | None = None) -> Decimal | None:
        """The listing's B2C price in a marketplace (default: the first)."""
        with self._state_lock:
            self._settle()
            listing = self._listings.get(sku)
            if listing is None:
                return None
            return listing.prices.get(marketplace_id or self.marketplace_ids[0])

    def fulfilled_by(self, sku: str) -> str | None:
        """``MERCHANT`` or ``AMAZON`` (None: not listed)."""
        with self._state_lock:
            listing = self._listings.get(sku)
            return None if listing is None else listing.fulfilled_by

    def order(self, order_id: str) -> dict[str, Any]:
        """A copy of the stored order JSON."""
        with self._state_lock:
            return copy.deepcopy(self._orders[order_id])

    def cancel_order(self, order_id: str) -> None:
        """The buyer's cancellation request is granted (``cancel``): the SP-API offers
        sellers no cancellation call, so this is Amazon's side of it."""
        self.cancel(order_id)

    def cancel(self, order_id: str) -> None:
        """Cancel an unshipped order as Amazon does (buyer request granted): units return."""
        with self._state_lock:
            order = self._orders[order_id]
            status = order.get("fulfillment", {}).get("fulfillmentStatus")
            if status in ("SHIPPED", "CANCELLED"):
                raise ValueError(f"order {order_id} is {status}")
            for item in order["orderItems"]:
                sku = item.get("product", {}).get("sellerSku")
                fulfilled = item.get("fulfillment", {}).get("quantityFulfilled", 0)
                open_units = item["quantityOrdered"] - fulfilled
                listing = self._listings.get(sku) if sku else None
                if listing is not None and listing.quantity is not None:
                    listing.quantity += open_units
                item.setdefault("fulfillment", {})["quantityUnfulfilled"] = 0
                item["cancellation"] = {
                    "cancellationExecution": {"cancelledBy": "BUYER", "cancelReason": "Sandbox"}
                }
            order.setdefault("fulfillment", {})["fulfillmentStatus"] = "CANCELLED"
            order["lastUpdatedTime"] = iso_us(self._tick())
            self._changed(order_id)

    def _notification(self, order_id: str) -> dict[str, Any]:
        return self.order_change_notification(order_id)

    def order_change_notification(
        self, order_id: str, *, notification_id: str | None = None
    ) -> dict[str, Any]:
        """An ``ORDER_CHANGE`` notification (as SQS delivers it) for the order as it is now."""
        with self._state_lock:
            order = self._orders[order_id]
            status = order.get("fulfillment", {}).get("fulfillmentStatus", "PENDING")
            fba = order.get("fulfillment", {}).get("fulfilledBy") == "AMAZON"
            now = self.clock()
            v0_status = {
                "PENDING_AVAILABILITY": "PendingAvailability",
                "PENDING": "Pending",
                "UNSHIPPED": "Unshipped",
                "PARTIALLY_SHIPPED": "PartiallyShipped",
                "SHIPPED": "Shipped",
                "CANCELLED": "Canceled",
                "UNFULFILLABLE": "Unfulfillable",
            }[status]
            return {
                "NotificationVersion": "1.0",
                "NotificationType": "ORDER_CHANGE",
                "PayloadVersion": "1.0",
                "EventTime": iso_ms(now),
                "Payload": {
                    "OrderChangeNotification": {
                        "NotificationLevel": "OrderLevel",
                        "SellerId": self.seller_id,
                        "AmazonOrderId": order_id,
                        "OrderChangeType": "OrderStatusChange",
                        "OrderChangeTrigger": {
                            "TimeOfOrderChange": order["lastUpdatedTime"],
                            "ChangeReason": "Order Status Change",
                        },
                        "Summary": {
                            "MarketplaceId": order["salesChannel"].get("marketplaceId"),
                            "OrderStatus": v0_status,
                            "PurchaseDate": order["createdTime"],
                            "DestinationPostalCode": (
                                order.get("recipient", {})
                                .get("deliveryAddress", {})
                                .get("postalCode")
                            ),
                            "FulfillmentType": "AFN" if fba else "MFN",
                            "OrderType": "StandardOrder",
                            "OrderItems": [
                                {
                                    "OrderItemId": item["orderItemId"],
                                    "SellerSKU": item.get("product", {}).get("sellerSku"),
                                    "SupplySourceId": None,
                                    "Quantity": item["quantityOrdered"],
                                }
                                for item in order["orderItems"]
                            ],
                        },
                    }
                },
                "NotificationMetadata": {
                    "ApplicationId": "amzn1.sp.solution.channelsync-sandbox",
                    "SubscriptionId": "channelsync-sandbox-subscription",
                    "PublishTime": iso_ms(now),
                    "NotificationId": notification_id or str(uuid.uuid4()),
                },
            }

    def publish_to(self, publish: Callable[[dict[str, Any]], None] | None) -> None:
        """Send an ``ORDER_CHANGE`` notification to ``publish`` on every order change (a
        new order, a cancellation, a shipment), as Amazon does for a subscribed seller;
        None stops it. The Sandbox wires its SQS queue here."""
        with self._state_lock:
            self._publish = publish

    def set_rate_limit(self, operation: str, per_second: float, burst: int) -> None:
        """Give ``operation`` another usage plan (as Amazon does for some sellers)."""
        with self._state_lock:
            self._buckets[operation] = TokenBucket(per_second, burst)

    def override(
        self,
        operation: str,
        status: int,
        body: bytes | str = b"",
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """Answer ``times`` calls of ``operation`` (after letting ``skip`` through) with
        exactly this response: for shapes the real API sends now and then (a 429 without
        an error body, an HTML 503 from the gateway)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._state_lock:
            self._overrides.append(
                Override(operation, status, raw, dict(headers or {}), times, skip)
            )

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired."""
        with self._state_lock:
            past = self.clock() - timedelta(seconds=1)
            self._tokens = dict.fromkeys(self._tokens, past)

    _ROUTES: ClassVar[list[tuple[str, str, str]]] = [
        ("POST", "/auth/o2/token", "lwaToken"),
        ("GET", "/orders/2026-01-01/orders", "searchOrders"),
        ("GET", "/orders/2026-01-01/orders/{orderId}", "getOrder"),
        ("POST", "/orders/v0/orders/{orderId}/shipmentConfirmation", "confirmShipment"),
        ("GET", "/listings/2021-08-01/items/{sellerId}", "searchListingsItems"),
        ("GET", "/listings/2021-08-01/items/{sellerId}/{sku:path}", "getListingsItem"),
        ("PATCH", "/listings/2021-08-01/items/{sellerId}/{sku:path}", "patchListingsItem"),
        ("POST", "/feeds/2021-06-30/documents", "createFeedDocument"),
        ("GET", "/feeds/2021-06-30/documents/{feedDocumentId}", "getFeedDocument"),
        ("POST", "/feeds/2021-06-30/feeds", "createFeed"),
        ("GET", "/feeds/2021-06-30/feeds/{feedId}", "getFeed"),
        ("PUT", "/_s3/feed-documents/{documentId}", "uploadFeedDocument"),
        ("GET", "/_s3/feed-documents/{documentId}", "downloadFeedDocument"),
        ("GET", "/solicitations/v1/orders/{amazonOrderId}", "getSolicitationActionsForOrder"),
        (
            "POST",
            "/solicitations/v1/orders/{amazonOrderId}/solicitations/productReviewAndSellerFeedback",
            "createProductReviewAndSellerFeedbackSolicitation",
        ),
    ]

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The SP-API operation a request calls."""
        parts = path.rstrip("/").split("/")
        for verb, template, operation in self._ROUTES:
            if verb != method:
                continue
            tparts = template.split("/")
            if tparts[-1].endswith(":path}"):
                if len(parts) >= len(tparts) and all(
                    t.startswith("{") or t == p for t, p in zip(tparts[:-1], parts, strict=False)
                ):
                    return operation
                continue
            if len(parts) == len(tparts) and all(
                t.startswith("{") or t == p for t, p in zip(tparts, parts, strict=True)
            ):
                return operation
        return f"{method} {path}"

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """Amazon's own throttle and server-error answers."""
        headers = {"content-type": "application/json", "x-amzn-requestid": str(uuid.uuid4())}
        if operation == "lwaToken":
            oauth = {"error": "server_error", "error_description": "Service unavailable"}
            return (429 if kind == "throttle" else 500), headers, json.dumps(oauth).encode()
        if kind == "throttle":
            rate = PUBLISHED_RATE_LIMITS.get(operation, (1.0, 1))[0]
            headers["x-amzn-ratelimit-limit"] = f"{rate}"
            return 429, headers, QUOTA_EXCEEDED
        body = {
            "errors": [
                {
                    "code": "InternalFailure",
                    "message": "We encountered an internal error. Please try again.",
                }
            ]
        }
        return 500, headers, json.dumps(body).encode()

    def build_app(self) -> ASGIApp:
        """The SP-API, LWA and document-storage routes."""
        routes = [
            Route(template, self._endpoint(operation), methods=[verb])
            for verb, template, operation in self._ROUTES
        ]

        async def not_served(request: Request) -> Response:
            # An SP-API call the fake does not model (Orders v0 getOrders, Reports...):
            # answered in SP-API's error shape, never a bare 404 page.
            what = f"{request.method} {request.url.path}"
            status, payload, headers = error_answer(
                404,
                "NotFound",
                "The requested resource is not served by the channelsync Amazon sandbox.",
                f"{what}: this fake serves Orders 2026-01-01, Orders v0 confirmShipment,"
                " Listings Items 2021-08-01, Feeds 2021-06-30 and LWA.",
            )
            return self._respond("notServed", status, payload, headers)

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        routes.append(Route("/{path:path}", not_served, methods=methods))
        return Starlette(routes=routes)

    def _endpoint(self, operation: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            request_state(request.scope).operation = operation
            status, payload, headers = self._handle(operation, request, body)
            return self._respond(operation, status, payload, headers)

        return endpoint

    def _respond(
        self, operation: str, status: int, payload: Any, headers: dict[str, str]
    ) -> Response:
        out = {"x-amzn-requestid": str(uuid.uuid4()), **{k.lower(): v for k, v in headers.items()}}
        if operation in PUBLISHED_RATE_LIMITS and "x-amzn-ratelimit-limit" not in out:
            out["x-amzn-ratelimit-limit"] = f"{self._buckets[operation].rate}"
        if isinstance(payload, bytes):
            return Response(payload, status_code=status, headers=out)
        if (
            self.validator is not None
            and operation in PUBLISHED_RATE_LIMITS
            and self.validator.knows(operation)
        ):
            self.validator.check_response(
                operation, status, payload if payload is not None else None
            )
        if payload is None:
            return Response(b"", status_code=status, headers=out)
        out.setdefault("content-type", "application/json")
        return Response(
            json.dumps(payload, ensure_ascii=False).encode("utf-8"), status_code=status, headers=out
        )

    def _handle(self, operation: str, request: Request, body: bytes) -> Answer:
        with self._state_lock:
            override = next((o for o in self._overrides if o.operation == operation), None)
            if override is not None and override.skip > 0:
                override.skip -= 1
                override = None
            if override is not None:
                override.remaining -= 1
                if override.remaining <= 0:
                    self._overrides.remove(override)
                return override.status, override.body, override.headers
        if operation == "lwaToken":
            return self._lwa(body)
        if operation == "uploadFeedDocument":
            return self._upload(request, body)
        if operation == "downloadFeedDocument":
            return self._download(request)
        denied = self._authorize(request)
        if denied is not None:
            return denied
        bucket = self._buckets[operation]
        if self.enforce_rate_limits:
            with self._state_lock:
                if bucket.wait_time() > 0:
                    return (
                        429,
                        QUOTA_EXCEEDED,
                        {
                            "content-type": "application/json",
                            "x-amzn-ratelimit-limit": f"{bucket.rate}",
                        },
                    )
                bucket.acquire()
        query = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
        params = dict(request.path_params)
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                return invalid_input("The request body is not valid JSON.")
        if self.validator is not None:
            problems = self.validator.check_request(
                operation,
                path=params,
                query=query,
                body=parsed if request.method in ("POST", "PATCH", "PUT") else None,
            )
            if problems:
                return invalid_input("; ".join(problems))
        handler = getattr(self, f"_op_{operation}")
        with self._state_lock:
            self._settle()
            result: Answer = handler(params, query, parsed, request)
            return result

    def _authorize(self, request: Request) -> Answer | None:
        token = request.headers.get("x-amz-access-token")
        if not token:
            answer = error_answer(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "Access token is missing in the request header.",
            )
        else:
            with self._state_lock:
                expiry = self._tokens.get(token)
            if expiry is None:
                answer = error_answer(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided is revoked, malformed or invalid.",
                )
            elif expiry <= self.clock():
                answer = error_answer(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided has expired.",
                )
            else:
                return None
        return answer[0], answer[1], {"x-amzn-errortype": "AccessDeniedException"}

    def _lwa(self, body: bytes) -> Answer:
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

        def oauth_error(status: int, error: str, description: str) -> Answer:
            return status, {"error_description": description, "error": error}, {}

        if form.get("grant_type") != "refresh_token":
            return oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        if (
            form.get("client_id") != self.lwa_client_id
            or form.get("client_secret") != self.lwa_client_secret
        ):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("refresh_token") != self.refresh_token:
            return oauth_error(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        token = "Atza|" + secrets.token_urlsafe(32)
        with self._state_lock:
            self._tokens[token] = self.clock() + timedelta(seconds=self.token_lifetime)
        return (
            200,
            {
                "access_token": token,
                "refresh_token": self.refresh_token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
            },
            {},
        )
