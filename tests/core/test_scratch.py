"""The on-disk set a catalogue scan keeps, and the reconcile scan that uses it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import channelsync as cs
from channelsync.core.scratch import DiskSet
from channelsync.testing import FakeChannel


def test_disk_set_reports_first_sight_only_and_membership() -> None:
    with DiskSet() as seen:
        assert seen.add_new(["B", "A", "B", "C"]) == ["B", "A", "C"]
        assert seen.add_new(["C", "D", "A", "E"]) == ["D", "E"]
        assert seen.size == 5
        assert seen.present(["A", "X", "E", "Y"]) == {"A", "E"}
        path = seen._path
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_disk_set_handles_more_keys_than_one_statement_takes() -> None:
    keys = [f"SKU-{i:05d}" for i in range(5000)]
    with DiskSet() as seen:
        assert seen.add_new(keys) == keys
        assert seen.add_new(keys[::-1]) == []
        assert seen.present([*keys[2000:2500], "NOPE"]) == set(keys[2000:2500])


class ShiftingPages(FakeChannel):
    """Lists SKU-2 twice (a page that shifted) and no longer lists SKU-4."""

    hide = "SKU-4"

    def fetch_listings(self) -> Iterator[cs.Listing]:
        listed = [x for x in super().fetch_listings() if x.sku != self.hide]
        return chain(listed[:2], listed[1:])


def test_reconcile_compares_a_repeated_listing_once_and_finds_what_is_gone(tmp_path: Path) -> None:
    channel = ShiftingPages(account="shop")
    for sku, qty in (("SKU-1", 5), ("SKU-2", 3), ("SKU-3", 7), ("SKU-4", 1)):
        channel.add_listing(sku, qty)
    engine = cs.SyncEngine(cs.open_store(f"sqlite:///{tmp_path / 'shop.db'}"), [channel])
    try:
        channel.hide = ""  # the import sees all four
        engine.import_listings()
        engine.set_on_hand_many({"SKU-1": 5, "SKU-2": 3, "SKU-3": 9, "SKU-4": 1})
        channel.hide = "SKU-4"
        report = engine.reconcile("shop")
    finally:
        engine.close()
    assert report.listings == 4  # SKU-1, SKU-2, SKU-2 again, SKU-3
    assert report.in_sync == 2  # SKU-1 and SKU-2, counted once
    assert [(d.sku, d.shows, d.should) for d in report.drift] == [("SKU-3", 7, 9)]
    assert report.gone == ["SKU-4"]
