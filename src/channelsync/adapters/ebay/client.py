"""The eBay REST wire: OAuth tokens, Sell Inventory, Notification and Post-Order calls.

Everything goes through the shared ``HttpClient``; answers become the typed models of
``models.py`` here, and error answers (``{"errors": [...]}``, the identity endpoint's
``{"error": ..., "error_description": ...}``) become channelsync errors with eBay's
``errorId`` attached. Nothing vendor-shaped leaves this module untyped.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from channelsync.adapters._http import HttpClient, error_for_status
from channelsync.adapters.ebay.config import EbayConfig
from channelsync.adapters.ebay.mapping import rest_error_text
from channelsync.adapters.ebay.payloads import (
    BulkInventoryItemResponse,
    BulkPriceQuantityResponse,
    CancelDetailResponse,
    CancelEligibility,
    CreateCancelResponse,
    ErrorBody,
    FulfillmentOrders,
    InventoryItems,
    InventoryLocations,
    Offers,
    PublicKey,
    RefundAnswer,
    RestOrder,
    ReturnSearch,
    TokenResponse,
)
from channelsync.core.errors import AuthError, ChannelError, ConfigError, Unavailable

__all__ = ["INVENTORY_PATH", "EbayRestClient", "OAuthTokens"]

log = logging.getLogger(__name__)

INVENTORY_PATH = "/sell/inventory/v1"
FULFILLMENT_PATH = "/sell/fulfillment/v1"
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a URL path
NOTIFICATION_PATH = "/commerce/notification/v1"
FULFILLMENT_PATH = "/sell/fulfillment/v1"
POST_ORDER_PATH = "/post-order/v2"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"
#: Refresh this long before eBay says the token expires.
_EARLY = timedelta(seconds=60)

M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], response: httpx.Response, *, channel: str, operation: str) -> M:
    try:
        return model.model_validate_json(response.content or b"{}")
    except ValidationError as exc:
        raise Unavailable(
            f"unexpected {operation} answer: {exc.error_count()} validation errors",
            channel=channel,
            operation=operation,
            status=response.status_code,
            raw=response.content,
        ) from exc


def _error(response: httpx.Response, *, channel: str, operation: str) -> ChannelError:
    code: str | None = None
    message: str | None = None
    try:
        body = ErrorBody.model_validate_json(response.content or b"{}")
        code, message = rest_error_text(body.errors)
    except ValidationError:
        pass
    return error_for_status(
        response,
        channel=channel,
        operation=operation,
        code=code,
        message=message,
        request_id=response.headers.get("x-ebay-c-request-id") or response.headers.get("rlogid"),
    )


class OAuthTokens:
    """The account's OAuth tokens: the seller's user token and an application token.

    The user token (REST ``Bearer``, Trading ``X-EBAY-API-IAF-TOKEN``) is refreshed with
    the ``refresh_token`` grant when it is about to expire or was refused; the application
    token (``client_credentials``, for the Notification API) is fetched when first needed.
    Thread-safe: concurrent callers share one refresh.
    """

    def __init__(
        self,
        config: EbayConfig,
        identity: HttpClient,
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._identity = identity
        self._clock = clock
        self._lock = threading.Lock()
        self._user: SecretStr | None = config.user_token
        self._user_expires: datetime | None = None
        self._app: SecretStr | None = None
        self._app_expires: datetime | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuthTokens({self._config.account!r})"

    @property
    def can_refresh(self) -> bool:
        """Whether a refresh token is configured."""
        return self._config.refresh_token is not None

    def user_token(self, *, refresh: bool = False) -> str:
        """The current user access token, refreshed first when asked or when it runs out."""
        self._config.require_oauth("this call")
        with self._lock:
            stale = self._user_expires is not None and self._clock() >= self._user_expires
            if self._user is None or stale or refresh:
                if self._config.refresh_token is None:
                    if self._user is None:  # pragma: no cover - config validation prevents it
                        raise ConfigError(f"{self._config.account}: no OAuth user token")
                    if refresh:
                        raise AuthError(
                            "the OAuth user token was refused and no refresh_token is"
                            " configured to get a new one",
                            channel=self._config.account,
                            operation="refresh_token",
                        )
                else:
                    self._user, self._user_expires = self._grant(
                        "refresh_token",
                        {
                            "grant_type": "refresh_token",
                            "refresh_token": self._config.refresh_token.get_secret_value(),
                            "scope": " ".join(self._config.scopes),
                        },
                    )
                    self.refreshes += 1
            assert self._user is not None
            return self._user.get_secret_value()

    def app_token(self) -> str:
        """An application access token (client credentials grant)."""
        with self._lock:
            if self._app is None or (
                self._app_expires is not None and self._clock() >= self._app_expires
            ):
                self._app, self._app_expires = self._grant(
                    "client_credentials",
                    {"grant_type": "client_credentials", "scope": APP_SCOPE},
                )
            return self._app.get_secret_value()

    def _grant(self, operation: str, form: Mapping[str, str]) -> tuple[SecretStr, datetime]:
        pair = f"{self._config.app_id}:{self._config.cert_id.get_secret_value()}"
        basic = base64.b64encode(pair.encode()).decode()
        response = self._identity.request(
            operation,
            "POST",
            TOKEN_PATH,
            data=dict(form),
            headers={
                "authorization": f"Basic {basic}",
                "content-type": "application/x-www-form-urlencoded",
            },
        )
        if response.status_code != 200:
            error = "token grant refused"
            try:
                payload = response.json()
                if isinstance(payload, dict):
                    error = str(payload.get("error_description") or payload.get("error") or error)
                    code = str(payload.get("error")) if payload.get("error") else None
                else:  # pragma: no cover - eBay always answers an object
                    code = None
            except ValueError:
                code = None
            if response.status_code in (400, 401, 403):
                raise AuthError(
                    f"eBay refused the {operation} grant: {error}",
                    channel=self._config.account,
                    operation=operation,
                    status=response.status_code,
                    code=code,
                )
            raise error_for_status(
                response, channel=self._config.account, operation=operation, code=code
            )
        token = _parse(TokenResponse, response, channel=self._config.account, operation=operation)
        expires = self._clock() + timedelta(seconds=token.expires_in) - _EARLY
        log.info("%s: obtained an eBay %s token", self._config.account, operation)
        return SecretStr(token.access_token), expires


class EbayRestClient:
    """The REST calls of one account (Sell Inventory, Notification, Post-Order).

    Args:
        config: the account.
        http: the REST ``HttpClient`` (base URL ``https://api.ebay.com`` or a fake's).
        tokens: the account's OAuth tokens.
    """

    def __init__(self, config: EbayConfig, http: HttpClient, tokens: OAuthTokens) -> None:
        self._config = config
        self._http = http
        self._tokens = tokens
        self.calls = 0

    def __repr__(self) -> str:
        return f"EbayRestClient({self._config.account!r}, {self._http.base_url!r})"

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        auth: str = "user",
        ok: Sequence[int] = (200,),
        **kwargs: Any,
    ) -> httpx.Response:
        account = self._config.account
        extra = dict(kwargs.pop("headers", {}))
        for attempt in (0, 1):
            if auth == "user":
                token = self._tokens.user_token(refresh=attempt == 1)
                authorization = f"Bearer {token}"
            elif auth == "iaf":
                token = self._tokens.user_token(refresh=attempt == 1)
                authorization = f"IAF {token}"
            else:
                authorization = f"Bearer {self._tokens.app_token()}"
            headers = {
                "authorization": authorization,
                "accept": "application/json",
                "x-ebay-c-marketplace-id": self._config.marketplace_id,
                **extra,
            }
            response = self._http.request(operation, method, path, headers=headers, **kwargs)
            self.calls += 1
            if response.status_code in ok:
                return response
            if (
                response.status_code == 401
                and attempt == 0
                and auth != "app"
                and self._tokens.can_refresh
            ):
                log.info("%s: %s got 401; refreshing the user token", account, operation)
                continue
            raise _error(response, channel=account, operation=operation)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- Sell Inventory -----------------------------------------------------------------

    def inventory_items(self, *, offset: int, limit: int) -> InventoryItems:
        """One page of getInventoryItems (``offset`` is the page number, from 0)."""
        response = self._send(
            "getInventoryItems",
            "GET",
            f"{INVENTORY_PATH}/inventory_item",
            params={"limit": str(limit), "offset": str(offset)},
        )
        return _parse(
            InventoryItems, response, channel=self._config.account, operation="getInventoryItems"
        )

    def offers(self, sku: str) -> Offers:
        """Every offer of ``sku`` (getOffers; a SKU has one or two)."""
        response = self._send(
            "getOffers",
            "GET",
            f"{INVENTORY_PATH}/offer",
            params={"sku": sku, "limit": "100"},
            ok=(200, 404),
        )
        if response.status_code == 404:  # eBay answers 404 (errorId 25713) for no offers
            return Offers()
        return _parse(Offers, response, channel=self._config.account, operation="getOffers")

    def bulk_update_price_quantity(
        self, requests: Sequence[Mapping[str, Any]]
    ) -> tuple[int, BulkPriceQuantityResponse]:
        """One bulkUpdatePriceQuantity call (at most 25 requests); status 200 or 207."""
        if not 1 <= len(requests) <= 25:
            raise ValueError(f"bulkUpdatePriceQuantity takes 1 to 25 requests, got {len(requests)}")
        response = self._send(
            "bulkUpdatePriceQuantity",
            "POST",
            f"{INVENTORY_PATH}/bulk_update_price_quantity",
            json={"requests": list(requests)},
            headers={"content-type": "application/json"},
            ok=(200, 207),
        )
        body = _parse(
            BulkPriceQuantityResponse,
            response,
            channel=self._config.account,
            operation="bulkUpdatePriceQuantity",
        )
        return response.status_code, body

    def bulk_get_inventory_items(
        self, skus: Sequence[str]
    ) -> tuple[int, BulkInventoryItemResponse]:
        """One bulkGetInventoryItem call (1 to 25 SKUs); status 200 or 207 (a SKU eBay does
        not know answers its own ``statusCode`` 404)."""
        if not 1 <= len(skus) <= 25:
            raise ValueError(f"bulkGetInventoryItem takes 1 to 25 SKUs, got {len(skus)}")
        response = self._send(
            "bulkGetInventoryItem",
            "POST",
            f"{INVENTORY_PATH}/bulk_get_inventory_item",
            json={"requests": [{"sku": sku} for sku in skus]},
            headers={"content-type": "application/json"},
            ok=(200, 207),
        )
        body = _parse(
            BulkInventoryItemResponse,
            response,
            channel=self._config.account,
            operation="bulkGetInventoryItem",
        )
        return response.status_code, body

    def inventory_locations(self, *, offset: int, limit: int = 100) -> InventoryLocations:
        """One page of getInventoryLocations (``offset``: locations to skip)."""
        response = self._send(
            "getInventoryLocations",
            "GET",
            f"{INVENTORY_PATH}/location",
            params={"limit": str(limit), "offset": str(offset)},
        )
        return _parse(
            InventoryLocations,
            response,
            channel=self._config.account,
            operation="getInventoryLocations",
        )

    # -- Sell Fulfillment -----------------------------------------------------------------

    def orders(
        self, start: datetime, end: datetime, *, offset: int, limit: int
    ) -> FulfillmentOrders:
        """One page of getOrders modified in ``[start, end]`` (its own daily quota, not
        Trading's)."""
        window = f"lastmodifieddate:[{_iso_ms(start)}..{_iso_ms(end)}]"
        response = self._send(
            "getOrders",
            "GET",
            f"{FULFILLMENT_PATH}/order",
            params={"filter": window, "limit": str(limit), "offset": str(offset)},
        )
        return _parse(
            FulfillmentOrders, response, channel=self._config.account, operation="getOrders"
        )

    def order(self, order_id: str) -> dict[str, Any] | None:
        """getOrder: one order as JSON (None when eBay has no such order)."""
        response = self._send(
            "getOrder",
            "GET",
            f"{FULFILLMENT_PATH}/order/{quote(order_id, safe='')}",
            ok=(200, 400, 404),
        )
        if response.status_code != 200:
            return None  # eBay answers 400 (errorId 32100 "Invalid order ID") for unknown ids
        body = response.json()
        return body if isinstance(body, dict) else None

    # -- Notification API -----------------------------------------------------------------

    def public_key(self, key_id: str) -> PublicKey:
        """getPublicKey: the key eBay signs push notifications with."""
        response = self._send(
            "getPublicKey",
            "GET",
            f"{NOTIFICATION_PATH}/public_key/{quote(key_id, safe='')}",
            auth="app",
        )
        return _parse(PublicKey, response, channel=self._config.account, operation="getPublicKey")

    # -- Post-Order API -------------------------------------------------------------------

    def check_cancellation(self, order_id: str) -> CancelEligibility:
        """Whether eBay lets the seller cancel the order (Post-Order check_eligibility)."""
        response = self._send(
            "checkCancellationEligibility",
            "POST",
            f"{POST_ORDER_PATH}/cancellation/check_eligibility",
            auth="iaf",
            json={"legacyOrderId": order_id},
            headers={"content-type": "application/json"},
        )
        return _parse(
            CancelEligibility,
            response,
            channel=self._config.account,
            operation="checkCancellationEligibility",
        )

    def create_cancellation(self, order_id: str, reason: str) -> CreateCancelResponse:
        """Cancel an order as the seller (Post-Order ``POST /cancellation``): the
        ``cancelId``, or the eligibility result of an order eBay will not cancel."""
        response = self._send(
            "createCancellation",
            "POST",
            f"{POST_ORDER_PATH}/cancellation",
            auth="iaf",
            json={"legacyOrderId": order_id, "cancelReason": reason},
            headers={"content-type": "application/json"},
            ok=(200, 201),
        )
        return _parse(
            CreateCancelResponse,
            response,
            channel=self._config.account,
            operation="createCancellation",
        )

    def cancellation(self, cancel_id: str) -> CancelDetailResponse:
        """``GET /cancellation/{cancelId}``."""
        response = self._send(
            "getCancellation",
            "GET",
            f"{POST_ORDER_PATH}/cancellation/{quote(cancel_id, safe='')}",
            auth="iaf",
        )
        return _parse(
            CancelDetailResponse,
            response,
            channel=self._config.account,
            operation="getCancellation",
        )

    def issue_refund(self, order_id: str, body: Mapping[str, Any]) -> RefundAnswer:
        """Fulfillment ``issueRefund`` (processed asynchronously: ``PENDING``)."""
        response = self._send(
            "issueRefund",
            "POST",
            f"{FULFILLMENT_PATH}/order/{quote(order_id, safe='')}/issue_refund",
            json=dict(body),
            headers={"content-type": "application/json"},
        )
        return _parse(RefundAnswer, response, channel=self._config.account, operation="issueRefund")

    def order_refunds(self, order_id: str) -> RestOrder:
        """Fulfillment ``getOrder``, read for the refunds of the order and its lines."""
        response = self._send(
            "getOrder", "GET", f"{FULFILLMENT_PATH}/order/{quote(order_id, safe='')}"
        )
        return _parse(RestOrder, response, channel=self._config.account, operation="getOrder")

    def search_returns(self, order_id: str) -> ReturnSearch:
        """Post-Order ``GET /return/search`` of one order."""
        response = self._send(
            "searchReturns",
            "GET",
            f"{POST_ORDER_PATH}/return/search",
            auth="iaf",
            params={"order_id": order_id},
        )
        return _parse(
            ReturnSearch, response, channel=self._config.account, operation="searchReturns"
        )

    def mark_return_received(self, return_id: str, comment: str | None = None) -> None:
        """Post-Order ``POST /return/{returnId}/mark_as_received``."""
        body: dict[str, Any] = {}
        if comment:
            body["comments"] = {"content": comment[:1000], "language": "en-US"}
        self._send(
            "markReturnReceived",
            "POST",
            f"{POST_ORDER_PATH}/return/{quote(return_id, safe='')}/mark_as_received",
            auth="iaf",
            json=body,
            headers={"content-type": "application/json"},
            ok=(200, 204),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _iso_ms(value: datetime) -> str:
    """An aware time as the Fulfillment API filter wants it: UTC, milliseconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
