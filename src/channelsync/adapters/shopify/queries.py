"""Every GraphQL document the Shopify adapter sends, and what each is expected to cost.

The documents are plain strings so that tests can validate each one against Shopify's
published schema. Page sizes are chosen so that a page's requested cost stays under the
1,000-point single-query limit under Shopify's documented cost rules (objects 1 point,
connections 2 + ``first`` x node cost, mutations 10).
"""

from __future__ import annotations

import json

__all__ = [
    "CURRENT_LEVELS_MAX",
    "FULFILLMENT_CREATE",
    "FULFILLMENT_STATE",
    "INVENTORY_ACTIVATE",
    "ITEM_LEVELS",
    "LOCATIONS",
    "ORDERS",
    "ORDERS_PAGE",
    "ORDER_CANCEL",
    "ORDER_CANCEL_LEGACY",
    "ORDER_LINE_ITEMS",
    "ORDER_LOCATIONS",
    "ORDER_QUANTITIES",
    "ORDER_STATE",
    "PRICES_SET",
    "SHOP_CONTEXT",
    "VARIANTS",
    "VARIANTS_LEVELS",
    "VARIANTS_PAGE",
    "current_levels",
    "inventory_activate",
    "locations_cost",
    "locations_lines",
    "quantities_cost",
    "quantities_lines",
    "stock_set",
    "variant_cost",
]

#: Orders per page: 25 orders x (order 1 + customer 1 + 25 line items + fulfillmentsCount 1
#: + 4 refunds + the first fulfillment order's location 5) + 2 = 977 points requested.
#: Fulfillments and refunds with their line items are read per order by
#: ``ORDER_QUANTITIES``, only for orders that have any; the lines of orders with more than
#: one fulfillment order (several locations) by ``ORDER_LOCATIONS``.
ORDERS_PAGE = 25
LINE_ITEMS_PER_ORDER = 25
#: Refunds the orders page lists per order (ids only matter: whether there are any, and
#: whether there may be more than this).
REFUNDS_IN_PAGE = 4
#: Fulfillment orders the orders page reads per order: the first, and whether there are
#: more (connection 2 + (fulfillment order 1 + assignedLocation 1 + location 1)).
FULFILLMENT_ORDERS_FIRST = 1
FULFILLMENT_ORDER_PROBE = 2 + FULFILLMENT_ORDERS_FIRST * 3
#: Requested cost of one order node of ``OrderFields``.
ORDER_COST = 2 + (2 + LINE_ITEMS_PER_ORDER) + 1 + REFUNDS_IN_PAGE + FULFILLMENT_ORDER_PROBE
#: Shopify's single-query limit on requested points.
MAX_QUERY_COST = 1000
#: Most line items per page of a fulfillment or refund (Shopify's connection page limit).
MAX_LINES = 250
#: Most variants per page. One location: 200 x (variant, product, inventory item, level)
#: + 2 = 802 points; several: see ``variant_cost``.
VARIANTS_PAGE = 200
VARIANT_COST = 4
#: Levels asked per variant at most in the variants page (items stocked at more locations
#: read the rest with ``ITEM_LEVELS``).
LEVELS_PER_VARIANT = 20
#: Most inventory items re-read in one query after a lost compare-and-swap.
CURRENT_LEVELS_MAX = 250
#: Levels per page of ``ITEM_LEVELS``.
ITEM_LEVELS_PAGE = 100
#: Locations per page of ``LOCATIONS``.
LOCATIONS_PAGE = 100

_MONEY = "shopMoney { amount currencyCode }"

_FRAGMENTS = f"""
fragment AddressFields on MailingAddress {{
  name firstName lastName company address1 address2 city zip province provinceCode
  countryCodeV2 phone
}}
fragment LineFields on LineItem {{
  id sku title name variantTitle quantity currentQuantity unfulfilledQuantity
  originalUnitPriceSet {{ {_MONEY} }}
  totalDiscountSet {{ {_MONEY} }}
}}
fragment OrderFields on Order {{
  id legacyResourceId name createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
  email phone tags test
  totalPriceSet {{ {_MONEY} presentmentMoney {{ amount currencyCode }} }}
  subtotalPriceSet {{ {_MONEY} }}
  totalShippingPriceSet {{ {_MONEY} }}
  totalTaxSet {{ {_MONEY} }}
  totalDiscountsSet {{ {_MONEY} }}
  customer {{ id displayName }}
  shippingAddress {{ ...AddressFields }}
  billingAddress {{ ...AddressFields }}
  lineItems(first: {LINE_ITEMS_PER_ORDER}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...LineFields }}
  }}
  fulfillmentsCount {{ count precision }}
  refunds(first: {REFUNDS_IN_PAGE}) {{ id createdAt note totalRefundedSet {{ {_MONEY} }} }}
  fulfillmentOrders(first: {FULFILLMENT_ORDERS_FIRST}, displayable: true) {{
    pageInfo {{ hasNextPage }}
    nodes {{ assignedLocation {{ location {{ id }} }} }}
  }}
}}
"""

SHOP_CONTEXT = """
query ShopContext($locationId: ID) {
  shop { currencyCode }
  location(id: $locationId) { id name }
}
"""

#: Every active location, fulfilment-service ones included (``hasActiveInventory``: some
#: item is stocked there).
LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, sortKey: ID, includeLegacy: true) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name isActive fulfillsOnlineOrders hasActiveInventory
      isFulfillmentService
    }
  }
}
"""

ORDERS = (
    """
query Orders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}
"""
    + _FRAGMENTS
)

ORDER_LINE_ITEMS = """
query OrderLineItems($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 250, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineFields }
    }
  }
}
fragment LineFields on LineItem {
  id sku title name variantTitle quantity currentQuantity unfulfilledQuantity
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  totalDiscountSet { shopMoney { amount currencyCode } }
}
"""

#: An order's fulfillments and refunds with the units of each line they hold: exact units
#: shipped (``fulfillmentLineItems``) and refunded, with how (``restockType``). Lists cannot
#: be paged, so ``$fulfillments`` and ``$refunds`` are sized to hold them all; ``$lines``
#: is the order's line count (at most one fulfillment line item per order line).
ORDER_QUANTITIES = f"""
query OrderQuantities($id: ID!, $fulfillments: Int!, $refunds: Int!, $lines: Int!) {{
  order(id: $id) {{
    id
    fulfillments(first: $fulfillments) {{
      id status createdAt
      trackingInfo(first: 3) {{ company number url }}
      fulfillmentLineItems(first: $lines) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ quantity lineItem {{ id }} }}
      }}
    }}
    refunds(first: $refunds) {{
      id createdAt note totalRefundedSet {{ {_MONEY} }}
      refundLineItems(first: $lines) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ quantity restockType lineItem {{ id }} }}
      }}
    }}
  }}
}}
"""


#: An order's fulfillment orders (not those hidden after a move or merge), each with its
#: assigned location and its lines' units: where each line was assigned. Read only for
#: orders with more than one fulfillment order.
ORDER_LOCATIONS = """
query OrderLocations($id: ID!, $orders: Int!, $lines: Int!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: $orders, displayable: true) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: $lines) {
          pageInfo { hasNextPage endCursor }
          nodes { totalQuantity lineItem { id } }
        }
      }
    }
  }
}
"""


def locations_cost(orders: int, lines: int) -> int:
    """Requested points of ``ORDER_LOCATIONS``: order 1 + the connection 2 + each fulfillment
    order (1, assignedLocation 1, location 1, its line connection 2 + ``lines`` x 2)."""
    return 3 + orders * (5 + 2 * lines)


def locations_lines(orders: int, lines: int) -> int:
    """``$lines`` for ``ORDER_LOCATIONS``: ``lines`` (at most ``MAX_LINES``), fewer when the
    1,000-point limit needs it; 0 when not even one line per fulfillment order fits."""
    lines = min(lines, MAX_LINES)
    room = ((MAX_QUERY_COST - 3) // max(1, orders) - 5) // 2
    return max(0, min(lines, room))


def quantities_cost(fulfillments: int, refunds: int, lines: int) -> int:
    """Requested points of ``ORDER_QUANTITIES``: order 1 + each fulfillment or refund
    (1, plus its line connection: 2 + ``lines`` x (line item 1 + its ``lineItem`` 1))."""
    return 1 + (fulfillments + refunds) * (1 + 2 + 2 * lines)


def quantities_lines(fulfillments: int, refunds: int, lines: int) -> int:
    """``$lines`` for ``ORDER_QUANTITIES``: ``lines`` (at most ``MAX_LINES``), fewer when
    that would break the 1,000-point limit; 0 when not even one line per list fits."""
    lines = min(lines, MAX_LINES)
    lists = fulfillments + refunds
    if lists == 0:
        return lines
    room = ((MAX_QUERY_COST - 1) // lists - 3) // 2
    return max(0, min(lines, room))


#: Variants of a shop with one location: its level only.
VARIANTS = """
query Variants($first: Int!, $after: String, $locationId: ID!) {
  productVariants(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId sku title displayName price
      product { id title }
      inventoryItem {
        id tracked
        inventoryLevel(locationId: $locationId) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
  }
}
"""

#: Variants of a shop with several locations: every location each item is stocked at.
VARIANTS_LEVELS = """
query VariantsLevels($first: Int!, $after: String, $levels: Int!) {
  productVariants(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId sku title displayName price
      product { id title }
      inventoryItem {
        id tracked
        inventoryLevels(first: $levels) {
          pageInfo { hasNextPage endCursor }
          nodes { location { id } quantities(names: ["available"]) { name quantity } }
        }
      }
    }
  }
}
"""


def variant_cost(levels: int) -> int:
    """Requested points of one variant of ``VARIANTS_LEVELS``: variant, product and item 1
    each, the levels connection 2 + ``levels`` x (level 1 + location 1)."""
    return 5 + 2 * levels


#: The rest of an item's levels, past the variants page's.
ITEM_LEVELS = f"""
query ItemLevels($id: ID!, $after: String) {{
  inventoryItem(id: $id) {{
    id
    inventoryLevels(first: {ITEM_LEVELS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ location {{ id }} quantities(names: ["available"]) {{ name quantity }} }}
    }}
  }}
}}
"""

_STOCK_SET = """
mutation SetStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input)%s {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) {
        name delta quantityAfterChange
        item { id }
        location { id }
      }
    }
    userErrors { code field message }
  }
}
"""


def stock_set(idempotency_key: str | None) -> str:
    """The ``inventorySetQuantities`` document, with ``@idempotent(key:)`` when given one."""
    directive = f" @idempotent(key: {json.dumps(idempotency_key)})" if idempotency_key else ""
    return _STOCK_SET % directive


def current_levels(count: int) -> str:
    """A query reading ``available`` of ``count`` (inventory item, location) pairs (aliases
    ``i0``..., variables ``$i0``/``$l0``...)."""
    if not 1 <= count <= CURRENT_LEVELS_MAX:
        raise ValueError(f"count must be 1..{CURRENT_LEVELS_MAX}, got {count}")
    params = ", ".join(f"$i{n}: ID!, $l{n}: ID!" for n in range(count))
    fields = "\n".join(
        f"  i{n}: inventoryItem(id: $i{n}) {{ id inventoryLevel(locationId: $l{n}) "
        '{ quantities(names: ["available"]) { name quantity } } }'
        for n in range(count)
    )
    return f"query CurrentLevels({params}) {{\n{fields}\n}}\n"


_INVENTORY_ACTIVATE = """
mutation ActivateInventory($inventoryItemId: ID!, $locationId: ID!, $available: Int) {
  inventoryActivate(inventoryItemId: $inventoryItemId, locationId: $locationId,
                    available: $available)%s {
    inventoryLevel { id location { id } quantities(names: ["available"]) { name quantity } }
    userErrors { field message }
  }
}
"""
INVENTORY_ACTIVATE = _INVENTORY_ACTIVATE % ""


def inventory_activate(idempotency_key: str | None) -> str:
    """The ``inventoryActivate`` document, with ``@idempotent(key:)`` when given one."""
    directive = f" @idempotent(key: {json.dumps(idempotency_key)})" if idempotency_key else ""
    return _INVENTORY_ACTIVATE % directive


PRICES_SET = """
mutation SetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: true) {
    productVariants { id price }
    userErrors { code field message }
  }
}
"""

FULFILLMENT_STATE = """
query FulfillmentState($id: ID!) {
  order(id: $id) {
    id cancelledAt displayFulfillmentStatus
    fulfillments(first: 20) {
      id status
      location { id }
      trackingInfo(first: 5) { company number url }
    }
    fulfillmentOrders(first: 5, displayable: true) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

ORDER_STATE = """
query OrderState($id: ID!) {
  order(id: $id) { id cancelledAt displayFulfillmentStatus }
}
"""

ORDER_CANCEL = """
mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
                     $refundMethod: OrderCancelRefundMethodInput, $staffNote: String,
                     $notifyCustomer: Boolean) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock,
              refundMethod: $refundMethod, staffNote: $staffNote,
              notifyCustomer: $notifyCustomer) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}
"""

#: Before 2025-10 ``orderCancel`` took ``refund: Boolean!`` instead of ``refundMethod``.
ORDER_CANCEL_LEGACY = """
mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
                     $refund: Boolean!, $staffNote: String, $notifyCustomer: Boolean) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, refund: $refund,
              staffNote: $staffNote, notifyCustomer: $notifyCustomer) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}
"""

#: First guesses of each operation's requested cost, before the server has said.
ESTIMATED_COST: dict[str, int] = {
    "ShopContext": 2,
    "Orders": 2 + ORDERS_PAGE * ORDER_COST,
    "OrderLineItems": 253,
    "OrderQuantities": 28,
    "Variants": 2 + VARIANTS_PAGE * VARIANT_COST,
    "Locations": 2 + LOCATIONS_PAGE,
    "ItemLevels": 3 + 2 * ITEM_LEVELS_PAGE,
    "OrderLocations": 118,
    "SetStock": 10,
    "ActivateInventory": 10,
    "CurrentLevels": 2 * CURRENT_LEVELS_MAX,
    "SetPrices": 10,
    "FulfillmentState": 568,
    "CreateFulfillment": 10,
    "OrderState": 1,
    "CancelOrder": 10,
}

# -- after-sale ----------------------------------------------------------------------------

REFUND_STATE = """
query RefundState($id: ID!) {
  order(id: $id) {
    id cancelledAt currencyCode presentmentCurrencyCode
    transactions(first: 50) {
      id kind status gateway
      amountSet { shopMoney { amount currencyCode } }
      parentTransaction { id }
    }
    refunds(first: 50) {
      id createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
    }
    fulfillmentOrders(first: 5, displayable: true) {
      nodes {
        status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { totalQuantity lineItem { id } } }
      }
    }
  }
}
"""

_REFUND_CREATE = """
mutation CreateRefund($input: RefundInput!) {
  refundCreate(input: $input)%s {
    refund { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
"""


def refund_create(idempotency_key: str | None) -> str:
    """The ``refundCreate`` document, with ``@idempotent(key:)`` when given one."""
    directive = f" @idempotent(key: {json.dumps(idempotency_key)})" if idempotency_key else ""
    return _REFUND_CREATE % directive


RETURN_STATE = """
query ReturnState($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 10) {
      id status
      fulfillmentLineItems(first: 20) { nodes { id quantity lineItem { id } } }
    }
    returns(first: 10) {
      nodes {
        id status
        returnLineItems(first: 20) {
          nodes { id quantity ... on ReturnLineItem { fulfillmentLineItem { id } } }
        }
      }
    }
  }
}
"""

_RETURN_FIELDS = """
    return {
      id status
      returnLineItems(first: 50) {
        nodes { id quantity ... on ReturnLineItem { fulfillmentLineItem { id } } }
      }
      reverseFulfillmentOrders(first: 5) {
        nodes {
          id
          lineItems(first: 50) { nodes { id totalQuantity fulfillmentLineItem { id } } }
        }
      }
    }
    userErrors { code field message }
"""

RETURN_CREATE = (
    """
mutation CreateReturn($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) {"""
    + _RETURN_FIELDS
    + """  }
}
"""
)

RETURN_PROCESS = (
    """
mutation ProcessReturn($input: ReturnProcessInput!) {
  returnProcess(input: $input) {"""
    + _RETURN_FIELDS
    + """  }
}
"""
)

RETURN_CLOSE = (
    """
mutation CloseReturn($id: ID!) {
  returnClose(id: $id) {"""
    + _RETURN_FIELDS
    + """  }
}
"""
)

ESTIMATED_COST.update(
    {
        "RefundState": 629,
        "CreateRefund": 10,
        "ReturnState": 870,
        "CreateReturn": 10,
        "ProcessReturn": 10,
        "CloseReturn": 10,
    }
)
