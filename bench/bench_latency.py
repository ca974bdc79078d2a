"""An Amazon sale reaching another channel through ORDER_CHANGE notifications (SQS).

The sandbox's Amazon fake publishes each new order to its local SQS (moto's server on
loopback); ``NotificationReaders`` (what ``channelsync worker`` runs) reads it, fetches the
order (getOrder) and records it; the real-time worker pushes Shopify within its coalescing
window. Measured: from the buyer's checkout on Amazon to Shopify showing the unit gone, per
sale, and the queue's own delay (send to receive) beside it. Target: p99 under 2 s plus the
queue's delay. Sales stay within getOrder's burst of 30 (Amazon's 0.5 per second after it).

.venv/bin/python bench/bench_latency.py [SALES]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import channelsync as cs
from channelsync.adapters.amazon.webhooks import NotificationReaders
from channelsync.sandbox import Sandbox


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _queue_delay(sb: Sandbox, probes: int = 20) -> list[float]:
    import boto3

    assert sb.sqs is not None
    client = boto3.client(
        "sqs",
        region_name=sb.sqs.region,
        endpoint_url=sb.sqs.endpoint_url,
        aws_access_key_id=sb.sqs.access_key_id,
        aws_secret_access_key=sb.sqs.secret_access_key,
    )
    url = client.create_queue(QueueName="latency-probe")["QueueUrl"]
    delays = []
    for _ in range(probes):
        started = time.perf_counter()
        client.send_message(QueueUrl=url, MessageBody="probe")
        got = client.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        delays.append(time.perf_counter() - started)
        for message in got:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    client.close()
    return delays


def main(sales: int) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        Sandbox(channels=["amazon", "shopify"], amazon_notifications=True) as sb,
    ):
        assert sb.sqs is not None
        skus = [f"LAT-{i:03d}" for i in range(sales)]
        for sku in skus:
            sb.amazon.seed_listing(sku, quantity=10, price="9.00")
            sb.shopify.seed_listing(sku, quantity=10, price="9.00")
        amazon = sb.amazon.channel(
            account="amazon-eu",
            notifications_queue_url=sb.sqs.queue_url,
            notifications_endpoint_url=sb.sqs.endpoint_url,
            notifications_region=sb.sqs.region,
            aws_access_key_id=sb.sqs.access_key_id,
            aws_secret_access_key=sb.sqs.secret_access_key,
        )
        shopify = sb.shopify.channel(account="shopify-main")
        store = cs.open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        engine = cs.SyncEngine(store, channels=[amazon, shopify])
        engine.set_on_hand_many(dict.fromkeys(skus, 10))
        engine.run_once()
        readers = NotificationReaders([amazon], engine.record_order, wait_seconds=1)
        readers.start()
        worker = threading.Thread(
            target=engine.run_forever,
            kwargs={"poll_interval": 600.0, "coalesce": 0.05, "install_signal_handlers": False},
            daemon=True,
        )
        worker.start()
        time.sleep(1.0)  # the worker's first pass
        latencies: list[float] = []
        try:
            for sku in skus:
                started = time.perf_counter()
                sb.amazon.place_order(sku, 1)
                deadline = started + 30
                while sb.shopify.quantity(sku) != 9 and time.perf_counter() < deadline:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - started)
        finally:
            engine.stop()
            worker.join(timeout=30)
            readers.stop()
            engine.close()
            store.close()
        queue = _queue_delay(sb)
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    q99 = _percentile(queue, 0.99)
    print(
        f"{sales} Amazon sales -> Shopify: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
        f" max {max(latencies) * 1000:.0f} ms (mean {statistics.mean(latencies) * 1000:.0f} ms)"
    )
    print(
        f"queue's own delay (send -> receive, moto on loopback): p50"
        f" {_percentile(queue, 0.5) * 1000:.0f} ms, p99 {q99 * 1000:.0f} ms"
    )
    verdict = "met" if p99 < 2.0 + q99 else "NOT met"
    print(f"target p99 < 2 s + queue delay ({(2.0 + q99) * 1000:.0f} ms): {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 25)
