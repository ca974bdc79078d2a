"""channelsync: keep stock, prices and orders consistent across sales channels.

::

    import channelsync as cs

    store = cs.open_store("sqlite:///channelsync.db")
    engine = cs.SyncEngine(store, channels=[...], rules={"ebay-de": cs.Rule(buffer=2)})
    engine.set_on_hand("SKU-1", 10)
    report = engine.run_once()
"""

from channelsync.core.allocation import AllocationStep, Rule
from channelsync.core.channel import (
    Channel,
    ChannelLimits,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RateLimit,
    StockUpdate,
    SupportsReadOrder,
    WebhookEvent,
)
from channelsync.core.engine import SyncEngine
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    ChannelsyncError,
    ConfigError,
    Conflict,
    IdempotencyConflict,
    InvalidInput,
    ItemError,
    NotFound,
    OperationRefused,
    PermanentError,
    RateLimited,
    Rejected,
    TransientError,
    Unavailable,
    UnknownAccount,
    UnknownCustomer,
    UnknownOrder,
    WebhookVerificationError,
)
from channelsync.core.ledger import JournalEntry
from channelsync.core.models import (
    Address,
    CancelRequest,
    Customer,
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    Refund,
    Shipment,
    StockLevel,
    Variant,
)
from channelsync.core.pricing import PriceRule
from channelsync.core.results import (
    AccountReport,
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
    ReconcileResult,
    ShipmentRecord,
    StockView,
)
from channelsync.core.retry import RetryPolicy
from channelsync.core.store import Store, open_store

__version__ = "0.1.0"

__all__ = [
    "AccountReport",
    "Address",
    "AllocationStep",
    "AuthError",
    "CancelRequest",
    "Channel",
    "ChannelError",
    "ChannelLimits",
    "ChannelStock",
    "ChannelsyncError",
    "ConfigError",
    "Conflict",
    "Coverage",
    "Customer",
    "CustomerEdit",
    "CycleReport",
    "Drift",
    "Explanation",
    "FailedOrder",
    "IdempotencyConflict",
    "InvalidInput",
    "ItemError",
    "JournalEntry",
    "Listing",
    "Money",
    "NotFound",
    "OperationRefused",
    "Order",
    "OrderFailure",
    "OrderLine",
    "OrderStatus",
    "OrderSummary",
    "PermanentError",
    "Person",
    "PlannedPush",
    "PriceRule",
    "PriceUpdate",
    "Product",
    "PushResult",
    "RateLimit",
    "RateLimited",
    "ReconcileResult",
    "Refund",
    "Rejected",
    "RetryPolicy",
    "Rule",
    "Shipment",
    "ShipmentRecord",
    "StockLevel",
    "StockUpdate",
    "StockView",
    "Store",
    "SupportsReadOrder",
    "SyncEngine",
    "TransientError",
    "Unavailable",
    "UnknownAccount",
    "UnknownCustomer",
    "UnknownOrder",
    "Variant",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "open_store",
]
