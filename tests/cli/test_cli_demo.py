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
