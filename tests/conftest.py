"""Fixtures every test folder shares."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import channelsync as cs

#: The marketplaces' published payloads and schemas (see ../shared/conformance/SOURCES.md).
#: Users who clone the project do not have this folder: tests that read it skip visibly.
CONFORMANCE = Path(
    os.environ.get(
        "CHANNELSYNC_CONFORMANCE", Path(__file__).resolve().parents[2] / "shared" / "conformance"
    )
)


def conformance_dir(kind: str) -> Path:
    """``../shared/conformance/<kind>``, or skip the test saying it is absent."""
    folder = CONFORMANCE / kind
    if not folder.is_dir():
        pytest.skip(f"conformance corpus not present at {folder} (set CHANNELSYNC_CONFORMANCE)")
    return folder


def load_conformance(kind: str, name: str) -> Any:
    """One JSON file of the conformance corpus (skips when the corpus is absent)."""
    path = conformance_dir(kind) / name
    if not path.is_file():
        pytest.fail(f"conformance file {path} is missing from a present corpus")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file store URL."""
    return f"sqlite:///{tmp_path / 'channelsync.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[cs.Store]:
    """A fresh SQLite store."""
    s = cs.open_store(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (skips unless CHANNELSYNC_TEST_DATABASE_URL is set)."""
    base = os.environ.get("CHANNELSYNC_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need CHANNELSYNC_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
        )
    schema = f"cs_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def clock() -> Callable[[], Any]:
    """A controllable clock: call ``clock.advance(seconds)`` to move it."""
    from datetime import UTC, datetime, timedelta

    class Clock:
        def __init__(self) -> None:
            self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

        def __call__(self) -> datetime:
            return self.now

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)

    return Clock()
