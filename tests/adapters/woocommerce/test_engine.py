"""A WooCommerce shop under SyncEngine: import, pull, push, ship."""

from __future__ import annotations

from typing import Any

import channelsync as cs
from channelsync.core.models import Shipment


def test_engine_cycle_against_the_fake(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("SKU-1", quantity=0, price="19.99")
    fake.seed_variable("TEE", {"TEE-S": (0, "10.00"), "TEE-M": (0, "10.00")})
    engine = cs.SyncEngine(store, channels=[channel], rules={"woo-main": cs.Rule(buffer=1)})
    engine.set_on_hand("SKU-1", 10)
    engine.set_on_hand("TEE-S", 5)
    engine.set_on_hand("TEE-M", 3)

    report = engine.run_once()
    assert report.accounts["woo-main"].ok, report.accounts["woo-main"].errors
    assert report.accounts["woo-main"].listings_imported == 3
    assert [fake.quantity(s) for s in ("SKU-1", "TEE-S", "TEE-M")] == [9, 4, 2]
    assert fake.calls["products/batch"] == 1
    assert fake.calls["variations/batch"] == 1

    order_id = fake.place_order("TEE-S", 2)  # the shop lowers its own stock to 2
    assert fake.quantity("TEE-S") == 2
    report = engine.run_once()
    assert report.accounts["woo-main"].orders_new == 1
    view = engine.stock("TEE-S")
    assert (view.on_hand, view.committed, view.available) == (5, 2, 3)
    assert fake.quantity("TEE-S") == 2  # available 3 minus the buffer of 1

    engine.set_on_hand("SKU-1", 4)
    engine.run_once()
    assert fake.quantity("SKU-1") == 3

    engine.ship("woo-main", order_id, Shipment(carrier="DHL", tracking_number="JD01"))
    assert fake.order_json(order_id)["status"] == "completed"
    assert [n["note"] for n in fake.notes(order_id) if n["customer_note"]] == [
        "Shipped with DHL, tracking number JD01."
    ]
    engine.run_once()
    view = engine.stock("TEE-S")
    assert (view.on_hand, view.committed) == (3, 0)
    assert fake.quantity("TEE-S") == 2
