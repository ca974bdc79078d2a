"""``searchCriteria`` query parameters, as Magento's ``getList`` routes read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Condition", "SearchCriteria"]

Condition = Literal[
    "eq", "neq", "gt", "gteq", "lt", "lteq", "in", "nin", "like", "null", "notnull", "from", "to"
]


@dataclass(frozen=True)
class _Filter:
    field: str
    value: str
    condition: Condition


@dataclass
class SearchCriteria:
    """Filters (ANDed groups of ORed filters), sort orders and a page.

    ::

        SearchCriteria(page_size=100).where("updated_at", "2024-05-01 10:00:00", "gteq")
            .order("updated_at").order("entity_id").params()
    """

    page_size: int
    current_page: int = 1
    groups: list[list[_Filter]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)

    def where(self, name: str, value: str | int, condition: Condition = "eq") -> SearchCriteria:
        """AND a filter (a group of its own)."""
        self.groups.append([_Filter(name, str(value), condition)])
        return self

    def order(self, name: str, direction: Literal["ASC", "DESC"] = "ASC") -> SearchCriteria:
        """Sort by ``name`` after the sort orders given so far."""
        self.sort.append((name, direction))
        return self

    def page(self, number: int) -> SearchCriteria:
        """Ask for page ``number`` (1-based)."""
        self.current_page = number
        return self

    def params(self) -> dict[str, str]:
        """The query parameters."""
        out: dict[str, str] = {}
        for g, group in enumerate(self.groups):
            for f, flt in enumerate(group):
                prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
                out[f"{prefix}[field]"] = flt.field
                out[f"{prefix}[value]"] = flt.value
                out[f"{prefix}[condition_type]"] = flt.condition
        for i, (name, direction) in enumerate(self.sort):
            out[f"searchCriteria[sortOrders][{i}][field]"] = name
            out[f"searchCriteria[sortOrders][{i}][direction]"] = direction
        out["searchCriteria[pageSize]"] = str(self.page_size)
        out["searchCriteria[currentPage]"] = str(self.current_page)
        return out
