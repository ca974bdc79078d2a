"""The engine end to end on SQLite and PostgreSQL with in-memory channels."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from tests.core.helpers import T0, line, make_order

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.orderbook import OrderBook
from channelsync.core.outbox import Outbox
from channelsync.testing import FakeChannel


@pytest.fixture
def store(db_store: cs.Store) -> cs.Store:
    """Every test here runs on SQLite and on PostgreSQL (``db_url`` in tests/conftest.py)."""
    return db_store


NO_WAIT = cs.RetryPolicy(attempts=3, sleep=lambda s: None, jitter=lambda: 0.0)


def engine_with(store: cs.Store, *channels: FakeChannel, **kw: Any) -> cs.SyncEngine:
    return cs.SyncEngine(store, list(channels), retry=NO_WAIT, **kw)


def test_order_on_one_channel_lowers_the_others(store: cs.Store) -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    for ch in (a, b):
        ch.add_listing("SKU-1", 0, "9.99")
    engine = engine_with(store, a, b)
    engine.set_on_hand("SKU-1", 5)
    first = engine.run_once()
    assert (a.quantities["SKU-1"], b.quantities["SKU-1"]) == (5, 5)
    assert first.pushes_ok == 2
    a.place_order({"SKU-1": 2})
    report = engine.run_once()
    assert report.orders_new == 1
    assert b.quantities["SKU-1"] == 3
    assert a.quantities["SKU-1"] == 3
    assert engine.stock("SKU-1").committed == 2
    # Nothing differs any more: the next cycle pushes nothing.
    calls = (a.calls["push_stock"], b.calls["push_stock"])
    assert engine.run_once().pushes_ok == 0
    assert (a.calls["push_stock"], b.calls["push_stock"]) == calls


def test_diff_only_after_import(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("SAME", 4)
    shop.add_listing("DIFF", 9)
    engine = engine_with(store, shop)
    engine.set_on_hand("SAME", 4)
    engine.set_on_hand("DIFF", 2)
    engine.run_once()
    assert [[u.sku for u in batch] for batch in shop.pushed] == [["DIFF"]]


def test_one_failing_account_never_stops_the_others(store: cs.Store) -> None:
    good, bad = FakeChannel("good"), FakeChannel("bad")
    for ch in (good, bad):
        ch.add_listing("SKU-1", 0)
    bad.fail("fetch_listings", cs.AuthError("token revoked", channel="bad", status=401))
    engine = engine_with(store, good, bad)
    engine.set_on_hand("SKU-1", 4)
    report = engine.run_once()
    assert good.quantities["SKU-1"] == 4
    assert not report.ok
    assert report.accounts["good"].ok
    assert report.accounts["bad"].errors == ["AuthError: token revoked [bad] HTTP 401"]
    # Next cycle the bad account recovers and catches up.
    assert engine.run_once().ok
    assert bad.quantities["SKU-1"] == 4


def test_channel_exception_of_any_kind_is_contained(store: cs.Store) -> None:
    good, buggy = FakeChannel("good"), FakeChannel("buggy")
    for ch in (good, buggy):
        ch.add_listing("SKU-1", 0)
    buggy.fail("fetch_orders", ZeroDivisionError("adapter bug"))
    engine = engine_with(store, good, buggy)
    engine.set_on_hand("SKU-1", 3)
    report = engine.run_once()
    assert report.accounts["buggy"].errors == ["ZeroDivisionError: adapter bug"]
    assert good.quantities["SKU-1"] == 3


def test_failing_item_never_stops_its_batch_and_is_retried_with_backoff(
    store: cs.Store, clock: Any
) -> None:
    shop = FakeChannel("shop", clock=clock)
    for sku in ("A", "B", "C"):
        shop.add_listing(sku, 0)
    shop.fail_item("B", "quantity refused by the channel")
    engine = engine_with(store, shop, clock=clock)
    for sku in ("A", "B", "C"):
        engine.set_on_hand(sku, 6)
    report = engine.run_once()
    assert shop.quantities == {"A": 6, "B": 0, "C": 6}
    assert (report.pushes_ok, report.pushes_failed) == (2, 1)
    view = engine.stock("B").channels[0]
    assert view.last_error == "B: quantity refused by the channel"
    assert (view.attempts, view.pending) == (1, True)
    engine.run_once()  # still backing off: not retried yet
    assert shop.calls["push_stock"] == 1
    clock.advance(6)
    engine.run_once()
    assert shop.quantities["B"] == 6
    assert engine.stock("B").channels[0].last_error is None


def test_transient_push_failure_is_retried_by_the_policy(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    shop.fail("push_stock", cs.RateLimited("slow down", retry_after=2.0))
    waits: list[float] = []
    policy = cs.RetryPolicy(attempts=3, sleep=waits.append, jitter=lambda: 0.0)
    engine = cs.SyncEngine(store, [shop], retry=policy)
    engine.set_on_hand("A", 1)
    assert engine.run_once().pushes_ok == 1
    assert shop.quantities["A"] == 1
    assert waits == [2.0]


def test_outage_leaves_updates_pending_until_the_channel_is_back(
    store: cs.Store, clock: Any
) -> None:
    shop = FakeChannel("shop", clock=clock)
    shop.add_listing("A", 0)
    engine = engine_with(store, shop, clock=clock)
    engine.run_once()
    shop.fail("push_stock", cs.Unavailable("503", status=503), times=3)
    engine.set_on_hand("A", 7)
    report = engine.run_once()
    assert report.accounts["shop"].errors == ["Unavailable: 503 HTTP 503"]
    assert engine.plan()[0].quantity == 7
    clock.advance(10)
    assert engine.run_once().pushes_ok == 1
    assert shop.quantities["A"] == 7


def test_three_hundred_changes_during_a_push_make_one_more_push(store: cs.Store) -> None:
    """300 committed changes land while a push is on the wire: one more push, of the final
    figure. (1,000 took 54 s on PostgreSQL on a loaded machine and prove no more.)"""
    shop = FakeChannel("shop")
    shop.add_listing("HOT", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("HOT", 500)
    engine.run_once()
    assert shop.quantities["HOT"] == 500
    engine.adjust("HOT", 1, "receipt")
    done = threading.Event()

    def during_push(batch: Sequence[cs.StockUpdate]) -> None:
        if not done.is_set():
            done.set()
            for i in range(300):
                engine.adjust("HOT", 1 if i % 2 else -2, "churn")

    shop.on_push = during_push
    engine.run_once()
    final = engine.stock("HOT").available
    assert final == 501 - 150  # 150 times -2, 150 times +1
    pushed = [u.quantity for batch in shop.pushed for u in batch]
    assert pushed == [
        500,
        501,
        final,
    ]  # the in-flight value, then exactly one push of the final one
    assert shop.quantities["HOT"] == final
    assert engine.plan() == []


def test_crash_between_push_and_ack_loses_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    store = cs.open_store(db_url)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 3)
    engine.run_once()

    def crash(*args: object, **kw: object) -> None:
        raise SystemExit("power cut after the channel answered, before the ack was written")

    engine.set_on_hand("A", 8)
    monkeypatch.setattr(Outbox, "ack_stock", crash)
    with pytest.raises(SystemExit):
        engine.run_once()
    monkeypatch.undo()
    assert shop.quantities["A"] == 8  # the channel got it; we never recorded that
    store.close()

    # Restart: a new process on the same database. The lease of the claimed row expires.
    restarted = cs.open_store(db_url)
    engine2 = engine_with(
        restarted, shop, clock=lambda: cs.core.models.utcnow() + timedelta(minutes=5)
    )
    engine2.set_on_hand("A", 6)
    engine2.run_once()
    assert shop.quantities["A"] == 6
    assert engine2.plan() == []
    restarted.close()


def test_same_order_five_times_out_of_order_through_two_engines(db_url: str) -> None:
    versions = [
        make_order(lines=[line(qty=2)], minute=0),
        make_order(lines=[line(qty=3)], minute=1),
        make_order(lines=[line(qty=3)], minute=1),
        make_order(lines=[line(qty=3), line("L2", "SKU-2", 1)], minute=2),
        make_order(lines=[line(qty=3), line("L2", "SKU-2", 1)], minute=2),
    ]
    store1, store2 = cs.open_store(db_url), cs.open_store(db_url)
    e1, e2 = cs.SyncEngine(store1), cs.SyncEngine(store2)
    e1.set_on_hand("SKU-1", 10)
    for i, version in enumerate(
        [versions[3], versions[0], versions[4], versions[1], versions[2], versions[0]]
    ):
        (e1 if i % 2 else e2).record_order(version)
    assert (e1.stock("SKU-1").committed, e1.stock("SKU-2").committed) == (3, 1)
    with store1.read() as conn:
        rows = conn.execute(
            sa.select(sa.func.count()).select_from(t.journal).where(t.journal.c.order_id == "1001")
        ).scalar()
    assert rows == 2  # one commit per SKU: the final state applied once
    store1.close()
    store2.close()


def test_two_engines_ingesting_concurrently_commit_once(db_url: str) -> None:
    orders = [make_order(str(1000 + i), lines=[line(qty=1)]) for i in range(60)]
    stores = [cs.open_store(db_url) for _ in range(2)]
    engines = [cs.SyncEngine(s) for s in stores]
    engines[0].set_on_hand("SKU-1", 100)
    threads = [
        threading.Thread(target=lambda e=e, o=o: [e.record_order(x) for x in o])
        for e, o in ((engines[0], orders), (engines[1], list(reversed(orders))))
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert engines[0].stock("SKU-1").committed == 60
    for s in stores:
        s.close()


def test_conflict_rereads_instead_of_overwriting_a_sale(store: cs.Store) -> None:
    shop = FakeChannel("shop", compare_and_set=True)
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 10)
    engine.run_once()
    assert shop.quantities["A"] == 10

    sold: list[str] = []

    def sale_before_push(batch: Sequence[cs.StockUpdate]) -> None:
        if not sold:  # a buyer checks out between our read and our write
            sold.append(shop.place_order({"A": 3}).order_id)

    engine.adjust("A", 2, "receipt")
    shop.on_push = sale_before_push
    report = engine.run_once()
    assert report.accounts["shop"].conflicts == 1
    # 12 on hand, 3 sold on the channel: it must show 9, never 12.
    assert shop.quantities["A"] == 9
    assert engine.stock("A").committed == 3
    assert [u.quantity for batch in shop.pushed for u in batch] == [10, 12, 9]


def test_ship_records_ledger_and_pushes_fulfillment_once(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 5)
    order = shop.place_order({"A": 2})
    engine.run_once()
    shipment = cs.Shipment(carrier="DHL", tracking_number="00340434161094042557")
    assert engine.ship("shop", order.order_id, shipment) == "pushed"
    assert engine.ship("shop", order.order_id, shipment) == "pushed"  # a repeat changes nothing
    view = engine.stock("A")
    assert (view.on_hand, view.committed) == (3, 0)
    assert len(shop.fulfillments) == 1
    assert shop.fulfillments[0][1].tracking_number == "00340434161094042557"
    engine.run_once()  # the channel now reports the order shipped: no second deduction
    assert (engine.stock("A").on_hand, engine.stock("A").committed) == (3, 0)


def test_ship_partial_lines(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    shop.add_listing("B", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 5)
    engine.set_on_hand("B", 5)
    order = shop.place_order({"A": 2, "B": 1})
    engine.run_once()
    a_line = order.lines[0].line_id
    engine.ship("shop", order.order_id, cs.Shipment(carrier="UPS", lines={a_line: 1}))
    assert (engine.stock("A").on_hand, engine.stock("A").committed) == (4, 1)
    assert (engine.stock("B").on_hand, engine.stock("B").committed) == (5, 1)
    engine.run_once()
    assert shop.orders[order.order_id].status is cs.OrderStatus.PARTIALLY_SHIPPED
    assert (engine.stock("A").on_hand, engine.stock("A").committed) == (4, 1)


def test_ship_failure_stays_pending_and_is_retried(store: cs.Store, clock: Any) -> None:
    shop = FakeChannel("shop", clock=clock)
    shop.add_listing("A", 0)
    engine = engine_with(store, shop, clock=clock)
    engine.set_on_hand("A", 5)
    order = shop.place_order({"A": 1})
    engine.run_once()
    shop.fail("push_fulfillment", cs.Unavailable("down", status=503), times=3)
    assert engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL")) == "pending"
    assert engine.stock("A").on_hand == 4  # the warehouse truth changes at once
    clock.advance(60)
    report = engine.run_once()
    assert report.accounts["shop"].shipments_ok == 1
    assert len(shop.fulfillments) == 1


def test_ship_unknown_order_or_account(store: cs.Store) -> None:
    engine = engine_with(store, FakeChannel("shop"))
    with pytest.raises(cs.UnknownOrder, match="no order 'nope'"):
        engine.ship("shop", "nope", cs.Shipment(carrier="DHL"))
    with pytest.raises(cs.UnknownAccount, match="no channel account 'elsewhere'"):
        engine.ship("elsewhere", "1", cs.Shipment(carrier="DHL"))


def test_webhooks_apply_once_and_bad_signatures_change_nothing(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 5)
    headers, body = shop.webhook_for(shop.place_order({"A": 2}), event_id="evt-1")
    with pytest.raises(cs.WebhookVerificationError):
        engine.ingest_webhook("shop", headers, body.replace(b'"quantity": 2', b'"quantity": 9'))
    assert engine.stock("A").committed == 0
    events = engine.ingest_webhook("shop", headers, body)
    assert [e.kind for e in events] == ["order"]
    engine.ingest_webhook("shop", headers, body)  # redelivery
    assert engine.stock("A").committed == 2
    engine.run_once()  # and polling sees the same order: still once
    assert engine.stock("A").committed == 2


def test_min_poll_interval_is_honoured(store: cs.Store, clock: Any) -> None:
    limits = cs.ChannelLimits(stock_batch=10, price_batch=10, page_size=10, min_poll_interval=180)
    shop = FakeChannel("shop", limits=limits, clock=clock)
    engine = engine_with(store, shop, clock=clock)
    engine.run_once()
    engine.run_once()
    assert shop.calls["fetch_orders"] == 1
    clock.advance(181)
    engine.run_once()
    assert shop.calls["fetch_orders"] == 2


def test_channel_fulfilled_and_unmanaged_listings_are_never_pushed(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("FBA", 50, fulfilled_by_channel=True)
    shop.add_listing("NOSTOCK", 0, manages_stock=False)
    shop.add_listing("MINE", 0)
    engine = engine_with(store, shop)
    for sku in ("FBA", "NOSTOCK", "MINE"):
        engine.set_on_hand(sku, 4)
    engine.run_once()
    assert shop.quantities == {"FBA": 50, "NOSTOCK": 0, "MINE": 4}
    notes = {c.account: c.note for c in engine.stock("FBA").channels}
    assert notes == {"shop": "fulfilled by the channel (its stock, not ours)"}
    shop.place_order({"FBA": 5})
    engine.run_once()
    assert engine.stock("FBA").committed == 0  # Amazon ships FBA units from its own stock


def test_untracked_sku_is_never_pushed(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("NEW", 7)
    engine = engine_with(store, shop)
    report = engine.run_once()
    assert shop.quantities["NEW"] == 7
    shop.place_order({"NEW": 1})
    report = engine.run_once()
    assert report.unknown_skus == {"NEW"}
    assert shop.quantities["NEW"] == 6  # not zeroed: the merchant has not counted it yet
    engine.set_on_hand("NEW", 10)
    engine.run_once()
    assert shop.quantities["NEW"] == 9


def test_plan_is_a_dry_run(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop, rules={"shop": cs.Rule(buffer=1)})
    engine.import_listings()
    engine.set_on_hand("A", 5)
    plan = engine.plan()
    assert [(p.account, p.sku, p.quantity, p.acked) for p in plan] == [("shop", "A", 4, 0)]
    assert [s.step for s in plan[0].steps] == ["available", "buffer"]
    assert shop.calls["push_stock"] == 0


def test_prices_are_pushed(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0, "10.00")
    engine = engine_with(store, shop)
    engine.import_listings()
    assert engine.set_price("A", cs.Money.of("12.50", "EUR")) == 1
    report = engine.run_once()
    assert report.accounts["shop"].prices_ok == 1
    assert shop.prices["A"] == cs.Money.of("12.50", "EUR")


def test_privacy_redacts_and_keeps_figures(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    order = make_order().model_copy(
        update={
            "customer": cs.Customer(
                customer_id="c1", name="Erika Mustermann", email="Erika@example.com"
            ),
            "shipping_address": cs.Address(
                name="Erika Mustermann", lines=("Heidestr. 17",), city="Köln", country_code="DE"
            ),
            "raw": {"email": "erika@example.com"},
        }
    )
    engine.record_order(order)
    export = engine.privacy.export(emails=["erika@example.com"])
    assert export["orders"][0]["shipping_address"]["city"] == "Köln"
    assert engine.privacy.redact(emails=["ERIKA@example.com"]) == 1
    kept = engine.order("shop", "1001")
    assert (kept.customer, kept.shipping_address, kept.raw) == (None, None, {"redacted": True})
    assert kept.lines[0].quantity == 2
    engine.record_order(
        order.model_copy(update={"updated_at": order.updated_at + timedelta(minutes=1)})
    )
    assert engine.order("shop", "1001").customer is None  # a re-delivery does not bring it back
    assert engine.privacy.export(emails=["erika@example.com"])["orders"] == []


def test_run_forever_stops_on_sigterm(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    engine = engine_with(store, shop)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    before = signal.getsignal(signal.SIGTERM)
    engine.run_forever(poll_interval=0.05)
    timer.join()
    assert shop.calls["fetch_orders"] >= 1
    assert signal.getsignal(signal.SIGTERM) is before


def test_duplicate_account_names_are_refused(store: cs.Store) -> None:
    with pytest.raises(cs.ConfigError, match="share the account name 'x'"):
        cs.SyncEngine(store, [FakeChannel("x"), FakeChannel("x")])


def test_order_of_another_account_is_refused_by_the_lane(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    engine = engine_with(store, shop)
    lane = engine._lane("shop")
    with pytest.raises(ValueError, match="belongs to 'other'"):
        lane.apply([make_order(account="other")], advance_cursor=True)


def test_a_webhook_that_failed_to_apply_stays_in_the_inbox_and_applies_once(
    store: cs.Store, monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop, clock=clock)
    engine.set_on_hand("A", 5)
    headers, body = shop.webhook_for(shop.place_order({"A": 2}), event_id="evt-9")

    def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("database went away mid-apply")

    monkeypatch.setattr(OrderBook, "apply", broken)
    events = engine.ingest_webhook("shop", headers, body)  # verified and kept: not lost
    monkeypatch.undo()
    assert [e.event_id for e in events] == ["evt-9"]
    [pending] = engine.inbox_pending()
    assert (pending.delivery_id, pending.attempts, pending.status) == ("evt-9", 1, "pending")
    assert pending.last_error == "RuntimeError: database went away mid-apply"
    assert engine.stock("A").committed == 0
    # The channel redelivers the same event: recognised, not stored or applied twice.
    engine.ingest_webhook("shop", headers, body)
    assert len(engine.inbox_pending()) == 1
    clock.advance(5)  # its backoff
    engine.run_once()
    assert engine.inbox_pending() == []
    assert engine.stock("A").committed == 2
    engine.ingest_webhook("shop", headers, body)
    engine.run_once()
    assert engine.stock("A").committed == 2


def test_privacy_webhooks_redact_in_the_store(store: cs.Store) -> None:
    class PrivacyChannel(FakeChannel):
        def parse_webhook(self, headers: Any, body: bytes) -> list[cs.WebhookEvent]:
            super().parse_webhook(headers, body)  # verifies the signature
            return [
                cs.WebhookEvent(kind="customer_redact", event_id="r1", customer_emails=("e@x.de",))
            ]

    shop = PrivacyChannel("shop")
    engine = engine_with(store, shop)
    order = make_order(account="shop").model_copy(
        update={"customer": cs.Customer(email="e@x.de", name="E")}
    )
    engine.record_order(order)
    headers, body = shop.webhook_for(order)
    engine.ingest_webhook("shop", headers, body)
    assert engine.order("shop", "1001").customer is None


def test_a_pause_longer_than_the_retry_budget_is_not_slept(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.fail("fetch_orders", cs.RateLimited("daily quota used up", retry_after=20 * 3600))
    waits: list[float] = []
    policy = cs.RetryPolicy(attempts=5, sleep=waits.append, jitter=lambda: 0.0, max_total=300)
    report = cs.SyncEngine(store, [shop], retry=policy).run_once()
    assert waits == []
    assert report.accounts["shop"].errors == ["RateLimited: daily quota used up"]


def test_small_batch_channels_get_claims_that_fill_bulk_calls(store: cs.Store) -> None:
    limits = cs.ChannelLimits(stock_batch=4, price_batch=4, page_size=10)
    shop = FakeChannel("shop", limits=limits)
    for i in range(1000):
        shop.add_listing(f"S{i:04d}", 0)
    sizes: list[int] = []
    push = shop.push_stock

    def counted(updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
        sizes.append(len(updates))
        return push(updates)

    shop.push_stock = counted  # type: ignore[method-assign]
    engine = engine_with(store, shop)
    engine.set_on_hand_many({f"S{i:04d}": 3 for i in range(1000)})
    engine.run_once()
    # One claim of 1,000 rows handed to the channel at once: it batches by 4 itself.
    assert sizes == [1000]
    assert shop.calls["push_stock"] == 250
    assert set(shop.quantities.values()) == {3}


@pytest.mark.parametrize("cas", [False, True])
def test_a_sale_under_a_cap_is_topped_up_on_the_selling_channel(store: cs.Store, cas: bool) -> None:
    shop, other = FakeChannel("shop", compare_and_set=cas), FakeChannel("other")
    for ch in (shop, other):
        ch.add_listing("A", 0)
    engine = engine_with(store, shop, other, rules={"shop": cs.Rule(cap=12)})
    engine.set_on_hand("A", 100)
    engine.run_once()
    assert (shop.quantities["A"], other.quantities["A"]) == (12, 100)
    shop.place_order({"A": 1})  # the channel lowers its own listing to 11
    assert shop.quantities["A"] == 11
    report = engine.run_once()
    # Desired stays 12 (the cap), but the channel moved: it is pushed back to 12.
    assert (shop.quantities["A"], other.quantities["A"]) == (12, 99)
    assert report.accounts["shop"].conflicts == 0
    assert engine.plan() == []
    assert engine.stock("A").channels[0].pending is False


def test_orders_and_shipments_queries(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0, "5.00")
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 9)
    first = shop.place_order({"A": 2})
    second = shop.place_order({"A": 1})
    engine.run_once()
    listed = engine.orders()
    assert [(o.order_id, o.status, o.lines, o.units) for o in listed] == [
        (second.order_id, "open", 1, 1),
        (first.order_id, "open", 1, 2),
    ]
    assert listed[0].total == "5.00"
    shop.fail("push_fulfillment", cs.Unavailable("down"), times=5)
    engine.ship("shop", first.order_id, cs.Shipment(carrier="DHL", tracking_number="T1"))
    pending = engine.shipments(status=["pending"])
    assert [(s.order_id, s.carrier, s.tracking_number, s.attempts) for s in pending] == [
        (first.order_id, "DHL", "T1", 1)
    ]
    assert engine.orders(account="shop", status=["shipped"]) == []
    assert engine.orders(account="elsewhere") == []
    with pytest.raises(ValueError, match="shipment status"):
        engine.shipments(status=["lost"])


def test_coverage_names_partly_listed_and_uncounted_skus(store: cs.Store) -> None:
    a, b = FakeChannel("a"), FakeChannel("b")
    a.add_listing("BOTH", 0)
    b.add_listing("BOTH", 0)
    a.add_listing("ONLY-A", 0)
    engine = engine_with(store, a, b)
    engine.import_listings()
    engine.set_on_hand("BOTH", 1)
    cov = engine.coverage()
    assert cov.missing() == {"ONLY-A": ["b"]}
    assert cov.untracked == {"ONLY-A"}


def test_reconcile_finds_drift_and_fix_corrects_it(store: cs.Store) -> None:
    shop = FakeChannel("shop", compare_and_set=True)
    shop.add_listing("A", 0)
    shop.add_listing("B", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 5)
    engine.set_on_hand("B", 5)
    engine.run_once()
    shop.quantities["A"] = 40  # someone typed a number into the channel's back office
    result = engine.reconcile("shop")
    assert [(d.sku, d.shows, d.should, d.difference) for d in result.drift] == [("A", 40, 5, 35)]
    assert (result.listings, result.in_sync) == (2, 1)
    assert engine.plan() == []  # reading changes nothing
    fixed = engine.reconcile("shop", fix=True)
    assert fixed.queued == 1
    engine.run_once()
    assert shop.quantities["A"] == 5
    assert engine.reconcile("shop").drift == []


def test_rules_changed_between_runs_apply_on_the_first_cycle(db_url: str) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    with cs.open_store(db_url) as store:
        engine_with(store, shop).set_on_hand("A", 10)
        engine_with(store, shop).run_once()
    assert shop.quantities["A"] == 10
    with cs.open_store(db_url) as store:
        engine_with(store, shop, rules={"shop": cs.Rule(cap=3)}).run_once()
    assert shop.quantities["A"] == 3


def test_engine_closes_its_channels(store: cs.Store) -> None:
    closed: list[str] = []

    class Closing(FakeChannel):
        def close(self) -> None:
            closed.append(self.account)

    with engine_with(store, Closing("a"), FakeChannel("b")):
        pass
    assert closed == ["a"]


def test_channel_that_reduces_stock_only_when_paid_is_corrected(store: cs.Store) -> None:
    """WooCommerce reduces a listing when a pending order is paid, not when it is placed."""
    shop, other = FakeChannel("woo"), FakeChannel("other")
    for ch in (shop, other):
        ch.add_listing("A", 0)
    engine = engine_with(store, shop, other, rules={"woo": cs.Rule(cap=10)})
    engine.set_on_hand("A", 50)
    engine.run_once()
    order = shop.place_order({"A": 2}, status=cs.OrderStatus.PENDING)
    shop.quantities["A"] += 2  # pending: WooCommerce has not reduced stock yet
    engine.run_once()
    assert (shop.quantities["A"], other.quantities["A"]) == (10, 48)
    shop.update_order(order.order_id, status=cs.OrderStatus.OPEN)
    shop.quantities["A"] -= 2  # paid: now it reduces its own stock
    engine.run_once()
    assert (shop.quantities["A"], other.quantities["A"]) == (10, 48)


def test_a_plain_sale_costs_the_selling_channel_no_push(store: cs.Store) -> None:
    shop, other = FakeChannel("shop"), FakeChannel("other")
    for ch in (shop, other):
        ch.add_listing("A", 0)
    engine = engine_with(store, shop, other)
    engine.set_on_hand("A", 20)
    engine.run_once()
    order = shop.place_order({"A": 2})  # the shop shows 18 by itself, which is right
    engine.run_once()
    assert [[u.quantity for u in b] for b in shop.pushed] == [[20]]
    assert [[u.quantity for u in b] for b in other.pushed] == [[20], [18]]
    engine.ship("shop", order.order_id, cs.Shipment(carrier="DHL"))
    engine.run_once()  # shipping moves nothing on the channel: still no push
    assert len(shop.pushed) == 1
    assert (shop.quantities["A"], other.quantities["A"]) == (18, 18)


def test_a_cancellation_the_channel_did_not_restock_is_corrected(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 20)
    engine.run_once()
    order = shop.place_order({"A": 2})
    engine.run_once()
    shop.update_order(order.order_id, status=cs.OrderStatus.CANCELLED)  # no restock: shows 18
    engine.run_once()
    assert shop.quantities["A"] == 20


def test_an_unreadable_order_never_blocks_the_order_stream(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 10)
    before = shop.place_order({"A": 1})
    shop.add_unreadable_order("BAD-1", "line 2: quantity_shipped (3) exceeds quantity (2)")
    after = shop.place_order({"A": 2})
    report = engine.run_once()
    assert report.ok
    assert (report.orders_seen, report.orders_new, report.orders_failed) == (3, 2, 1)
    assert engine.stock("A").committed == 3  # the orders on both sides of it were applied
    failures = engine.order_failures()
    assert [(f.account, f.order_id, f.times) for f in failures] == [("shop", "BAD-1", 1)]
    assert "exceeds quantity" in failures[0].error
    assert {before.order_id, after.order_id} <= {o.order_id for o in engine.orders()}
    # The merchant fixes the order on the channel: it is read, applied, and the failure goes.
    shop.place_order({"A": 4}, order_id="BAD-1")
    engine.run_once()
    assert engine.order_failures() == []
    assert engine.stock("A").committed == 7


def test_a_deleted_order_releases_its_units(store: cs.Store) -> None:
    class Deleting(FakeChannel):
        def parse_webhook(self, headers: Any, body: bytes) -> list[cs.WebhookEvent]:
            super().parse_webhook(headers, body)  # verifies the signature
            order_id = json.loads(body)["order"]["order_id"]
            return [
                cs.WebhookEvent(kind="order_deleted", event_id=f"del-{order_id}", order_id=order_id)
            ]

    shop = Deleting("shop")
    shop.add_listing("A", 0)
    engine = engine_with(store, shop)
    engine.set_on_hand("A", 10)
    order = shop.place_order({"A": 3})
    engine.run_once()
    assert engine.stock("A").committed == 3
    engine.ingest_webhook("shop", *shop.webhook_for(order))
    assert engine.stock("A").committed == 0
    assert engine.order("shop", order.order_id).raw_status == "deleted"
    engine.ingest_webhook(
        "shop", *shop.webhook_for(shop.place_order({"A": 1}, order_id="NEVER-SEEN"))
    )
    assert engine.stock("A").committed == 0  # an order never seen: nothing to release


def test_a_stop_before_run_forever_returns_at_once_and_it_can_run_again(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    engine = engine_with(store, shop)
    engine.stop()  # e.g. SIGTERM while the worker was still starting
    engine.run_forever(poll_interval=0.01, install_signal_handlers=False)
    assert shop.calls["fetch_orders"] == 0
    timer = threading.Timer(0.2, engine.stop)
    timer.start()
    engine.run_forever(poll_interval=0.01, install_signal_handlers=False)
    timer.join()
    assert shop.calls["fetch_orders"] >= 1


def test_open_orders_are_re_read_when_their_change_time_did_not_move(
    store: cs.Store, clock: Any
) -> None:
    shop = FakeChannel("shop", clock=clock)
    shop.add_listing("A", 0)
    engine = engine_with(store, shop, clock=clock, reread_open_after=timedelta(hours=6))
    engine.set_on_hand("A", 10)
    order = shop.place_order({"A": 3})
    engine.run_once()
    clock.advance(3600)
    later = shop.place_order({"A": 1})  # the order cursor moves on past the first order
    engine.run_once()
    assert engine.stock("A").committed == 4
    # A partial refund that WooCommerce (before 7.6) records without touching date_modified.
    line_id = order.lines[0].line_id
    shop.edit_silently(order.order_id, lines=[line(line_id, "A", 3, quantity_cancelled=1)])
    engine.run_once()
    assert engine.stock("A").committed == 4  # polling by change time cannot see it
    assert shop.calls["read_order"] == 0
    clock.advance(6 * 3600)
    report = engine.run_once()
    # Only the first order went unseen for six hours (the later one was applied an hour on).
    assert report.accounts["shop"].orders_reread == 1
    assert engine.stock("A").committed == 3
    engine.run_once()  # checked: not re-read again until another six hours pass
    assert shop.calls["read_order"] == 1
    clock.advance(3600)
    engine.run_once()  # now the later order is due
    assert shop.calls["read_order"] == 2
    assert engine.stock("A").committed == 3
    assert engine.order("shop", later.order_id).lines[0].quantity == 1


def test_customer_file(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    erika = cs.Customer(customer_id="c1", name="Erika Mustermann", email="erika@example.org")
    for i, (customer, total, currency) in enumerate(
        [(erika, "10.00", "EUR"), (erika, "5.50", "EUR"), (erika, "7.00", "CHF"),
         (cs.Customer(email="Max@Example.org", name="Max"), "3.00", "EUR")]
    ):  # fmt: skip
        order = make_order(str(2000 + i), minute=i).model_copy(
            update={
                "customer": customer,
                "created_at": T0 + timedelta(days=i),
                "updated_at": T0 + timedelta(days=i),
                "total": cs.Money.of(total, currency),
                "currency": currency,
            }
        )
        engine.record_order(order)
    file = engine.customers()
    assert [(c.email, c.name, c.orders) for c in file] == [
        ("Max@Example.org", "Max", 1),
        ("erika@example.org", "Erika Mustermann", 3),
    ]
    assert file[1].revenue == {"EUR": Decimal("15.50"), "CHF": Decimal("7.00")}
    assert (file[1].first_order_at, file[1].last_order_at) == (T0, T0 + timedelta(days=2))
    engine.privacy.redact(emails=["erika@example.org"])
    assert [c.email for c in engine.customers()] == ["Max@Example.org"]
