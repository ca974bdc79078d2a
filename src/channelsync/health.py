"""The worker's health and metrics endpoints: ``/healthz`` and ``/metrics`` (Prometheus).

::

    server = HealthServer(engine, "127.0.0.1", 9108)   # beside engine.run_forever()
    server.start()

- ``GET /healthz``: 200 when the worker is live (its lease round ran within the last two
  thirds of a lease) and ready (the store answers); else 503. The JSON body says per
  account what is late and why (last pull and push, what is owed, the inbox, last error).
- ``GET /metrics``: Prometheus text, per account: last successful pull and push, order
  cursor lag, outbox depth and oldest pending change, inbox depth, spent call quotas,
  rate-limit waits, errors by kind, plus the worker's own liveness.

Figures read from the store are gathered when scraped (one status query), so a scrape
costs a few aggregate queries, never a scan per SKU. Needs ``prometheus-client`` (the
``channelsync[worker]`` extra).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from channelsync.core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from prometheus_client.metrics_core import Metric

    from channelsync.core.engine import SyncEngine
    from channelsync.core.results import Status

__all__ = ["HealthServer", "health"]

log = logging.getLogger(__name__)


def health(engine: SyncEngine) -> tuple[bool, dict[str, Any]]:
    """Whether the worker is healthy, and the details (what ``/healthz`` answers)."""
    runtime = engine.runtime
    live = health_live(engine)
    body: dict[str, Any] = {"live": live, "ready": False}
    try:
        status = engine.status()
    except Exception as exc:
        body["store"] = type(exc).__name__
        return False, body
    body["ready"] = True
    body["worker"] = runtime.worker_id if runtime is not None else None
    stats = runtime.stats() if runtime is not None else {}
    accounts = {}
    for a in status.accounts:
        entry = a.as_dict()
        s = stats.get(a.account)
        entry["running_here"] = s is not None
        if s is not None:
            entry["last_error"] = s.last_error
            entry["errors"] = dict(s.errors)
        accounts[a.account] = entry
    body["accounts"] = accounts
    return live, body


class _Collector:
    """Turns the engine's status and the runtime's stats into Prometheus metrics."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            status: Status | None = self.engine.status()
        except Exception:
            status = None
        up = GaugeMetricFamily("channelsync_store_up", "1 while the store answers")
        up.add_metric([], 1.0 if status is not None else 0.0)
        yield up
        runtime = self.engine.runtime
        live = GaugeMetricFamily("channelsync_worker_live", "1 while the worker's loop runs")
        live.add_metric([], 1.0 if health_live(self.engine) else 0.0)
        yield live
        labels = ["account"]

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"channelsync_{name}", doc, labels=labels)

        last_pull = gauge("last_pull_timestamp_seconds", "Last successful order pull")
        last_push = gauge("last_push_timestamp_seconds", "Last acknowledged stock push")
        lag = gauge("order_cursor_lag_seconds", "How far the order cursor is behind now")
        depth = gauge("outbox_depth", "Stock rows owed a push")
        oldest = gauge("outbox_oldest_pending_seconds", "Age of the oldest change owed a push")
        failing = gauge("outbox_failing_rows", "Stock rows whose last push failed")
        inbox = gauge("inbox_depth", "Webhook events not applied yet")
        inbox_age = gauge("inbox_oldest_seconds", "Age of the oldest event not applied yet")
        dead = gauge("inbox_dead_events", "Events set aside after too many failures")
        failed_orders = gauge("order_failures", "Orders the adapter could not read")
        running = gauge("account_running", "1 while this worker runs the account's loop")
        quota = GaugeMetricFamily(
            "channelsync_quota_blocked_until_timestamp_seconds",
            "A spent call quota of the channel: blocked until then",
            labels=["account", "resource"],
        )
        for a in status.accounts if status is not None else ():
            key = [a.account]
            if a.last_pull_at is not None:
                last_pull.add_metric(key, a.last_pull_at.timestamp())
            if a.last_push_at is not None:
                last_push.add_metric(key, a.last_push_at.timestamp())
            if a.cursor_lag_seconds is not None:
                lag.add_metric(key, a.cursor_lag_seconds)
            depth.add_metric(key, a.outbox_depth)
            oldest.add_metric(key, a.oldest_pending_seconds or 0.0)
            failing.add_metric(key, a.failing_rows)
            inbox.add_metric(key, a.inbox_depth)
            inbox_age.add_metric(key, a.oldest_event_seconds or 0.0)
            dead.add_metric(key, a.dead_events)
            failed_orders.add_metric(key, a.order_failures)
            running.add_metric(
                key, 1.0 if runtime is not None and a.account in runtime.loops else 0.0
            )
            for resource, spent in sorted(a.quota.items()):
                until = datetime.fromisoformat(str(spent["blocked_until"]))
                quota.add_metric([a.account, resource], until.timestamp())
        yield from (
            last_pull,
            last_push,
            lag,
            depth,
            oldest,
            failing,
            inbox,
            inbox_age,
            dead,
            failed_orders,
            running,
            quota,
        )
        stats = runtime.stats() if runtime is not None else {}
        pushes = CounterMetricFamily(
            "channelsync_pushes", "Stock items pushed", labels=["account", "result"]
        )
        waits = CounterMetricFamily(
            "channelsync_rate_limit_waits", "Steps that hit a rate limit", labels=labels
        )
        errors = CounterMetricFamily(
            "channelsync_errors", "Steps stopped by an error, by kind", labels=["account", "kind"]
        )
        events = CounterMetricFamily(
            "channelsync_events", "Webhook events handled", labels=["account", "result"]
        )
        for account, s in sorted(stats.items()):
            pushes.add_metric([account, "ok"], s.pushes_ok)
            pushes.add_metric([account, "failed"], s.pushes_failed)
            waits.add_metric([account], s.rate_limit_waits)
            events.add_metric([account, "applied"], s.events_applied)
            events.add_metric([account, "failed"], s.events_failed)
            for kind, n in sorted(s.errors.items()):
                errors.add_metric([account, kind], n)
        yield from (pushes, waits, errors, events)


def health_live(engine: SyncEngine) -> bool:
    """Whether the engine's worker loop is running and renewing its leases."""
    runtime = engine.runtime
    if runtime is None or runtime.last_membership is None:
        return False
    lease = runtime.settings.account_lease.total_seconds()
    return time.monotonic() - runtime.last_membership < lease * 2 / 3 + 5


class HealthServer:
    """``/healthz`` and ``/metrics`` on a thread beside the worker."""

    def __init__(self, engine: SyncEngine, host: str, port: int) -> None:
        try:
            from prometheus_client import CollectorRegistry, generate_latest
        except ModuleNotFoundError:  # pragma: no cover - depends on the extra
            raise ConfigError(
                "metrics need prometheus-client: pip install 'channelsync[worker]'"
            ) from None
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(engine))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    body = generate_latest(registry)
                    self._send(200, body, "text/plain; version=0.0.4; charset=utf-8")
                elif self.path.split("?")[0] == "/healthz":
                    ok, details = health(engine)
                    self._send(
                        200 if ok else 503,
                        json.dumps(details, default=str).encode(),
                        "application/json",
                    )
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health: " + format, *args)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on (useful with port 0)."""
        return int(self.server.server_address[1])

    def start(self) -> None:
        """Serve on a background thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
