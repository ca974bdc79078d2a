"""One order that cannot be read never blocks the others: it becomes an ``OrderFailure``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from channelsync.adapters.ebay.mapping import order_failure, order_from_xml
from channelsync.core.channel import OrderFailure
from channelsync.core.models import Order, utcnow
from channelsync.sandbox.ebay import EbayFake


def _order(order_id: str, quantity: str = "1") -> str:
    """A paid GetOrders ``<Order>`` of one transaction buying ``quantity`` of MUG."""
    return f"""<Order xmlns="urn:ebay:apis:eBLBaseComponents">
      <OrderID>{order_id}</OrderID>
      <OrderStatus>Completed</OrderStatus>
      <CheckoutStatus><Status>Complete</Status></CheckoutStatus>
      <CreatedTime>2026-11-20T08:00:00.000Z</CreatedTime>
      <Total currencyID="EUR">9.90</Total>
      <TransactionArray><Transaction>
        <Buyer><Email>buyer@example.de</Email><UserFirstName>Zoë</UserFirstName></Buyer>
        <Item><ItemID>110000000001</ItemID><SKU>MUG</SKU><Title>Mug</Title></Item>
        <QuantityPurchased>{quantity}</QuantityPurchased>
        <TransactionID>{order_id[-5:]}</TransactionID>
        <TransactionPrice currencyID="EUR">9.90</TransactionPrice>
        <OrderLineItemID>110000000001-{order_id[-5:]}</OrderLineItemID>
      </Transaction></TransactionArray>
      <PaidTime>2026-11-20T08:01:00.000Z</PaidTime>
    </Order>"""


def test_an_order_with_a_non_numeric_quantity_is_a_failure_in_its_place(fake: EbayFake) -> None:
    since = utcnow() - timedelta(minutes=1)
    fake.seed_order(_order("27-10000-00001"))
    fake.seed_order(_order("27-10000-00002", quantity="1,5"))
    fake.seed_order(_order("27-10000-00003"))
    channel = fake.channel()

    got = list(channel.fetch_orders(since))

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    assert [x.order_id for x in got] == ["27-10000-00001", "27-10000-00002", "27-10000-00003"]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.error == (
        "order 27-10000-00002 cannot be read: Transaction 110000000001-00002:"
        " QuantityPurchased '1,5' is not a whole number"
    )
    # The fake stamps CheckoutStatus/LastModifiedTime when the order is stored: the
    # failure carries it, so the engine's cursor moves past the order.
    assert failure.updated_at is not None
    assert got[0].updated_at <= failure.updated_at <= got[2].updated_at  # type: ignore[operator]
    assert failure.raw["TransactionArray"]["Transaction"]["QuantityPurchased"] == "1,5"
    assert "Zoë" not in failure.error
    assert "buyer@example.de" not in failure.error
    # The targeted read a notification triggers: no order rather than an exception.
    assert channel.fetch_order("27-10000-00002") is None
    fetched = channel.fetch_order("27-10000-00003")
    assert fetched is not None
    assert fetched.lines[0].quantity == 1


def test_an_order_without_its_id_or_times_is_still_reported() -> None:
    # GetOrders never should, but an <Order> with neither OrderID nor any time must still
    # become a failure (with no id and no time), not an exception.
    element = etree.fromstring(
        b"<Order><OrderStatus>Active</OrderStatus><TransactionArray/></Order>"
    )
    with pytest.raises(ValueError, match="without OrderID") as caught:
        order_from_xml(element, "ebay-de")
    failure = order_failure(element, caught.value)
    assert failure.order_id is None
    assert failure.updated_at is None
    assert failure.error == "order (no id) cannot be read: an <Order> without OrderID"
    assert failure.raw == {"OrderStatus": "Active", "TransactionArray": ""}
