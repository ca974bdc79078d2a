"""What the engine's methods return: cycle reports, stock views, explanations and the like.

Plain dataclasses, importable from one place (``from channelsync.results import
CycleReport``); the most used ones are also at the top of the package.
"""

from __future__ import annotations

from channelsync.core.inbox import PendingEvent
from channelsync.core.lanes import ImportResult
from channelsync.core.ledger import ApplyResult, JournalEntry
from channelsync.core.results import (
    AccountReport,
    AccountStatus,
    ChannelStock,
    Coverage,
    CustomerSummary,
    CycleReport,
    Drift,
    Explanation,
    FailedOrder,
    OrderSummary,
    PlannedPush,
    Received,
    ReconcileResult,
    ShipmentRecord,
    Status,
    StockView,
    WorkerStatus,
)

__all__ = [
    "AccountReport",
    "AccountStatus",
    "ApplyResult",
    "ChannelStock",
    "Coverage",
    "CustomerSummary",
    "CycleReport",
    "Drift",
    "Explanation",
    "FailedOrder",
    "ImportResult",
    "JournalEntry",
    "OrderSummary",
    "PendingEvent",
    "PlannedPush",
    "Received",
    "ReconcileResult",
    "ShipmentRecord",
    "Status",
    "StockView",
    "WorkerStatus",
]
