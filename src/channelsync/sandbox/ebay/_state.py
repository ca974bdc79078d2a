"""The seller's world inside the eBay fake: listings of both worlds, orders, tokens, quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from lxml import etree

__all__ = [
    "Distribution",
    "FakeLocation",
    "FakeOffer",
    "InventoryRecord",
    "TradingListing",
    "TradingVariation",
    "XmlOrder",
]


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
class FakeLocation:
    """A merchant (inventory) location of the Inventory API, by its ``merchantLocationKey``."""

    key: str
    name: str
    enabled: bool = True
    location_type: str = "WAREHOUSE"


@dataclass
class Distribution:
    """One ``availabilityDistributions`` entry: the quantity at one merchant location."""

    key: str
    quantity: int
    fulfillment_time: dict[str, object] | None = None


@dataclass
class InventoryRecord:
    """An Inventory API inventory item: the product, its ship-to-home quantity and, where
    set, its quantity per merchant location (in the order eBay was given them)."""

    sku: str
    title: str | None
    quantity: int
    locale: str = "de_DE"
    condition: str = "NEW"
    distributions: list[Distribution] = field(default_factory=list)

    def take(self, qty: int, *, from_locations: bool = True) -> None:
        """A sale of ``qty``: off the ship-to-home quantity and (``from_locations``) off
        the distributions in their order, each giving what it has (eBay does not document
        which location a sale draws on, or whether it lowers one at all)."""
        self.quantity -= qty
        if not from_locations:
            return
        left = qty
        for d in self.distributions:
            if left <= 0:
                break
            step = min(left, max(d.quantity, 0))
            d.quantity -= step
            left -= step

    def give_back(self, qty: int, *, to_locations: bool = True) -> None:
        """Units of a cancelled line back on sale: the ship-to-home quantity, and (with
        ``to_locations``) the first distribution, where the item has any."""
        self.quantity += qty
        if to_locations and self.distributions:
            self.distributions[0].quantity += qty


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
