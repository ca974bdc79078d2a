"""Fixtures every test folder shares, and the line that counts what the run skipped.

Two kinds of tests skip on a fresh clone, each saying why (README, "Tests"):

* **conformance** tests read the marketplaces' published payloads and schemas, a corpus
  kept outside the project (``../shared/conformance``, or ``CHANNELSYNC_CONFORMANCE``);
* **PostgreSQL** tests need ``CHANNELSYNC_TEST_DATABASE_URL``. The store, ledger and
  engine suites run on both databases through the ``db_url`` fixture.

The run ends with one line counting both (``pytest_terminal_summary``).
"""

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


#: The reasons a skip gives, by what the summary line counts it as.
SKIP_KINDS: tuple[tuple[str, str], ...] = (
    ("conformance", "conformance corpus"),
    ("PostgreSQL", "CHANNELSYNC_TEST_DATABASE_URL"),
    ("live", "CHANNELSYNC_LIVE_CONFIG"),
)
_skipped: dict[str, int] = {}


def skip_kind(reason: str) -> str:
    """What the summary line counts a skip with ``reason`` as (``other`` when unknown)."""
    return next((kind for kind, text in SKIP_KINDS if text in reason), "other")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count each skipped test by kind (a skip is reported once, at setup or in the call)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        kind = skip_kind(reason)
        _skipped[kind] = _skipped.get(kind, 0) + 1


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module skipped as a whole (the live contract) counts too."""
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        kind = skip_kind(reason)
        _skipped[kind] = _skipped.get(kind, 0) + 1


SLOW = "slow"


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Count the slow scenarios ``-m "not slow"`` left out (``dev.py test`` without --slow)."""
    slow = sum(1 for item in items if item.get_closest_marker("slow") is not None)
    _skipped[SLOW] = _skipped.get(SLOW, 0) + slow


def skip_summary(
    counts: dict[str, int], environ: dict[str, str] | None = None, corpus: Path | None = None
) -> str:
    """The one line the run ends with: skipped conformance and PostgreSQL tests and why,
    other skips, and the slow scenarios left out."""
    env = os.environ if environ is None else environ
    where = CONFORMANCE if corpus is None else corpus
    found = "found" if where.is_dir() else "absent: set CHANNELSYNC_CONFORMANCE"
    database = (
        "CHANNELSYNC_TEST_DATABASE_URL set"
        if env.get("CHANNELSYNC_TEST_DATABASE_URL")
        else "set CHANNELSYNC_TEST_DATABASE_URL"
    )
    parts = [
        f"{counts.get('conformance', 0)} conformance (corpus {where} {found})",
        f"{counts.get('PostgreSQL', 0)} PostgreSQL ({database})",
    ]
    parts += [
        f"{n} {kind}"
        for kind, n in sorted(counts.items())
        if kind not in ("conformance", "PostgreSQL", SLOW) and n
    ]
    line = "channelsync skipped: " + ", ".join(parts)
    if counts.get(SLOW):
        line += f"; {counts[SLOW]} slow left out (dev.py test --slow runs them)"
    return line + " -- README.md, Tests"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print ``skip_summary`` once at the end of the run."""
    terminalreporter.write_line(skip_summary(_skipped))


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


@pytest.fixture(scope="session")
def _pg_migrated() -> Iterator[tuple[str, sa.Engine]]:
    """One PostgreSQL schema for the session, migrated once; ``db_url`` empties it per test.

    Creating and migrating a schema per test costs about 2 s on a loaded machine; emptying
    every table costs milliseconds.
    """
    base = os.environ.get("CHANNELSYNC_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need CHANNELSYNC_TEST_DATABASE_URL"
            " (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
        )
    schema = f"cs_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    cs.open_store(url).close()  # migrate to head once
    emptier = sa.create_engine(url)
    try:
        yield url, emptier
    finally:
        emptier.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def cs_metadata() -> sa.MetaData:
    """The store's tables (``channelsync.core.schema.metadata``)."""
    from channelsync.core.schema import metadata

    return metadata


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL with an empty store, on each database: a fresh SQLite file, then a
    PostgreSQL schema at the newest revision with every table emptied (skipped, and counted
    in the summary line, without ``CHANNELSYNC_TEST_DATABASE_URL``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'channelsync.db'}"
    url, emptier = request.getfixturevalue("_pg_migrated")
    tables = ", ".join(f'"{table.name}"' for table in cs_metadata().sorted_tables)
    with emptier.begin() as conn:
        # A test that left a transaction open would block this: fail rather than hang.
        conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return str(url)


@pytest.fixture
def db_store(db_url: str) -> Iterator[cs.Store]:
    """A fresh store on each database (``db_url``)."""
    s = cs.open_store(db_url)
    yield s
    s.close()


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
