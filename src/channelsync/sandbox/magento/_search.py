"""``searchCriteria`` as Magento reads it from a query string, applied to the fake's rows.

Magento turns ``searchCriteria[filter_groups][0][filters][0][field]=sku`` into nested
arrays (PHP's ``parse_str``); filters within a group are ORed, groups ANDed; ``sortOrders``
apply in order; ``currentPage`` past the last page answers the last page again (a
collection clamps its current page); ``pageSize`` above the store's *Maximum Page Size*
is refused when input limits are on, and a missing one is the *Default Page Size*.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = ["Criteria", "SearchError", "paginate", "parse_criteria"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_CONDITIONS = frozenset(
    {
        "eq",
        "neq",
        "gt",
        "gteq",
        "lt",
        "lteq",
        "in",
        "nin",
        "like",
        "nlike",
        "null",
        "notnull",
        "from",
        "to",
        "moreq",
        "finset",
        "nfinset",
    }
)


class SearchError(Exception):
    """A refused search: ``message`` with ``parameters``, answered as 400."""

    def __init__(self, message: str, parameters: Mapping[str, Any] | list[Any] | None = None):
        super().__init__(message)
        self.message = message
        self.parameters = parameters


@dataclass
class Criteria:
    """A parsed ``searchCriteria``."""

    groups: list[list[tuple[str, str, str]]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int = 1


def _nest(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        found = _KEY.match(key)
        if not found:
            continue
        parts = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return root


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SearchError(
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and'
            " try again.",
            {"value": str(value), "type": "int"},
        ) from None


def parse_criteria(pairs: Sequence[tuple[str, str]]) -> Criteria:
    """``searchCriteria`` from a query string's (key, value) pairs."""
    tree = _nest(pairs).get("searchCriteria", {})
    criteria = Criteria()
    if not isinstance(tree, dict):
        return criteria
    groups = _mapping(tree.get("filter_groups", tree.get("filterGroups")))
    for _, group in sorted(groups.items(), key=lambda kv: _int(kv[0], "index")):
        filters = _mapping(group.get("filters")) if isinstance(group, dict) else {}
        parsed: list[tuple[str, str, str]] = []
        for _, flt in sorted(filters.items(), key=lambda kv: _int(kv[0], "index")):
            if not isinstance(flt, dict) or "field" not in flt:
                continue
            condition = flt.get("condition_type", flt.get("conditionType", "eq")) or "eq"
            if condition not in _CONDITIONS:
                raise SearchError('Invalid condition type "%1".', [condition])
            parsed.append((flt["field"], str(flt.get("value", "")), condition))
        if parsed:
            criteria.groups.append(parsed)
    orders = _mapping(tree.get("sortOrders", tree.get("sort_orders")))
    for _, order in sorted(orders.items(), key=lambda kv: _int(kv[0], "index")):
        if isinstance(order, dict) and order.get("field"):
            direction = str(order.get("direction", "ASC")).upper()
            criteria.sort.append((order["field"], "DESC" if direction == "DESC" else "ASC"))
    if "pageSize" in tree:
        criteria.page_size = _int(tree["pageSize"], "pageSize")
    if "currentPage" in tree:
        criteria.current_page = max(1, _int(tree["currentPage"], "currentPage"))
    return criteria


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(left: Any, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None and not isinstance(left, str):
        return (a > b) - (a < b)
    # MySQL's default collations (utf8mb4_general_ci) compare text without case.
    x, y = str(left if left is not None else "").casefold(), right.casefold()
    return (x > y) - (x < y)


def _like(value: Any, pattern: str) -> bool:
    regex = "^" + ".*".join(re.escape(p).replace("_", ".") for p in pattern.split("%")) + "$"
    return re.match(regex, str(value if value is not None else ""), re.IGNORECASE) is not None


@lru_cache(maxsize=64)
def _values(raw: str) -> frozenset[str]:
    """The values of an ``in``/``nin`` filter (parsed once per search, not once per row)."""
    return frozenset(v.strip().casefold() for v in raw.split(","))


def _matches(value: Any, raw: str, condition: str) -> bool:
    if condition == "null":
        return value is None
    if condition == "notnull":
        return value is not None
    if condition in ("in", "nin"):
        hit = str(value).casefold() in _values(raw)
        return hit if condition == "in" else not hit
    if condition == "like":
        return _like(value, raw)
    if condition == "nlike":
        return not _like(value, raw)
    if value is None:
        return False
    cmp = _compare(value, raw)
    return {
        "eq": cmp == 0,
        "neq": cmp != 0,
        "gt": cmp > 0,
        "gteq": cmp >= 0,
        "moreq": cmp >= 0,
        "from": cmp >= 0,
        "lt": cmp < 0,
        "lteq": cmp <= 0,
        "to": cmp <= 0,
        "finset": str(raw) in str(value).split(","),
        "nfinset": str(raw) not in str(value).split(","),
    }[condition]


def paginate(
    rows: Sequence[Any],
    criteria: Criteria,
    *,
    get: Callable[[Any, str], Any],
    max_page_size: int | None,
    default_page_size: int | None,
) -> tuple[list[Any], int, dict[str, Any]]:
    """(page of rows, total_count, search_criteria echo) of ``rows`` under ``criteria``."""
    size = criteria.page_size
    if size is None:
        size = default_page_size
    if size is not None and max_page_size is not None and size > max_page_size:
        raise SearchError("Maximum SearchCriteria pageSize is %max", {"max": max_page_size})
    if size is not None and size < 1:
        size = None  # pageSize 0 means "no limit" to a collection
    hits = [
        r
        for r in rows
        if all(any(_matches(get(r, f), v, c) for f, v, c in group) for group in criteria.groups)
    ]
    for name, direction in reversed(criteria.sort):

        def key(row: Any, name: str = name) -> tuple[int, Any]:
            return _sort_key(get(row, name))

        hits.sort(key=key, reverse=direction == "DESC")
    total = len(hits)
    page = criteria.current_page
    if size is not None:
        last = max(1, -(-total // size))
        page = min(page, last)  # Magento's collection answers the last page again
        chunk = hits[(page - 1) * size : page * size]
    else:
        chunk = hits
    echo: dict[str, Any] = {
        "filter_groups": [
            {"filters": [{"field": f, "value": v, "condition_type": c} for f, v, c in group]}
            for group in criteria.groups
        ]
    }
    if criteria.sort:
        echo["sort_orders"] = [{"field": f, "direction": d} for f, d in criteria.sort]
    if size is not None:
        echo["page_size"] = size
    echo["current_page"] = criteria.current_page
    return chunk, total, echo


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    number = _number(value) if not isinstance(value, str) else None
    if number is not None:
        return (1, number)
    return (2, str(value))
