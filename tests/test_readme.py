"""README's library snippet runs as written against the sandbox ``channelsync sandbox`` serves."""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from channelsync.cli._sandbox import GUIDE_SKUS, seed_listings
from channelsync.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"


def _library_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## As a library", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "README has no python block under 'As a library'"
    return found.group(1)


def _exports(path: Path) -> dict[str, str]:
    variables = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
    return variables


@pytest.fixture
def in_sandbox_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """What the guide does: `channelsync sandbox --out DIR`, `cd DIR`, `. ./sandbox.env`."""
    with Sandbox(channels=["shopify"], control=True) as sb:
        seed_listings(sb, 0)
        sb.write_config(tmp_path)
        for name, value in _exports(tmp_path / "sandbox.env").items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield sb


def test_the_library_snippet_runs_as_written(in_sandbox_folder: Sandbox) -> None:
    sb = in_sandbox_folder
    assert [sku for sku, *_ in GUIDE_SKUS] == ["MUG-1", "TEE-M"]
    assert sb.shopify.quantity("MUG-1") == 40  # the guides' SKUs are listed
    script = Path("readme_snippet.py")
    script.write_text(_library_snippet(), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        names = runpy.run_path(str(script), run_name="__main__")
    for name in ("engine", "shop"):
        names[name].close()
    # 40 on hand, none committed: 40 available; both SKUs pushed, each less the buffer of 1.
    assert out.getvalue().split() == ["40", "2"]
    assert sb.shopify.quantity("MUG-1") == 39
    assert sb.shopify.quantity("TEE-M") == 11
    assert os.path.exists("channelsync.db")


def test_the_snippet_reads_its_secrets_from_the_guides_variables() -> None:
    snippet = _library_snippet()
    assert 'os.environ["CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN"]' in snippet
    assert 'account="shopify-main"' in snippet
