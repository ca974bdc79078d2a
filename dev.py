#!/usr/bin/env python3
"""Set up and run channelsync from a fresh checkout, needing nothing but Python 3.11+.

    python3 dev.py demo      # the main job: every marketplace faked on loopback, SQLite store
    python3 dev.py test      # the test suite, less the scenarios marked slow (--slow: all)
    python3 dev.py lint      # ruff (check and format) and mypy --strict
    python3 dev.py bench     # the benchmarks under bench/
    python3 dev.py live      # the ChannelContract against real accounts (docs/testing-live.md)

The first run creates ``.venv`` beside this file and installs the project into it with every
extra it needs; later runs reuse it and reinstall only when ``pyproject.toml`` changed.
Arguments after the command are passed on (``python3 dev.py demo --orders 200``,
``python3 dev.py test -k ledger``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"channelsync needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest and _python().exists():
        return
    if not _python().exists():
        print(f"creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing channelsync and its extras into .venv (first run only) ...", flush=True)
    pip = [str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def _run(args: list[str]) -> int:
    return subprocess.run(args, cwd=ROOT, check=False).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "lint", "setup", "bench", "live"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    _ensure_env()
    py = str(_python())
    if command == "setup":
        return 0
    if command == "demo":
        return _run([py, "-m", "channelsync", "demo", *rest])
    if command == "lint":
        paths = [p for p in ("src", "tests", "bench", "examples", "dev.py") if (ROOT / p).exists()]
        return (
            _run([py, "-m", "ruff", "check", *paths])
            or _run([py, "-m", "ruff", "format", "--check", *paths])
            or _run([py, "-m", "mypy"])
        )
    if command == "bench":
        status = 0
        for script in sorted((ROOT / "bench").glob("bench_*.py")):
            status |= _run([py, str(script), *rest])
        return status
    if command == "live":
        env_note = "CHANNELSYNC_LIVE_WRITE=1" if "--write" in rest else None
        args = [a for a in rest if a != "--write"]
        if env_note:
            os.environ["CHANNELSYNC_LIVE_WRITE"] = "1"
        return _run([py, "-m", "pytest", "tests/live", "-rs", "-p", "no:cacheprovider", *args])
    # Scenarios marked slow (whole demos, several processes) run with --slow, as CI does.
    if "--slow" in rest:
        rest = [a for a in rest if a != "--slow"]
    elif not any(a == "-m" or a.startswith("-m") for a in rest):
        rest = ["-m", "not slow", *rest]
    return _run([py, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
