"""Magento sources as locations: the engine maps its locations to source codes."""

from __future__ import annotations

import channelsync as cs
from channelsync.sandbox import Sandbox


def test_each_source_is_pushed_what_its_location_holds(store: cs.Store) -> None:
    with Sandbox(channels=["magento"]) as sb:
        fake = sb.magento
        for source in ("berlin_wh", "hamburg_wh"):
            fake.seed_listing("MUG", quantity=0, price="9.00", source=source)
        channel = fake.channel(sources={"berlin": "berlin_wh", "hamburg": "hamburg_wh"})
        engine = cs.SyncEngine(
            store,
            [channel],
            locations={"magento-main": {"berlin": "berlin_wh", "hamburg": "hamburg_wh"}},
        )
        engine.set_on_hand("MUG", 4, location="berlin")
        engine.set_on_hand("MUG", 9, location="hamburg")
        report = engine.run_once()
        assert report.ok, report.accounts["magento-main"].errors
        assert (
            fake.source_quantity("MUG", "berlin_wh"),
            fake.source_quantity("MUG", "hamburg_wh"),
        ) == (4, 9)
        assert engine.plan() == []
        engine.transfer("MUG", 2, "hamburg", "berlin")
        engine.run_once()
        assert (
            fake.source_quantity("MUG", "berlin_wh"),
            fake.source_quantity("MUG", "hamburg_wh"),
        ) == (6, 7)
