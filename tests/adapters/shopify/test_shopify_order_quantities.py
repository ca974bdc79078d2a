"""Units shipped and cancelled per line of polled orders are exact, and queries stay in budget.

Polled orders read each fulfillment's ``fulfillmentLineItems`` and each refund's
``refundLineItems`` (with ``restockType``) in a follow-up ``OrderQuantities`` query, only for
orders that have fulfillments or refunds; webhook (REST) bodies carry the same facts, and both
mappings must agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import get_operation_ast, parse
from graphql.execution.values import get_variable_values

from channelsync.adapters.shopify import API_VERSION, ShopifyChannel
from channelsync.adapters.shopify import queries as q
from channelsync.adapters.shopify.mapping import order_from_rest, settle_line
from channelsync.adapters.shopify.payloads import RestOrder
from channelsync.core.channel import OrderFailure
from channelsync.core.ledger import line_targets
from channelsync.core.models import Order, OrderStatus
from channelsync.sandbox.shopify import ShopifyFake
from channelsync.sandbox.shopify.cost import QueryCost
from channelsync.sandbox.shopify.schema import flavour_of, schema_for

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
MUG, TEE = 5001, 5002


def _money(amount: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": "USD"}
    return {"shop_money": money, "presentment_money": money}


def _line(line_id: int, sku: str, quantity: int, current: int, fulfillable: int) -> dict[str, Any]:
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "sku": sku,
        "title": sku.title(),
        "name": sku.title(),
        "quantity": quantity,
        "current_quantity": current,
        "fulfillable_quantity": fulfillable,
        "price": "10.00",
        "price_set": _money("10.00"),
        "discount_allocations": [],
    }


def _fulfillment(n: int, status: str, units: dict[int, int]) -> dict[str, Any]:
    return {
        "id": 7000 + n,
        "created_at": f"2026-02-0{1 + n % 9}T10:00:00Z",
        "status": status,
        "tracking_company": "UPS",
        "tracking_number": f"1Z{n:04d}",
        "tracking_url": None,
        "line_items": [{"id": line_id, "quantity": qty} for line_id, qty in units.items()],
    }


def _refund(n: int, created: str, lines: list[tuple[int, int, str]]) -> dict[str, Any]:
    return {
        "id": 8000 + n,
        "created_at": created,
        "note": None,
        "restock": any(kind in ("return", "cancel") for _, _, kind in lines),
        "refund_line_items": [
            {
                "id": 9000 + 10 * n + i,
                "line_item_id": line_id,
                "quantity": qty,
                "restock_type": kind,
            }
            for i, (line_id, qty, kind) in enumerate(lines)
        ],
        "transactions": [
            {
                "amount": f"{10 * sum(q for _, q, _ in lines)}.00",
                "kind": "refund",
                "status": "success",
            }
        ],
    }


def _two_line_order(*, kept_unit_shipped: bool) -> dict[str, Any]:
    """Two lines of one order.

    MUG, 8 ordered: 6 shipped one per fulfillment (7 fulfillments; one more, cancelled, held
    a unit that never left), then one shipped unit returned (``return``) and one more
    refunded without restock (``no_restock``). That unit is a shipped one the buyer keeps
    (``kept_unit_shipped``: 2 still to ship) or an unshipped one removed (1 still to ship).
    TEE, 3 ordered: refunded before anything shipped, 2 restocked (``cancel``) and 1 not.
    """
    fulfillable = 2 if kept_unit_shipped else 1
    fulfillments = [_fulfillment(n, "success", {MUG: 1}) for n in range(3)]
    fulfillments.append(_fulfillment(3, "cancelled", {MUG: 1}))
    fulfillments += [_fulfillment(n, "success", {MUG: 1}) for n in range(4, 7)]
    return {
        "id": 4242,
        "name": "#4242",
        "created_at": "2026-02-01T09:00:00Z",
        "updated_at": "2026-02-09T12:00:00Z",
        "currency": "USD",
        "financial_status": "partially_refunded",
        "fulfillment_status": "partial",
        "total_price": "110.00",
        "total_price_set": _money("110.00"),
        "line_items": [_line(MUG, "MUG", 8, 6, fulfillable), _line(TEE, "TEE", 3, 0, 0)],
        "fulfillments": fulfillments,
        "refunds": [
            _refund(0, "2026-02-01T11:00:00Z", [(TEE, 2, "cancel"), (TEE, 1, "no_restock")]),
            _refund(1, "2026-02-09T12:00:00Z", [(MUG, 1, "return"), (MUG, 1, "no_restock")]),
        ],
    }


def _rest(payload: dict[str, Any]) -> Order:
    return order_from_rest(RestOrder.model_validate(payload), account="shopify-main", raw=payload)


def _units(order: Order) -> dict[str | None, tuple[int, int, int]]:
    return {
        ln.sku: (ln.quantity_shipped, ln.quantity_cancelled, ln.quantity_open) for ln in order.lines
    }


@pytest.mark.parametrize(
    ("kept_unit_shipped", "mug"),
    [(True, (6, 0, 2)), (False, (6, 1, 1))],
    ids=["no-restock-of-a-shipped-unit", "no-restock-of-an-unshipped-unit"],
)
def test_polled_order_has_exact_units_per_line(
    fake: ShopifyFake,
    channel: ShopifyChannel,
    kept_unit_shipped: bool,
    mug: tuple[int, int, int],
) -> None:
    payload = _two_line_order(kept_unit_shipped=kept_unit_shipped)
    fake.seed_order(payload)
    [polled] = channel.fetch_orders(SINCE)
    assert isinstance(polled, Order)
    assert fake.calls["orders"] == 1
    assert fake.calls["order"] == 1  # one OrderQuantities for the order's 7 fulfillments
    for order in (polled, _rest(payload)):
        assert order.status is OrderStatus.PARTIALLY_SHIPPED
        assert _units(order) == {"MUG": mug, "TEE": (0, 3, 0)}
        mug_line, tee_line = order.lines
        # The ledger: open units stay committed, shipped ones left on_hand; the refunded
        # TEE units never shipped and release all they committed.
        assert line_targets(order.status, mug_line, 0, {}) == {"MUG": [mug[2], 6]}
        assert line_targets(order.status, tee_line, 0, {}) == {"TEE": [0, 0]}
        assert [s.tracking_number for s in order.shipments] == [
            f"1Z{n:04d}" for n in (0, 1, 2, 4, 5, 6)
        ]
        assert [r.refund_id for r in order.refunds] == ["8000", "8001"]
    # Alike but for where the lines are assigned: the fulfillment order says, REST does not.
    assert [ln.model_copy(update={"location_id": None}) for ln in polled.lines] == list(
        _rest(payload).lines
    )
    assert {ln.location_id for ln in polled.lines} == {"gid://shopify/Location/1"}


def test_orders_without_fulfillments_or_refunds_need_no_follow_up(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    fake.seed_listing("MUG", quantity=5, price="10.00")
    fake.place_order("MUG", 2)
    [order] = channel.fetch_orders(SINCE)
    assert isinstance(order, Order)
    assert _units(order) == {"MUG": (0, 0, 2)}
    assert fake.calls["orders"] == 1
    assert fake.calls["order"] == 0


def test_more_refunds_than_the_page_lists_are_all_read(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    # 12 refunds of one unit each before shipping: the orders page lists 5, so the follow-up
    # asks for 10, gets 10, and asks again for 20.
    payload = _two_line_order(kept_unit_shipped=True)
    payload["fulfillments"] = []
    payload["fulfillment_status"] = None
    payload["line_items"] = [_line(TEE, "TEE", 12, 0, 0)]
    payload["refunds"] = [
        _refund(
            n, f"2026-02-0{1 + n % 9}T11:00:00Z", [(TEE, 1, "cancel" if n % 2 else "no_restock")]
        )
        for n in range(12)
    ]
    fake.seed_order(payload)
    [polled] = channel.fetch_orders(SINCE)
    assert isinstance(polled, Order)
    assert fake.calls["order"] == 2
    assert len(polled.refunds) == 12
    assert _units(polled) == _units(_rest(payload)) == {"TEE": (0, 12, 0)}


def test_an_order_too_big_to_read_exactly_is_a_failure_not_a_guess(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    payload = _two_line_order(kept_unit_shipped=True)
    payload["line_items"][0]["quantity"] = 400
    payload["fulfillments"] = [_fulfillment(n, "success", {MUG: 1}) for n in range(400)]
    payload["refunds"] = []
    fake.seed_order(payload)
    [got] = channel.fetch_orders(SINCE)
    assert isinstance(got, OrderFailure)
    assert got.order_id == "4242"
    assert "400 fulfillments" in got.error
    assert fake.calls["order"] == 0  # refused before sending a document over the limit


# -- settling one line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # quantity, current, unfulfilled, shipped, returned, cancel, unsure
        ((1, 1, 1, 0, 0, 0, 0), (0, 0)),
        ((1, 0, 0, 1, 0, 0, 1), (1, 0)),  # shipped, refunded, kept by the buyer
        ((3, 2, 1, 2, 1, 0, 0), (2, 0)),  # one shipped unit returned: one still to ship
        ((5, 3, 3, 0, 0, 2, 0), (0, 2)),  # two cancelled before shipping
        ((5, 3, 3, 0, 0, 0, 0), (0, 2)),  # two removed by an order edit
        ((5, 2, 1, 2, 0, 0, 3), (2, 2)),  # 3 no-restock, 2 shipped: 1 must be unshipped
        ((8, 6, 2, 6, 1, 0, 1), (6, 0)),  # no-restock unit settled by unfulfilled
        ((8, 6, 1, 6, 1, 0, 1), (6, 1)),
        ((8, 6, None, 6, 1, 0, 1), (6, 0)),  # unknown: counted shipped, never cancelled
        ((4, 0, 0, 0, 0, 0, 0), (0, 4)),  # cancelled order without refund
    ],
)
def test_settle_line(
    case: tuple[int, int, int | None, int, int, int, int], expected: tuple[int, int]
) -> None:
    quantity, current, unfulfilled, shipped, returned, cancel, unsure = case
    assert (
        settle_line(
            quantity=quantity,
            current=current,
            unfulfilled=unfulfilled,
            shipped=shipped,
            returned=returned,
            cancelled=cancel,
            unsure=unsure,
        )
        == expected
    )


# -- query cost ---------------------------------------------------------------------------------


def _requested(document: str, variables: dict[str, Any]) -> int:
    schema = schema_for(flavour_of(API_VERSION))
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list), coerced
    return QueryCost(schema, parsed, operation, coerced).requested()


GID = "gid://shopify/Order/1"
LOCATION = "gid://shopify/Location/1"


@pytest.mark.parametrize(
    ("name", "document", "variables", "expected"),
    [
        ("ShopContext", q.SHOP_CONTEXT, {"locationId": LOCATION}, None),
        ("Orders", q.ORDERS, {"first": q.ORDERS_PAGE, "query": "x"}, 2 + 25 * q.ORDER_COST),
        ("OrderLineItems", q.ORDER_LINE_ITEMS, {"id": GID}, 253),
        ("Variants", q.VARIANTS, {"first": q.VARIANTS_PAGE, "locationId": LOCATION}, 802),
        # Two locations: 5 + 2 x 2 = 9 a variant, 110 a page.
        ("VariantsLevels", q.VARIANTS_LEVELS, {"first": 110, "levels": 2}, 2 + 110 * 9),
        # Twenty locations (the most a variants page asks): 45 a variant, 22 a page.
        ("VariantsLevels", q.VARIANTS_LEVELS, {"first": 22, "levels": 20}, 2 + 22 * 45),
        ("ItemLevels", q.ITEM_LEVELS, {"id": GID}, 1 + 2 + 100 * 2),
        ("Locations", q.LOCATIONS, {"first": q.LOCATIONS_PAGE}, 102),
        ("OrderLocations", q.ORDER_LOCATIONS, {"id": GID, "orders": 5, "lines": 3}, 58),
        ("CurrentLevels", q.current_levels(q.CURRENT_LEVELS_MAX), {}, 500),
        ("FulfillmentState", q.FULFILLMENT_STATE, {"id": GID}, None),
        ("OrderState", q.ORDER_STATE, {"id": GID}, None),
        ("RefundState", q.REFUND_STATE, {"id": GID}, None),
    ],
)
def test_every_query_stays_under_1000_points(
    name: str, document: str, variables: dict[str, Any], expected: int | None
) -> None:
    if name == "CurrentLevels":
        variables = {
            **{f"i{n}": GID for n in range(q.CURRENT_LEVELS_MAX)},
            **{f"l{n}": LOCATION for n in range(q.CURRENT_LEVELS_MAX)},
        }
    cost = _requested(document, variables)
    assert cost <= q.MAX_QUERY_COST
    if expected is not None:
        assert cost == expected
    if name == "OrderLocations":
        assert cost == q.locations_cost(5, 3)
    # Line items 27, customer 1, fulfillmentsCount 1, 4 refunds, the first fulfillment
    # order's location 5, the order 1.
    assert q.ORDER_COST == 39
    assert 2 + q.ORDERS_PAGE * q.ORDER_COST == 977


@pytest.mark.parametrize(
    ("orders", "lines", "sent_lines", "cost"),
    [
        (5, 3, 3, 58),  # an order split over two or three locations: 3 + 5 x (5 + 2 x 3)
        (5, 250, 97, 998),  # a 250-line order: lines cut to fit
        (10, 60, 47, 993),
        (199, 5, 0, None),  # not one line per fulfillment order fits
    ],
)
def test_order_locations_is_sized_under_1000_points(
    orders: int, lines: int, sent_lines: int, cost: int | None
) -> None:
    per_order = q.locations_lines(orders, lines)
    assert per_order == sent_lines
    if cost is None:
        assert q.locations_cost(orders, 1) > q.MAX_QUERY_COST
        return
    requested = _requested(q.ORDER_LOCATIONS, {"id": GID, "orders": orders, "lines": per_order})
    assert requested == q.locations_cost(orders, per_order) == cost


@pytest.mark.parametrize(
    ("fulfillments", "refunds", "lines", "sent_lines", "cost"),
    [
        (2, 1, 3, 3, 28),  # a typical order: 1 + 3 x (3 + 2 x 3)
        (7, 2, 2, 2, 64),  # the test order above
        (0, 10, 1, 1, 51),
        (3, 0, 250, 165, 1000),  # a 250-line order: lines cut to fit
        (10, 10, 60, 23, 981),
        (100, 20, 250, 2, 841),
        (332, 0, 5, 0, None),  # not one line per list fits: the order is a failure
    ],
)
def test_order_quantities_is_sized_under_1000_points(
    fulfillments: int, refunds: int, lines: int, sent_lines: int, cost: int | None
) -> None:
    per_list = q.quantities_lines(fulfillments, refunds, lines)
    assert per_list == sent_lines
    if cost is None:
        assert q.quantities_cost(fulfillments, refunds, 1) > q.MAX_QUERY_COST
        return
    requested = _requested(
        q.ORDER_QUANTITIES,
        {"id": GID, "fulfillments": fulfillments, "refunds": refunds, "lines": per_list},
    )
    assert requested == q.quantities_cost(fulfillments, refunds, per_list) == cost
    assert requested <= q.MAX_QUERY_COST
