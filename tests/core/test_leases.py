"""Leases that hold, with real worker processes on PostgreSQL.

A push longer than its first lease keeps its rows (the lease is renewed while it runs);
a worker killed mid-push loses its rows once its lease runs out, and another worker
pushes the same value, under the same idempotency key, exactly once more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import channelsync as cs

PROCS = Path(__file__).resolve().parent / "procs.py"

pytestmark = pytest.mark.postgres


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(PROCS), *args], stderr=subprocess.PIPE, text=True)


def _log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _wait_for(condition: Any, procs: list[subprocess.Popen[str]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for p in procs:
            if p.poll() not in (None, 0, -signal.SIGKILL):
                raise AssertionError(p.stderr.read() if p.stderr else p.returncode)
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def counted(pg_url: str) -> str:
    with cs.open_store(pg_url) as store:
        cs.SyncEngine(store).set_on_hand_many({"A": 3, "B": 4, "C": 5})
    return pg_url


@pytest.mark.slow
def test_a_push_longer_than_its_first_lease_is_not_repeated(counted: str, tmp_path: Path) -> None:
    log = tmp_path / "pushes.log"
    # The first worker's push takes 4 s; its lease is about 1.2 s, renewed every 0.4 s.
    first = _start("push", counted, str(log), "4", "0")
    _wait_for(lambda: any(e["event"] == "start" for e in _log(log)), [first])
    # A second worker cycles for 5 s meanwhile: it must find nothing to claim.
    second = _start("push", counted, str(log), "0", "5")
    for p in (first, second):
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    events = _log(log)
    assert [(e["event"], e["pid"]) for e in events] == [
        ("start", first.pid),
        ("done", first.pid),
    ]
    assert events[0]["items"] == {"A": 3, "B": 4, "C": 5}
    assert events[1]["at"] - events[0]["at"] >= 4
    with cs.open_store(counted) as store:
        assert cs.SyncEngine(store).plan() == []


@pytest.mark.slow
def test_a_worker_killed_mid_push_is_taken_over_and_nothing_is_lost(
    counted: str, tmp_path: Path
) -> None:
    log = tmp_path / "pushes.log"
    first = _start("push", counted, str(log), "60", "0")
    _wait_for(lambda: any(e["event"] == "start" for e in _log(log)), [first])
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=10)
    killed_at = time.time()
    second = _start("push", counted, str(log), "0", "8")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    events = _log(log)
    assert [(e["event"], e["pid"]) for e in events] == [
        ("start", first.pid),
        ("start", second.pid),
        ("done", second.pid),
    ]
    # The same absolute values under the same idempotency keys: a channel that dedupes
    # by key applies them once; for any other, setting the same value again is harmless.
    assert events[1]["items"] == events[0]["items"] == {"A": 3, "B": 4, "C": 5}
    assert events[1]["keys"] == events[0]["keys"]
    # Counted from when the second worker was up (its start-up is not the lease's doing).
    ready = (tmp_path / f"ready-{second.pid}").stat().st_mtime
    taken_over_after = events[1]["at"] - max(killed_at, ready)
    assert taken_over_after < 5, taken_over_after
    with cs.open_store(counted) as store:
        assert cs.SyncEngine(store).plan() == []
