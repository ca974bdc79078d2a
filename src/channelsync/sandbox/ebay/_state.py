"""The seller's world inside the eBay fake: listings of both worlds, orders, tokens, quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from lxml import etree

__all__ = ["FakeOffer", "InventoryRecord", "TradingListing", "TradingVariation", "XmlOrder"]


@dataclass
class TradingVariation:
    """One variation (SKU) of a multi-variation Trading listing."""

    sku: str
    title: str
    quantity: int  # total listed, sold units included (eBay's Quantity)
    sold: int
    price: Decimal

    @property
    def available(self) -> int:
        """What buyers can still buy."""
        return self.quantity - self.sold


@dataclass
class TradingListing:
    """A fixed-price listing created in Seller Hub or through the Trading API."""

    item_id: str
    title: str
    currency: str
    start_time: datetime
    sku: str | None = None
    quantity: int = 0  # eBay's Quantity: available + sold
    sold: int = 0
    price: Decimal = Decimal(0)
    tracking: str = "ItemID"  # InventoryTrackingMethod
    variations: dict[str, TradingVariation] = field(default_factory=dict)
    revisions: int = 0

    @property
    def available(self) -> int:
        """Units buyers can still buy (of the single-SKU listing)."""
        return self.quantity - self.sold


@dataclass
class InventoryRecord:
    """An Inventory API inventory item (the product and its ship-to-home quantity)."""

    sku: str
    title: str | None
    quantity: int
    locale: str = "de_DE"
    condition: str = "NEW"


@dataclass
class FakeOffer:
    """An Inventory API offer: a SKU on a marketplace; PUBLISHED ones are live listings."""

    offer_id: str
    sku: str
    marketplace_id: str
    currency: str
    price: Decimal
    available_quantity: int | None
    status: str = "PUBLISHED"
    listing_id: str | None = None
    sold: int = 0
    start_time: datetime | None = None


@dataclass
class XmlOrder:
    """An order held as the Trading ``<Order>`` element it is served as (no namespace)."""

    order_id: str
    element: etree._Element
    modified: datetime
    fulfillments: list[dict[str, object]] = field(default_factory=list)
    versions: list[tuple[datetime, datetime, etree._Element]] = field(default_factory=list)
    """(visible in searches from, modified, the element then): the search index's copies."""
