"""The sandbox's SQS: moto's server mode on loopback, and the Amazon fake's publisher.

Amazon delivers SP-API notifications (``ORDER_CHANGE``) to an SQS queue the developer
owns. The sandbox starts moto's SQS server on 127.0.0.1 (an ephemeral port), creates that
queue, and the Amazon fake publishes each order change to it, as Amazon would; the
adapter's ``OrderChangeReader`` reads it through boto3 like a real queue. Needs the
``channelsync[sandbox]`` extra (moto[server], boto3).
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channelsync.core.errors import ConfigError

__all__ = ["LocalSqs"]

log = logging.getLogger(__name__)

#: Credentials moto accepts (any are); they open nothing but the local queue.
ACCESS_KEY = "sandbox-access-key"
SECRET_KEY = "sandbox-secret-key"
REGION = "eu-west-1"


class LocalSqs:
    """moto's SQS server on loopback with one queue for ORDER_CHANGE notifications."""

    def __init__(self, queue_name: str = "channelsync-sandbox-order-change") -> None:
        self.queue_name = queue_name
        self.endpoint_url: str | None = None
        self.queue_url: str | None = None
        self.region = REGION
        self.access_key_id = ACCESS_KEY
        self.secret_access_key = SECRET_KEY
        self._server: Any = None
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self.published = 0

    def start(self, *, port: int = 0) -> LocalSqs:
        """Start the server on ``port`` (0: an ephemeral one) and create the queue."""
        try:
            import boto3
            from moto.server import ThreadedMotoServer
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the extra
            raise ConfigError(
                "the sandbox's SQS needs its extra: pip install 'channelsync[sandbox]'"
            ) from exc
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint_url = f"http://{host}:{port}"
        self._client = boto3.client(
            "sqs",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )
        self.queue_url = self._client.create_queue(
            QueueName=self.queue_name, Attributes={"VisibilityTimeout": "5"}
        )["QueueUrl"]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-sqs")
        return self

    def publish(self, notification: dict[str, Any]) -> None:
        """Send one notification to the queue (in order, off the caller's thread)."""
        pool = self._pool
        if pool is None:
            return
        body = json.dumps(notification)
        pool.submit(self._send, body)

    def _send(self, body: str) -> None:
        # Amazon delivers a notification at least once: it retries a send the queue did not
        # take (here, a loopback server slowed down by a busy machine), so the fake does too.
        for attempt in range(6):
            try:
                self._client.send_message(QueueUrl=self.queue_url, MessageBody=body)
                self.published += 1
                return
            except Exception:
                if attempt == 5:
                    log.exception("sandbox SQS: a notification could not be published")
                    return
                time.sleep(0.05 * 2**attempt)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every notification published so far is in the queue."""
        if self._pool is not None:
            self._pool.submit(lambda: None).result(timeout=timeout)

    def stop(self) -> None:
        """Stop publishing and stop the server."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.stop()
            self._server = None
