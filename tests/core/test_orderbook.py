"""The order book: the newest version of an order wins, whoever commits first."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.core.helpers import make_order

import channelsync as cs
from channelsync import OrderStatus as S
from channelsync.core import schema as t
from channelsync.core.orderbook import order_lock_keys


def test_an_older_version_never_replaces_a_newer_row(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 10)
    engine.record_order(make_order(status=S.CANCELLED, minute=5))
    engine.record_order(make_order(status=S.OPEN, minute=1))
    assert engine.order("shop", "1001").status is S.CANCELLED
    assert engine.stock("SKU-1").committed == 0
    assert engine.explain("SKU-1").entries[-1].reason == "set_on_hand"


def test_lock_keys_are_sorted_and_stable() -> None:
    keys = order_lock_keys([("shop", "2"), ("shop", "1"), ("shop", "2")])
    assert keys == sorted(keys)
    assert len(keys) == 2
    assert keys == order_lock_keys([("shop", "1"), ("shop", "2")])


# Each process delivers one version of every order, one transaction per order, as a
# webhook receiver and a poller would; both start at the same moment.
_DELIVER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    import channelsync as cs
    url, status, reverse, go = sys.argv[1], sys.argv[2], sys.argv[3] == "1", Path(sys.argv[4])
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    minute = 1 if status == "cancelled" else 0
    orders = [
        cs.Order(kind="fake", account="shop", order_id=f"N{i}", status=status,
                 created_at=t0, updated_at=t0 + timedelta(minutes=minute),
                 lines=[cs.OrderLine(line_id="1", sku=f"S{i % 10}", quantity=2)])
        for i in range(200)
    ]
    if reverse:
        orders.reverse()
    engine = cs.SyncEngine(cs.open_store(url))
    (go.parent / f"ready-{status}").touch()
    while not go.exists():
        time.sleep(0.001)
    for order in orders:
        engine.record_order(order)
    """
)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("cancelled_reversed", ["0", "1"], ids=["same-order", "opposite-order"])
def test_two_processes_with_two_versions_of_the_same_new_orders_end_exact(
    pg_url: str, tmp_path: Path, cancelled_reversed: str
) -> None:
    with cs.open_store(pg_url) as store:
        cs.SyncEngine(store).set_on_hand_many({f"S{i}": 1000 for i in range(10)})
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DELIVER, pg_url, status, rev, str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for status, rev in (("open", "0"), ("cancelled", cancelled_reversed))
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{s}").exists() for s in ("open", "cancelled")):
        assert time.monotonic() < deadline, "the delivering processes did not start"
        assert all(p.poll() is None for p in procs), procs[0].stderr or procs[1].stderr
        time.sleep(0.01)
    go.touch()  # both have opened the store: start them at the same moment
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with cs.open_store(pg_url) as store:
        engine = cs.SyncEngine(store)
        statuses = {o.order_id: o.status for o in engine.orders(limit=None)}
        assert len(statuses) == 200
        assert set(statuses.values()) == {"cancelled"}
        assert {f"S{i}": engine.stock(f"S{i}").committed for i in range(10)} == {
            f"S{i}": 0 for i in range(10)
        }
        with store.read() as conn:
            held = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(t.journal.c.d_committed), 0)).where(
                    t.journal.c.order_id.is_not(None)
                )
            ).scalar()
        assert held == 0
