"""The subset of the Admin GraphQL schema the Shopify fake serves, per API version.

Names, types and nullability follow Shopify's published schema (checked against the
2025-01 introspection and the 2026-xx reference pages). What changes between versions:

* ``InventoryQuantityInput.compareQuantity`` and ``InventorySetQuantitiesInput.
  ignoreCompareQuantity`` exist before 2026-04; ``changeFromQuantity`` from 2026-01.
* ``orderCancel`` takes ``refund: Boolean!`` before 2025-10 and ``refundMethod`` after.
"""

from __future__ import annotations

import functools

from graphql import GraphQLSchema, build_schema

from channelsync.sandbox.shopify.aftersale import SDL as AFTERSALE_SDL

__all__ = ["COUNTRY_CODES", "CURRENCY_CODES", "Flavour", "flavour_of", "schema_for"]

#: Shopify's ``CountryCode`` (US territories are states there; ``ZZ`` is unknown).
COUNTRY_CODES = """
AC AD AE AF AG AI AL AM AN AO AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR
KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU
MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PS PT PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD
TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VN VU WF WS XK YE
YT ZA ZM ZW ZZ
""".split()  # noqa: SIM905

CURRENCY_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JEP JMD JOD
JPY KES KGS KHR KID KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD
MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STN SYP SZL THB
TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF
XPF XXX YER ZAR ZMW
""".split()  # noqa: SIM905

_SDL = """
scalar DateTime
scalar Decimal
scalar Money
scalar URL
scalar UnsignedInt64

"Makes a mutation idempotent: a repeat with the same key returns the first result."
directive @idempotent(key: String!) on FIELD

schema { query: QueryRoot mutation: Mutation }

enum CurrencyCode { %(currencies)s }
enum CountryCode { %(countries)s }

type QueryRoot {
  shop: Shop!
  location(id: ID): Location
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
         sortKey: OrderSortKeys = PROCESSED_AT, query: String): OrderConnection!
  productVariants(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
                  sortKey: ProductVariantSortKeys = ID, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
  locations(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
            sortKey: LocationSortKeys = NAME, query: String, includeLegacy: Boolean = false,
            includeInactive: Boolean = false): LocationConnection!
  job(id: ID!): Job
}

type Shop { id: ID! name: String! myshopifyDomain: String! currencyCode: CurrencyCode! }

type Location {
  id: ID! legacyResourceId: UnsignedInt64! name: String! isActive: Boolean!
  fulfillsOnlineOrders: Boolean! hasActiveInventory: Boolean! isFulfillmentService: Boolean!
  shipsInventory: Boolean!
}
enum LocationSortKeys { ID NAME RELEVANCE }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }
type LocationEdge { cursor: String! node: Location! }

enum OrderSortKeys {
  CREATED_AT CUSTOMER_NAME DESTINATION FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER
  PO_NUMBER PROCESSED_AT RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT
}
enum ProductVariantSortKeys {
  FULL_TITLE ID INVENTORY_LEVELS_AVAILABLE INVENTORY_MANAGEMENT INVENTORY_POLICY
  INVENTORY_QUANTITY NAME POPULAR POSITION RELEVANCE SKU TITLE
}
enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PARTIALLY_REFUNDED VOIDED PAID REFUNDED EXPIRED
}
enum OrderDisplayFulfillmentStatus {
  UNFULFILLED PARTIALLY_FULFILLED FULFILLED RESTOCKED PENDING_FULFILLMENT OPEN IN_PROGRESS
  ON_HOLD SCHEDULED REQUEST_DECLINED
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY STAFF OTHER }
enum FulfillmentStatus { PENDING OPEN SUCCESS CANCELLED ERROR FAILURE }
enum RefundLineItemRestockType { RETURN CANCEL LEGACY_RESTOCK NO_RESTOCK }
enum CountPrecision { EXACT AT_LEAST }
enum FulfillmentOrderStatus { OPEN IN_PROGRESS CANCELLED INCOMPLETE CLOSED SCHEDULED ON_HOLD }

type PageInfo {
  hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String
}
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type MailingAddress {
  id: ID! name: String firstName: String lastName: String company: String
  address1: String address2: String city: String zip: String province: String
  provinceCode: String country: String countryCodeV2: CountryCode phone: String
}
type Customer { id: ID! displayName: String! }

type Order {
  id: ID! legacyResourceId: UnsignedInt64! name: String!
  createdAt: DateTime! updatedAt: DateTime! processedAt: DateTime!
  cancelledAt: DateTime cancelReason: OrderCancelReason closed: Boolean! closedAt: DateTime
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  currencyCode: CurrencyCode! presentmentCurrencyCode: CurrencyCode!
  email: String phone: String tags: [String!]! test: Boolean!
  totalPriceSet: MoneyBag! subtotalPriceSet: MoneyBag totalShippingPriceSet: MoneyBag!
  totalTaxSet: MoneyBag totalDiscountsSet: MoneyBag
  customer: Customer shippingAddress: MailingAddress billingAddress: MailingAddress
  lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false):
    LineItemConnection!
  fulfillments(first: Int): [Fulfillment!]!
  fulfillmentsCount: Count
  refunds(first: Int): [Refund!]!
  fulfillmentOrders(displayable: Boolean = false, first: Int, after: String, last: Int,
                    before: String, reverse: Boolean = false, query: String):
    FulfillmentOrderConnection!
}
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }
type OrderEdge { cursor: String! node: Order! }

type LineItem {
  id: ID! sku: String title: String! name: String! variantTitle: String
  quantity: Int! currentQuantity: Int! unfulfilledQuantity: Int!
  originalUnitPriceSet: MoneyBag! totalDiscountSet: MoneyBag!
  variant: ProductVariant
}
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type LineItemEdge { cursor: String! node: LineItem! }

type FulfillmentTrackingInfo { company: String number: String url: URL }
type Fulfillment {
  id: ID! status: FulfillmentStatus! createdAt: DateTime! updatedAt: DateTime!
  name: String! totalQuantity: Int! location: Location
  trackingInfo(first: Int): [FulfillmentTrackingInfo!]!
  fulfillmentLineItems(first: Int, after: String, last: Int, before: String,
                       reverse: Boolean = false): FulfillmentLineItemConnection!
}
type FulfillmentLineItem { id: ID! lineItem: LineItem! quantity: Int }
type FulfillmentLineItemConnection {
  edges: [FulfillmentLineItemEdge!]! nodes: [FulfillmentLineItem!]! pageInfo: PageInfo!
}
type FulfillmentLineItemEdge { cursor: String! node: FulfillmentLineItem! }
type Refund {
  id: ID! createdAt: DateTime note: String totalRefundedSet: MoneyBag!
  refundLineItems(first: Int, after: String, last: Int, before: String,
                  reverse: Boolean = false): RefundLineItemConnection!
}
type RefundLineItem {
  id: ID lineItem: LineItem! quantity: Int! restockType: RefundLineItemRestockType!
  restocked: Boolean!
}
type RefundLineItemConnection {
  edges: [RefundLineItemEdge!]! nodes: [RefundLineItem!]! pageInfo: PageInfo!
}
type RefundLineItemEdge { cursor: String! node: RefundLineItem! }
type Count { count: Int! precision: CountPrecision! }

type FulfillmentOrder {
  id: ID! status: FulfillmentOrderStatus! orderId: ID! orderName: String!
  assignedLocation: FulfillmentOrderAssignedLocation!
  lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean = false):
    FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderAssignedLocation {
  address1: String address2: String city: String countryCode: CountryCode! location: Location
  name: String! phone: String province: String zip: String
}
type FulfillmentOrderConnection {
  edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo!
}
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderLineItem {
  id: ID! remainingQuantity: Int! totalQuantity: Int! sku: String lineItem: LineItem!
}
type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]! nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo!
}
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }

type Product { id: ID! title: String! handle: String! }
type ProductVariant {
  id: ID! legacyResourceId: UnsignedInt64! sku: String title: String! displayName: String!
  price: Money! inventoryQuantity: Int product: Product! inventoryItem: InventoryItem!
}
type ProductVariantConnection {
  edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }

type InventoryItem {
  id: ID! sku: String tracked: Boolean!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
                  query: String): InventoryLevelConnection!
  variant: ProductVariant!
}
type InventoryLevelConnection {
  edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevel {
  id: ID! location: Location! item: InventoryItem!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
type InventoryQuantity { id: ID! name: String! quantity: Int! updatedAt: DateTime }

type Job { id: ID! done: Boolean! }

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  inventoryActivate(inventoryItemId: ID!, locationId: ID!, available: Int, onHand: Int,
                    stockAtLegacyLocation: Boolean = false): InventoryActivatePayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!,
                            allowPartialUpdates: Boolean = false): ProductVariantsBulkUpdatePayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  orderCancel(orderId: ID!, reason: OrderCancelReason!, restock: Boolean!, %(cancel_refund)s
              notifyCustomer: Boolean = false, staffNote: String = null): OrderCancelPayload
}

input InventorySetQuantitiesInput {
  name: String! reason: String! referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
  %(ignore_compare)s
}
input InventoryQuantityInput {
  inventoryItemId: ID! locationId: ID! quantity: Int!
  %(cas_fields)s
}
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}
type InventoryAdjustmentGroup {
  id: ID! createdAt: DateTime! reason: String! referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]):
    [InventoryChange!]!
}
type InventoryChange {
  name: String! delta: Int! quantityAfterChange: Int ledgerDocumentUri: String
  item: InventoryItem location: Location
}
type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode field: [String!] message: String!
}
enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_NAME
  INVALID_QUANTITY_NEGATIVE INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR NON_MUTABLE_INVENTORY_ITEM
}

type InventoryActivatePayload { inventoryLevel: InventoryLevel userErrors: [UserError!]! }

input ProductVariantsBulkInput {
  id: ID price: Money compareAtPrice: Money barcode: String taxable: Boolean
}
type ProductVariantsBulkUpdatePayload {
  product: Product productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}
type ProductVariantsBulkUpdateUserError {
  code: ProductVariantsBulkUpdateUserErrorCode field: [String!] message: String!
}
enum ProductVariantsBulkUpdateUserErrorCode {
  INVALID_INPUT PRODUCT_DOES_NOT_EXIST PRODUCT_VARIANT_ID_MISSING PRODUCT_VARIANT_DOES_NOT_EXIST
  MUST_BE_FOR_THIS_PRODUCT NEGATIVE_PRICE_VALUE
}

input FulfillmentInput {
  trackingInfo: FulfillmentTrackingInput notifyCustomer: Boolean = false
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
}
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentTrackingInput {
  number: String url: URL company: String numbers: [String!] urls: [URL!]
}
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type UserError { field: [String!] message: String! }

input OrderCancelRefundMethodInput { originalPaymentMethodsRefund: Boolean }
type OrderCancelPayload {
  job: Job orderCancelUserErrors: [OrderCancelUserError!]! userErrors: [UserError!]!
}
type OrderCancelUserError { code: OrderCancelUserErrorCode field: [String!] message: String! }
enum OrderCancelUserErrorCode { NO_REFUND_PERMISSION NOT_FOUND INVALID }
"""


class Flavour(tuple[bool, bool, bool]):
    """Which version-dependent parts a schema has: (compareQuantity, changeFromQuantity,
    refundMethod)."""

    @property
    def compare_quantity(self) -> bool:
        """``compareQuantity`` / ``ignoreCompareQuantity`` exist (before 2026-04)."""
        return self[0]

    @property
    def change_from_quantity(self) -> bool:
        """``changeFromQuantity`` exists (2026-01 on)."""
        return self[1]

    @property
    def refund_method(self) -> bool:
        """``orderCancel`` takes ``refundMethod`` (2025-10 on)."""
        return self[2]


def flavour_of(version: str) -> Flavour:
    """The schema flavour of an API version (``"unstable"`` is the newest)."""
    newest = version == "unstable"
    return Flavour(
        (
            not newest and version < "2026-04",
            newest or version >= "2026-01",
            newest or version >= "2025-10",
        )
    )


@functools.cache
def schema_for(flavour: Flavour) -> GraphQLSchema:
    """The executable schema of one flavour (resolvers come from the fake's state)."""
    cas = []
    if flavour.compare_quantity:
        cas.append("compareQuantity: Int")
    if flavour.change_from_quantity:
        cas.append("changeFromQuantity: Int")
    sdl = _SDL % {
        "currencies": " ".join(CURRENCY_CODES),
        "countries": " ".join(COUNTRY_CODES),
        "cas_fields": " ".join(cas),
        "ignore_compare": "ignoreCompareQuantity: Boolean = false"
        if flavour.compare_quantity
        else "",
        "cancel_refund": "refund: Boolean, refundMethod: OrderCancelRefundMethodInput,"
        if flavour.refund_method
        else "refund: Boolean!,",
    }
    return build_schema(sdl + AFTERSALE_SDL)
