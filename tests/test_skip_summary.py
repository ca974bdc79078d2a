"""The line every test run ends with, counting what it skipped (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import skip_kind, skip_summary


def test_skip_reasons_are_sorted_by_what_enables_them() -> None:
    assert skip_kind(
        "conformance corpus not present at /x/amazon (set CHANNELSYNC_CONFORMANCE)"
    ) == ("conformance")
    assert skip_kind("conformance corpus absent: the fake ran without Amazon's models") == (
        "conformance"
    )
    assert skip_kind("PostgreSQL tests need CHANNELSYNC_TEST_DATABASE_URL") == "PostgreSQL"
    assert skip_kind("live contract: set CHANNELSYNC_LIVE_CONFIG to a channelsync.toml") == "live"
    assert skip_kind("TestAmazonContract: the channel cannot cancel orders") == "other"


def test_the_line_names_each_count_and_what_to_set(tmp_path: Path) -> None:
    counts = {"conformance": 31, "PostgreSQL": 94, "other": 9, "live": 1, "slow": 3}
    assert skip_summary(counts, environ={}, corpus=tmp_path / "none") == (
        f"channelsync skipped: 31 conformance (corpus {tmp_path / 'none'} absent: set"
        " CHANNELSYNC_CONFORMANCE), 94 PostgreSQL (set CHANNELSYNC_TEST_DATABASE_URL),"
        " 1 live, 9 other; 3 slow left out (dev.py test --slow runs them) -- README.md, Tests"
    )
    env = {"CHANNELSYNC_TEST_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test"}
    assert skip_summary({}, environ=env, corpus=tmp_path) == (
        f"channelsync skipped: 0 conformance (corpus {tmp_path} found), 0 PostgreSQL"
        " (CHANNELSYNC_TEST_DATABASE_URL set) -- README.md, Tests"
    )
