"""The Shopify fake's locations on the wire: what Shopify refuses and how it answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channelsync.adapters.shopify import API_VERSION
from channelsync.adapters.shopify import queries as q
from channelsync.sandbox.shopify import ShopifyFake

LOCATIONS = """
query Locations($inactive: Boolean) {
  locations(first: 10, includeInactive: $inactive) {
    nodes { id name isActive hasActiveInventory }
  }
}
"""
CREATE = """
mutation Create($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id } userErrors { field message }
  }
}
"""
FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 5) {
      nodes {
        id status assignedLocation { name location { id } }
        lineItems(first: 5) { nodes { id totalQuantity remainingQuantity } }
      }
    }
  }
}
"""


def _post(
    fake: ShopifyFake, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    response = httpx.post(
        f"{fake.url}/admin/api/{kw.pop('version', API_VERSION)}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": fake.access_token},
        timeout=10,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _set(fake: ShopifyFake, item: str, location: str, quantity: int) -> dict[str, Any]:
    entry = {
        "inventoryItemId": item,
        "locationId": location,
        "quantity": quantity,
        "changeFromQuantity": None,
    }
    variables = {"input": {"name": "available", "reason": "correction", "quantities": [entry]}}
    result: dict[str, Any] = _post(fake, q.stock_set(f"k-{location}-{quantity}"), variables)
    return result["data"]["inventorySetQuantities"]


def test_locations_are_listed_by_name_with_where_stock_is(fake: ShopifyFake) -> None:
    berlin = fake.add_location("berlin")
    empty = fake.add_location("altona")
    fake.seed_listing("MUG", quantity=1, price="1.00", location=berlin)
    fake.deactivate_location(fake.add_location("closed"))
    nodes = _post(fake, LOCATIONS)["data"]["locations"]["nodes"]
    assert [(n["name"], n["hasActiveInventory"]) for n in nodes] == [
        ("altona", False),
        ("berlin", True),
        ("Shop location", False),
    ]
    assert {n["id"] for n in nodes} == {berlin, empty, "gid://shopify/Location/1"}
    every = _post(fake, LOCATIONS, {"inactive": True})["data"]["locations"]["nodes"]
    assert [(n["name"], n["isActive"]) for n in every] == [
        ("altona", True),
        ("berlin", True),
        ("closed", False),
        ("Shop location", True),
    ]
    with pytest.raises(ValueError, match="already has a location named 'berlin'"):
        fake.add_location("berlin")
    with pytest.raises(ValueError, match="no location 'munich'"):
        fake.seed_listing("MUG", quantity=1, price="1.00", location="munich")


def test_set_quantities_refuses_unknown_and_unstocked_locations(fake: ShopifyFake) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("MUG", quantity=4, price="1.00", location=berlin)
    item = fake.ids("MUG")["inventory_item_id"]
    unknown = _set(fake, item, "gid://shopify/Location/9", 3)
    assert unknown == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [
            {
                "code": "INVALID_LOCATION",
                "field": ["input", "quantities", "0", "locationId"],
                "message": "The specified location could not be found.",
            }
        ],
    }
    unstocked = _set(fake, item, hamburg, 3)
    assert [e["code"] for e in unstocked["userErrors"]] == ["ITEM_NOT_STOCKED_AT_LOCATION"]
    assert fake.levels("MUG") == {berlin: 4}
    assert _set(fake, item, berlin, 3)["userErrors"] == []
    assert fake.levels("MUG") == {berlin: 3}


def test_inventory_activate_stocks_once_and_needs_a_key_from_2026_04(fake: ShopifyFake) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("MUG", quantity=4, price="1.00", location=berlin)
    item = fake.ids("MUG")["inventory_item_id"]
    variables = {"inventoryItemId": item, "locationId": hamburg, "available": 6}
    no_key = _post(fake, q.INVENTORY_ACTIVATE, variables)
    assert no_key["data"] == {"inventoryActivate": None}
    assert "@idempotent" in no_key["errors"][0]["message"]
    # Before 2026-04 the key is optional.
    done = _post(fake, q.INVENTORY_ACTIVATE, variables, version="2026-01")["data"]
    level = done["inventoryActivate"]["inventoryLevel"]
    assert level["location"] == {"id": hamburg}
    assert level["quantities"] == [{"name": "available", "quantity": 6}]
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 6,
        "committed": 0,
        "on_hand": 6,
    }
    # Already stocked there: the level stays as it is (no sale overwritten).
    fake.place_order("MUG", 2, location=hamburg)
    again = _post(fake, q.inventory_activate("a-1"), {**variables, "available": 9})["data"]
    assert again["inventoryActivate"]["inventoryLevel"]["quantities"][0]["quantity"] == 4
    assert fake.levels("MUG") == {berlin: 4, hamburg: 4}
    # The same key with other parameters is refused; unknown ids are user errors.
    other = _post(fake, q.inventory_activate("a-1"), {**variables, "available": 1})["data"]
    assert "same idempotency key" in other["inventoryActivate"]["userErrors"][0]["message"]
    for field, bad in (
        ("locationId", "gid://shopify/Location/77"),
        ("inventoryItemId", "gid://shopify/InventoryItem/77"),
    ):
        refused = _post(fake, q.inventory_activate(f"a-{field}"), {**variables, field: bad})
        [error] = refused["data"]["inventoryActivate"]["userErrors"]
        assert error["field"] == [field]


def test_orders_carry_their_fulfillment_orders_locations(fake: ShopifyFake) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("MUG", quantity=4, price="1.00", location=berlin)
    fake.seed_listing("MUG", quantity=9, price="1.00", location=hamburg)
    order_id = fake.place_order("MUG", 5, location={"berlin": 2, hamburg: 3})
    order = _post(fake, FULFILLMENT_ORDERS, {"id": f"gid://shopify/Order/{order_id}"})
    nodes = order["data"]["order"]["fulfillmentOrders"]["nodes"]
    assert [
        (
            n["assignedLocation"]["name"],
            n["assignedLocation"]["location"]["id"],
            [(li["totalQuantity"], li["remainingQuantity"]) for li in n["lineItems"]["nodes"]],
        )
        for n in nodes
    ] == [("berlin", berlin, [(2, 2)]), ("hamburg", hamburg, [(3, 3)])]
    assert fake.quantities("MUG", location=berlin) == {"available": 2, "committed": 2, "on_hand": 4}
    assert fake.quantity("MUG") == 2 + 6
    # One fulfillmentCreate takes the fulfillment orders of one location only.
    both = {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": n["id"]} for n in nodes]
        }
    }
    [error] = _post(fake, CREATE, both)["data"]["fulfillmentCreate"]["userErrors"]
    assert error == {
        "field": ["fulfillment", "lineItemsByFulfillmentOrder", "1", "fulfillmentOrderId"],
        "message": "All fulfillment orders must be assigned to the same location.",
    }
    one = {"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": nodes[1]["id"]}]}}
    assert _post(fake, CREATE, one)["data"]["fulfillmentCreate"]["userErrors"] == []
    assert fake.quantities("MUG", location=hamburg) == {
        "available": 6,
        "committed": 0,
        "on_hand": 6,
    }
    assert fake.order(order_id)["fulfillment_status"] == "partial"


def test_checkout_refuses_what_no_location_can_give(fake: ShopifyFake) -> None:
    berlin, hamburg = fake.add_location("berlin"), fake.add_location("hamburg")
    fake.seed_listing("MUG", quantity=4, price="1.00", location=berlin)
    fake.seed_listing("MUG", quantity=9, price="1.00", location=hamburg)
    with pytest.raises(ValueError, match="only 13 available"):
        fake.place_order("MUG", 14)
    with pytest.raises(ValueError, match="only 4 available at berlin"):
        fake.place_order("MUG", 5, location="berlin")
    with pytest.raises(ValueError, match="not stocked at Shop location"):
        fake.place_order("MUG", 1, location="gid://shopify/Location/1")
    with pytest.raises(ValueError, match="at least one"):
        fake.place_order("MUG", 3, location={berlin: 3, hamburg: 0})
    assert fake.levels("MUG") == {berlin: 4, hamburg: 9}
    assert fake.quantity("MUG", location="gid://shopify/Location/1") is None
    assert fake.quantity("NOPE") is None
