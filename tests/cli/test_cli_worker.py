"""``channelsync worker`` as a real process: loops per account, SIGTERM, webhooks, health."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from tests.cli.conftest import CONFIG, SECRET, Cli

from channelsync.testing import FakeChannel

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Lines:
    """Collects a process's stderr lines on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    def join(self) -> None:
        self._thread.join(timeout=10)

    def wait_for(self, text: str, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            assert time.monotonic() < deadline, f"no {text!r} in {''.join(self.lines)}"
            time.sleep(0.05)


def test_worker_cycles_receives_webhooks_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "channelsync.toml").write_text(
        # In a subprocess the factory is imported from tests/cli directly: some installed
        # distributions ship a top-level ``tests`` package that would shadow ours.
        CONFIG.replace("tests.cli.cli_fakes:build", "cli_fakes:build")
        + '\n[worker]\nlog_level = "INFO"\n',
        encoding="utf-8",
    )
    port, health_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests" / "cli"),
        "CHANNELSYNC_SHOP_A__API_KEY": SECRET,
        "CHANNELSYNC_SHOP_B__WEBHOOK_SECRET": SECRET + "-hook",
    }
    env.pop("CHANNELSYNC_CONFIG", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "channelsync",
            "--config",
            str(tmp_path / "channelsync.toml"),
            "worker",
            "--interval",
            "0.2",
            "--webhooks",
            f"127.0.0.1:{port}",
            "--health",
            f"127.0.0.1:{health_port}",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        out = _Lines(proc)
        out.wait_for("worker started")
        out.wait_for("loop started", count=2)
        # a marketplace delivers a signed order webhook to the worker's receiver
        buyer = FakeChannel("shop-b", webhook_secret=SECRET + "-hook")
        buyer.add_listing("SKU-W", 5, "10.00")
        headers, body = buyer.webhook_for(buyer.place_order({"SKU-W": 3}), event_id="e-1")
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/shop-b", headers=headers, content=body
        )
        assert answer.status_code == 200
        assert answer.json() == {"events": 1, "kinds": ["order"]}
        bad = httpx.post(f"http://127.0.0.1:{port}/webhooks/shop-b", headers={}, content=body)
        assert bad.status_code == 401
        out.wait_for("account shop-b: 1 webhook events applied (1 orders new")
        healthz = httpx.get(f"http://127.0.0.1:{health_port}/healthz")
        assert healthz.status_code == 200
        detail = healthz.json()
        assert (detail["live"], detail["ready"]) == (True, True)
        assert detail["accounts"]["shop-b"]["running_here"] is True
        assert detail["accounts"]["shop-b"]["inbox_depth"] == 0
        metrics = httpx.get(f"http://127.0.0.1:{health_port}/metrics").text
        assert 'channelsync_account_running{account="shop-a"} 1.0' in metrics
        assert 'channelsync_inbox_depth{account="shop-b"} 0.0' in metrics
        assert "channelsync_worker_live 1.0" in metrics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        out.wait_for("worker stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.join()
        assert proc.stderr is not None
        proc.stderr.close()
    text = "".join(out.lines)
    assert SECRET not in text
    account_lines = [line for line in out.lines if "account shop-" in line]
    assert all(line.count("\n") == 1 for line in account_lines)
    from channelsync.config import load_config
    from channelsync.core.store import open_store

    store = open_store(load_config(tmp_path / "channelsync.toml", environ={}).store_url)
    try:
        import channelsync as cs

        assert cs.SyncEngine(store).stock("SKU-W").committed == 3
    finally:
        store.close()


def test_worker_exits_3_when_the_store_is_unreachable(cli: Cli) -> None:
    cli.config.write_text(
        CONFIG.replace('url = "sqlite:///channelsync.db"', 'url = "sqlite:////no/such/dir/x.db"'),
        encoding="utf-8",
    )
    result = cli("worker", "--interval", "0")
    assert result.exit_code == 3
    assert "the store cannot be opened" in result.stderr
