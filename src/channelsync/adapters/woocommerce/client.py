"""The wire: WooCommerce REST v3 over httpx, answers as typed payloads, errors mapped once.

Every request goes through ``WooCommerceClient._send``: credentials (HTTP Basic, or query
parameters for servers that strip ``Authorization``), optional pacing, and the one place
where WordPress error bodies (``{"code", "message", "data": {"status"}}``) become
channelsync errors. Nothing vendor-specific leaves this module: callers get payload models
or ``ChannelError`` subclasses.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from channelsync.adapters._http import HttpClient, error_for_status
from channelsync.adapters._ratelimit import TokenBucket
from channelsync.adapters.woocommerce._oauth import OAuth1QueryAuth
from channelsync.adapters.woocommerce.config import WooCommerceConfig
from channelsync.adapters.woocommerce.payloads import (
    UnreadableOrder,
    WooBatchError,
    WooBatchResponse,
    WooError,
    WooNote,
    WooOrder,
    WooProduct,
    WooRefund,
    WooSetting,
    WooTracking,
    WooVariation,
)
from channelsync.core.errors import ChannelError, NotFound, PermanentError, Rejected, Unavailable

__all__ = ["BatchTooLarge", "Page", "WooCommerceClient"]

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)
T = TypeVar("T")

#: WordPress's answer when a route does not exist (a plugin is not active).
NO_ROUTE = "rest_no_route"
#: Error codes that a status code alone would file wrongly.
_REJECTED_CODES = frozenset({"woocommerce_rest_cannot_create_order_refund"})
_LIMIT = re.compile(r"more than (\d+) items")


class BatchTooLarge(Rejected):
    """The shop refused a batch with 413: its batch limit is ``limit`` (lower than ours)."""

    def __init__(self, message: str, *, limit: int | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a collection with WordPress's ``X-WP-Total`` / ``X-WP-TotalPages``."""

    items: list[T]
    total: int | None
    total_pages: int | None


class _RedactQuerySecret(logging.Filter):
    """Keeps ``consumer_secret`` query values out of httpx's request log lines."""

    _SECRET = re.compile(r"(consumer_(?:key|secret)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                self._SECRET.sub(r"\1[redacted]", str(a)) if "consumer_" in str(a) else a
                for a in args
            )
        return True


_redaction_lock = threading.Lock()
_redaction_installed = False


def _install_query_secret_redaction() -> None:
    global _redaction_installed
    with _redaction_lock:
        if not _redaction_installed:
            logging.getLogger("httpx").addFilter(_RedactQuerySecret())
            _redaction_installed = True


def _request_id(response: httpx.Response) -> str | None:
    for name in ("x-request-id", "x-wc-request-id", "cf-ray"):
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class WooCommerceClient:
    """REST v3 calls of one shop. Raises only ``ChannelError`` subclasses.

    Args:
        config: the account's configuration.
        transport: an httpx transport (tests, the sandbox).
        base_url: the API root or shop URL to use instead of ``config.url``.
    """

    def __init__(
        self,
        config: WooCommerceConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
    ) -> None:
        self.account = config.account
        self.api_root = config.api_root(base_url)
        self.wp_root = config.site_root(self.api_root)
        key = config.consumer_key.get_secret_value()
        secret = config.consumer_secret.get_secret_value()
        auth: httpx.Auth | None = None
        self._query_auth: dict[str, str] = {}
        if urlsplit(self.api_root).scheme == "http":
            # Over plain HTTP (the loopback sandbox) WooCommerce reads no Basic credentials:
            # it checks an OAuth 1.0a signature, which never sends the secret.
            auth = OAuth1QueryAuth(key, secret)
        elif config.auth_in_query:
            self._query_auth = {"consumer_key": key, "consumer_secret": secret}
            _install_query_secret_redaction()
        else:
            auth = httpx.BasicAuth(key, secret)
        self._http = HttpClient(
            config.account, self.wp_root, transport=transport, timeout=config.timeout, auth=auth
        )
        rate = config.requests_per_second
        self._bucket = TokenBucket(rate, max(1.0, rate)) if rate else None

    def __repr__(self) -> str:
        return f"WooCommerceClient({self.account!r}, {self.api_root!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- the one boundary -------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        if self._bucket is not None:
            self._bucket.acquire()
        query: dict[str, str | int] = {**(params or {}), **self._query_auth}
        response = self._http.request(operation, method, path, params=query or None, json=json)
        if response.status_code >= 300:
            raise self._error(response, operation)
        return response

    def _error(self, response: httpx.Response, operation: str) -> ChannelError:
        body: WooError | None = None
        try:
            parsed = response.json()
            if isinstance(parsed, dict) and "code" in parsed:
                body = WooError.model_validate(parsed)
        except (ValueError, ValidationError):
            body = None
        code = body.code if body and body.code else None
        message = _plain(body.message) if body and body.message else None
        status = response.status_code
        kw: dict[str, Any] = {
            "channel": self.account,
            "operation": operation,
            "status": status,
            "code": code,
            "request_id": _request_id(response),
            "raw": response.content,
        }
        if status == 413:
            match = _LIMIT.search(message or "")
            return BatchTooLarge(
                message or "the shop refused the batch as too large",
                limit=int(match.group(1)) if match else None,
                **kw,
            )
        if 300 <= status < 400:
            target = response.headers.get("location", "?")
            return Rejected(
                f"the shop redirects API requests (HTTP {status} to {target}); set the account's"
                " url to the final https address",
                **kw,
            )
        if code in _REJECTED_CODES:
            return Rejected(message or "refused", **kw)
        return error_for_status(
            response,
            channel=self.account,
            operation=operation,
            code=code,
            message=message,
            request_id=_request_id(response),
        )

    def _json(self, response: httpx.Response, operation: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            # PHP notices printed before the JSON, a maintenance or login page: not an API answer.
            raise Unavailable(
                f"the shop answered HTTP {response.status_code} with a body that is not JSON",
                channel=self.account,
                operation=operation,
                status=response.status_code,
                request_id=_request_id(response),
                raw=response.content,
            ) from exc

    def _parse(self, model: type[P], data: Any, operation: str, raw: bytes) -> P:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise PermanentError(
                f"the shop's answer is not a WooCommerce REST v3 {model.__name__}:"
                f" {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}",
                channel=self.account,
                operation=operation,
                raw=raw,
            ) from exc

    def _object(self, model: type[P], response: httpx.Response, operation: str) -> P:
        return self._parse(model, self._json(response, operation), operation, response.content)

    def _json_list(self, response: httpx.Response, operation: str) -> list[Any]:
        data = self._json(response, operation)
        if not isinstance(data, list):
            raise PermanentError(
                f"the shop's answer to {operation} is not a list",
                channel=self.account,
                operation=operation,
                raw=response.content,
            )
        return data

    def _list(self, model: type[P], response: httpx.Response, operation: str) -> list[P]:
        data = self._json_list(response, operation)
        return [self._parse(model, item, operation, response.content) for item in data]

    def _page(self, model: type[P], response: httpx.Response, operation: str) -> Page[P]:
        return Page(
            items=self._list(model, response, operation),
            total=_int_header(response, "x-wp-total"),
            total_pages=_int_header(response, "x-wp-totalpages"),
        )

    # -- orders ---------------------------------------------------------------------------

    def orders_page(self, params: Mapping[str, str | int]) -> Page[WooOrder | UnreadableOrder]:
        """``GET /orders`` with ``params``.

        The page must be a JSON list (else ``PermanentError``, as for any collection); each
        order is read on its own, and one that does not read as ``WooOrder`` comes back as
        ``UnreadableOrder`` in its place, so one malformed order never hides its page.
        """
        op = "GET orders"
        response = self._send(op, "GET", "/wc/v3/orders", params=params)
        items: list[WooOrder | UnreadableOrder] = []
        for item in self._json_list(response, op):
            try:
                items.append(WooOrder.model_validate(item))
            except ValidationError as exc:
                raw = item if isinstance(item, dict) else {"value": item}
                items.append(UnreadableOrder(raw=raw, error=exc))
        return Page(
            items=items,
            total=_int_header(response, "x-wp-total"),
            total_pages=_int_header(response, "x-wp-totalpages"),
        )

    def order(self, order_id: int) -> WooOrder:
        """``GET /orders/{id}``."""
        op = "GET orders/{id}"
        return self._object(WooOrder, self._send(op, "GET", f"/wc/v3/orders/{order_id}"), op)

    def update_order(self, order_id: int, body: Mapping[str, Any]) -> WooOrder:
        """``PUT /orders/{id}``."""
        op = "PUT orders/{id}"
        response = self._send(op, "PUT", f"/wc/v3/orders/{order_id}", json=dict(body))
        return self._object(WooOrder, response, op)

    def order_refunds(self, order_id: int, *, strict: bool = True) -> list[WooRefund]:
        """``GET /orders/{id}/refunds`` (every refund; an order has few).

        With ``strict=False`` a refund that does not read raises its
        ``pydantic.ValidationError`` (the order's own data, which the caller reports as an
        unreadable order) instead of a ``PermanentError``.
        """
        op = "GET orders/{id}/refunds"
        refunds: list[WooRefund] = []
        page = 1
        while True:
            response = self._send(
                op,
                "GET",
                f"/wc/v3/orders/{order_id}/refunds",
                params={"per_page": 100, "page": page},
            )
            if strict:
                got = self._page(WooRefund, response, op)
            else:
                got = Page(
                    items=[WooRefund.model_validate(i) for i in self._json_list(response, op)],
                    total=_int_header(response, "x-wp-total"),
                    total_pages=_int_header(response, "x-wp-totalpages"),
                )
            refunds += got.items
            if not got.items or (got.total_pages or 1) <= page:
                return refunds
            page += 1

    def create_refund(self, order_id: int, body: Mapping[str, Any]) -> WooRefund:
        """``POST /orders/{id}/refunds``."""
        op = "POST orders/{id}/refunds"
        response = self._send(op, "POST", f"/wc/v3/orders/{order_id}/refunds", json=dict(body))
        return self._object(WooRefund, response, op)

    def order_notes(self, order_id: int) -> list[WooNote]:
        """``GET /orders/{id}/notes``."""
        op = "GET orders/{id}/notes"
        response = self._send(op, "GET", f"/wc/v3/orders/{order_id}/notes")
        return self._list(WooNote, response, op)

    def add_note(self, order_id: int, note: str, *, customer_note: bool) -> WooNote:
        """``POST /orders/{id}/notes``."""
        op = "POST orders/{id}/notes"
        response = self._send(
            op,
            "POST",
            f"/wc/v3/orders/{order_id}/notes",
            json={"note": note, "customer_note": customer_note},
        )
        return self._object(WooNote, response, op)

    # -- products -------------------------------------------------------------------------

    def products_page(self, page: int, per_page: int) -> Page[WooProduct]:
        """``GET /products``, oldest id first (stable while products change)."""
        op = "GET products"
        params: dict[str, str | int] = {
            "page": page,
            "per_page": per_page,
            "orderby": "id",
            "order": "asc",
        }
        return self._page(WooProduct, self._send(op, "GET", "/wc/v3/products", params=params), op)

    def variations_page(self, product_id: int, page: int, per_page: int) -> Page[WooVariation]:
        """``GET /products/{id}/variations``, oldest id first."""
        op = "GET products/{id}/variations"
        params: dict[str, str | int] = {
            "page": page,
            "per_page": per_page,
            "orderby": "id",
            "order": "asc",
        }
        response = self._send(op, "GET", f"/wc/v3/products/{product_id}/variations", params=params)
        return self._page(WooVariation, response, op)

    def products_by_id(self, ids: Sequence[int]) -> list[WooProduct]:
        """``GET /products?include=...`` (at most 100 ids: one page)."""
        op = "GET products"
        params: dict[str, str | int] = {
            "include": ",".join(str(i) for i in ids),
            "per_page": 100,
            "orderby": "id",
            "order": "asc",
        }
        return self._page(
            WooProduct, self._send(op, "GET", "/wc/v3/products", params=params), op
        ).items

    def variations_by_id(self, product_id: int, ids: Sequence[int]) -> list[WooVariation]:
        """``GET /products/{id}/variations?include=...`` (at most 100 ids: one page)."""
        op = "GET products/{id}/variations"
        params: dict[str, str | int] = {
            "include": ",".join(str(i) for i in ids),
            "per_page": 100,
            "orderby": "id",
            "order": "asc",
        }
        response = self._send(op, "GET", f"/wc/v3/products/{product_id}/variations", params=params)
        return self._page(WooVariation, response, op).items

    def batch_products(
        self, update: Sequence[Mapping[str, Any]]
    ) -> list[WooBatchError | WooProduct]:
        """``POST /products/batch`` with ``update`` items; one outcome per item, in order."""
        op = "POST products/batch"
        response = self._send(
            op, "POST", "/wc/v3/products/batch", json={"update": [dict(u) for u in update]}
        )
        return self._outcomes(WooProduct, response, op, len(update))

    def batch_variations(
        self, product_id: int, update: Sequence[Mapping[str, Any]]
    ) -> list[WooBatchError | WooVariation]:
        """``POST /products/{id}/variations/batch``; one outcome per item, in order."""
        op = "POST products/{id}/variations/batch"
        response = self._send(
            op,
            "POST",
            f"/wc/v3/products/{product_id}/variations/batch",
            json={"update": [dict(u) for u in update]},
        )
        return self._outcomes(WooVariation, response, op, len(update))

    def _outcomes(
        self, model: type[P], response: httpx.Response, operation: str, sent: int
    ) -> list[WooBatchError | P]:
        batch = self._parse(
            WooBatchResponse, self._json(response, operation), operation, response.content
        )
        outcomes: list[WooBatchError | P] = []
        for entry in batch.update:
            if isinstance(entry.get("error"), dict):
                outcomes.append(self._parse(WooBatchError, entry, operation, response.content))
            else:
                outcomes.append(self._parse(model, entry, operation, response.content))
        if len(outcomes) != sent:
            log.warning(
                "%s %s: sent %d items, the answer has %d",
                self.account,
                operation,
                sent,
                len(outcomes),
            )
        return outcomes

    # -- settings -------------------------------------------------------------------------

    def setting(self, group: str, setting_id: str) -> WooSetting:
        """``GET /settings/{group}/{id}``."""
        op = "GET settings/{group}/{id}"
        response = self._send(op, "GET", f"/wc/v3/settings/{group}/{setting_id}")
        return self._object(WooSetting, response, op)

    # -- the Shipment Tracking extension ----------------------------------------------------

    def _tracking_path(self, order_id: int) -> str:
        return f"/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings"

    def trackings(self, order_id: int) -> list[WooTracking] | None:
        """The order's tracking entries, or None when the extension is not installed."""
        op = "GET shipment-trackings"
        try:
            response = self._send(op, "GET", self._tracking_path(order_id))
        except NotFound as exc:
            if exc.code == NO_ROUTE:
                return None
            raise
        return self._list(WooTracking, response, op)

    def add_tracking(self, order_id: int, body: Mapping[str, Any]) -> WooTracking | None:
        """Add a tracking entry; None when the extension is not installed."""
        op = "POST shipment-trackings"
        try:
            response = self._send(op, "POST", self._tracking_path(order_id), json=dict(body))
        except NotFound as exc:
            if exc.code == NO_ROUTE:
                return None
            raise
        return self._object(WooTracking, response, op)


def _plain(message: str) -> str:
    """WordPress messages may carry HTML (the fatal-error page); keep the text."""
    text = re.sub(r"<[^>]+>", " ", message)
    return re.sub(r"\s+", " ", text).strip()
