"""``channelsync demo`` and ``channelsync sandbox`` on the marketplace fakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelsync.cli import app

pytestmark = pytest.mark.slow


def test_demo_passes_its_consistency_check() -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--orders", "60", "--seconds", "4", "--seed", "7"],
        catch_exceptions=False,
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert "consistent: every check passed" in out
    assert "60 orders placed, 60 in the store" in out
    assert "FAILED" not in out
    for name in ("sales ", "shopify-main", "woo-main", "amazon-eu", "ebay-de", "magento-main"):
        assert name in out
    # next to the check: each channel's propagation latency, p50/p95/p99/max, and by origin
    assert "propagation latency: from the sale to the channel showing it" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    for row in (*ACCOUNTS, "sold via webhook", "sold via SQS", "sold via polled", "all"):
        figures = _figures(rows[row])
        assert len(figures) == 4, rows[row]  # p50, p95, p99, max in ms
        assert figures == sorted(figures), rows[row]


ACCOUNTS = ("amazon-eu", "ebay-de", "magento-main", "shopify-main", "woo-main")


def _figures(row: str) -> list[int]:
    """The millisecond figures of one row of the latency table."""
    return [int(cell.split()[0]) for cell in row.split("│") if cell.strip().endswith(" ms")]


def test_demo_json_carries_the_checks_and_the_latency_figures() -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--orders", "40", "--seconds", "3", "--seed", "5", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["seed"] == 5
    assert sum(data["orders"].values()) == 40
    assert [c["ok"] for c in data["checks"]] == [True] * 6
    assert "40 orders placed, 40 in the store" in data["checks"][2]["detail"]
    latency = data["latency"]
    assert sorted(latency["by_channel"]) == list(ACCOUNTS)
    assert "webhook" in latency["by_origin"]
    assert set(latency["by_origin"]) <= {"webhook", "SQS", "polled"}
    groups = [*latency["by_channel"].values(), *latency["by_origin"].values()]
    for figures in groups:
        assert figures["count"] > 0
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    measured = latency["all"]["count"]
    assert measured == sum(f["count"] for f in latency["by_channel"].values())
    assert measured == sum(f["count"] for f in latency["by_origin"].values())
    assert data["worker"]["steps"] > 0
    assert data["worker"]["poll_interval"] == 5.0


def test_sandbox_prints_a_config_that_doctor_accepts(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "channelsync", "sandbox", "--json", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        text = ""
        info = None
        deadline = time.monotonic() + 60
        while info is None:
            assert time.monotonic() < deadline, text
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            text += line
            try:
                info = json.loads(text)
            except ValueError:
                continue
        assert set(info["fakes"]) == {"shopify", "woocommerce", "amazon", "ebay", "magento"}
        (tmp_path / "channelsync.toml").write_text(info["toml"], encoding="utf-8")
        env = {"COLUMNS": "200"}
        for line in info["env"]:
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
        runner = CliRunner()
        config = str(tmp_path / "channelsync.toml")
        doctor = runner.invoke(app, ["--config", config, "doctor", "--json"], env=env)
        assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
        checks = {(c["subject"], c["check"]): c for c in json.loads(doctor.stdout)}
        accounts = ("shopify-main", "woo-main", "amazon-eu", "ebay-de", "magento-main")
        for account in accounts:
            assert checks[(account, "credentials and listings")]["status"] == "ok"
            assert checks[(account, "orders access")]["status"] == "ok"
            assert checks[(account, "clock")]["status"] == "ok"
        imported = runner.invoke(app, ["--config", config, "listings", "import", "--json"], env=env)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        found = json.loads(imported.stdout)["accounts"]
        # MUG-1 and TEE-M (the guides' SKUs) and SANDBOX-001..003 on each fake.
        assert {a: r["listings"] for a, r in found.items()} == {a: 5 for a in accounts}
        assert checks[("magento-main", "authentication")]["detail"] == (
            "OAuth 1.0a signed requests"
        )
        assert checks[("magento-main", "inventory")]["status"] == "ok"
        for secret in env.values():
            if len(secret) > 8:
                assert secret not in doctor.stdout + doctor.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert os.path.exists(tmp_path / "channelsync.toml")
