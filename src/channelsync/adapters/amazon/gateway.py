"""The one module that touches python-amazon-sp-api, and the quirks it owns.

Everything else in the adapter sees ``SpApiGateway`` methods that return ``SpResponse``
(status, JSON body, headers) or raise channelsync errors. What this module works around,
verified against python-amazon-sp-api 2.1.35:

* **No base-URL option.** ``Client`` takes its host from the ``Marketplaces`` enum (whose
  hosts switch to Amazon's sandbox when ``AWS_ENV=SANDBOX`` is set at import time). We
  set ``client.endpoint`` ourselves after construction, always: the region's host, or the
  base URL given (the channelsync sandbox).
* **LWA host.** ``AccessTokenClient`` posts to ``https://api.amazon.com/auth/o2/token``.
  The client accepts ``auth_token_client_class``; we pass a factory that hands every SDK
  client our own ``LwaTokenSource`` (token URL of our choosing, our HTTP client).
* **Token caches.** The SDK keeps access tokens in module-global ``cachetools.TTLCache``
  objects, without a lock, keyed only by the refresh token, and for a fixed 3,200 s
  whatever ``expires_in`` said. Our token source is per account, refreshes under a lock,
  honours ``expires_in`` (less a minute) and is dropped on a 403.
* **Client objects are not thread-safe** (``_request`` stores ``self.method``): one SDK
  client per thread (``threading.local``); they share the account's HTTP connection pool
  and token source.
* **``SP_API_DEFAULT_MARKETPLACE``** silently replaces the ``marketplace`` argument (and an
  unknown value raises ``KeyError`` inside ``Client.__init__``). We overwrite the client's
  ``marketplace_id``/``endpoint`` after construction and always send ``marketplaceIds``
  ourselves, so the variable has no effect; a value the SDK cannot parse becomes a
  ``ConfigError`` naming it.
* **Credentials.** Without ``credential_providers`` the SDK also reads environment
  variables, AWS Secrets Manager and a ``credentials.yml``. We pass only
  ``FromCodeCredentialProvider`` with placeholders: the real LWA secret never enters SDK
  objects (our token source holds it as ``SecretStr``).
* **Errors.** ``parse_response`` raises only when the body has an ``"errors"`` key: a 429
  or 5xx with another body (an HTML gateway page, ``{"message": ...}``, nothing) comes
  back as an empty ``ApiResponse``, and ``ApiResponse`` drops the HTTP status. Our
  transport wrapper sees every response first and raises our errors for any status >= 400.
  The SDK also strips ``pagination``/``errors`` out of ``ApiResponse.payload``; we read
  the body from the raw response instead.
* **Retries and sleeps.** ``sp_api.util.retry``/``sp_retry``/``throttle_retry`` and
  ``load_all_pages`` (which sleeps between pages) are decorators the caller opts into; the
  endpoints used here carry none (checked), and we page ourselves. The only retry is the
  engine's ``RetryPolicy``.
* **Feeds.** ``create_feed_document(file=...)`` encodes text as ISO-8859-1 and uploads with
  a fresh ``httpx.Client`` (ignoring our transport and timeouts); ``create_feed`` and
  ``create_feed_document`` also leak ``path`` and duplicate ``MarketplaceIds`` keys into
  the JSON body; ``get_feed_result_document`` downloads with a fresh client and decodes
  as ISO-8859-1. We send those three requests through the client's own ``_request`` with
  clean bodies, upload the document as UTF-8 bytes and download the report ourselves.
* **Logging.** ``sp_api.base.client`` logs request headers (the access token) at DEBUG; a
  filter drops that record whatever level the application sets.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from channelsync.adapters._http import HttpClient, error_for_status
from channelsync.adapters.amazon.config import AmazonConfig
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    ConfigError,
    Rejected,
    Unavailable,
)

try:
    from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
    from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801
    from sp_api.api.orders.orders_v0 import OrdersV0
    from sp_api.api.solicitations.solicitations import Solicitations
    from sp_api.auth import AccessTokenResponse
    from sp_api.base import Marketplaces, fill_query_params
    from sp_api.base.credential_provider import FromCodeCredentialProvider
    from sp_api.base.exceptions import SellingApiException
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extra
    raise ModuleNotFoundError(
        "the Amazon adapter needs python-amazon-sp-api: pip install 'channelsync[amazon]'"
    ) from exc
except (KeyError, ValueError) as exc:  # pragma: no cover - environment-dependent
    raise ConfigError(
        "python-amazon-sp-api failed to import because of its environment variables"
        f" (SP_API_DEFAULT_MARKETPLACE, AWS_ENV or SP_API_AUTH_CACHE_*): {exc!r}"
    ) from exc

try:
    from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101

    HAS_ORDERS_2026 = True
except ImportError:  # pragma: no cover - SDK versions before the 2026-01-01 Orders API
    OrdersV20260101 = None
    HAS_ORDERS_2026 = False

_APIS: tuple[type[Any], ...] = tuple(
    api
    for api in (OrdersV20260101, OrdersV0, ListingsItemsV20210801, FeedsV20210630, Solicitations)
    if api is not None
)

__all__ = ["HAS_ORDERS_2026", "LwaTokenSource", "SpApiGateway", "SpResponse"]

log = logging.getLogger(__name__)

_PLACEHOLDER = "held-by-channelsync"  # what the SDK gets instead of the real LWA secret


class _DropSdkHeaderLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Request Headers", "Request Data"))


_SDK_LOG_FILTER = _DropSdkHeaderLog()
for _name in ("sp_api.base.client", "sp_api.auth.access_token_client"):
    logging.getLogger(_name).addFilter(_SDK_LOG_FILTER)


@dataclass(frozen=True)
class SpResponse:
    """One SP-API answer: HTTP status, JSON body, headers, request id, reported rate."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def request_id(self) -> str | None:
        """``x-amzn-RequestId``, for support tickets."""
        return self.headers.get("x-amzn-requestid")

    @property
    def rate_limit(self) -> float | None:
        """``x-amzn-RateLimit-Limit``: the operation's rate (requests/second) for this seller."""
        value = self.headers.get("x-amzn-ratelimit-limit")
        try:
            rate = float(value) if value else None
        except ValueError:
            return None
        return rate if rate and rate > 0 else None


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return None


def sp_error(response: httpx.Response, *, channel: str, operation: str) -> ChannelError:
    """The channelsync error an SP-API error answer stands for.

    The ``{"errors": [{code, message, details}]}`` body gives code and message when
    present; any other body (or none) still maps by status. ``x-amzn-RequestId`` is kept.
    """
    body = _json(response)
    code: str | None = None
    message: str | None = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = str(first.get("code") or "") or None
        message = str(first.get("message") or "") or None
        details = first.get("details")
        if message and details:
            message = f"{message} ({details})"
        if len(errors) > 1:
            message = f"{message} (+{len(errors) - 1} more)"
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    if message is None:
        message = f"HTTP {response.status_code} without an SP-API error body"
    retry_after: float | None = None
    if response.status_code == 429:
        code = code or "QuotaExceeded"
        limit = response.headers.get("x-amzn-ratelimit-limit")
        try:
            retry_after = 1.0 / float(limit) if limit and float(limit) > 0 else None
        except ValueError:
            retry_after = None
    return error_for_status(
        response,
        channel=channel,
        operation=operation,
        code=code,
        message=message,
        request_id=response.headers.get("x-amzn-requestid"),
        retry_after=retry_after,
    )


class LwaTokenSource:
    """Login with Amazon access tokens for one account: refresh-token grant, cached, locked.

    Stands in for the SDK's ``AccessTokenClient`` (``get_auth()``); one instance serves
    every thread of the account. Refreshes a minute before ``expires_in`` runs out.
    """

    def __init__(
        self,
        config: AmazonConfig,
        token_url: str,
        http: HttpClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._url = token_url
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"LwaTokenSource({self._config.account!r}, {self._url!r})"

    def access_token(self) -> str:
        """A valid access token, refreshed first when needed."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after Amazon refused it)."""
        with self._lock:
            self._token = None

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._config.refresh_token.get_secret_value(),
            "client_id": self._config.lwa_client_id,
            "client_secret": self._config.lwa_client_secret.get_secret_value(),
        }
        started = self._clock()
        response = self._http.request(
            "lwaToken",
            "POST",
            self._url,
            data=form,
            headers={"content-type": "application/x-www-form-urlencoded;charset=UTF-8"},
        )
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            description = body.get("error_description") if isinstance(body, dict) else None
            error = body.get("error") if isinstance(body, dict) else None
            exc = error_for_status(
                response,
                channel=self._config.account,
                operation="lwaToken",
                code=str(error) if error else None,
                message=f"Login with Amazon refused the token request: {description or error}",
            )
            if response.status_code in (400, 401) and not isinstance(exc, AuthError):
                exc = AuthError(
                    exc.message,
                    channel=exc.channel,
                    operation=exc.operation,
                    status=exc.status,
                    code=exc.code,
                    raw=response.content,
                )
            raise exc
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise Unavailable(
                "Login with Amazon answered without an access_token",
                channel=self._config.account,
                operation="lwaToken",
                status=response.status_code,
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._expires_at = started + max(0.0, lifetime - 60.0)
        self.refreshes += 1

    # -- the SDK's AccessTokenClient interface ---------------------------------------------

    def get_auth(self) -> Any:
        """What ``sp_api.base.Client.auth`` expects: an ``AccessTokenResponse``."""
        return AccessTokenResponse(access_token=self.access_token(), token_type="bearer")  # noqa: S106

    def get_grantless_auth(self, scope: str = "") -> Any:
        """Grantless operations are not used by channelsync."""
        raise ConfigError(f"grantless SP-API operations ({scope}) are not used by channelsync")


class _SdkTransport:
    """Replaces the SDK client's ``HttpxTransport``: our pool, our errors, the raw answer."""

    def __init__(self, gateway: SpApiGateway) -> None:
        self._gateway = gateway
        self.operation = "unknown"
        self.last: httpx.Response | None = None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        # The SDK sets ``host`` to ``endpoint[8:]``, which is wrong for an http:// base URL
        # (the sandbox); httpx derives the right one from the URL.
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        response = self._gateway.http.request(
            self.operation, method, url, params=params, data=data, content=content, headers=sent
        )
        self.last = response
        if response.status_code >= 400:
            if response.status_code == 403:
                self._gateway.tokens.invalidate()
            raise sp_error(response, channel=self._gateway.account, operation=self.operation)
        return response

    def close(self) -> None:
        """The pool belongs to the gateway."""


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.clients: dict[type[Any], Any] = {}
        self.transport: _SdkTransport | None = None


class SpApiGateway:
    """The SP-API operations channelsync uses, through python-amazon-sp-api.

    Args:
        config: the account.
        endpoint: the SP-API base URL (the region's host, or a sandbox).
        token_url: the LWA token endpoint.
        transport: an httpx transport (tests), else real network.
    """

    def __init__(
        self,
        config: AmazonConfig,
        *,
        endpoint: str,
        token_url: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.account = config.account
        self.endpoint = endpoint.rstrip("/")
        self.http = HttpClient(
            config.account, self.endpoint, transport=transport, timeout=config.timeout
        )
        self.tokens = LwaTokenSource(config, token_url, self.http)
        self._local = _ThreadState()

    def __repr__(self) -> str:
        return f"SpApiGateway({self.account!r}, {self.endpoint!r})"

    # -- SDK clients, one per thread --------------------------------------------------------

    def _client(self, api: type[Any]) -> Any:
        state = self._local
        client = state.clients.get(api)
        if client is not None:
            return client
        tokens = self.tokens
        try:
            client = api(
                Marketplaces.US,  # replaced below: the SDK wants one, we set our own
                refresh_token=_PLACEHOLDER,
                credentials={
                    "lwa_app_id": _PLACEHOLDER,
                    "lwa_client_secret": _PLACEHOLDER,
                    "refresh_token": _PLACEHOLDER,
                },
                credential_providers=(FromCodeCredentialProvider,),
                auth_token_client_class=lambda **_: tokens,
                timeout=self.config.timeout,
            )
        except KeyError as exc:
            raise ConfigError(
                f"SP_API_DEFAULT_MARKETPLACE names no marketplace the SDK knows ({exc});"
                " channelsync does not use it: unset it"
            ) from exc
        client._transport.close()  # the SDK opened its own httpx client: not used
        if state.transport is None:
            state.transport = _SdkTransport(self)
        client._transport = state.transport
        client.endpoint = self.endpoint
        client.marketplace_id = self.config.marketplace_ids[0]
        client.region = self.config.region
        state.clients[api] = client
        return client

    def prepare(self) -> None:
        """Set up this thread's SDK clients and refresh the access token if it is due, so
        that a paced request goes out as soon as its slot comes."""
        for api in _APIS:
            self._client(api)
        self.tokens.access_token()

    def _call(self, operation: str, api: type[Any], send: Callable[[Any], object]) -> SpResponse:
        client = self._client(api)
        transport = self._local.transport
        assert transport is not None
        transport.operation = operation
        transport.last = None
        try:
            send(client)
        except ChannelError:
            raise
        except SellingApiException as exc:  # a 2xx whose body still carried "errors"
            last = transport.last
            raise Rejected(
                f"{operation} answered with errors: {getattr(exc, 'message', None) or exc}",
                channel=self.account,
                operation=operation,
                status=last.status_code if last is not None else None,
                code=getattr(exc, "amzn_code", None),
                request_id=last.headers.get("x-amzn-requestid") if last is not None else None,
                raw=last.content if last is not None else None,
            ) from exc
        except (ValueError, TypeError) as exc:  # the SDK choked on an unexpected body
            last = transport.last
            raise Unavailable(
                f"{operation}: unreadable answer ({type(exc).__name__})",
                channel=self.account,
                operation=operation,
                status=last.status_code if last is not None else None,
                raw=last.content if last is not None else None,
            ) from exc
        response = transport.last
        if response is None:
            raise Unavailable(
                f"{operation}: the SDK sent no request", channel=self.account, operation=operation
            )
        body = _json(response)
        if not isinstance(body, dict):
            raise Unavailable(
                f"{operation}: the answer is not a JSON object",
                channel=self.account,
                operation=operation,
                status=response.status_code,
                request_id=response.headers.get("x-amzn-requestid"),
                raw=response.content,
            )
        return SpResponse(response.status_code, body, response.headers)

    # -- orders -------------------------------------------------------------------------------

    def search_orders(self, params: Mapping[str, Any]) -> SpResponse:
        """``GET /orders/2026-01-01/orders`` (searchOrders)."""
        if OrdersV20260101 is None:  # pragma: no cover - old SDK
            raise ConfigError(
                "python-amazon-sp-api lacks the Orders API 2026-01-01: upgrade to >= 2.1.35"
            )
        return self._call("searchOrders", OrdersV20260101, lambda c: c.search_orders(**params))

    def get_order(self, order_id: str, params: Mapping[str, Any]) -> SpResponse:
        """``GET /orders/2026-01-01/orders/{orderId}`` (getOrder)."""
        if OrdersV20260101 is None:  # pragma: no cover - old SDK
            raise ConfigError(
                "python-amazon-sp-api lacks the Orders API 2026-01-01: upgrade to >= 2.1.35"
            )
        return self._call("getOrder", OrdersV20260101, lambda c: c.get_order(order_id, **params))

    def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> SpResponse:
        """``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` (confirmShipment)."""
        return self._call(
            "confirmShipment", OrdersV0, lambda c: c.confirm_shipment(order_id, **body)
        )

    # -- listings -----------------------------------------------------------------------------

    def search_listings(self, params: Mapping[str, Any]) -> SpResponse:
        """``GET /listings/2021-08-01/items/{sellerId}`` (searchListingsItems)."""
        seller = self.config.seller_id
        return self._call(
            "searchListingsItems",
            ListingsItemsV20210801,
            lambda c: c.search_listings_items(seller, **params),
        )

    def get_listing(self, sku: str, params: Mapping[str, Any]) -> SpResponse:
        """``GET /listings/2021-08-01/items/{sellerId}/{sku}`` (getListingsItem)."""
        seller = self.config.seller_id
        return self._call(
            "getListingsItem",
            ListingsItemsV20210801,
            lambda c: c.get_listings_item(seller, sku, **params),
        )

    def patch_listing(
        self, sku: str, body: Mapping[str, Any], params: Mapping[str, Any]
    ) -> SpResponse:
        """``PATCH /listings/2021-08-01/items/{sellerId}/{sku}`` (patchListingsItem)."""
        seller = self.config.seller_id
        return self._call(
            "patchListingsItem",
            ListingsItemsV20210801,
            lambda c: c.patch_listings_item(seller, sku, body=dict(body), **params),
        )

    # -- feeds --------------------------------------------------------------------------------

    def create_feed_document(self, content_type: str) -> SpResponse:
        """``POST /feeds/2021-06-30/documents`` with exactly ``{"contentType": ...}``."""
        return self._call(
            "createFeedDocument",
            FeedsV20210630,
            lambda c: c._request(
                "/feeds/2021-06-30/documents",
                data={"contentType": content_type, "method": "POST"},
                add_marketplace=False,
            ),
        )

    def create_feed(
        self, feed_type: str, document_id: str, marketplace_ids: tuple[str, ...]
    ) -> SpResponse:
        """``POST /feeds/2021-06-30/feeds`` with a clean ``CreateFeedSpecification``."""
        body = {
            "feedType": feed_type,
            "marketplaceIds": list(marketplace_ids),
            "inputFeedDocumentId": document_id,
            "method": "POST",
        }
        return self._call(
            "createFeed",
            FeedsV20210630,
            lambda c: c._request("/feeds/2021-06-30/feeds", data=body, add_marketplace=False),
        )

    def get_feed(self, feed_id: str) -> SpResponse:
        """``GET /feeds/2021-06-30/feeds/{feedId}`` (getFeed)."""
        return self._call("getFeed", FeedsV20210630, lambda c: c.get_feed(feed_id))

    def get_feed_document(self, document_id: str) -> SpResponse:
        """``GET /feeds/2021-06-30/documents/{feedDocumentId}``: the metadata only."""
        path = fill_query_params("/feeds/2021-06-30/documents/{}", document_id)
        return self._call(
            "getFeedDocument",
            FeedsV20210630,
            lambda c: c._request(path, params={"method": "GET"}, add_marketplace=False),
        )

    # -- solicitations ------------------------------------------------------------------------

    def get_solicitation_actions(self, order_id: str, marketplace_id: str) -> SpResponse:
        """``GET /solicitations/v1/orders/{amazonOrderId}`` (getSolicitationActionsForOrder)."""
        return self._call(
            "getSolicitationActionsForOrder",
            Solicitations,
            lambda c: c.get_solicitation_actions_for_order(order_id, marketplaceIds=marketplace_id),
        )

    def create_review_solicitation(self, order_id: str, marketplace_id: str) -> SpResponse:
        """``POST .../solicitations/productReviewAndSellerFeedback`` without a body.

        The SDK's method would put ``marketplaceIds``/``MarketplaceIds`` into a JSON body
        (its POST default) besides the query parameter; the operation takes none, so the
        request goes through ``_request`` with the query parameter only.
        """
        path = fill_query_params(
            "/solicitations/v1/orders/{}/solicitations/productReviewAndSellerFeedback", order_id
        )
        return self._call(
            "createProductReviewAndSellerFeedbackSolicitation",
            Solicitations,
            lambda c: c._request(
                path,
                params={"marketplaceIds": marketplace_id, "method": "POST"},
                add_marketplace=False,
            ),
        )

    def upload_document(self, url: str, content: bytes, content_type: str) -> None:
        """PUT the feed document's bytes to the presigned URL (no SP-API auth)."""
        response = self.http.request(
            "uploadFeedDocument",
            "PUT",
            url,
            content=content,
            headers={"content-type": content_type},
        )
        if response.status_code >= 300:
            status = response.status_code
            kind = Unavailable if status >= 500 or status in (408, 429) else Rejected
            raise kind(
                f"the feed document upload was refused (HTTP {status})",
                channel=self.account,
                operation="uploadFeedDocument",
                status=status,
                raw=response.content,
            )

    def download_document(self, url: str, compression: str | None) -> str:
        """GET a document from its presigned URL, gunzip it if asked, decode UTF-8."""
        response = self.http.request("downloadFeedDocument", "GET", url)
        if response.status_code >= 300:
            status = response.status_code
            kind = Unavailable if status >= 500 or status in (403, 408, 429) else Rejected
            raise kind(
                f"the result document download failed (HTTP {status})",
                channel=self.account,
                operation="downloadFeedDocument",
                status=status,
                raw=response.content,
            )
        data = response.content
        if compression:
            if compression.upper() != "GZIP":
                raise Unavailable(
                    f"unknown document compression {compression!r}",
                    channel=self.account,
                    operation="downloadFeedDocument",
                )
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise Unavailable(
                    "the result document is not valid GZIP",
                    channel=self.account,
                    operation="downloadFeedDocument",
                ) from exc
        return data.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Close the HTTP pool."""
        self.http.close()
