"""Typed models of the SP-API payloads the adapter reads (the edge where JSON becomes types).

Field names are snake_case with the API's camelCase (or the notifications' PascalCase) as
aliases; unknown fields are ignored here and kept whole on ``Order.raw``. Only what the
adapter reads is modelled, each shape after the official model in
``amzn/selling-partner-api-models`` (Orders 2026-01-01, Listings Items 2021-08-01, Feeds
2021-06-30, the JSON listings feed processing report v2, ``ORDER_CHANGE`` notifications).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel, to_pascal

__all__ = [
    "Buyer",
    "CreateFeedDocumentResponse",
    "CreateFeedResponse",
    "CustomerAddress",
    "ErrorList",
    "Feed",
    "FeedDocument",
    "FulfillmentAvailability",
    "ItemFulfillment",
    "ItemOffer",
    "ItemSearchResults",
    "ItemSummary",
    "ListingIssue",
    "ListingsItem",
    "OrderChangeNotification",
    "OrderFulfillment",
    "OrderPackage",
    "OrderProceeds",
    "ProceedsBreakdown",
    "ProcessingReport",
    "ReportIssue",
    "SearchOrdersResponse",
    "SpError",
    "SpMoney",
    "SpOrder",
    "SpOrderItem",
    "SubmissionResponse",
    "UnreadableOrder",
]


class _Camel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )


class _Pascal(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_pascal, populate_by_name=True
    )


# -- errors -------------------------------------------------------------------------------


class SpError(_Camel):
    """One entry of the ``{"errors": [...]}`` body every SP-API error answers with."""

    code: str = ""
    message: str = ""
    details: str | None = None


class ErrorList(_Camel):
    """The SP-API error body."""

    errors: tuple[SpError, ...] = ()


# -- orders 2026-01-01 ---------------------------------------------------------------------


class SpMoney(_Camel):
    """``{"amount": "12.34", "currencyCode": "EUR"}`` (amount is a decimal string)."""

    amount: str
    currency_code: str


class SalesChannel(_Camel):
    channel_name: str
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class Buyer(_Camel):
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_company_name: str | None = None
    buyer_purchase_order_number: str | None = None


class CustomerAddress(_Camel):
    name: str | None = None
    company_name: str | None = None
    address_line1: str | None = Field(default=None, alias="addressLine1")
    address_line2: str | None = Field(default=None, alias="addressLine2")
    address_line3: str | None = Field(default=None, alias="addressLine3")
    city: str | None = None
    district_or_county: str | None = None
    state_or_region: str | None = None
    municipality: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None
    address_type: str | None = None


class Recipient(_Camel):
    delivery_address: CustomerAddress | None = None


class ProceedsBreakdown(_Camel):
    type: str
    subtotal: SpMoney


class OrderProceeds(_Camel):
    grand_total: SpMoney | None = None
    breakdowns: tuple[ProceedsBreakdown, ...] = ()


class OrderFulfillment(_Camel):
    fulfillment_status: str
    fulfilled_by: str | None = None
    fulfillment_service_level: str | None = None


class ItemPrice(_Camel):
    unit_price: SpMoney | None = None
    price_designation: str | None = None


class ItemProduct(_Camel):
    asin: str | None = None
    title: str | None = None
    seller_sku: str | None = None
    price: ItemPrice | None = None


class ItemProceeds(_Camel):
    proceeds_total: SpMoney | None = None
    breakdowns: tuple[ProceedsBreakdown, ...] = ()


class CancellationExecution(_Camel):
    cancelled_by: str | None = None
    cancel_reason: str | None = None


class CancellationRequest(_Camel):
    requester: str | None = None
    cancel_reason: str | None = None


class ItemCancellation(_Camel):
    cancellation_request: CancellationRequest | None = None
    cancellation_execution: CancellationExecution | None = None


class ItemFulfillment(_Camel):
    quantity_fulfilled: int | None = None
    quantity_unfulfilled: int | None = None


class SpOrderItem(_Camel):
    order_item_id: str
    quantity_ordered: int
    programs: tuple[str, ...] | None = None
    product: ItemProduct
    proceeds: ItemProceeds | None = None
    cancellation: ItemCancellation | None = None
    fulfillment: ItemFulfillment | None = None


class PackageItem(_Camel):
    order_item_id: str
    quantity: int


class PackageStatus(_Camel):
    status: str
    detailed_status: str | None = None


class OrderPackage(_Camel):
    package_reference_id: str
    created_time: AwareDatetime | None = None
    package_status: PackageStatus | None = None
    carrier: str | None = None
    ship_time: AwareDatetime | None = None
    shipping_service: str | None = None
    tracking_number: str | None = None
    package_items: tuple[PackageItem, ...] = ()


class OrderAlias(_Camel):
    alias_id: str
    alias_type: str


class SpOrder(_Camel):
    """An Orders API v2026-01-01 ``Order`` (with its ``orderItems``)."""

    order_id: str
    order_aliases: tuple[OrderAlias, ...] = ()
    created_time: AwareDatetime
    last_updated_time: AwareDatetime
    programs: tuple[str, ...] | None = None
    sales_channel: SalesChannel
    buyer: Buyer | None = None
    recipient: Recipient | None = None
    proceeds: OrderProceeds | None = None
    fulfillment: OrderFulfillment | None = None
    order_items: tuple[SpOrderItem, ...]
    packages: tuple[OrderPackage, ...] | None = None


@dataclass(frozen=True)
class UnreadableOrder:
    """An order JSON object that does not read as ``SpOrder``, kept as Amazon sent it."""

    raw: dict[str, Any]
    error: ValidationError


OrderRead = tuple[SpOrder, dict[str, Any]] | UnreadableOrder
"""One order of a read: typed with its JSON as received, or unreadable."""


class Pagination(_Camel):
    next_token: str | None = None


class SearchOrdersResponse(_Camel):
    orders: tuple[dict[str, Any], ...]
    """Kept as JSON here: each order is validated on its own, so one bad order is
    reported alone and the raw JSON goes onto ``Order.raw``."""
    pagination: Pagination | None = None


# -- listings items 2021-08-01 --------------------------------------------------------------


class ItemSummary(_Camel):
    marketplace_id: str
    asin: str | None = None
    product_type: str | None = None
    status: tuple[str, ...] = ()
    fn_sku: str | None = None
    item_name: str | None = None


class ItemOffer(_Camel):
    marketplace_id: str
    offer_type: str
    price: SpMoney | None = None


class FulfillmentAvailability(_Camel):
    fulfillment_channel_code: str
    quantity: int | None = None


class ListingIssue(_Camel):
    code: str = ""
    message: str = ""
    severity: str = "ERROR"
    attribute_names: tuple[str, ...] = ()


class ListingsItem(_Camel):
    sku: str
    summaries: tuple[ItemSummary, ...] = ()
    offers: tuple[ItemOffer, ...] = ()
    fulfillment_availability: tuple[FulfillmentAvailability, ...] = ()
    issues: tuple[ListingIssue, ...] = ()


class ItemSearchResults(_Camel):
    number_of_results: int
    pagination: Pagination | None = None
    items: tuple[ListingsItem, ...] = ()


class SubmissionResponse(_Camel):
    """The answer to ``patchListingsItem``: ``ACCEPTED``, ``INVALID`` or ``VALID``."""

    sku: str
    status: str
    submission_id: str
    issues: tuple[ListingIssue, ...] = ()


# -- feeds 2021-06-30 ----------------------------------------------------------------------


class CreateFeedDocumentResponse(_Camel):
    feed_document_id: str
    url: str


class CreateFeedResponse(_Camel):
    feed_id: str


class Feed(_Camel):
    feed_id: str
    feed_type: str
    processing_status: str
    created_time: AwareDatetime | None = None
    processing_start_time: AwareDatetime | None = None
    processing_end_time: AwareDatetime | None = None
    result_feed_document_id: str | None = None


class FeedDocument(_Camel):
    feed_document_id: str
    url: str
    compression_algorithm: str | None = None


class ReportIssue(_Camel):
    message_id: int | None = None
    sku: str | None = None
    code: str | None = None
    severity: str
    message: str
    attribute_name: str | None = None


class ReportSummary(_Camel):
    errors: int = 0
    warnings: int = 0
    messages_processed: int = 0
    messages_accepted: int = 0
    messages_invalid: int = 0


class ReportHeader(_Camel):
    seller_id: str
    version: str
    feed_id: str


class ProcessingReport(_Camel):
    """A ``JSON_LISTINGS_FEED`` processing report (v2)."""

    header: ReportHeader
    issues: tuple[ReportIssue, ...] = ()
    summary: ReportSummary


# -- notifications ----------------------------------------------------------------------


class NotificationMetadata(_Pascal):
    application_id: str | None = None
    subscription_id: str | None = None
    publish_time: AwareDatetime | None = None
    notification_id: str


class OrderChangeSummary(_Pascal):
    marketplace_id: str | None = None
    order_status: str | None = None
    fulfillment_type: str | None = None


class OrderChangePayloadBody(_Pascal):
    seller_id: str | None = None
    amazon_order_id: str
    order_change_type: str | None = None
    summary: OrderChangeSummary | None = None


class OrderChangePayload(_Pascal):
    order_change_notification: OrderChangePayloadBody


class OrderChangeNotification(_Pascal):
    """An ``ORDER_CHANGE`` notification as it arrives in the SQS message body."""

    notification_version: str | None = None
    notification_type: str
    payload_version: str | None = None
    event_time: AwareDatetime | None = None
    payload: OrderChangePayload
    notification_metadata: NotificationMetadata
