"""The engine with an Amazon account on the fake: orders commit stock, FBA never does."""

from __future__ import annotations

import channelsync as cs
from channelsync.sandbox.amazon import AmazonFake


def test_engine_cycle_with_amazon(amazon_fake: AmazonFake, store: cs.Store) -> None:
    amazon_fake.seed_listing("ENG-MFN", quantity=0, price="15.00")
    amazon_fake.seed_listing("ENG-FBA", quantity=50, price="15.00", fulfilled_by="AMAZON")
    channel = amazon_fake.channel(account="amazon-eu")
    engine = cs.SyncEngine(store, channels=[channel])
    engine.set_on_hand("ENG-MFN", 10)
    engine.set_on_hand("ENG-FBA", 4)  # our own warehouse stock of the same SKU

    first = engine.run_once()
    report = first.accounts["amazon-eu"]
    assert report.ok, report.errors
    assert report.listings_imported == 2
    assert amazon_fake.quantity("ENG-MFN") == 10
    assert amazon_fake.quantity("ENG-FBA") == 50  # Amazon's stock: never written
    assert amazon_fake.fulfilled_by("ENG-FBA") == "AMAZON"

    amazon_fake.place_order("ENG-MFN", 3)
    amazon_fake.place_order("ENG-FBA", 2)
    # Amazon asks for order polls about every 3 minutes: force this one.
    pulled = engine.pull("amazon-eu")
    assert pulled is not None
    mfn = engine.stock("ENG-MFN")
    assert (mfn.on_hand, mfn.committed) == (10, 3)
    fba = engine.stock("ENG-FBA")
    assert (fba.on_hand, fba.committed) == (4, 0)  # an FBA line changes nothing of ours
    engine.run_once()
    assert amazon_fake.quantity("ENG-MFN") == 7
    assert amazon_fake.calls["createFeed"] == 0
