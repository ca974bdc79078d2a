"""``channelsync sandbox --out --port-base`` and ``channelsync sandbox order|ship|cancel``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.sandbox.ports import free_port_base
from typer.testing import CliRunner

from channelsync.cli import app


def test_sandbox_writes_its_files_and_is_driven_from_the_command_line(tmp_path: Path) -> None:
    base = free_port_base()
    out = tmp_path / "sb"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "channelsync", "sandbox", "--channel", "shopify"),
            *("--out", str(out), "--port-base", str(base), "--json"),
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
