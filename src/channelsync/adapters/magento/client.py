"""The wire: Magento 2 REST over httpx, answers as typed payloads, errors mapped once.

Every request goes through ``MagentoClient._send``: the route (``/rest/{store}/V1/...`` for
reads, ``/rest/all/V1/...`` for global writes, ``/rest/all/async/bulk/V1/...`` for bulk
writes), credentials (OAuth 1.0a signature or Bearer token), optional pacing, and the one
place where Magento's error bodies (``{"message": "...%1...", "parameters": [...]}``) become
channelsync errors. Nothing vendor-specific leaves this module: callers get payload models
or ``ChannelError`` subclasses.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from channelsync.adapters._http import HttpClient, error_for_status
from channelsync.adapters._ratelimit import TokenBucket
from channelsync.adapters.magento._oauth import OAuth1
from channelsync.adapters.magento._search import SearchCriteria
from channelsync.adapters.magento.config import MagentoConfig
from channelsync.adapters.magento.payloads import (
    AsyncResponse,
    BulkStatus,
    Creditmemo,
    CreditmemoComment,
    MagentoError,
    MagentoOrder,
    PriceUpdateResult,
    Product,
    SearchResults,
    Shipment,
    Source,
    SourceItem,
    StockItem,
    StoreConfig,
    UnreadableOrder,
)
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    NotFound,
    PermanentError,
    Rejected,
    Unavailable,
)

__all__ = ["NO_ROUTE", "BatchTooLarge", "MagentoClient", "PageTooLarge"]

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)
Scope = Literal["store", "all"]

#: Magento's answer (404) to a route no enabled module declares.
NO_ROUTE = "Request does not match any route."
_LIST_LIMIT = re.compile(r"Maximum items of type .* is (\d+)")
_PAGE_LIMIT = re.compile(r"Maximum SearchCriteria pageSize is (\d+)")
_NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."


class BatchTooLarge(Rejected):
    """The store's *Input List Limit* refused a batch: it takes at most ``limit`` items."""

    def __init__(self, message: str, *, limit: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


class PageTooLarge(Rejected):
    """The store's *Maximum Page Size* refused a page: it takes at most ``limit`` items."""

    def __init__(self, message: str, *, limit: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


def _request_id(response: httpx.Response) -> str | None:
    for name in ("x-request-id", "x-magento-request-id", "cf-ray", "x-served-by"):
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


class MagentoClient:
    """REST calls of one Magento store. Raises only ``ChannelError`` subclasses.

    Args:
        config: the account's configuration.
        transport: an httpx transport (tests, the sandbox).
        base_url: the store URL to use instead of ``config.url`` (the sandbox).
    """

    def __init__(
        self,
        config: MagentoConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
    ) -> None:
        self.account = config.account
        self.config = config
        self.rest_root = config.rest_root(base_url)
        auth: httpx.Auth | None = None
        headers = {"accept": "application/json"}
        if config.signs_requests:
            assert config.consumer_key is not None
            assert config.consumer_secret is not None
            assert config.access_token_secret is not None
            auth = OAuth1(
                config.consumer_key.get_secret_value(),
                config.consumer_secret.get_secret_value(),
                config.access_token.get_secret_value(),
                config.access_token_secret.get_secret_value(),
                method=config.signature_method,
            )
        else:
            headers["authorization"] = f"Bearer {config.access_token.get_secret_value()}"
        self._http = HttpClient(
            config.account,
            self.rest_root,
            transport=transport,
            timeout=config.timeout,
            headers=headers,
            auth=auth,
        )
        rate = config.requests_per_second
        self._bucket = TokenBucket(rate, max(1.0, rate)) if rate else None

    def __repr__(self) -> str:
        return f"MagentoClient({self.account!r}, {self.rest_root!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- the one boundary -------------------------------------------------------------------

    def _path(self, scope: Scope, route: str, *, bulk: bool = False) -> str:
        store = self.config.store_code if scope == "store" else "all"
        return f"/{store}{'/async/bulk' if bulk else ''}{route}"

    def _send(
        self,
        operation: str,
        method: str,
        route: str,
        *,
        scope: Scope = "store",
        bulk: bool = False,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        if self._bucket is not None:
            self._bucket.acquire()
        content = None
        headers: dict[str, str] = {}
        if body is not None:
            content = json.dumps(body, default=_json_default).encode()
            headers["content-type"] = "application/json"
        response = self._http.request(
            operation,
            method,
            self._path(scope, route, bulk=bulk),
            params=dict(params) if params else None,
            content=content,
            headers=headers or None,
        )
        if response.status_code >= 300:
            raise self._error(response, operation)
        return response

    def _error(self, response: httpx.Response, operation: str) -> ChannelError:
        body: MagentoError | None = None
        try:
            parsed = response.json()
            if isinstance(parsed, dict) and "message" in parsed:
                body = MagentoError.model_validate(parsed)
        except (ValueError, ValidationError):
            body = None
        status = response.status_code
        kw: dict[str, Any] = {
            "channel": self.account,
            "operation": operation,
            "status": status,
            "code": str(body.code) if body is not None and body.code else None,
            "request_id": _request_id(response),
            "raw": response.content,
        }
        if body is None:
            if status < 500 and status not in (401, 403, 404, 408, 429):
                # An HTML page from a proxy, WAF or maintenance mode: not Magento's API.
                return Rejected(
                    f"the store answered HTTP {status} with a body that is not Magento's JSON",
                    **kw,
                )
            return error_for_status(
                response, channel=self.account, operation=operation, request_id=kw["request_id"]
            )
        text = body.text()
        if body.errors:
            text += ": " + "; ".join(e.text() for e in body.errors[:5])
        if status == 400:
            found = _LIST_LIMIT.search(text)
            if found:
                return BatchTooLarge(text, limit=int(found.group(1)), **kw)
            found = _PAGE_LIMIT.search(text)
            if found:
                return PageTooLarge(text, limit=int(found.group(1)), **kw)
        if status == 401 and body.message == _NOT_AUTHORIZED and not self.config.signs_requests:
            return AuthError(
                f"{text} (the Bearer token was refused: either the integration lacks that"
                " resource, or the store does not accept integration tokens as Bearer tokens,"
                " which Magento 2.4.4 and later refuse by default: give consumer_key,"
                " consumer_secret and access_token_secret to sign requests with OAuth 1.0a)",
                **kw,
            )
        if status == 404 and body.message == NO_ROUTE:
            return NotFound(
                f"{text} (the module serving it is not enabled)", **{**kw, "code": "no_route"}
            )
        return error_for_status(
            response,
            channel=self.account,
            operation=operation,
            code=kw["code"],
            message=text,
            request_id=kw["request_id"],
        )

    def _json(self, response: httpx.Response, operation: str) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise Unavailable(
                f"the store answered HTTP {response.status_code} with a body that is not JSON",
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
            first = exc.errors()[0]
            raise PermanentError(
                f"the store's answer to {operation} is not a Magento {model.__name__}:"
                f" {'.'.join(str(p) for p in first['loc'])} {first['msg']}",
                channel=self.account,
                operation=operation,
                raw=raw,
            ) from exc

    def _results(
        self, model: type[P], response: httpx.Response, operation: str
    ) -> SearchResults[P]:
        return self._parse(
            SearchResults[model],  # type: ignore[valid-type]
            self._json(response, operation),
            operation,
            response.content,
        )

    # -- catalog and stock ------------------------------------------------------------------

    def products(self, criteria: SearchCriteria) -> SearchResults[Product]:
        """``GET /V1/products`` (``ProductRepositoryInterface::getList``)."""
        op = "GET products"
        response = self._send(op, "GET", "/V1/products", params=criteria.params())
        return self._results(Product, response, op)

    def stock_item(self, sku: str) -> StockItem:
        """``GET /V1/stockItems/{sku}`` (the legacy single-source stock item)."""
        op = "GET stockItems/{sku}"
        response = self._send(op, "GET", f"/V1/stockItems/{_segment(sku)}")
        return self._parse(StockItem, self._json(response, op), op, response.content)

    def update_stock_item(self, sku: str, item_id: int, qty: int) -> int:
        """``PUT /V1/products/{sku}/stockItems/{itemId}``; returns the stock item id."""
        op = "PUT products/{sku}/stockItems/{itemId}"
        response = self._send(
            op,
            "PUT",
            f"/V1/products/{_segment(sku)}/stockItems/{item_id}",
            scope="all",
            body={"stockItem": {"qty": qty, "is_in_stock": qty > 0}},
        )
        return _int_answer(self._json(response, op), op, self.account)

    def sources(self) -> list[Source]:
        """``GET /V1/inventory/sources`` (every source; ``NotFound`` without MSI)."""
        op = "GET inventory/sources"
        out: list[Source] = []
        page = 1
        while True:
            criteria = SearchCriteria(page_size=self.config.page_size, current_page=page)
            response = self._send(op, "GET", "/V1/inventory/sources", params=criteria.params())
            got = self._results(Source, response, op)
            out += got.items
            if not got.items or len(out) >= got.total_count:
                return out
            page += 1

    def source_items(self, criteria: SearchCriteria) -> SearchResults[SourceItem]:
        """``GET /V1/inventory/source-items``."""
        op = "GET inventory/source-items"
        response = self._send(op, "GET", "/V1/inventory/source-items", params=criteria.params())
        return self._results(SourceItem, response, op)

    def save_source_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        """``POST /V1/inventory/source-items``: saves all items or none (one transaction)."""
        op = "POST inventory/source-items"
        self._send(
            op,
            "POST",
            "/V1/inventory/source-items",
            scope="all",
            body={"sourceItems": [dict(i) for i in items]},
        )

    def bulk_source_items(self, batches: Sequence[Sequence[Mapping[str, Any]]]) -> AsyncResponse:
        """``POST /async/bulk/V1/inventory/source-items``: one operation per batch, queued."""
        op = "POST async/bulk/inventory/source-items"
        response = self._send(
            op,
            "POST",
            "/V1/inventory/source-items",
            scope="all",
            bulk=True,
            body=[{"sourceItems": [dict(i) for i in batch]} for batch in batches],
        )
        return self._parse(AsyncResponse, self._json(response, op), op, response.content)

    def bulk_status(self, bulk_uuid: str) -> BulkStatus:
        """``GET /V1/bulk/{uuid}/detailed-status``."""
        op = "GET bulk/{uuid}/detailed-status"
        response = self._send(op, "GET", f"/V1/bulk/{_segment(bulk_uuid)}/detailed-status")
        return self._parse(BulkStatus, self._json(response, op), op, response.content)

    def update_base_prices(self, prices: Sequence[Mapping[str, Any]]) -> list[PriceUpdateResult]:
        """``POST /V1/products/base-prices``; returns the rows that failed."""
        op = "POST products/base-prices"
        response = self._send(
            op, "POST", "/V1/products/base-prices", scope="all", body={"prices": list(prices)}
        )
        data = self._json(response, op)
        if not isinstance(data, list):
            raise PermanentError(
                f"the store's answer to {op} is not a list",
                channel=self.account,
                operation=op,
                raw=response.content,
            )
        return [self._parse(PriceUpdateResult, row, op, response.content) for row in data]

    def store_configs(self) -> list[StoreConfig]:
        """``GET /V1/store/storeConfigs`` (base currency and timezone of each store view)."""
        op = "GET store/storeConfigs"
        response = self._send(op, "GET", "/V1/store/storeConfigs")
        data = self._json(response, op)
        if not isinstance(data, list):
            raise PermanentError(
                f"the store's answer to {op} is not a list", channel=self.account, operation=op
            )
        return [self._parse(StoreConfig, row, op, response.content) for row in data]

    # -- orders -----------------------------------------------------------------------------

    def orders(self, criteria: SearchCriteria) -> SearchResults[MagentoOrder | UnreadableOrder]:
        """``GET /V1/orders``; an order that does not read comes back as ``UnreadableOrder``.

        The page must read as a search result (else ``PermanentError``); each order is read
        on its own so one malformed order never hides its page.
        """
        op = "GET orders"
        response = self._send(op, "GET", "/V1/orders", params=criteria.params())
        data = self._json(response, op)
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            raise PermanentError(
                f"the store's answer to {op} is not a search result",
                channel=self.account,
                operation=op,
                raw=response.content,
            )
        items: list[MagentoOrder | UnreadableOrder] = []
        for item in data.get("items") or []:
            try:
                items.append(MagentoOrder.model_validate(item))
            except ValidationError as exc:
                raw = item if isinstance(item, dict) else {"value": item}
                items.append(UnreadableOrder(raw=raw, error=exc))
        total = data.get("total_count")
        return SearchResults[MagentoOrder | UnreadableOrder](
            items=items, total_count=int(total) if isinstance(total, int | Decimal) else len(items)
        )

    def order_json(self, order_id: int) -> dict[str, Any]:
        """``GET /V1/orders/{id}`` as JSON (numbers as ``Decimal``)."""
        op = "GET orders/{id}"
        response = self._send(op, "GET", f"/V1/orders/{order_id}")
        data = self._json(response, op)
        if not isinstance(data, dict):
            raise PermanentError(
                f"the store's answer to {op} is not an order", channel=self.account, operation=op
            )
        return data

    def ship_order(self, order_id: int, body: Mapping[str, Any]) -> int:
        """``POST /V1/order/{id}/ship``; returns the new shipment's id."""
        op = "POST order/{id}/ship"
        response = self._send(op, "POST", f"/V1/order/{order_id}/ship", body=dict(body))
        return _int_answer(self._json(response, op), op, self.account)

    def cancel_order(self, order_id: int) -> bool:
        """``POST /V1/orders/{id}/cancel``: True when Magento cancelled it, False when it
        could not (``canCancel()`` said no)."""
        op = "POST orders/{id}/cancel"
        response = self._send(op, "POST", f"/V1/orders/{order_id}/cancel")
        return self._json(response, op) is True

    def add_order_comment(self, order_id: int, comment: str) -> None:
        """``POST /V1/orders/{id}/comments`` (an internal note, customer not notified)."""
        op = "POST orders/{id}/comments"
        self._send(
            op,
            "POST",
            f"/V1/orders/{order_id}/comments",
            body={
                "statusHistory": {
                    "comment": comment,
                    "is_customer_notified": 0,
                    "is_visible_on_front": 0,
                }
            },
        )

    def refund_order(self, order_id: int, body: Mapping[str, Any]) -> int:
        """``POST /V1/order/{id}/refund`` (an offline credit memo); returns its id."""
        op = "POST order/{id}/refund"
        response = self._send(op, "POST", f"/V1/order/{order_id}/refund", body=dict(body))
        return _int_answer(self._json(response, op), op, self.account)

    def shipments(self, criteria: SearchCriteria) -> SearchResults[Shipment]:
        """``GET /V1/shipments``."""
        op = "GET shipments"
        response = self._send(op, "GET", "/V1/shipments", params=criteria.params())
        return self._results(Shipment, response, op)

    def creditmemos(self, criteria: SearchCriteria) -> SearchResults[Creditmemo]:
        """``GET /V1/creditmemos``."""
        op = "GET creditmemos"
        response = self._send(op, "GET", "/V1/creditmemos", params=criteria.params())
        return self._results(Creditmemo, response, op)

    def creditmemo_comments(self, creditmemo_id: int) -> list[CreditmemoComment]:
        """``GET /V1/creditmemo/{id}/comments``."""
        op = "GET creditmemo/{id}/comments"
        response = self._send(op, "GET", f"/V1/creditmemo/{creditmemo_id}/comments")
        return self._results(CreditmemoComment, response, op).items


def _segment(value: str) -> str:
    return quote(value, safe="")


def _int_answer(data: Any, operation: str, account: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int | str | Decimal):
        raise PermanentError(
            f"the store's answer to {operation} is not an id: {data!r}"[:200],
            channel=account,
            operation=operation,
        )
    try:
        return int(data)
    except (TypeError, ValueError) as exc:
        raise PermanentError(
            f"the store's answer to {operation} is not an id", channel=account, operation=operation
        ) from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
