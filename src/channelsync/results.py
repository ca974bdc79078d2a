"""What the engine's methods return: cycle reports, stock views, explanations and the like.

Plain dataclasses, importable from one place (``from channelsync.results import
CycleReport``); the most used ones are also at the top of the package.
"""

from __future__ import annotations

from channelsync.core.aftersale import CancelRequestView, OperationResult, ReturnRecord
from channelsync.core.inbox import PendingEvent
from channelsync.core.lanes import ImportResult
from channelsync.core.ledger import ApplyResult, JournalEntry
from channelsync.core.results import (
    AccountReport,
    AccountStatus,
    ChannelStock,
    Coverage,
    CustomerEdit,
    CycleReport,
    Drift,
    Explanation,
    FailedOrder,
    OrderSummary,
    Person,
    PlannedPush,
    Received,
    ReconcileResult,
    ShipmentRecord,
    Status,
    StockView,
    WorkerStatus,
)
from channelsync.core.reviews import ReviewDue, ReviewOutcome

__all__ = [
    "AccountReport",
    "AccountStatus",
    "ApplyResult",
    "CancelRequestView",
    "ChannelStock",
    "Coverage",
    "CustomerEdit",
    "CycleReport",
    "Drift",
    "Explanation",
    "FailedOrder",
    "ImportResult",
    "JournalEntry",
    "OperationResult",
    "OrderSummary",
    "PendingEvent",
    "Person",
    "PlannedPush",
    "Received",
    "ReconcileResult",
    "ReturnRecord",
    "ReviewDue",
    "ReviewOutcome",
    "ShipmentRecord",
    "Status",
    "StockView",
    "WorkerStatus",
]
