"""Property: any interleaving and duplication of order events gives the same ledger as
applying each order's final state once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.helpers import T0

import channelsync as cs
from channelsync import OrderStatus

SKUS = ["A", "B", "C"]

line_st = st.builds(
    lambda line_id, sku, qty, shipped, cancelled, fba: cs.OrderLine(
        line_id=line_id,
        sku=sku,
        quantity=qty,
        quantity_shipped=min(shipped, qty),
        quantity_cancelled=min(cancelled, qty - min(shipped, qty)),
        fulfilled_by_channel=fba,
    ),
    st.sampled_from(["L1", "L2", "L3"]),
    st.sampled_from([*SKUS, None]),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 2),
    st.booleans(),
)


@st.composite
def order_histories(draw: st.DrawFn) -> list[cs.Order]:
    """Several orders, each with several distinct versions (strictly increasing times)."""
    events: list[cs.Order] = []
    for n in range(draw(st.integers(1, 4))):
        for v in range(draw(st.integers(1, 4))):
            lines = draw(st.lists(line_st, max_size=3, unique_by=lambda ln: ln.line_id))
            events.append(
                cs.Order(
                    kind="fake",
                    account="shop",
                    order_id=f"O{n}",
                    status=draw(st.sampled_from(list(OrderStatus))),
                    created_at=T0,
                    updated_at=T0 + timedelta(minutes=v),
                    lines=tuple(lines),
                )
            )
    return events


def final_states(events: list[cs.Order]) -> list[cs.Order]:
    final: dict[str, cs.Order] = {}
    for e in events:
        if e.order_id not in final or e.updated_at > final[e.order_id].updated_at:
            final[e.order_id] = e
    return list(final.values())


def ledger(engine: cs.SyncEngine, prefix: str = "") -> dict[str, tuple[int, int]]:
    return {s: (engine.stock(prefix + s).on_hand, engine.stock(prefix + s).committed) for s in SKUS}


def renamed(order: cs.Order, prefix: str) -> cs.Order:
    """The order on an account and SKUs of its own (examples share one PostgreSQL schema)."""
    return order.model_copy(
        update={
            "account": f"{prefix}shop",
            "lines": tuple(
                ln.model_copy(update={"sku": None if ln.sku is None else prefix + ln.sku})
                for ln in order.lines
            ),
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def shuffled_store(request: pytest.FixtureRequest) -> Iterator[cs.Store]:
    """The store the shuffled deliveries go to: an in-memory SQLite, or PostgreSQL."""
    if request.param == "sqlite":
        with cs.open_store("sqlite:///:memory:") as store:
            yield store
        return
    if not os.environ.get("CHANNELSYNC_TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL tests need CHANNELSYNC_TEST_DATABASE_URL")
    url = request.getfixturevalue("pg_url")
    with cs.open_store(url) as store:
        yield store


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=order_histories(), data=st.data())
def test_interleaving_and_duplication_do_not_matter(
    shuffled_store: cs.Store, events: list[cs.Order], data: st.DataObject
) -> None:
    delivered = data.draw(
        st.lists(st.sampled_from(events), min_size=len(events), max_size=3 * len(events))
    )
    delivered = data.draw(
        st.permutations(delivered + events)
    )  # every version at least once, any order
    batch_sizes = data.draw(st.integers(1, 5))

    prefix = f"{uuid.uuid4().hex[:8]}-"
    shuffled = cs.SyncEngine(shuffled_store)
    with cs.open_store("sqlite:///:memory:") as s2:
        reference = cs.SyncEngine(s2)
        shuffled.set_on_hand_many({prefix + sku: 20 for sku in SKUS})
        reference.set_on_hand_many({sku: 20 for sku in SKUS})
        mine = [renamed(e, prefix) for e in delivered]
        for start in range(0, len(mine), batch_sizes):  # batches, like polled pages
            shuffled.record_orders(mine[start : start + batch_sizes])
        for order in final_states(events):
            reference.record_order(order)
        assert ledger(shuffled, prefix) == ledger(reference)
