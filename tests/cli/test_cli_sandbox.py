"""``channelsync sandbox --out --port-base`` and ``channelsync sandbox order|ship|cancel``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from tests.sandbox.ports import free_port_base
from typer.testing import CliRunner

from channelsync.cli import app


class _Receiver(BaseHTTPRequestHandler):
    """Records each webhook's path and topic; ``arrived`` is set on the first."""

    got: ClassVar[list[tuple[str, str]]] = []
    arrived: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.got.append((self.path, self.headers.get("X-Shopify-Topic", "")))
        self.send_response(200)
        self.end_headers()
        self.arrived.set()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.got.clear()
    _Receiver.arrived.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    server.shutdown()
    server.server_close()


def test_sandbox_writes_its_files_and_is_driven_from_the_command_line(
    tmp_path: Path, receiver: str
) -> None:
    base = free_port_base()
    out = tmp_path / "sb"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "channelsync", "sandbox", "--channel", "shopify"),
            *("--out", str(out), "--port-base", str(base), "--webhooks", receiver, "--json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        text = ""
        info = None
        while info is None:  # the JSON is printed once the fakes serve
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            text += line
            try:
                info = json.loads(text)
            except ValueError:
                continue
        control = f"http://127.0.0.1:{base}"
        assert info["control_url"] == control
        assert info["fakes"]["shopify"]["url"] == f"http://127.0.0.1:{base + 4}"
        assert info["files"] == [
            str(out / n)
            for n in ("channelsync.toml", "channelsync.secrets.toml", "sandbox.env", "sandbox.json")
        ]
        runner = CliRunner()
        env = {"CHANNELSYNC_SANDBOX_URL": control, "COLUMNS": "200"}
        placed = runner.invoke(
            app, ["sandbox", "order", "shopify", "MUG-1", "2", "--json"], env=env
        )
        assert placed.exit_code == 0, placed.stdout + placed.stderr
        order = json.loads(placed.stdout)
        assert (order["sku"], order["qty"], order["quantity"]) == ("MUG-1", 2, 38)
        assert _Receiver.arrived.wait(30)  # --webhooks: the order went to the receiver
        assert _Receiver.got[0] == ("/webhooks/shopify-main", "orders/create")
        shipped = runner.invoke(
            app, ["sandbox", "ship", "shopify", order["order_id"], "--tracking", "T-1"], env=env
        )
        assert shipped.exit_code == 0, shipped.stdout + shipped.stderr
        assert shipped.stdout == f"shopify order {order['order_id']} shipped with DHL\n"
        second = runner.invoke(app, ["sandbox", "order", "shopify", "TEE-M"], env=env)
        second_id = second.stdout.split()[2].rstrip(":")
        assert second.stdout == f"shopify order {second_id}: 1 x TEE-M; shopify now shows 11\n"
        cancelled = runner.invoke(app, ["sandbox", "cancel", "shopify", second_id], env=env)
        assert cancelled.exit_code == 0, cancelled.stdout + cancelled.stderr
        unknown = runner.invoke(app, ["sandbox", "order", "shopify", "NO-SUCH"], env=env)
        assert unknown.exit_code == 1
        assert "'NO-SUCH' is not listed on the shopify fake" in unknown.stderr
        lost = runner.invoke(app, ["sandbox", "order", "shopify", "MUG-1"], env={})
        assert lost.exit_code == 2
        assert "CHANNELSYNC_SANDBOX_URL" in lost.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
