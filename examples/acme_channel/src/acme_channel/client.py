"""The wire: Acme's REST API over httpx, errors mapped once into channelsync's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from acme_channel.config import API_URL, AcmeConfig
from acme_channel.payloads import AcmeItemResult, AcmePage
from channelsync.core.errors import (
    AuthError,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    Unavailable,
)

__all__ = ["AcmeClient"]


class AcmeClient:
    """Acme's API for one account; raises only ``ChannelError`` subclasses."""

    def __init__(
        self,
        config: AcmeConfig,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.account = config.account
        self._http = httpx.Client(
            base_url=(base_url or API_URL).rstrip("/"),
            transport=transport,
            timeout=config.timeout,
            headers={"authorization": f"Bearer {config.api_key.get_secret_value()}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, operation: str, method: str, path: str, **kw: Any) -> Any:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"connection failed: {type(exc).__name__}",
                channel=self.account,
                operation=operation,
            ) from exc
        if response.status_code < 300:
            return response.json()
        error = (response.json() if response.content else {}).get("error", {})
        args: dict[str, Any] = {
            "channel": self.account,
            "operation": operation,
            "status": response.status_code,
            "code": error.get("code"),
            "raw": response.content,
        }
        message = str(error.get("message") or f"HTTP {response.status_code}")
        status = response.status_code
        if status == 429:
            wait = float(response.headers.get("retry-after", "1"))
            raise RateLimited(message, retry_after=wait, **args)
        if status >= 500:
            raise Unavailable(message, **args)
        if status in (401, 403):
            raise AuthError(message, **args)
        if status == 404:
            raise NotFound(message, **args)
        raise Rejected(message, **args)

    def _page(self, operation: str, path: str, params: Mapping[str, str]) -> AcmePage:
        data = self._send(operation, "GET", path, params=dict(params))
        try:
            return AcmePage.model_validate(data)
        except ValidationError as exc:
            raise PermanentError(
                f"Acme's answer is not a page: {exc.errors()[0]['msg']}",
                channel=self.account,
                operation=operation,
            ) from exc

    def listings(self, cursor: str | None, limit: int) -> AcmePage:
        """``GET /v1/listings``."""
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        return self._page("GET listings", "/v1/listings", params)

    def orders(self, since: str, cursor: str | None, limit: int) -> AcmePage:
        """``GET /v1/orders``, oldest change first."""
        params = {
            "updated_since": since,
            "limit": str(limit),
            **({"cursor": cursor} if cursor else {}),
        }
        return self._page("GET orders", "/v1/orders", params)

    def order(self, order_id: str) -> dict[str, Any]:
        """``GET /v1/orders/{id}``."""
        data = self._send("GET order", "GET", f"/v1/orders/{order_id}")
        return dict(data)

    def write(self, what: str, items: Sequence[Mapping[str, Any]]) -> list[AcmeItemResult]:
        """``POST /v1/stock`` or ``/v1/prices``: one result per item."""
        data = self._send(f"POST {what}", "POST", f"/v1/{what}", json={"items": list(items)})
        return [AcmeItemResult.model_validate(r) for r in data.get("results", [])]

    def ship(self, order_id: str, carrier: str, tracking: str | None) -> None:
        """``POST /v1/orders/{id}/shipments``."""
        body = {"carrier": carrier, "tracking": tracking}
        self._send("POST shipment", "POST", f"/v1/orders/{order_id}/shipments", json=body)

    def cancel(self, order_id: str) -> None:
        """``POST /v1/orders/{id}/cancel``."""
        self._send("POST cancel", "POST", f"/v1/orders/{order_id}/cancel")
