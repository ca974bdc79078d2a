"""Cancel, refund and return through the engine: FakeChannel accounts on SQLite, and two
worker processes on PostgreSQL against the WooCommerce fake."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.core.helpers import line, make_order

import channelsync as cs
from channelsync.core import schema as t
from channelsync.sandbox import Sandbox
from channelsync.testing import FakeChannel

NO_WAIT = cs.RetryPolicy(attempts=3, sleep=lambda s: None, jitter=lambda: 0.0)


def setup(store: cs.Store, **stock: int) -> tuple[cs.SyncEngine, FakeChannel]:
    shop = FakeChannel("shop")
    for sku in stock:
        shop.add_listing(sku, 0, "10.00")
    engine = cs.SyncEngine(store, [shop], retry=NO_WAIT)
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    return engine, shop


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed, view.available


def journal_rows(store: cs.Store) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.journal)).scalar_one())


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_whole_order_releases_units_once(store: cs.Store) -> None:
    engine, shop = setup(store, A=10, B=5)
    order = shop.place_order({"A": 3, "B": 1})
    engine.run_once()
    assert figures(engine, "A") == (10, 3, 7)
    result = engine.cancel("shop", order.order_id, reason="out_of_stock")
    assert (result.status, result.channel, result.repeated) == ("done", "done", False)
    assert result.released == {"A": 3, "B": 1}
    assert figures(engine, "A") == (10, 0, 10)
    assert figures(engine, "B") == (5, 0, 5)
    assert shop.orders[order.order_id].status is cs.OrderStatus.CANCELLED
    assert engine.order("shop", order.order_id).status is cs.OrderStatus.CANCELLED
    rows = journal_rows(store)
    # The same call again is a no-op; the channel's own report of the cancellation too.
    again = engine.cancel("shop", order.order_id, reason="out_of_stock")
    assert again.repeated
    assert again.status == "done"
    assert shop.calls["cancel_lines"] == 1
    engine.run_once()
    assert journal_rows(store) == rows
    assert figures(engine, "A") == (10, 0, 10)


def test_cancel_some_units_and_write_off(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 4})
    engine.run_once()
    lid = order.lines[0].line_id
    result = engine.cancel("shop", order.order_id, lines={lid: 1}, reason="damaged", restock=False)
    assert (result.released, result.written_off) == ({"A": 1}, {"A": 1})
    assert figures(engine, "A") == (9, 3, 6)
    assert engine.order("shop", order.order_id).line(lid).quantity_cancelled == 1
    assert engine.order("shop", order.order_id).status is cs.OrderStatus.OPEN
    writeoff = [e for e in engine.explain("A").entries if e.reason == "adjust"][-1]
    assert (writeoff.d_on_hand, writeoff.d_committed) == (-1, 0)
    assert writeoff.note is not None
    assert "not restocked" in writeoff.note


def test_cancelling_a_shipped_order_is_refused_and_changes_nothing(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL"))
    before = (figures(engine, "A"), journal_rows(store))
    with pytest.raises(cs.OperationRefused, match="has shipped: nothing is left to cancel"):
        engine.cancel("shop", order.order_id, reason="customer_request")
    with pytest.raises(cs.OperationRefused, match="0 unit\\(s\\) not shipped"):
        engine.cancel("shop", order.order_id, lines={order.lines[0].line_id: 1}, reason="other")
    assert (figures(engine, "A"), journal_rows(store)) == before
    assert shop.calls["cancel_lines"] == 0


def test_bad_input_is_refused_before_the_channel(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    with pytest.raises(cs.OperationRefused, match="unknown reason 'oops'"):
        engine.cancel("shop", order.order_id, reason="oops")
    with pytest.raises(cs.OperationRefused, match="has no line 'X'"):
        engine.cancel("shop", order.order_id, lines={"X": 1}, reason="other")
    with pytest.raises(cs.OperationRefused, match="must be a whole number > 0"):
        engine.cancel("shop", order.order_id, lines={order.lines[0].line_id: 0}, reason="other")
    with pytest.raises(cs.UnknownOrder):
        engine.cancel("shop", "nope", reason="other")
    assert shop.calls["cancel_lines"] == 0


def test_a_key_reused_with_another_payload_is_an_error_naming_it(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 3})
    engine.run_once()
    lid = order.lines[0].line_id
    engine.cancel("shop", order.order_id, lines={lid: 1}, reason="other", idempotency_key="k-1")
    with pytest.raises(cs.IdempotencyConflict, match="'k-1'") as caught:
        engine.cancel("shop", order.order_id, lines={lid: 2}, reason="other", idempotency_key="k-1")
    assert caught.value.key == "k-1"
    assert figures(engine, "A") == (10, 2, 8)
    assert shop.calls["cancel_lines"] == 1


def test_a_channel_refusal_changes_nothing_and_a_retry_works(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    shop.fail("cancel_lines", cs.Unavailable("down", status=503))
    with pytest.raises(cs.Unavailable):
        engine.cancel("shop", order.order_id, reason="other")
    assert figures(engine, "A") == (10, 2, 8)
    result = engine.cancel("shop", order.order_id, reason="other")
    assert result.status == "done"
    assert not result.repeated
    assert figures(engine, "A") == (10, 0, 10)


def test_dry_run_changes_nothing(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    plan = engine.cancel("shop", order.order_id, reason="other", dry_run=True)
    assert (plan.status, plan.released) == ("dry_run", {"A": 2})
    assert figures(engine, "A") == (10, 2, 8)
    assert shop.calls["cancel_lines"] == 0
    assert engine.operations() == []


def test_bundle_cancel_releases_components(store: cs.Store) -> None:
    engine, shop = setup(store, KIT=0, A=10, B=10)
    engine.define_bundle("KIT", {"A": 2, "B": 1})
    order = shop.place_order({"KIT": 2})
    engine.run_once()
    assert figures(engine, "A") == (10, 4, 6)
    result = engine.cancel("shop", order.order_id, reason="customer_request")
    assert result.released == {"A": 4, "B": 2}
    assert figures(engine, "A") == (10, 0, 10)
    assert figures(engine, "B") == (10, 0, 10)


def test_local_order_cancels_without_a_channel(store: cs.Store) -> None:
    engine, _ = setup(store, A=10)
    engine.record_order(make_order("POS-1", account="pos", lines=[line("L1", "A", 3)]))
    result = engine.cancel("pos", "POS-1", lines={"L1": 1}, reason="customer_request")
    assert (result.channel, result.status) == ("local", "done")
    assert figures(engine, "A") == (10, 2, 8)


# -- refund ---------------------------------------------------------------------------------


def test_refund_lines_not_shipped_releases_them_and_counts_money(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 3})  # 3 x 10.00 EUR
    engine.run_once()
    lid = order.lines[0].line_id
    result = engine.refund("shop", order.order_id, lines={lid: 1}, reason="customer_request")
    assert result.refund is not None
    assert result.refund.amount == cs.Money.of("10.00", "EUR")
    assert result.released == {"A": 1}
    assert figures(engine, "A") == (10, 2, 8)
    stored = engine.order("shop", order.order_id)
    assert [r.amount for r in stored.refunds] == [cs.Money.of("10.00", "EUR")]
    assert stored.line(lid).quantity_cancelled == 1
    engine.run_once()  # the channel's version of the refund changes nothing more
    assert figures(engine, "A") == (10, 2, 8)


def test_refunding_more_than_paid_is_refused(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})  # 20.00 EUR
    engine.run_once()
    engine.refund("shop", order.order_id, amount=cs.Money.of("15.00", "EUR"), reason="other")
    before = (figures(engine, "A"), journal_rows(store))
    with pytest.raises(cs.OperationRefused, match=r"at most 5.00 EUR left"):
        engine.refund("shop", order.order_id, amount=cs.Money.of("5.01", "EUR"), reason="other")
    with pytest.raises(cs.OperationRefused, match="paid in EUR"):
        engine.refund("shop", order.order_id, amount=cs.Money.of("1", "USD"), reason="other")
    assert (figures(engine, "A"), journal_rows(store)) == before
    assert shop.calls["refund"] == 1
    last = engine.refund("shop", order.order_id, amount=cs.Money.of("5.00", "EUR"), reason="other")
    assert last.status == "done"


def test_refund_shipped_units_with_restock_is_a_return(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL"))
    assert figures(engine, "A") == (8, 0, 8)
    lid = order.lines[0].line_id
    result = engine.refund(
        "shop", order.order_id, lines={lid: 2}, reason="not_as_described", restock=True
    )
    assert (result.released, result.restocked) == ({}, {"A": 2})
    assert figures(engine, "A") == (10, 0, 10)
    assert engine.order("shop", order.order_id).status is cs.OrderStatus.REFUNDED
    returns = engine.returns("shop")
    assert [(r.line_id, r.quantity, r.disposition) for r in returns] == [(lid, 2, "restocked")]
    # The units came back once: a return recorded now is refused.
    with pytest.raises(cs.OperationRefused, match="2 came back already"):
        engine.record_return("shop", order.order_id, {lid: 1})
    assert figures(engine, "A") == (10, 0, 10)


def test_refund_without_restock_leaves_shipped_units_out(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL"))
    engine.refund("shop", order.order_id, lines={order.lines[0].line_id: 1}, reason="damaged")
    assert figures(engine, "A") == (8, 0, 8)


# -- returns --------------------------------------------------------------------------------


def test_return_restocks_once_and_never_more_than_shipped(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 3})
    engine.run_once()
    lid = order.lines[0].line_id
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL", lines={lid: 2}))
    assert figures(engine, "A") == (8, 1, 7)
    with pytest.raises(cs.OperationRefused, match=r"shipped 2 unit\(s\).*at most 2"):
        engine.record_return("shop", order.order_id, {lid: 3})
    result = engine.record_return("shop", order.order_id, {lid: 1}, location="berlin")
    assert (result.restocked, result.channel) == ({"A": 1}, "done")
    assert figures(engine, "A") == (9, 1, 8)
    assert engine.record_return("shop", order.order_id, {lid: 1}, location="berlin").repeated
    assert figures(engine, "A") == (9, 1, 8)
    written = engine.record_return(
        "shop", order.order_id, {lid: 1}, restock=False, reason="damaged"
    )
    assert written.written_off == {"A": 1}
    assert figures(engine, "A") == (9, 1, 8)
    assert [(r.quantity, r.disposition, r.location) for r in engine.returns("shop")] == [
        (1, "written_off", "default"),
        (1, "restocked", "berlin"),
    ]
    with pytest.raises(cs.OperationRefused, match="at most 0"):
        engine.record_return("shop", order.order_id, {lid: 1}, idempotency_key="third")
    assert shop.returned[(order.order_id, lid)] == 2


def test_return_not_told_to_the_channel(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 1})
    engine.run_once()
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL"))
    result = engine.record_return(
        "shop", order.order_id, {order.lines[0].line_id: 1}, notify_channel=False
    )
    assert result.channel == "not_supported"
    assert shop.calls["record_return"] == 0
    assert figures(engine, "A") == (10, 0, 10)


# -- buyer cancellation requests --------------------------------------------------------------


def test_open_cancel_request_is_listed_and_accepted(store: cs.Store) -> None:
    engine, _ = setup(store, A=10)
    asked = make_order("AMZ-1", account="pos", lines=[line("L1", "A", 2), line("L2", "A", 1)])
    asked = asked.model_copy(
        update={"cancel_request": cs.CancelRequest(reason="Found cheaper", lines=("L1",))}
    )
    engine.record_order(asked)
    requests = engine.cancel_requests()
    assert [(r.order_id, r.reason, r.lines) for r in requests] == [
        ("AMZ-1", "Found cheaper", {"L1": 2})
    ]
    result = engine.accept_cancel_request("pos", "AMZ-1")
    assert result.released == {"A": 2}
    assert figures(engine, "A") == (10, 1, 9)
    assert engine.order("pos", "AMZ-1").line("L1").quantity_cancelled == 2


def test_operations_list_and_result_as_dict(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 1})
    engine.run_once()
    engine.cancel("shop", order.order_id, reason="other", idempotency_key="op-1")
    ops = engine.operations()
    assert [(o.idempotency_key, o.kind, o.status) for o in ops] == [("op-1", "cancel", "done")]
    data: dict[str, Any] = ops[0].as_dict()
    assert data["released"] == {"A": 1}


def test_a_key_of_another_operation_is_refused_before_the_channel(store: cs.Store) -> None:
    engine, shop = setup(store, A=10)
    order = shop.place_order({"A": 2})
    engine.run_once()
    engine.adjust("A", 1, "receipt", idempotency_key="erp-77")
    with pytest.raises(cs.IdempotencyConflict, match="'erp-77'"):
        engine.cancel("shop", order.order_id, reason="other", idempotency_key="erp-77")
    assert shop.calls["cancel_lines"] == 0
    assert figures(engine, "A") == (11, 2, 9)


_REFUND = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import channelsync as cs
    from channelsync.adapters.woocommerce import WooCommerceChannel, WooCommerceConfig

    url, shop, key, secret, order_id, line_id, go, name = sys.argv[1:9]
    channel = WooCommerceChannel(
        WooCommerceConfig(
            account="woo", url=shop, consumer_key=key, consumer_secret=secret,
            allow_insecure_http=True,
        )
    )
    engine = cs.SyncEngine(cs.open_store(url), [channel])
    (Path(go).parent / f"ready-{name}").touch()
    while not Path(go).exists():
        time.sleep(0.001)
    result = engine.refund("woo", order_id, lines={line_id: 1}, reason="damaged")
    print(json.dumps({"status": result.status, "repeated": result.repeated}))
    """
)


@pytest.mark.postgres
def test_the_same_refund_from_two_workers_at_once_is_made_once(pg_url: str, tmp_path: Path) -> None:
    """Two worker processes send the same refund at the same moment (the shop answers
    slowly): WooCommerce is asked once, the refund and the unit are counted once."""
    with Sandbox(channels=["woocommerce"]) as sb:
        fake = sb.woocommerce
        fake.seed_listing("W-1", quantity=0, price="12.00")
        with cs.open_store(pg_url) as store:
            engine = cs.SyncEngine(store, [fake.channel("woo")], retry=NO_WAIT)
            engine.set_on_hand("W-1", 10)
            engine.run_once()
            order_id = fake.place_order("W-1", 3)
            engine.run_once()
            line_id = engine.order("woo", order_id).lines[0].line_id
            assert figures(engine, "W-1") == (10, 3, 7)
            fake.latency_ms = 300.0
            go = tmp_path / "go"
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _REFUND,
                        pg_url,
                        str(fake.url),
                        fake.consumer_key,
                        fake.consumer_secret,
                        order_id,
                        line_id,
                        str(go),
                        name,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for name in ("a", "b")
            ]
            deadline = time.monotonic() + 60
            while not all((tmp_path / f"ready-{n}").exists() for n in ("a", "b")):
                assert time.monotonic() < deadline, "the worker processes did not start"
                assert all(p.poll() is None for p in procs), procs[0].stderr or procs[1].stderr
                time.sleep(0.01)
            go.touch()
            answers = []
            for proc in procs:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err
                answers.append(json.loads(out.strip().splitlines()[-1]))
            fake.latency_ms = 0.0
            assert fake.calls["refunds/create"] == 1
            assert sorted(a["status"] for a in answers) in (["done", "done"], ["done", "pending"])
            again = engine.refund("woo", order_id, lines={line_id: 1}, reason="damaged")
            assert (again.status, again.repeated) == ("done", True)
            assert [r.amount for r in engine.order("woo", order_id).refunds] == [
                cs.Money.of("12.00", "EUR")
            ]
            assert figures(engine, "W-1") == (10, 2, 8)
