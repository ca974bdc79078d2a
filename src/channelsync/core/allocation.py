"""From ledger figures to the quantity each channel listing shows: pure functions.

The pipeline, each step recorded so ``engine.explain(sku, account)`` can show it::

    available (bundle: min over components of floor(available / qty))
      → buffer (subtract) → share (fraction, rounded down) → cap (at most)
      → min_to_list (below it, show 0) → never below 0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AllocationStep", "Rule", "allocate", "bundle_available", "shown"]


class Rule(BaseModel):
    """How much of a SKU's available stock one channel account shows.

    Set per account, optionally overridden per SKU::

        SyncEngine(store, channels, rules={
            "ebay-de": Rule(buffer=2, cap=10),           # every SKU on ebay-de
            ("ebay-de", "SKU-1"): Rule(enabled=False),   # but never push SKU-1 there
        })

    Attributes:
        buffer: units held back from this channel (subtracted first).
        share: the fraction of the rest this channel may sell, rounded down.
        cap: show at most this many.
        min_to_list: below this, show 0 (avoid listing the last unit everywhere).
        enabled: False stops pushing stock for this account (or SKU) entirely.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    buffer: int = Field(default=0, ge=0)
    share: float = Field(default=1.0, ge=0.0, le=1.0)
    cap: int | None = Field(default=None, ge=0)
    min_to_list: int = Field(default=0, ge=0)
    enabled: bool = True

    @field_validator("share")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("share must be a finite fraction between 0 and 1")
        return value


@dataclass(frozen=True)
class AllocationStep:
    """One step of the pipeline: its name, what it did, and the quantity after it."""

    step: str
    detail: str
    quantity: int


def bundle_available(components: Mapping[str, int], available: Mapping[str, int]) -> int:
    """What a bundle can show: ``min(floor(available(c) / qty(c)))`` over its components.

    A component with no ledger figure counts as 0 available.
    """
    if not components:
        return 0
    return min(available.get(sku, 0) // qty for sku, qty in components.items())


def shown(available: int, rule: Rule) -> int:
    """The quantity ``allocate`` ends with, without recording the steps (the hot path)."""
    qty = available - rule.buffer
    if rule.share != 1.0:
        qty = int(
            (Decimal(max(qty, 0)) * Decimal(str(rule.share))).to_integral_value(
                rounding=ROUND_FLOOR
            )
        )
    if rule.cap is not None and qty > rule.cap:
        qty = rule.cap
    if rule.min_to_list and qty < rule.min_to_list:
        return 0
    return max(qty, 0)


def allocate(available: int, rule: Rule) -> list[AllocationStep]:
    """Apply ``rule`` to ``available`` and return every step; the last one is the result."""
    steps = [AllocationStep("available", "ledger: on_hand - committed", available)]
    qty = available
    if rule.buffer:
        qty -= rule.buffer
        steps.append(AllocationStep("buffer", f"minus {rule.buffer}", qty))
    if rule.share != 1.0:
        shared = Decimal(max(qty, 0)) * Decimal(str(rule.share))
        qty = int(shared.to_integral_value(rounding=ROUND_FLOOR))
        steps.append(AllocationStep("share", f"x {rule.share}, rounded down", qty))
    if rule.cap is not None and qty > rule.cap:
        qty = rule.cap
        steps.append(AllocationStep("cap", f"at most {rule.cap}", qty))
    if rule.min_to_list and qty < rule.min_to_list:
        qty = 0
        steps.append(AllocationStep("min_to_list", f"below {rule.min_to_list}: 0", qty))
    if qty < 0:
        qty = 0
        steps.append(AllocationStep("floor", "never below 0", qty))
    return steps
