"""Mapping of Shopify payloads to channelsync models, on Shopify's published examples.

The REST order JSON (webhook bodies) comes from ../shared/conformance/shopify/rest-2024-04;
the same orders are then seeded into the fake and read back through GraphQL, and both
mappings must agree.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import load_conformance

from channelsync.adapters.shopify import ShopifyChannel
from channelsync.adapters.shopify.mapping import (
    gid,
    legacy_id,
    order_from_rest,
    order_status,
    shopify_cancel_reason,
)
from channelsync.adapters.shopify.payloads import RestOrder
from channelsync.core.ledger import line_targets
from channelsync.core.models import Address, Money, Order, OrderStatus
from channelsync.sandbox.shopify import ShopifyFake

ORDER_FILES = [
    "order.test_1.get-orders.json",
    "order.test_11.post-orders-450789469-close.json",
    "order.test_13.post-orders-450789469-cancel.json",
    "order.test_14.post-orders-450789469-cancel.json",
    "order.test_15.post-orders-450789469-cancel.json",
    "order.test_16.post-orders.json",
    "order.test_19.post-orders.json",
    "order.test_24.post-orders.json",
    "order.test_25.put-orders-450789469.json",
    "order.test_6.get-orders.json",
    "order.test_8.get-orders-450789469.json",
]


def _payload(name: str) -> dict[str, Any]:
    response = load_conformance("shopify", f"rest-2024-04/{name}")["response"]
    order: dict[str, Any] = response["orders"][0] if "orders" in response else response["order"]
    return order


def _rest(payload: dict[str, Any]) -> Order:
    return order_from_rest(RestOrder.model_validate(payload), account="shopify-main", raw=payload)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def test_order_1001_partially_refunded() -> None:
    order = _rest(_payload("order.test_1.get-orders.json"))
    assert (order.kind, order.account, order.order_id, order.number) == (
        "shopify",
        "shopify-main",
        "450789469",
        "#1001",
    )
    assert order.status is OrderStatus.OPEN
    assert order.raw_status == "partially_refunded/unfulfilled"
    assert order.created_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # 11:00 at -05:00
    assert order.currency == "USD"
    assert order.total == usd("598.94")
    assert order.subtotal == usd("597.00")
    assert order.tax_total == usd("11.94")
    assert order.discount_total == usd("10.00")
    assert order.shipping_total == usd("0.00")
    lines = {ln.sku: ln for ln in order.lines}
    assert list(lines) == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    green, red, black = lines.values()
    assert (green.line_id, green.quantity, green.quantity_cancelled, green.quantity_shipped) == (
        "466157049",
        1,
        1,
        0,
    )
    assert green.unit_price == usd("199.00")
    assert green.discount == usd("3.34")
    assert green.total == usd("195.66")
    assert (red.quantity_open, black.quantity_open) == (1, 0)
    assert order.customer is not None
    assert (order.customer.customer_id, order.customer.name, order.customer.email) == (
        "207119551",
        "Bob Norman",
        "bob.norman@mail.example.com",
    )
    assert order.shipping_address == Address(
        name="Bob Norman",
        lines=("Chestnut Street 92",),
        city="Louisville",
        postal_code="40202",
        region="KY",
        country_code="US",
        phone="+1(502)-459-2181",
    )
    # The fulfillment failed: it shipped nothing.
    assert order.shipments == ()
    [refund] = order.refunds
    assert (refund.refund_id, refund.amount, refund.reason, refund.restock) == (
        "509562969",
        usd("209.00"),
        "it broke during shipping",
        True,
    )
    assert refund.lines == {"703073504": 1, "466157049": 1}
    assert order.raw["token"] == "b1946ac92492d2347c6235b4d2611184"


def test_custom_line_without_sku_in_eur() -> None:
    order = _rest(_payload("order.test_16.post-orders.json"))
    assert order.currency == "EUR"
    assert order.total == Money(amount=Decimal("238.47"), currency="EUR")
    [line] = order.lines
    assert (line.sku, line.quantity, line.title) == (None, 3, "Big Brown Bear Boots")
    assert line.unit_price == Money(amount=Decimal("74.99"), currency="EUR")
    assert line.total == Money(amount=Decimal("224.97"), currency="EUR")
    assert order.customer is None
    assert order.status is OrderStatus.OPEN


def test_already_fulfilled_order_is_shipped() -> None:
    order = _rest(_payload("order.test_19.post-orders.json"))
    assert order.status is OrderStatus.SHIPPED
    [line] = order.lines
    assert (line.sku, line.quantity_shipped, line.quantity_open) == ("IPOD2009BLACK", 1, 0)
    [shipment] = order.shipments
    assert shipment.lines == {"1071823195": 1}
    assert shipment.shipped_at == datetime(2024, 4, 2, 14, 3, 44, tzinfo=UTC)


def test_refunded_cancel_releases_every_line() -> None:
    order = _rest(_payload("order.test_14.post-orders-450789469-cancel.json"))
    assert order.status is OrderStatus.REFUNDED
    assert [ln.quantity_cancelled for ln in order.lines] == [1, 1, 1]
    [refund] = order.refunds
    assert refund.lines == {"466157049": 1, "518995019": 1, "703073504": 1}
    assert refund.restock is False  # no_restock


def test_three_custom_lines_keep_their_amounts() -> None:
    order = _rest(_payload("order.test_24.post-orders.json"))
    assert [(ln.sku, ln.quantity, str(ln.total)) for ln in order.lines] == [
        (None, 1, "129.99 USD"),
        (None, 1, "85.95 USD"),
        (None, 2, "39.98 USD"),
    ]
    assert order.total == usd("270.37")


def test_refund_case_inside_an_order() -> None:
    payload = copy.deepcopy(_payload("order.test_8.get-orders-450789469.json"))
    refund = load_conformance("shopify", "rest-2024-04/refund.cases.json")[1]["response"]["refund"]
    payload["refunds"] = [refund]
    order = _rest(payload)
    [mapped] = order.refunds
    assert (mapped.refund_id, mapped.amount, mapped.reason) == (
        "929361466",
        usd("41.94"),
        "wrong size",
    )
    assert mapped.lines == {"518995019": 1}
    assert mapped.restock is False
    assert mapped.created_at == datetime(2024, 4, 2, 14, 1, 2, tzinfo=UTC)


def test_fulfillment_case_inside_an_order() -> None:
    case = load_conformance("shopify", "rest-2024-04/fulfillment.cases.json")[5]
    fulfillment = case["response"]["fulfillment"]
    line = copy.deepcopy(fulfillment["line_items"][0])
    line.update(quantity=1, current_quantity=1, fulfillable_quantity=0)
    payload = copy.deepcopy(_payload("order.test_6.get-orders.json"))
    payload.update(line_items=[line], fulfillments=[fulfillment], fulfillment_status="fulfilled")
    order = _rest(payload)
    assert order.status is OrderStatus.SHIPPED
    [shipment] = order.shipments
    assert (shipment.carrier, shipment.tracking_number, shipment.tracking_url) == (
        "other",
        "MS1562678",
        "https://www.my-shipping-company.com?tracking_number=MS1562678",
    )
    assert shipment.lines == {"1071823187": 1}
    assert order.lines[0].sku == "crappy_shoes_red"
    assert order.lines[0].quantity_shipped == 1


@pytest.mark.parametrize(
    ("cancelled", "financial", "fulfillment", "status"),
    [
        (False, "paid", None, OrderStatus.OPEN),
        (False, "PAID", "UNFULFILLED", OrderStatus.OPEN),
        (False, "authorized", None, OrderStatus.OPEN),
        (False, "pending", None, OrderStatus.PENDING),
        (False, "PARTIALLY_REFUNDED", "PARTIALLY_FULFILLED", OrderStatus.PARTIALLY_SHIPPED),
        (False, "paid", "partial", OrderStatus.PARTIALLY_SHIPPED),
        (False, "paid", "fulfilled", OrderStatus.SHIPPED),
        (False, "refunded", None, OrderStatus.REFUNDED),
        (False, "paid", "restocked", OrderStatus.REFUNDED),
        (False, "voided", None, OrderStatus.CANCELLED),
        (True, "paid", "fulfilled", OrderStatus.CANCELLED),
    ],
)
def test_status_table(
    cancelled: bool, financial: str, fulfillment: str | None, status: OrderStatus
) -> None:
    assert (
        order_status(cancelled=cancelled, financial=financial, fulfillment=fulfillment)[0] is status
    )


def test_ids_and_reasons() -> None:
    assert gid("Order", "450789469") == "gid://shopify/Order/450789469"
    assert gid("Order", "gid://shopify/Order/1") == "gid://shopify/Order/1"
    assert legacy_id("gid://shopify/InventoryLevel/655441491?inventory_item_id=808950810") == (
        "655441491"
    )
    assert legacy_id("1073459972") == "1073459972"
    assert [shopify_cancel_reason(r) for r in (None, "customer", "Out of stock", "whatever")] == [
        "OTHER",
        "CUSTOMER",
        "INVENTORY",
        "OTHER",
    ]


def _comparable(order: Order) -> dict[str, Any]:
    data = order.model_dump(exclude={"raw", "refunds", "shipments", "tags"})
    for line in data["lines"]:
        line.pop("channel_ids")
        line.pop("location_id")  # REST order JSON does not say where lines are assigned
    data["refunds"] = [(r.refund_id, r.amount, r.created_at) for r in order.refunds]
    data["shipments"] = [(s.carrier, s.tracking_number, s.shipped_at) for s in order.shipments]
    return data


def test_graphql_and_webhook_mappings_agree(fake: ShopifyFake, channel: ShopifyChannel) -> None:
    expected: dict[str, Order] = {}
    for name in ORDER_FILES:
        payload = _payload(name)
        if str(payload["id"]) in expected:
            continue  # one order id, several snapshots: seed each id once
        fake.seed_order(payload)
        expected[str(payload["id"])] = _rest(payload)
    polled = {o.order_id: o for o in channel.fetch_orders(datetime(2000, 1, 1, tzinfo=UTC))}
    assert sorted(polled) == sorted(expected)
    for order_id, rest in expected.items():
        assert _comparable(polled[order_id]) == _comparable(rest), order_id
        # Polled lines carry the fulfillment order's location; webhook bodies have none.
        assert {ln.location_id for ln in polled[order_id].lines} == {"gid://shopify/Location/1"}
        assert {ln.location_id for ln in rest.lines} == {None}
    assert polled["450789469"].raw["displayFinancialStatus"] == "PARTIALLY_REFUNDED"


def test_orders_with_more_lines_than_a_page_read_the_rest(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    money = {"amount": "1.50", "currency_code": "USD"}
    lines = [
        {
            "id": 9_000 + n,
            "sku": f"MANY-{n:02d}",
            "title": f"Item {n}",
            "quantity": 1 + n % 3,
            "price": "1.50",
            "price_set": {"shop_money": money, "presentment_money": money},
        }
        for n in range(60)
    ]
    order_id = fake.seed_order(
        {"id": 77, "created_at": "2026-01-05T10:00:00+01:00", "line_items": lines}
    )
    [order] = channel.fetch_orders(datetime(2026, 1, 1, tzinfo=UTC))
    assert order.order_id == order_id == "77"
    assert order.created_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert [ln.sku for ln in order.lines] == [f"MANY-{n:02d}" for n in range(60)]
    assert sum(ln.quantity for ln in order.lines) == sum(1 + n % 3 for n in range(60))
    assert fake.calls["orders"] == 1
    assert fake.calls["order"] == 1  # one follow-up page of 250 lines


def _refunded_after_shipping(
    *, quantity: int, fulfilled: int, refunded: int, restock_type: str
) -> dict[str, Any]:
    """Order 1073459965 (fulfilled) with ``quantity`` units, ``fulfilled`` of them shipped,
    then ``refunded`` units refunded (Shopify lowers ``current_quantity``)."""
    payload = copy.deepcopy(_payload("order.test_19.post-orders.json"))
    [line] = payload["line_items"]
    line["quantity"] = quantity
    line["current_quantity"] = quantity - refunded
    line["fulfillable_quantity"] = quantity - max(fulfilled, refunded)
    [fulfillment] = payload["fulfillments"]
    fulfillment["line_items"][0]["quantity"] = fulfilled
    payload["updated_at"] = "2024-04-09T10:00:00-05:00"
    payload["financial_status"] = "refunded" if refunded == quantity else "partially_refunded"
    payload["fulfillment_status"] = "fulfilled" if fulfilled == quantity else "partial"
    payload["refunds"] = [
        {
            "id": 929361470,
            "created_at": "2024-04-09T10:00:00-05:00",
            "note": "came back damaged",
            "restock": restock_type == "return",
            "refund_line_items": [
                {"line_item_id": line["id"], "quantity": refunded, "restock_type": restock_type}
            ],
            "transactions": [],
        }
    ]
    return payload


@pytest.mark.parametrize("restock_type", ["no_restock", "return"])
def test_refund_of_a_shipped_order_keeps_its_units_shipped(
    fake: ShopifyFake, channel: ShopifyChannel, restock_type: str
) -> None:
    # Fully shipped, then fully refunded: the unit left the warehouse and stays gone (a
    # restocked return is the merchant's own adjustment). Counting it cancelled would put
    # it back in stock.
    payload = _refunded_after_shipping(
        quantity=1, fulfilled=1, refunded=1, restock_type=restock_type
    )
    fake.seed_order(payload)
    rest = _rest(payload)
    [polled] = channel.fetch_orders(datetime(2000, 1, 1, tzinfo=UTC))
    for order in (rest, polled):
        assert order.status is OrderStatus.REFUNDED
        [line] = order.lines
        assert (line.quantity_shipped, line.quantity_cancelled) == (1, 0)
        assert line_targets(order.status, line, 0, {}) == {"IPOD2009BLACK": [0, 1]}


def test_return_of_one_shipped_unit_keeps_the_unshipped_one_committed(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    # Three ordered, two shipped, one of those returned and refunded: one is still to ship.
    payload = _refunded_after_shipping(quantity=3, fulfilled=2, refunded=1, restock_type="return")
    fake.seed_order(payload)
    rest = _rest(payload)
    [polled] = channel.fetch_orders(datetime(2000, 1, 1, tzinfo=UTC))
    for order in (rest, polled):
        assert order.status is OrderStatus.PARTIALLY_SHIPPED
        [line] = order.lines
        assert (line.quantity_shipped, line.quantity_cancelled, line.quantity_open) == (2, 0, 1)
        assert line_targets(order.status, line, 0, {}) == {"IPOD2009BLACK": [1, 2]}


RED = 518995019  # order #1001's line that no refund touched


def _order_1001_variant(
    *, quantity: int, fulfilled: int, refund: list[tuple[int, str]], fulfillable: int
) -> dict[str, Any]:
    """Order #1001 (450789469) with its RED line ordered ``quantity`` times, ``fulfilled`` of
    them shipped (its failed fulfillment made a success), then ``refund`` (units, restock
    type) refunded; ``fulfillable`` is what Shopify then reports still to ship."""
    payload = copy.deepcopy(_payload("order.test_1.get-orders.json"))
    red = next(li for li in payload["line_items"] if li["id"] == RED)
    refunded = sum(units for units, _ in refund)
    red.update(
        quantity=quantity, current_quantity=quantity - refunded, fulfillable_quantity=fulfillable
    )
    [fulfillment] = payload["fulfillments"]
    fulfillment["status"] = "success"
    fulfillment["line_items"] = [{**red, "quantity": fulfilled}]
    payload["fulfillment_status"] = "partial"
    payload["updated_at"] = "2024-04-10T10:00:00-04:00"
    if refund:
        payload["refunds"].append(
            {
                "id": 509562970,
                "created_at": "2024-04-10T10:00:00-04:00",
                "note": "partial refund",
                "restock": any(kind == "return" for _, kind in refund),
                "refund_line_items": [
                    {
                        "id": 104689540 + n,
                        "line_item_id": RED,
                        "quantity": units,
                        "restock_type": kind,
                    }
                    for n, (units, kind) in enumerate(refund)
                ],
                "transactions": [
                    {"amount": f"{199 * refunded}.00", "kind": "refund", "status": "success"}
                ],
            }
        )
    return payload


@pytest.mark.parametrize(
    ("fulfilled", "refund", "fulfillable", "red"),
    [
        (2, [], 2, (2, 0, 2)),  # partially fulfilled
        (3, [(1, "return"), (1, "no_restock")], 0, (3, 1, 0)),  # a return; an unshipped unit
        (3, [(1, "no_restock")], 1, (3, 0, 1)),  # a shipped unit refunded, kept by the buyer
        (1, [(2, "cancel")], 1, (1, 2, 1)),  # two unshipped units cancelled and restocked
    ],
    ids=["partially-fulfilled", "return-and-no-restock", "refund-kept", "cancel-restock"],
)
def test_partially_fulfilled_and_refunded_orders_agree(
    fake: ShopifyFake,
    channel: ShopifyChannel,
    fulfilled: int,
    refund: list[tuple[int, str]],
    fulfillable: int,
    red: tuple[int, int, int],
) -> None:
    payload = _order_1001_variant(
        quantity=4, fulfilled=fulfilled, refund=refund, fulfillable=fulfillable
    )
    fake.seed_order(payload)
    rest = _rest(payload)
    [polled] = channel.fetch_orders(datetime(2000, 1, 1, tzinfo=UTC))
    assert _comparable(polled) == _comparable(rest)
    for order in (rest, polled):
        assert order.status is OrderStatus.PARTIALLY_SHIPPED
        units = {
            ln.sku: (ln.quantity_shipped, ln.quantity_cancelled, ln.quantity_open)
            for ln in order.lines
        }
        # GREEN and BLACK: refunded (legacy restock) before anything of theirs shipped.
        assert units == {"IPOD2008GREEN": (0, 1, 0), "IPOD2008RED": red, "IPOD2008BLACK": (0, 1, 0)}
        red_line = next(ln for ln in order.lines if ln.sku == "IPOD2008RED")
        assert line_targets(order.status, red_line, 0, {}) == {"IPOD2008RED": [red[2], red[0]]}
