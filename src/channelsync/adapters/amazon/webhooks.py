"""``OrderChangeReader``: Amazon ``ORDER_CHANGE`` notifications from an SQS queue.

Amazon publishes SP-API notifications to an SQS queue the developer owns (subscribe with
the Notifications API: destination = the queue's ARN, notification type ORDER_CHANGE).
SQS delivers at least once, so the reader dedupes by ``NotificationId``; each new
notification becomes a targeted ``getOrder`` of that order, handed to ``handler``
(``engine.record_order`` applies it like a polled order), and only then is the message
deleted. A notification whose order cannot be read now stays in the queue and comes
back after the queue's visibility timeout. One whose order reads but cannot be mapped
(malformed or inconsistent) is deleted and reported in ``PollResult.failures``: reading
it again would fail the same way, the ``searchOrders`` poll records the failure in the
store (``engine.order_failures()``), and a change to the order sends a new notification.
Polling ``searchOrders`` stays on as the backup Amazon itself advises (notifications can
be late or lost).

Needs boto3 (the ``channelsync[sqs]`` extra); imported only when a reader is built
without a client of its own.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from channelsync.adapters.amazon.channel import AmazonChannel
from channelsync.adapters.amazon.payloads import OrderChangeNotification
from channelsync.core.channel import OrderFailure, WebhookEvent
from channelsync.core.errors import ConfigError, NotFound, TransientError
from channelsync.core.models import Order

__all__ = ["NotificationReaders", "OrderChangeReader", "PollResult"]

log = logging.getLogger(__name__)


class _ProcessedIds:
    """The last ``size`` notification ids fully processed (thread-safe).

    An id is recorded only once its order was fetched and handled, so a notification that
    failed is processed again when SQS redelivers it; a repeat of one handled spares a
    getOrder call (handling it again would change nothing: the ledger applies each order
    version once).
    """

    def __init__(self, size: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, notification_id: object) -> bool:
        with self._lock:
            return notification_id in self._ids

    def add(self, notification_id: str) -> None:
        with self._lock:
            self._ids[notification_id] = None
            self._ids.move_to_end(notification_id)
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)


@dataclass
class PollResult:
    """What one ``poll`` did."""

    events: list[WebhookEvent] = field(default_factory=list)
    received: int = 0
    duplicates: int = 0
    deleted: int = 0
    kept: int = 0
    """Messages left in the queue to come back (their order could not be read now)."""
    discarded: int = 0
    """Messages deleted unprocessed: not ORDER_CHANGE notifications, for an order that
    does not exist, or for one that cannot be mapped (logged)."""
    failures: list[OrderFailure] = field(default_factory=list)
    """Orders notified that could not be mapped (one each, however many notifications)."""

    @property
    def orders(self) -> list[Order]:
        """The orders fetched."""
        return [e.order for e in self.events if e.order is not None]


class OrderChangeReader:
    """Receive, dedupe and delete ``ORDER_CHANGE`` notifications; fetch each order.

    Args:
        channel: the ``AmazonChannel`` of the seller the queue receives for.
        queue_url: the SQS queue URL.
        handler: called with each fetched ``Order`` before its message is deleted
            (``engine.record_order``); an exception keeps the message for redelivery.
        sqs_client: a boto3 SQS client (else one is made with ``region_name`` and
            ``endpoint_url``; credentials come from boto3's usual chain).
        wait_seconds: SQS long-poll wait (0-20).
        batch: messages per receive (1-10).
        remember: how many processed notification ids are kept for deduplication.
    """

    def __init__(
        self,
        channel: AmazonChannel,
        queue_url: str,
        *,
        handler: Callable[[Order], object] | None = None,
        sqs_client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        wait_seconds: int = 20,
        batch: int = 10,
        remember: int = 100_000,
    ) -> None:
        if not 0 <= wait_seconds <= 20:
            raise ConfigError("wait_seconds must be between 0 and 20 (SQS long polling)")
        if not 1 <= batch <= 10:
            raise ConfigError("batch must be between 1 and 10 (SQS ReceiveMessage)")
        self.channel = channel
        self.queue_url = queue_url
        self.handler = handler
        self.wait_seconds = wait_seconds
        self.batch = batch
        self._processed = _ProcessedIds(remember)
        if sqs_client is None:
            try:
                import boto3
            except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
                raise ConfigError(
                    "the SQS reader needs boto3: pip install 'channelsync[sqs]'"
                ) from exc
            sqs_client = boto3.client("sqs", region_name=region_name, endpoint_url=endpoint_url)
        self._sqs = sqs_client

    @classmethod
    def for_channel(
        cls,
        channel: AmazonChannel,
        *,
        handler: Callable[[Order], object] | None = None,
        wait_seconds: int = 20,
    ) -> OrderChangeReader | None:
        """A reader of the queue ``channel``'s config names (``notifications_queue_url``),
        with its region, endpoint and AWS key; None when the account has no queue."""
        cfg = channel.config
        if not cfg.notifications_queue_url:
            return None
        try:
            import boto3
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
            raise ConfigError(
                f"{cfg.account}: reading notifications_queue_url needs boto3:"
                " pip install 'channelsync[sqs]'"
            ) from exc
        secret = cfg.aws_secret_access_key
        client = boto3.client(
            "sqs",
            region_name=cfg.notifications_region or _region_of(cfg.notifications_queue_url),
            endpoint_url=cfg.notifications_endpoint_url,
            aws_access_key_id=cfg.aws_access_key_id if secret is not None else None,
            aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
        )
        return cls(
            channel,
            cfg.notifications_queue_url,
            handler=handler,
            sqs_client=client,
            wait_seconds=wait_seconds,
        )

    def __repr__(self) -> str:
        return f"OrderChangeReader({self.channel.account!r}, {self.queue_url!r})"

    def _delete(self, receipt: str) -> None:
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt)

    def poll(self) -> PollResult:
        """Receive one batch, process it, delete what was handled."""
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch,
            WaitTimeSeconds=self.wait_seconds,
        )
        messages = answer.get("Messages", [])
        result = PollResult(received=len(messages))
        fetched: dict[str, Order | OrderFailure | NotFound | TransientError] = {}
        for message in messages:
            receipt = message["ReceiptHandle"]
            note = self._parse(message.get("Body", ""))
            if note is None:
                self._delete(receipt)
                result.deleted += 1
                result.discarded += 1
                continue
            notification_id = note.notification_metadata.notification_id
            order_id = note.payload.order_change_notification.amazon_order_id
            if notification_id in self._processed:
                self._delete(receipt)
                result.deleted += 1
                result.duplicates += 1
                continue
            if order_id not in fetched:
                fetched[order_id] = self._fetch(order_id)
            order = fetched[order_id]
            if isinstance(order, NotFound):
                self._processed.add(notification_id)
                self._delete(receipt)
                result.deleted += 1
                result.discarded += 1
                continue
            if isinstance(order, TransientError):
                result.kept += 1
                continue
            if isinstance(order, OrderFailure):
                if order not in result.failures:
                    result.failures.append(order)
                self._processed.add(notification_id)
                self._delete(receipt)
                result.deleted += 1
                result.discarded += 1
                continue
            if self.handler is not None:
                try:
                    self.handler(order)
                except Exception:
                    log.exception(
                        "%s: handler failed on order %s; the notification stays queued",
                        self.channel.account,
                        order_id,
                    )
                    result.kept += 1
                    continue
            self._processed.add(notification_id)
            self._delete(receipt)
            result.deleted += 1
            result.events.append(
                WebhookEvent(
                    kind="order",
                    event_id=notification_id,
                    topic="ORDER_CHANGE",
                    order=order,
                    order_id=order_id,
                    raw=json.loads(message["Body"]),
                )
            )
        return result

    def _parse(self, body: str) -> OrderChangeNotification | None:
        try:
            note = OrderChangeNotification.model_validate_json(body)
        except ValidationError as exc:
            log.warning(
                "%s: SQS message is not an SP-API notification (%s); deleted",
                self.channel.account,
                exc.errors()[0]["msg"],
            )
            return None
        if note.notification_type != "ORDER_CHANGE":
            log.warning(
                "%s: %s notification on the ORDER_CHANGE queue; deleted",
                self.channel.account,
                note.notification_type,
            )
            return None
        return note

    def _fetch(self, order_id: str) -> Order | OrderFailure | NotFound | TransientError:
        """The order, or what says what to do with its notifications.

        ``NotFound`` and ``OrderFailure`` (logged by the channel): the message is deleted;
        ``TransientError``: it stays queued. Other errors (credentials, configuration)
        propagate: every message stays.
        """
        try:
            return self.channel.read_order(order_id)
        except NotFound as exc:
            log.warning("%s: notified order %s does not exist", self.channel.account, order_id)
            return exc
        except TransientError as exc:
            log.info(
                "%s: order %s not readable now (%s); the notification stays queued",
                self.channel.account,
                order_id,
                exc,
            )
            return exc

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set (a worker thread's loop)."""
        while not stop.is_set():
            try:
                self.poll()
            except Exception:
                log.exception("%s: SQS poll failed", self.channel.account)
                stop.wait(5.0)


def _region_of(queue_url: str) -> str:
    """The region of an AWS queue URL (``https://sqs.eu-west-1.amazonaws.com/...``)."""
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs" and parts[-2:] == ["amazonaws", "com"]:
        return parts[1]
    return "us-east-1"


class NotificationReaders:
    """One thread per Amazon account with a queue, reading ORDER_CHANGE notifications.

    What ``channelsync worker`` (and the demo) run beside the sync cycles: each fetched
    order goes to ``handler`` (``engine.record_order``) before its message is deleted.

    Args:
        channels: any channels; those that are ``AmazonChannel`` with a queue get a reader.
        handler: called with each order read.
        wait_seconds: SQS long-poll wait.
    """

    def __init__(
        self,
        channels: Iterable[object],
        handler: Callable[[Order], object],
        *,
        wait_seconds: int = 20,
    ) -> None:
        self.readers = [
            reader
            for channel in channels
            if isinstance(channel, AmazonChannel)
            and (
                reader := OrderChangeReader.for_channel(
                    channel, handler=handler, wait_seconds=wait_seconds
                )
            )
            is not None
        ]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def accounts(self) -> list[str]:
        """Accounts whose queue is read."""
        return [r.channel.account for r in self.readers]

    def start(self) -> None:
        """Start one reader thread per queue."""
        self._stop.clear()
        for reader in self.readers:
            thread = threading.Thread(
                target=reader.run,
                args=(self._stop,),
                name=f"sqs-{reader.channel.account}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading (a long poll under way ends within its wait)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()
