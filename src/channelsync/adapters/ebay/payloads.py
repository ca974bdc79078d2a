# ruff: noqa: N815  (the field names are eBay's own camelCase)
"""Typed models of the eBay REST payloads channelsync reads and writes.

Field names are eBay's own (camelCase), from the Sell Inventory v1 and Sell Fulfillment v1
OpenAPI contracts, the identity (OAuth) endpoint and the Notification API. Unknown fields
are ignored, so a newer API version does not break reading.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Amount",
    "Availability",
    "AvailabilityDistribution",
    "BulkInventoryItemResponse",
    "BulkPriceQuantityResponse",
    "CancelDetail",
    "CancelEligibility",
    "CreateCancelResponse",
    "DeletionData",
    "DeletionMessage",
    "DeletionMetadata",
    "DeletionNotification",
    "ErrorBody",
    "ErrorParameter",
    "FulfillmentBuyer",
    "FulfillmentCancelStatus",
    "FulfillmentLineItem",
    "FulfillmentOrder",
    "FulfillmentOrders",
    "FulfillmentPricing",
    "InventoryItem",
    "InventoryItemResponse",
    "InventoryItems",
    "InventoryLocation",
    "InventoryLocations",
    "ListingDetails",
    "Offer",
    "Offers",
    "PriceQuantityResponse",
    "PricingSummary",
    "Product",
    "PublicKey",
    "RefundAnswer",
    "RestError",
    "RestOrder",
    "ReturnSearch",
    "ReturnSummary",
    "ShipToLocationAvailability",
    "TimeDuration",
    "TokenResponse",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorParameter(_Model):
    """A name/value pair of an error (``ErrorParameter``)."""

    name: str | None = None
    value: str | None = None


class RestError(_Model):
    """One entry of a REST ``errors`` or ``warnings`` array (``Error``)."""

    errorId: int | None = None
    domain: str | None = None
    subdomain: str | None = None
    category: str | None = None
    message: str | None = None
    longMessage: str | None = None
    parameters: tuple[ErrorParameter, ...] = ()


class ErrorBody(_Model):
    """The body of a REST error answer: ``{"errors": [...]}``."""

    errors: tuple[RestError, ...] = ()
    warnings: tuple[RestError, ...] = ()


class Amount(_Model):
    """``Amount``: a decimal string value and a currency code."""

    currency: str | None = None
    value: Decimal | None = None


class TimeDuration(_Model):
    """``TimeDuration``: a number of time units (a location's fulfillment time)."""

    unit: str | None = None
    value: int | None = None


class AvailabilityDistribution(_Model):
    """``AvailabilityDistribution``: the quantity of an inventory item at one merchant
    location (``merchantLocationKey``), and how soon it ships from there."""

    merchantLocationKey: str | None = None
    quantity: int | None = None
    fulfillmentTime: TimeDuration | None = None


class ShipToLocationAvailability(_Model):
    """``ShipToLocationAvailability``: the ship-to-home quantity of an inventory item, and
    its quantity per merchant location (``availabilityDistributions``) where set."""

    quantity: int | None = None
    availabilityDistributions: tuple[AvailabilityDistribution, ...] = ()


class Availability(_Model):
    """``AvailabilityWithAll`` (only the ship-to-home part is read)."""

    shipToLocationAvailability: ShipToLocationAvailability | None = None


class Product(_Model):
    """``Product`` (only the title is read)."""

    title: str | None = None


class InventoryItem(_Model):
    """``InventoryItemWithSkuLocaleGroupid``: one item of getInventoryItems."""

    sku: str | None = None
    locale: str | None = None
    condition: str | None = None
    availability: Availability | None = None
    product: Product | None = None
    groupIds: tuple[str, ...] = ()
    inventoryItemGroupKeys: tuple[str, ...] = ()


class InventoryItemResponse(_Model):
    """``GetInventoryItemResponse``: one SKU's answer of bulkGetInventoryItem."""

    sku: str | None = None
    statusCode: int | None = None
    inventoryItem: InventoryItem | None = None
    errors: tuple[RestError, ...] = ()
    warnings: tuple[RestError, ...] = ()


class BulkInventoryItemResponse(_Model):
    """``BulkGetInventoryItemResponse``: every SKU's answer (HTTP 200 or 207)."""

    responses: tuple[InventoryItemResponse, ...] = ()


class InventoryLocation(_Model):
    """``InventoryLocationResponse`` (what channelsync reads): a merchant location."""

    merchantLocationKey: str | None = None
    name: str | None = None
    merchantLocationStatus: str | None = None
    locationTypes: tuple[str, ...] = ()


class InventoryLocations(_Model):
    """``LocationResponse``: one page of getInventoryLocations."""

    href: str | None = None
    next: str | None = None
    limit: int | None = None
    offset: int | None = None
    total: int | None = None
    locations: tuple[InventoryLocation, ...] = ()


class InventoryItems(_Model):
    """``InventoryItems``: one page of getInventoryItems."""

    href: str | None = None
    next: str | None = None
    limit: int | None = None
    size: int | None = None
    total: int | None = None
    inventoryItems: tuple[InventoryItem, ...] = ()


class PricingSummary(_Model):
    """``PricingSummary`` (only the fixed price is read)."""

    price: Amount | None = None


class ListingDetails(_Model):
    """``ListingDetails``: the eBay listing a published offer became."""

    listingId: str | None = None
    listingStatus: str | None = None
    soldQuantity: int | None = None


class Offer(_Model):
    """``EbayOfferDetailsWithAll``: one offer of a SKU on one marketplace."""

    offerId: str | None = None
    sku: str | None = None
    marketplaceId: str | None = None
    format: str | None = None
    availableQuantity: int | None = None
    pricingSummary: PricingSummary | None = None
    listing: ListingDetails | None = None
    status: str | None = None


class Offers(_Model):
    """``Offers``: one page of getOffers."""

    href: str | None = None
    next: str | None = None
    limit: int | None = None
    size: int | None = None
    total: int | None = None
    offers: tuple[Offer, ...] = ()


class PriceQuantityResponse(_Model):
    """``PriceQuantityResponse``: the result of one item or offer of bulkUpdatePriceQuantity."""

    sku: str | None = None
    offerId: str | None = None
    statusCode: int | None = None
    errors: tuple[RestError, ...] = ()
    warnings: tuple[RestError, ...] = ()


class BulkPriceQuantityResponse(_Model):
    """``BulkPriceQuantityResponse``: every item's result (HTTP 200 or 207)."""

    responses: tuple[PriceQuantityResponse, ...] = ()


class TokenResponse(_Model):
    """The identity endpoint's answer to a token grant."""

    access_token: str
    expires_in: int = Field(default=7200, ge=0)
    token_type: str | None = None


class PublicKey(_Model):
    """Notification API ``getPublicKey``: the key eBay signs push notifications with."""

    key: str
    algorithm: str
    digest: str


class DeletionMetadata(_Model):
    """``metadata`` of a push notification."""

    topic: str
    schemaVersion: str | None = None
    deprecated: bool | None = None


class DeletionData(_Model):
    """``notification.data`` of MARKETPLACE_ACCOUNT_DELETION: who asked to be forgotten."""

    username: str | None = None
    userId: str | None = None
    eiasToken: str | None = None


class DeletionNotification(_Model):
    """``notification`` of MARKETPLACE_ACCOUNT_DELETION."""

    notificationId: str
    eventDate: str | None = None
    publishDate: str | None = None
    publishAttemptCount: int | None = None
    data: DeletionData


class DeletionMessage(_Model):
    """A MARKETPLACE_ACCOUNT_DELETION push message."""

    metadata: DeletionMetadata
    notification: DeletionNotification


# -- Sell Fulfillment API orders (the order intake that does not spend Trading's quota) ----


class FulfillmentLineItem(_Model):
    """A ``LineItem`` of a Fulfillment API order (the fields the mapping reads)."""

    lineItemId: str
    legacyItemId: str | None = None
    legacyVariationId: str | None = None
    sku: str | None = None
    title: str | None = None
    quantity: int = 0
    lineItemCost: Amount | None = None
    lineItemFulfillmentStatus: str | None = None


class FulfillmentCancelStatus(_Model):
    """``CancelStatus``: ``cancelState`` is ``NONE_REQUESTED``, ``IN_PROGRESS`` or ``CANCELED``."""

    cancelState: str | None = None


class FulfillmentBuyer(_Model):
    """``Buyer``: the buyer's username."""

    username: str | None = None


class FulfillmentPricing(_Model):
    """An order's ``PricingSummary`` (its ``total``)."""

    total: Amount | None = None


class FulfillmentOrder(_Model):
    """An ``Order`` of the Fulfillment API's getOrders/getOrder (the fields mapped)."""

    orderId: str
    legacyOrderId: str | None = None
    creationDate: datetime
    lastModifiedDate: datetime
    orderFulfillmentStatus: str | None = None
    orderPaymentStatus: str | None = None
    cancelStatus: FulfillmentCancelStatus | None = None
    buyer: FulfillmentBuyer | None = None
    pricingSummary: FulfillmentPricing | None = None
    lineItems: tuple[FulfillmentLineItem, ...] = ()


class FulfillmentOrders(_Model):
    """``OrderSearchPagedCollection``: one page of getOrders; orders stay raw until mapped
    one by one (one that does not read becomes an ``OrderFailure``)."""

    orders: tuple[dict[str, Any], ...] = ()
    next: str | None = None
    total: int | None = None
    offset: int = 0
    limit: int | None = None


# -- Post-Order and Fulfillment after-sale ----------------------------------------------


class CancelEligibility(_Model):
    """``OrderEligibilityResult`` (``check_eligibility`` and a refused cancellation)."""

    legacyOrderId: str | None = None
    eligible: bool = False
    failureReason: tuple[str, ...] = ()
    eligibleCancelReason: tuple[str, ...] = ()


class CreateCancelResponse(_Model):
    """``CreateCancelResponse``: the ``cancelId``, or why the order is not eligible."""

    cancelId: str | None = None
    orderEligibilityResult: CancelEligibility | None = None


class CancelDetail(_Model):
    """``cancelDetail`` of getCancellation (the fields channelsync reads)."""

    cancelId: str | None = None
    legacyOrderId: str | None = None
    cancelState: str | None = None
    cancelStatus: str | None = None


class CancelDetailResponse(_Model):
    """The body of getCancellation."""

    cancelDetail: CancelDetail | None = None


class RefundAnswer(_Model):
    """The issueRefund response (``Refund``)."""

    refundId: str | None = None
    refundStatus: str | None = None


class OrderRefund(_Model):
    """A refund on an order or line (``OrderRefund``/``LineItemRefund``)."""

    refundId: str | None = None
    refundStatus: str | None = None
    amount: Amount | None = None
    refundDate: str | None = None


class RefundsSummary(_Model):
    """``paymentSummary`` (its refunds)."""

    refunds: tuple[OrderRefund, ...] = ()


class RestLineItem(_Model):
    """A Fulfillment ``LineItem`` (the fields after-sale reads)."""

    lineItemId: str | None = None
    legacyItemId: str | None = None
    refunds: tuple[OrderRefund, ...] = ()


class RestOrder(_Model):
    """A Fulfillment ``Order`` (the fields after-sale reads)."""

    orderId: str | None = None
    paymentSummary: RefundsSummary | None = None
    lineItems: tuple[RestLineItem, ...] = ()

    def refunds(self) -> list[OrderRefund]:
        """Every refund of the order, order level and line level."""
        out = list(self.paymentSummary.refunds) if self.paymentSummary else []
        for line in self.lineItems:
            out += line.refunds
        return out


class ReturnItem(_Model):
    """``creationInfo.item`` of a return."""

    itemId: str | None = None
    transactionId: str | None = None
    returnQuantity: int | None = None


class ReturnCreation(_Model):
    """``creationInfo`` of a return."""

    item: ReturnItem | None = None
    reason: str | None = None


class ReturnSummary(_Model):
    """A return of ``GET /return/search`` (``ReturnSummaryType``)."""

    returnId: str
    orderId: str | None = None
    state: str | None = None
    status: str | None = None
    creationInfo: ReturnCreation | None = None


class ReturnSearch(_Model):
    """The body of ``GET /return/search``."""

    members: tuple[ReturnSummary, ...] = ()
    total: int | None = None
