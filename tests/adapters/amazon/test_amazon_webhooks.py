"""``OrderChangeReader`` against moto's SQS server and the Amazon fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import CONFORMANCE

from channelsync.adapters.amazon.webhooks import OrderChangeReader
from channelsync.core.errors import ConfigError
from channelsync.core.models import Order, OrderStatus
from channelsync.sandbox.amazon import AmazonFake

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    """moto's SQS in server mode on a free loopback port."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sqs(sqs_endpoint: str, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    client = boto3.client(
        "sqs",
        region_name="eu-west-1",
        endpoint_url=sqs_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"sp-api-order-change-{request.node.name[:40].replace('[', '-').replace(']', '')}"
    url = client.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    yield client, url
    client.delete_queue(QueueUrl=url)
    client.close()


def _send(client: Any, url: str, body: dict[str, Any]) -> None:
    client.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _queued(client: Any, url: str) -> int:
    attrs = client.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_repeated_notifications_fetch_once_and_are_deleted(
    amazon_fake: AmazonFake, sqs: tuple[Any, str]
) -> None:
    client, url = sqs
    amazon_fake.seed_listing("SQS-1", quantity=10, price="7.00")
    order_id = amazon_fake.place_order("SQS-1", 2)
    note = amazon_fake.order_change_notification(order_id, notification_id="n-1")
    if (CONFORMANCE / "amazon" / "schemas").is_dir():
        from tests.adapters.amazon.conftest import model_validator

        validator = model_validator()
        assert validator is not None
        assert validator.check_document("ORDER_CHANGE", note) == []
    for _ in range(3):  # SQS delivers at least once; Amazon may also resend
        _send(client, url, note)
    handled: list[Order] = []
    reader = OrderChangeReader(
        amazon_fake.channel(), url, sqs_client=client, wait_seconds=0, handler=handled.append
    )
    first = reader.poll()
    assert first.received == 3
    assert [o.order_id for o in first.orders] == [order_id]
    assert first.duplicates == 2
    assert first.deleted == 3
    assert amazon_fake.calls["getOrder"] == 1
    assert [o.order_id for o in handled] == [order_id]
    assert handled[0].status is OrderStatus.OPEN
    assert first.events[0].event_id == "n-1"
    assert first.events[0].topic == "ORDER_CHANGE"
    # The same notification arriving again later is recognised too.
    _send(client, url, note)
    again = reader.poll()
    assert (again.received, again.duplicates, again.events) == (1, 1, [])
    assert amazon_fake.calls["getOrder"] == 1
    assert _queued(client, url) == 0


def test_new_notification_of_a_changed_order_is_fetched_again(
    amazon_fake: AmazonFake, sqs: tuple[Any, str]
) -> None:
    client, url = sqs
    amazon_fake.seed_listing("SQS-2", quantity=10, price="7.00")
    order_id = amazon_fake.place_order("SQS-2")
    reader = OrderChangeReader(amazon_fake.channel(), url, sqs_client=client, wait_seconds=0)
    _send(client, url, amazon_fake.order_change_notification(order_id, notification_id="a"))
    assert reader.poll().orders[0].status is OrderStatus.OPEN
    amazon_fake.cancel(order_id)
    _send(client, url, amazon_fake.order_change_notification(order_id, notification_id="b"))
    (order,) = reader.poll().orders
    assert order.status is OrderStatus.CANCELLED
    assert amazon_fake.calls["getOrder"] == 2


def test_unreadable_order_stays_queued_and_foreign_messages_go(
    amazon_fake: AmazonFake, sqs: tuple[Any, str]
) -> None:
    client, url = sqs
    amazon_fake.seed_listing("SQS-3", quantity=10, price="7.00")
    order_id = amazon_fake.place_order("SQS-3")
    _send(client, url, amazon_fake.order_change_notification(order_id, notification_id="x"))
    client.send_message(QueueUrl=url, MessageBody="not json")
    amazon_fake.inject("server_error", operation="getOrder")
    reader = OrderChangeReader(amazon_fake.channel(), url, sqs_client=client, wait_seconds=0)
    result = reader.poll()
    assert (result.received, result.kept, result.discarded, result.events) == (2, 1, 1, [])
    # After the visibility timeout (1 s) the notification comes back and goes through.
    patient = OrderChangeReader(amazon_fake.channel(), url, sqs_client=client, wait_seconds=2)
    for _ in range(3):
        retried = patient.poll()
        if retried.received:
            break
    assert [o.order_id for o in retried.orders] == [order_id]
    assert _queued(client, url) == 0


def test_conformance_notification_of_an_unknown_order_is_dropped(
    amazon_fake: AmazonFake, sqs: tuple[Any, str]
) -> None:
    from tests.conftest import load_conformance

    client, url = sqs
    _send(client, url, load_conformance("amazon", "notification.ORDER_CHANGE.example.json"))
    reader = OrderChangeReader(amazon_fake.channel(), url, sqs_client=client, wait_seconds=0)
    result = reader.poll()
    assert (result.received, result.discarded, result.deleted) == (1, 1, 1)
    assert amazon_fake.calls["getOrder"] == 1  # 903-8868176-2219830 is not in the fake
    assert _queued(client, url) == 0


def test_reader_settings_are_checked(amazon_fake: AmazonFake) -> None:
    with pytest.raises(ConfigError, match="wait_seconds"):
        OrderChangeReader(amazon_fake.channel(), "q", sqs_client=object(), wait_seconds=30)
    with pytest.raises(ConfigError, match="batch"):
        OrderChangeReader(amazon_fake.channel(), "q", sqs_client=object(), batch=11)
