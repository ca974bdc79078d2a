"""The Magento fake's searchCriteria matching, as MySQL's default collation compares text."""

from __future__ import annotations

from typing import Any

from channelsync.sandbox.magento._search import paginate, parse_criteria

ROWS = [{"sku": "Mug-1", "qty": 5}, {"sku": "TEE-M", "qty": 12}, {"sku": "cap", "qty": 0}]


def _skus(pairs: list[tuple[str, str]]) -> list[str]:
    def get(row: Any, name: str) -> Any:
        return row[name]

    hits, total, _ = paginate(
        ROWS, parse_criteria(pairs), get=get, max_page_size=None, default_page_size=None
    )
    assert total == len(hits)
    return [r["sku"] for r in hits]


def _filter(value: str, condition: str) -> list[tuple[str, str]]:
    base = "searchCriteria[filter_groups][0][filters][0]"
    return [
        (f"{base}[field]", "sku"),
        (f"{base}[value]", value),
        (f"{base}[condition_type]", condition),
    ]


def test_text_matches_without_case_as_mysql_compares_it() -> None:
    assert _skus(_filter("MUG-1,tee-m", "in")) == ["Mug-1", "TEE-M"]
    assert _skus(_filter("mug-1", "eq")) == ["Mug-1"]
    assert _skus(_filter("CAP", "nin")) == ["Mug-1", "TEE-M"]
    assert _skus(_filter("m%", "like")) == ["Mug-1"]


def test_numbers_compare_as_numbers() -> None:
    base = "searchCriteria[filter_groups][0][filters][0]"
    pairs = [
        (f"{base}[field]", "qty"),
        (f"{base}[value]", "5"),
        (f"{base}[condition_type]", "gteq"),
    ]
    assert _skus(pairs) == ["Mug-1", "TEE-M"]
