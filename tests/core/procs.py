"""Worker processes for the multi-process tests: ``python tests/core/procs.py ROLE ...``.

A ``FileChannel`` writes every push it starts and finishes to a shared log file, so the
test can see across processes what each worker sent and whether a value went out twice.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import channelsync as cs
from channelsync.testing import FakeChannel


class FileChannel(FakeChannel):
    """A FakeChannel whose pushes are logged to ``log`` (one JSON line per event) and take
    ``push_seconds`` each."""

    def __init__(self, account: str, log: Path, push_seconds: float = 0.0) -> None:
        super().__init__(account)
        self.log = log
        self.push_seconds = push_seconds

    def _write(self, **entry: Any) -> None:
        line = json.dumps({"pid": os.getpid(), "at": time.time(), **entry}) + "\n"
        with self.log.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def push_stock(self, updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
        items = {u.sku: u.quantity for u in updates}
        keys = {u.sku: u.idempotency_key for u in updates}
        self._write(event="start", items=items, keys=keys)
        time.sleep(self.push_seconds)
        results = super().push_stock(updates)
        self._write(event="done", items=items, keys=keys)
        return results


def push_worker(url: str, log: str, push_seconds: str, duration: str) -> None:
    """Run cycles of one account whose pushes take ``push_seconds``, for ``duration`` s
    (at least one cycle)."""
    channel = FileChannel("shop", Path(log), float(push_seconds))
    for sku in ("A", "B", "C"):
        channel.add_listing(sku, 0)
    engine = cs.SyncEngine(
        cs.open_store(url),
        [channel],
        min_lease=timedelta(seconds=1),
        retry=cs.RetryPolicy(attempts=1),
    )
    (Path(log).parent / f"ready-{os.getpid()}").touch()
    until = time.monotonic() + float(duration)
    while True:
        engine.run_once()
        if time.monotonic() >= until:
            return
        time.sleep(0.05)


def run_worker(url: str, accounts: str, lease: str) -> None:
    """``run_forever`` over ``accounts`` (comma-separated) with a short account lease."""
    channels = []
    for name in accounts.split(","):
        channel = FakeChannel(name)
        channel.add_listing("SKU-1", 0)
        channels.append(channel)
    engine = cs.SyncEngine(cs.open_store(url), channels, retry=cs.RetryPolicy(attempts=1))
    engine.run_forever(
        poll_interval=1.0, account_lease=timedelta(seconds=float(lease)), idle_check=0.5
    )


def listening_worker(url: str, log: str) -> None:
    """``run_forever`` of one account that polls only every 10 minutes: a push it makes
    sooner was woken by another process's commit (PostgreSQL ``LISTEN``/``NOTIFY``)."""
    channel = FileChannel("shop", Path(log))
    channel.add_listing("A", 0)
    engine = cs.SyncEngine(cs.open_store(url), [channel], retry=cs.RetryPolicy(attempts=1))
    # Nothing else of the worker's own wakes the loop sooner: its lease rounds (a third of
    # the account lease) and its idle checks are as far apart as its polls.
    engine.run_forever(poll_interval=600.0, idle_check=600.0, account_lease=timedelta(seconds=1800))


def slow_receiver(url: str, port: str, ready: str) -> None:
    """A webhook receiver whose applying hangs: deliveries are stored and answered only."""
    import uvicorn

    from channelsync.core.inbox import Inbox
    from channelsync.webhooks import create_app

    def hang(*args: object, **kw: object) -> object:
        time.sleep(3600)
        raise AssertionError("unreachable")

    Inbox.apply = hang  # type: ignore[method-assign]
    channel = FakeChannel("shop")
    channel.add_listing("SKU-1", 0)
    engine = cs.SyncEngine(cs.open_store(url), [channel], min_lease=timedelta(seconds=1))
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=int(port), log_level="error")
    server = uvicorn.Server(config)
    Path(ready).touch()
    server.run()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    role, *args = sys.argv[1:]
    {
        "push": push_worker,
        "run": run_worker,
        "listen": listening_worker,
        "receiver": slow_receiver,
    }[role](*args)
