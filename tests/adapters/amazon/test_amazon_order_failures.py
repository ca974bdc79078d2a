"""One order that cannot be read never blocks the others: it becomes an ``OrderFailure``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from channelsync.adapters.amazon.webhooks import OrderChangeReader
from channelsync.core.channel import OrderFailure
from channelsync.core.errors import Rejected
from channelsync.core.models import Order, utcnow
from channelsync.sandbox.amazon import AmazonFake


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _order(order_id: str, updated: datetime, *, amount: str = "12.99") -> dict[str, Any]:
    """An Orders API 2026-01-01 order of one unshipped unit at ``amount`` EUR."""
    return {
        "orderId": order_id,
        "createdTime": _z(updated - timedelta(minutes=1)),
        "lastUpdatedTime": _z(updated),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "buyer": {"buyerName": "Erika Mustermann", "buyerEmail": "erika@marketplace.test"},
        "orderItems": [
            {
                "orderItemId": f"{order_id[-7:]}01",
                "quantityOrdered": 1,
                "product": {
                    "asin": "B000000001",
                    "sellerSku": "MUG",
                    "price": {"unitPrice": {"amount": amount, "currencyCode": "EUR"}},
                },
            }
        ],
    }


@pytest.fixture
def three(amazon_fake: AmazonFake) -> tuple[str, str, str, datetime]:
    """A good order, one whose unit price is not a decimal number, a good one."""
    now = utcnow().replace(microsecond=0)
    ids = ("305-0000001-0000001", "305-0000002-0000002", "305-0000003-0000003")
    # Amazon's model types Decimal as a string, so "12,99" is a valid document: only
    # the mapping can tell it is not an amount.
    amazon_fake.seed_order(_order(ids[0], now - timedelta(minutes=3)))
    amazon_fake.seed_order(_order(ids[1], now - timedelta(minutes=2), amount="12,99"))
    amazon_fake.seed_order(_order(ids[2], now - timedelta(minutes=1)))
    return (*ids, now)


def test_an_order_whose_amount_is_not_a_number_is_a_failure_in_its_place(
    amazon_fake: AmazonFake, three: tuple[str, str, str, datetime]
) -> None:
    first, bad, last, now = three
    got = list(amazon_fake.channel().fetch_orders(now - timedelta(minutes=10)))

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    assert [x.order_id for x in got] == [first, bad, last]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.error == (
        f"order {bad} cannot be read: orderItems[0] (orderItemId 000000201):"
        " amount '12,99' is not a decimal number"
    )
    assert failure.updated_at == now - timedelta(minutes=2)
    assert failure.raw["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] == "12,99"
    assert amazon_fake.calls["searchOrders"] == 1


def test_an_item_without_its_id_is_a_failure_in_its_place(amazon_fake: AmazonFake) -> None:
    # This document breaks Amazon's model on purpose (orderItemId is required): the fake
    # stores it verbatim only with its model check off.
    amazon_fake.validator = None
    now = utcnow().replace(microsecond=0)
    no_item_id = _order("305-0000005-0000005", now - timedelta(minutes=2))
    del no_item_id["orderItems"][0]["orderItemId"]
    amazon_fake.seed_order(_order("305-0000004-0000004", now - timedelta(minutes=3)))
    amazon_fake.seed_order(no_item_id)
    amazon_fake.seed_order(_order("305-0000006-0000006", now - timedelta(minutes=1)))

    got = list(amazon_fake.channel().fetch_orders(now - timedelta(minutes=10)))

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    assert [x.order_id for x in got] == [
        "305-0000004-0000004",
        "305-0000005-0000005",
        "305-0000006-0000006",
    ]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.error == (
        "order 305-0000005-0000005 cannot be read: SpOrder.orderItems.0.orderItemId: Field required"
    )
    assert failure.updated_at == now - timedelta(minutes=2)
    assert "Erika" not in failure.error


def test_the_targeted_fetch_reports_an_unmappable_order(
    amazon_fake: AmazonFake, three: tuple[str, str, str, datetime]
) -> None:
    _first, bad, last, _now = three
    channel = amazon_fake.channel()
    failure = channel.read_order(bad)
    assert isinstance(failure, OrderFailure)
    assert failure.order_id == bad
    assert "amount '12,99' is not a decimal number" in failure.error
    with pytest.raises(Rejected, match="is not a decimal number"):
        channel.fetch_order(bad)
    assert channel.fetch_order(last).order_id == last


class _Queue:
    """An SQS client holding messages in memory: what the reader calls, nothing more."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.messages = {
            f"r-{n}": {"ReceiptHandle": f"r-{n}", "Body": json.dumps(b)}
            for n, b in enumerate(bodies)
        }

    def receive_message(self, **_kw: Any) -> dict[str, Any]:
        return {"Messages": list(self.messages.values())}

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803
        del self.messages[ReceiptHandle]


def test_a_notified_unmappable_order_is_reported_and_its_message_deleted(
    amazon_fake: AmazonFake, three: tuple[str, str, str, datetime]
) -> None:
    first, bad, _last, _now = three
    queue = _Queue(
        [
            amazon_fake.order_change_notification(first, notification_id="n-1"),
            amazon_fake.order_change_notification(bad, notification_id="n-2"),
            amazon_fake.order_change_notification(bad, notification_id="n-3"),
        ]
    )
    handled: list[Order] = []
    reader = OrderChangeReader(
        amazon_fake.channel(), "q", sqs_client=queue, wait_seconds=0, handler=handled.append
    )
    result = reader.poll()
    assert [o.order_id for o in handled] == [first]
    assert [f.order_id for f in result.failures] == [bad]
    assert (result.deleted, result.discarded, result.kept) == (3, 2, 0)
    assert queue.messages == {}  # reading it again would fail the same way
    assert amazon_fake.calls["getOrder"] == 2
