"""Typed models of the Shopify payloads the adapter reads: the GraphQL shapes it queries
and the REST shapes webhooks deliver.

Vendor JSON becomes these models at the edge (``client.py`` and ``webhooks.py``);
``mapping.py`` turns them into channelsync's models. Unknown fields are ignored, so new
fields Shopify adds do not break parsing; missing required fields fail loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "CostExtension",
    "GqlError",
    "GqlFulfillment",
    "GqlLineItem",
    "GqlOrder",
    "GqlRefund",
    "GqlVariant",
    "GraphQLResponse",
    "OrderQuantitiesOrder",
    "RestOrder",
    "UnreadableOrder",
]


class _Gql(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class _Rest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- the response envelope -----------------------------------------------------------------


class ThrottleStatus(_Gql):
    """``extensions.cost.throttleStatus``: the shop's leaky bucket for this app."""

    maximum_available: float
    currently_available: float
    restore_rate: float


class CostExtension(_Gql):
    """``extensions.cost`` of a response."""

    requested_query_cost: float | None = None
    actual_query_cost: float | None = None
    throttle_status: ThrottleStatus | None = None


class ErrorExtensions(_Gql):
    """``errors[].extensions``."""

    code: str | None = None
    request_id: str | None = None
    documentation: str | None = None


class GqlError(_Gql):
    """One entry of ``errors``."""

    message: str = ""
    extensions: ErrorExtensions | None = None
    path: list[str | int] | None = None

    @property
    def code(self) -> str | None:
        """Shopify's error code (``THROTTLED``, ``ACCESS_DENIED``...)."""
        return self.extensions.code if self.extensions else None


class Extensions(_Gql):
    """The response's ``extensions``."""

    cost: CostExtension | None = None


class GraphQLResponse(_Gql):
    """A GraphQL answer: ``data`` stays a mapping until the client parses its operation."""

    data: dict[str, Any] | None = None
    errors: list[GqlError] = Field(default_factory=list)
    extensions: Extensions | None = None

    @field_validator("errors", mode="before")
    @classmethod
    def _errors_as_list(cls, value: Any) -> Any:
        # Shopify answers some HTTP-level failures with ``{"errors": "text"}``.
        if isinstance(value, str):
            return [{"message": value}]
        if isinstance(value, dict):
            return [{"message": "; ".join(f"{k}: {v}" for k, v in value.items())}]
        return value or []

    @property
    def cost(self) -> CostExtension | None:
        """``extensions.cost``, when present."""
        return self.extensions.cost if self.extensions else None


# -- GraphQL objects -------------------------------------------------------------------------


class Money(_Gql):
    """``MoneyV2``."""

    amount: Decimal
    currency_code: str


class MoneyBag(_Gql):
    """``MoneyBag``: shop and presentment amounts."""

    shop_money: Money
    presentment_money: Money | None = None


class PageInfo(_Gql):
    """``PageInfo``."""

    has_next_page: bool
    end_cursor: str | None = None


class GqlAddress(_Gql):
    """``MailingAddress``."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    province: str | None = None
    province_code: str | None = None
    country_code_v2: str | None = Field(default=None, alias="countryCodeV2")
    phone: str | None = None


class GqlCustomer(_Gql):
    """``Customer`` (id and name only: the order carries email and phone)."""

    id: str
    display_name: str | None = None


class GqlLineItem(_Gql):
    """``LineItem``."""

    id: str
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    quantity: int
    current_quantity: int
    unfulfilled_quantity: int
    original_unit_price_set: MoneyBag | None = None
    total_discount_set: MoneyBag | None = None


class LineItemConnection(_Gql):
    """``LineItemConnection``."""

    page_info: PageInfo
    nodes: list[GqlLineItem]


class TrackingInfo(_Gql):
    """``FulfillmentTrackingInfo``."""

    company: str | None = None
    number: str | None = None
    url: str | None = None


class IdRef(_Gql):
    """An object known by its ``id`` only."""

    id: str


class LineItemRef(_Gql):
    """A ``LineItem`` named by id only."""

    id: str


class GqlFulfillmentLine(_Gql):
    """``FulfillmentLineItem``: units of one order line in one fulfillment."""

    quantity: int | None = None
    line_item: LineItemRef


class FulfillmentLineItems(_Gql):
    """``FulfillmentLineItemConnection``."""

    page_info: PageInfo
    nodes: list[GqlFulfillmentLine]


class GqlFulfillment(_Gql):
    """``Fulfillment`` (``fulfillment_line_items`` when the query selected them)."""

    id: str
    status: str
    location: IdRef | None = None
    created_at: datetime | None = None
    total_quantity: int | None = None
    tracking_info: list[TrackingInfo] = Field(default_factory=list)
    fulfillment_line_items: FulfillmentLineItems | None = None


class GqlRefundLine(_Gql):
    """``RefundLineItem``: units of one order line refunded, and how they were restocked."""

    quantity: int
    restock_type: str
    line_item: LineItemRef


class RefundLineItems(_Gql):
    """``RefundLineItemConnection``."""

    page_info: PageInfo
    nodes: list[GqlRefundLine]


class GqlRefund(_Gql):
    """``Refund`` (``refund_line_items`` when the query selected them)."""

    id: str
    created_at: datetime | None = None
    note: str | None = None
    total_refunded_set: MoneyBag | None = None
    refund_line_items: RefundLineItems | None = None


class GqlCount(_Gql):
    """``Count``."""

    count: int
    precision: str = "EXACT"


class AssignedLocation(_Gql):
    """``FulfillmentOrderAssignedLocation`` (its ``location`` is null once deleted)."""

    location: IdRef | None = None


class FoProbe(_Gql):
    """A ``FulfillmentOrder`` as the orders page reads it: where it is assigned."""

    assigned_location: AssignedLocation


class FoProbeConnection(_Gql):
    """The order's first fulfillment order, and whether there are more."""

    page_info: PageInfo
    nodes: list[FoProbe]


class GqlOrder(_Gql):
    """``Order``, as ``OrderFields`` selects it."""

    id: str
    legacy_resource_id: str | None = None
    name: str | None = None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    display_financial_status: str | None = None
    display_fulfillment_status: str | None = None
    currency_code: str
    presentment_currency_code: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)
    test: bool = False
    total_price_set: MoneyBag | None = None
    subtotal_price_set: MoneyBag | None = None
    total_shipping_price_set: MoneyBag | None = None
    total_tax_set: MoneyBag | None = None
    total_discounts_set: MoneyBag | None = None
    customer: GqlCustomer | None = None
    shipping_address: GqlAddress | None = None
    billing_address: GqlAddress | None = None
    line_items: LineItemConnection
    fulfillments_count: GqlCount | None = None
    fulfillments: list[GqlFulfillment] = Field(default_factory=list)
    refunds: list[GqlRefund] = Field(default_factory=list)
    fulfillment_orders: FoProbeConnection | None = None


class FoUnits(_Gql):
    """A ``FulfillmentOrderLineItem``: units of an order line at the fulfillment order."""

    total_quantity: int
    line_item: LineItemRef


class FoUnitsConnection(_Gql):
    """``FulfillmentOrderLineItemConnection`` (one page)."""

    page_info: PageInfo | None = None
    nodes: list[FoUnits]


class LocatedFulfillmentOrder(_Gql):
    """A ``FulfillmentOrder`` with its location and its lines' units."""

    id: str | None = None
    status: str
    assigned_location: AssignedLocation
    line_items: FoUnitsConnection


class LocatedFulfillmentOrders(_Gql):
    """``FulfillmentOrderConnection`` of ``OrderLocations``."""

    page_info: PageInfo | None = None
    nodes: list[LocatedFulfillmentOrder]


class OrderLocationsOrder(_Gql):
    """The ``order`` of ``OrderLocations``."""

    fulfillment_orders: LocatedFulfillmentOrders


class OrderLocationsData(_Gql):
    """``data`` of ``OrderLocations``."""

    order: OrderLocationsOrder | None = None


class OrderQuantitiesOrder(_Gql):
    """The ``order`` of ``OrderQuantities``: fulfillments and refunds with their lines."""

    fulfillments: list[GqlFulfillment]
    refunds: list[GqlRefund]


class OrderQuantitiesData(_Gql):
    """``data`` of ``OrderQuantities``."""

    order: OrderQuantitiesOrder | None = None


class OrderConnection(_Gql):
    """``OrderConnection``."""

    page_info: PageInfo
    nodes: list[dict[str, Any]]


class OrdersData(_Gql):
    """``data`` of ``Orders``: nodes stay raw here so each order keeps its payload for audit."""

    orders: OrderConnection


@dataclass(frozen=True)
class UnreadableOrder:
    """An order node of a page that does not read as ``GqlOrder``, kept as received.

    The page itself read fine (its ``pageInfo`` is trusted); only this order is malformed,
    so the channel reports it as an ``OrderFailure`` and reads on.
    """

    raw: dict[str, Any]
    error: ValidationError


class OrderLineItemsOrder(_Gql):
    """The ``order`` of ``OrderLineItems``."""

    line_items: LineItemConnection


class OrderLineItemsData(_Gql):
    """``data`` of ``OrderLineItems``."""

    order: OrderLineItemsOrder | None = None


class GqlLocation(_Gql):
    """``Location`` (the flags as ``Locations`` reads them)."""

    id: str
    name: str | None = None
    legacy_resource_id: str | None = None
    is_active: bool = True
    fulfills_online_orders: bool = True
    has_active_inventory: bool = False
    is_fulfillment_service: bool = False


class LocationConnection(_Gql):
    """``LocationConnection``."""

    page_info: PageInfo
    nodes: list[GqlLocation]


class LocationsData(_Gql):
    """``data`` of ``Locations``."""

    locations: LocationConnection


class GqlShop(_Gql):
    """``Shop``."""

    currency_code: str


class ShopContextData(_Gql):
    """``data`` of ``ShopContext``."""

    shop: GqlShop
    location: GqlLocation | None = None


class InventoryQuantity(_Gql):
    """``InventoryQuantity``."""

    name: str
    quantity: int


class InventoryLevel(_Gql):
    """``InventoryLevel`` with its requested quantities (and location, when selected)."""

    quantities: list[InventoryQuantity] = Field(default_factory=list)
    location: IdRef | None = None

    def quantity(self, name: str = "available") -> int | None:
        """The quantity of ``name``, when listed."""
        return next((q.quantity for q in self.quantities if q.name == name), None)


class InventoryLevelConnection(_Gql):
    """``InventoryLevelConnection``."""

    page_info: PageInfo
    nodes: list[InventoryLevel]


class GqlInventoryItem(_Gql):
    """``InventoryItem``: its level at one location (``Variants``) or its levels at every
    location it is stocked at (``VariantsLevels``)."""

    id: str
    tracked: bool = True
    inventory_level: InventoryLevel | None = None
    inventory_levels: InventoryLevelConnection | None = None


class ItemLevelsItem(_Gql):
    """The ``inventoryItem`` of ``ItemLevels``."""

    id: str
    inventory_levels: InventoryLevelConnection


class ItemLevelsData(_Gql):
    """``data`` of ``ItemLevels``."""

    inventory_item: ItemLevelsItem | None = None


class GqlProductRef(_Gql):
    """``Product`` (id and title)."""

    id: str
    title: str | None = None


class GqlVariant(_Gql):
    """``ProductVariant``, as ``Variants`` selects it."""

    id: str
    legacy_resource_id: str | None = None
    sku: str | None = None
    title: str | None = None
    display_name: str | None = None
    price: Decimal | None = None
    product: GqlProductRef
    inventory_item: GqlInventoryItem


class VariantConnection(_Gql):
    """``ProductVariantConnection``."""

    page_info: PageInfo
    nodes: list[GqlVariant]


class VariantsData(_Gql):
    """``data`` of ``Variants``."""

    product_variants: VariantConnection


class UserError(_Gql):
    """A ``userErrors`` entry (``code`` absent on the generic ``UserError``)."""

    code: str | None = None
    field: list[str] | None = None
    message: str

    def index(self, list_field: str) -> int | None:
        """The index ``field`` names after ``list_field`` (``[..., "quantities", "3"]`` -> 3)."""
        path = self.field or []
        for pos, part in enumerate(path[:-1]):
            if part == list_field and path[pos + 1].isdigit():
                return int(path[pos + 1])
        return None


class InventoryChange(_Gql):
    """``InventoryChange``."""

    name: str
    delta: int
    quantity_after_change: int | None = None
    item: GqlProductRef | None = None
    location: GqlProductRef | None = None


class AdjustmentGroup(_Gql):
    """``InventoryAdjustmentGroup``."""

    id: str
    changes: list[InventoryChange] = Field(default_factory=list)


class SetQuantitiesPayload(_Gql):
    """``InventorySetQuantitiesPayload``."""

    inventory_adjustment_group: AdjustmentGroup | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class SetStockData(_Gql):
    """``data`` of ``SetStock``."""

    inventory_set_quantities: SetQuantitiesPayload | None = None


class ActivatedLevel(_Gql):
    """The ``InventoryLevel`` ``inventoryActivate`` created (or found)."""

    id: str
    location: IdRef | None = None
    quantities: list[InventoryQuantity] = Field(default_factory=list)

    def quantity(self, name: str = "available") -> int | None:
        """The quantity of ``name``, when listed."""
        return next((q.quantity for q in self.quantities if q.name == name), None)


class ActivatePayload(_Gql):
    """``InventoryActivatePayload``."""

    inventory_level: ActivatedLevel | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class ActivateData(_Gql):
    """``data`` of ``ActivateInventory``."""

    inventory_activate: ActivatePayload | None = None


class CurrentItem(_Gql):
    """One aliased ``inventoryItem`` of ``CurrentLevels``."""

    id: str
    inventory_level: InventoryLevel | None = None


class VariantPrice(_Gql):
    """``ProductVariant`` id and price."""

    id: str
    price: Decimal | None = None


class PricesPayload(_Gql):
    """``ProductVariantsBulkUpdatePayload``."""

    product_variants: list[VariantPrice] | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class PricesData(_Gql):
    """``data`` of ``SetPrices``."""

    product_variants_bulk_update: PricesPayload | None = None


class FoLineItemRef(_Gql):
    """``LineItem`` id of a fulfillment-order line."""

    id: str


class FoLineItem(_Gql):
    """``FulfillmentOrderLineItem``."""

    id: str
    remaining_quantity: int
    line_item: FoLineItemRef


class FoLineItems(_Gql):
    """``FulfillmentOrderLineItemConnection`` (one page)."""

    nodes: list[FoLineItem]


class GqlFulfillmentOrder(_Gql):
    """``FulfillmentOrder``."""

    id: str
    status: str
    assigned_location: AssignedLocation | None = None
    line_items: FoLineItems


class FulfillmentOrders(_Gql):
    """``FulfillmentOrderConnection`` (one page)."""

    nodes: list[GqlFulfillmentOrder]


class FulfillmentStateOrder(_Gql):
    """The ``order`` of ``FulfillmentState``."""

    id: str
    cancelled_at: datetime | None = None
    display_fulfillment_status: str | None = None
    fulfillments: list[GqlFulfillment] = Field(default_factory=list)
    fulfillment_orders: FulfillmentOrders


class FulfillmentStateData(_Gql):
    """``data`` of ``FulfillmentState``."""

    order: FulfillmentStateOrder | None = None


class CreatedFulfillment(_Gql):
    """The fulfillment ``fulfillmentCreate`` made."""

    id: str
    status: str


class FulfillmentCreatePayload(_Gql):
    """``FulfillmentCreatePayload``."""

    fulfillment: CreatedFulfillment | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class FulfillmentCreateData(_Gql):
    """``data`` of ``CreateFulfillment``."""

    fulfillment_create: FulfillmentCreatePayload | None = None


class OrderStateOrder(_Gql):
    """The ``order`` of ``OrderState``."""

    id: str
    cancelled_at: datetime | None = None
    display_fulfillment_status: str | None = None


class OrderStateData(_Gql):
    """``data`` of ``OrderState``."""

    order: OrderStateOrder | None = None


class Job(_Gql):
    """``Job``."""

    id: str
    done: bool


class OrderCancelPayload(_Gql):
    """``OrderCancelPayload``."""

    job: Job | None = None
    order_cancel_user_errors: list[UserError] = Field(default_factory=list)


class OrderCancelData(_Gql):
    """``data`` of ``CancelOrder``."""

    order_cancel: OrderCancelPayload | None = None


# -- after-sale ------------------------------------------------------------------------------


class GqlTransaction(_Gql):
    """``OrderTransaction``."""

    id: str
    kind: str
    status: str
    gateway: str | None = None
    amount_set: MoneyBag
    parent_transaction: IdRef | None = None


class RefundStateOrder(_Gql):
    """The ``order`` of ``RefundState``: its transactions, refunds and where its lines are
    assigned."""

    id: str
    cancelled_at: datetime | None = None
    currency_code: str
    presentment_currency_code: str | None = None
    transactions: list[GqlTransaction] = Field(default_factory=list)
    refunds: list[GqlRefund] = Field(default_factory=list)
    fulfillment_orders: LocatedFulfillmentOrders | None = None


class RefundStateData(_Gql):
    """``data`` of ``RefundState``."""

    order: RefundStateOrder | None = None


class RefundCreatePayload(_Gql):
    """``RefundCreatePayload``."""

    refund: GqlRefund | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class RefundCreateData(_Gql):
    """``data`` of ``CreateRefund``."""

    refund_create: RefundCreatePayload | None = None


class FulfillmentLineRef(_Gql):
    """A ``FulfillmentLineItem`` with its quantity and order line."""

    id: str
    quantity: int | None = None
    line_item: LineItemRef | None = None


class FulfillmentLineRefs(_Gql):
    """``FulfillmentLineItemConnection`` (ids only)."""

    page_info: PageInfo | None = None
    nodes: list[FulfillmentLineRef]


class ReturnStateFulfillment(_Gql):
    """A fulfillment with its line items' ids."""

    id: str
    status: str
    fulfillment_line_items: FulfillmentLineRefs


class GqlReturnLine(_Gql):
    """``ReturnLineItemType`` (``fulfillment_line_item`` on a ``ReturnLineItem``)."""

    id: str
    quantity: int
    fulfillment_line_item: IdRef | None = None


class GqlReturnLines(_Gql):
    """``ReturnLineItemTypeConnection``."""

    nodes: list[GqlReturnLine]


class GqlReverseLine(_Gql):
    """``ReverseFulfillmentOrderLineItem``."""

    id: str
    total_quantity: int
    fulfillment_line_item: IdRef | None = None


class GqlReverseLines(_Gql):
    """``ReverseFulfillmentOrderLineItemConnection``."""

    nodes: list[GqlReverseLine]


class GqlReverseOrder(_Gql):
    """``ReverseFulfillmentOrder``."""

    id: str
    line_items: GqlReverseLines


class GqlReverseOrders(_Gql):
    """``ReverseFulfillmentOrderConnection``."""

    nodes: list[GqlReverseOrder]


class GqlReturn(_Gql):
    """``Return``."""

    id: str
    status: str
    return_line_items: GqlReturnLines
    reverse_fulfillment_orders: GqlReverseOrders | None = None


class GqlReturns(_Gql):
    """``ReturnConnection``."""

    nodes: list[GqlReturn]


class ReturnStateOrder(_Gql):
    """The ``order`` of ``ReturnState``: fulfillment line items and returns so far."""

    id: str
    fulfillments: list[ReturnStateFulfillment] = Field(default_factory=list)
    returns: GqlReturns


class ReturnStateData(_Gql):
    """``data`` of ``ReturnState``."""

    order: ReturnStateOrder | None = None


class ReturnPayload(_Gql):
    """``ReturnCreatePayload`` / ``ReturnProcessPayload`` / ``ReturnClosePayload``."""

    return_: GqlReturn | None = Field(default=None, alias="return")
    user_errors: list[UserError] = Field(default_factory=list)


class ReturnCreateData(_Gql):
    """``data`` of ``CreateReturn``."""

    return_create: ReturnPayload | None = None


class ReturnProcessData(_Gql):
    """``data`` of ``ProcessReturn``."""

    return_process: ReturnPayload | None = None


class ReturnCloseData(_Gql):
    """``data`` of ``CloseReturn``."""

    return_close: ReturnPayload | None = None


# -- REST shapes (webhook bodies) -------------------------------------------------------------


class RestMoney(_Rest):
    """``shop_money`` / ``presentment_money``."""

    amount: Decimal
    currency_code: str


class RestMoneySet(_Rest):
    """A ``*_set`` pair."""

    shop_money: RestMoney
    presentment_money: RestMoney | None = None


class RestAddress(_Rest):
    """A REST address."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    province: str | None = None
    province_code: str | None = None
    country_code: str | None = None
    phone: str | None = None


class RestCustomer(_Rest):
    """The order's ``customer``."""

    id: int | str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class RestDiscountAllocation(_Rest):
    """``discount_allocations[]``."""

    amount: Decimal
    amount_set: RestMoneySet | None = None


class RestLineItem(_Rest):
    """``line_items[]``."""

    id: int | str
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    variant_id: int | str | None = None
    quantity: int
    current_quantity: int | None = None
    fulfillable_quantity: int | None = None
    price: Decimal | None = None
    price_set: RestMoneySet | None = None
    discount_allocations: list[RestDiscountAllocation] = Field(default_factory=list)


class RestFulfillmentLine(_Rest):
    """A line of a fulfillment."""

    id: int | str
    quantity: int


class RestFulfillment(_Rest):
    """``fulfillments[]``."""

    id: int | str
    status: str | None = None
    created_at: datetime | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    line_items: list[RestFulfillmentLine] = Field(default_factory=list)


class RestRefundLine(_Rest):
    """``refund_line_items[]``."""

    line_item_id: int | str
    quantity: int
    restock_type: str | None = None


class RestTransaction(_Rest):
    """A refund's ``transactions[]``."""

    amount: Decimal
    currency: str | None = None
    kind: str | None = None
    status: str | None = None


class RestRefund(_Rest):
    """``refunds[]``."""

    id: int | str
    created_at: datetime | None = None
    note: str | None = None
    restock: bool | None = None
    refund_line_items: list[RestRefundLine] = Field(default_factory=list)
    transactions: list[RestTransaction] = Field(default_factory=list)


class RestOrder(_Rest):
    """The REST ``Order`` (the body of ``orders/*`` webhooks)."""

    id: int | str
    admin_graphql_api_id: str | None = None
    name: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    currency: str | None = None
    presentment_currency: str | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    tags: str | None = None
    total_price: Decimal | None = None
    total_price_set: RestMoneySet | None = None
    subtotal_price_set: RestMoneySet | None = None
    total_shipping_price_set: RestMoneySet | None = None
    total_tax_set: RestMoneySet | None = None
    total_discounts_set: RestMoneySet | None = None
    customer: RestCustomer | None = None
    shipping_address: RestAddress | None = None
    billing_address: RestAddress | None = None
    line_items: list[RestLineItem] = Field(default_factory=list)
    fulfillments: list[RestFulfillment] = Field(default_factory=list)
    refunds: list[RestRefund] = Field(default_factory=list)


class RestInventoryLevel(_Rest):
    """The body of ``inventory_levels/update``."""

    inventory_item_id: int | str
    location_id: int | str
    available: int | None = None
    updated_at: datetime | None = None


class RestPrivacyCustomer(_Rest):
    """``customer`` of the privacy webhooks."""

    id: int | str | None = None
    email: str | None = None
    phone: str | None = None


class RestCustomersRedact(_Rest):
    """The body of ``customers/redact`` and ``customers/data_request``."""

    shop_id: int | str | None = None
    shop_domain: str | None = None
    customer: RestPrivacyCustomer | None = None
    orders_to_redact: list[int | str] = Field(default_factory=list)
    orders_requested: list[int | str] = Field(default_factory=list)


class RestShopRedact(_Rest):
    """The body of ``shop/redact``."""

    shop_id: int | str | None = None
    shop_domain: str | None = None
