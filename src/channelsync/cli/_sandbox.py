"""What ``channelsync sandbox`` lists on the fakes, and its client of the control endpoint."""

from __future__ import annotations

from typing import Any

import httpx

from channelsync.core.errors import ConfigError
from channelsync.sandbox import Sandbox

__all__ = ["GUIDE_SKUS", "call_control", "seed_listings"]

#: The SKUs the README and docs/getting-started.md use, listed on every fake.
GUIDE_SKUS: tuple[tuple[str, int, str, str], ...] = (
    ("MUG-1", 40, "12.50", "Mug"),
    ("TEE-M", 12, "19.99", "T-shirt, size M"),
)


def seed_listings(sb: Sandbox, count: int) -> list[str]:
    """List the guides' SKUs (``GUIDE_SKUS``) and ``count`` more stock-managed products
    (``SANDBOX-001``..., 10 units at 19.99) on every running fake; returns the SKUs."""
    skus = []
    for sku, quantity, price, title in GUIDE_SKUS:
        sb.seed_listing(sku, quantity=quantity, price=price, title=title)
        skus.append(sku)
    for i in range(1, count + 1):
        sku = f"SANDBOX-{i:03d}"
        sb.seed_listing(sku, quantity=10, price="19.99", title=f"Sandbox product {sku}")
        skus.append(sku)
    return skus


def call_control(
    url: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """One request to a sandbox's control endpoint: its status and JSON answer.

    Raises:
        ConfigError: the endpoint cannot be reached.
    """
    try:
        response = httpx.request(method, url.rstrip("/") + path, json=body, timeout=60.0)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach the sandbox's control endpoint at {url} ({exc}); is"
            " `channelsync sandbox` running, and is CHANNELSYNC_SANDBOX_URL its URL?"
        ) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {"error": f"not a control endpoint's answer: {response.text[:200]!r}"}
    return response.status_code, data
