"""The CLI under test: a temp SQLite store, FakeChannel accounts, a known secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.cli import cli_fakes
from typer.testing import CliRunner, Result

from channelsync.cli import app
from channelsync.testing import FakeChannel

#: A secret every test environment carries; no output may ever contain it.
SECRET = "sk-test-9f8e7d6c5b4a-TOPSECRET"

CONFIG = """\
[store]
url = "sqlite:///channelsync.db"

[reports]
timezone = "UTC"

[accounts.shop-a]
kind = "custom"
factory = "tests.cli.cli_fakes:build"
fee_percent = 10

[accounts.shop-b]
kind = "custom"
factory = "tests.cli.cli_fakes:build"
rules = { buffer = 1 }
"""


@dataclass
class Cli:
    """Runs ``channelsync`` against the test's config and remembers every output."""

    path: Path
    runner: CliRunner
    outputs: list[str]

    @property
    def config(self) -> Path:
        return self.path / "channelsync.toml"

    def __call__(self, *args: str, input: str | None = None, config: bool = True) -> Result:
        argv = (["--config", str(self.config)] if config else []) + list(args)
        result = self.runner.invoke(
            app, argv, input=input, catch_exceptions=False, env={"COLUMNS": "200"}
        )
        self.outputs.append(result.stdout + result.stderr)
        return result

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    def channel(self, account: str) -> FakeChannel:
        return cli_fakes.build(account=account, options={}, secrets={})


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    cli_fakes.REGISTRY.clear()
    (tmp_path / "channelsync.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("CHANNELSYNC_SHOP_A__API_KEY", SECRET)
    monkeypatch.setenv("CHANNELSYNC_SHOP_B__WEBHOOK_SECRET", SECRET + "-hook")
    monkeypatch.delenv("CHANNELSYNC_CONFIG", raising=False)
    monkeypatch.delenv("CHANNELSYNC_STORE__URL", raising=False)
    runner = CliRunner()
    c = Cli(tmp_path, runner, [])
    yield c
    cli_fakes.REGISTRY.clear()
    for text in c.outputs:
        assert SECRET not in text, "a secret reached the output"
