"""Acme Market's JSON, as typed models (what ``client.py`` hands on)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AcmeItemResult", "AcmeLine", "AcmeListing", "AcmeOrder", "AcmePage"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AcmeListing(_Payload):
    """``GET /v1/listings`` item."""

    id: str
    sku: str
    qty: int
    price: Decimal
    currency: str


class AcmeLine(_Payload):
    """One line of an order."""

    id: str
    sku: str | None = None
    qty: int
    price: Decimal
    shipped: int = 0
    cancelled: int = 0


class AcmeOrder(_Payload):
    """``GET /v1/orders`` item."""

    id: str
    status: str
    currency: str
    created: str
    updated: str
    lines: list[AcmeLine] = Field(default_factory=list)


class AcmePage(_Payload):
    """A page of listings or orders and the cursor of the next one."""

    listings: list[AcmeListing] = Field(default_factory=list)
    orders: list[dict[str, object]] = Field(default_factory=list)
    next: str | None = None


class AcmeItemResult(_Payload):
    """One item's outcome of a batch write."""

    sku: str
    ok: bool
    error: str | None = None
