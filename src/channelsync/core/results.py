"""What the engine returns: cycle reports, stock views and explanations (plain dataclasses).

Public through ``channelsync.results``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelsync.core.allocation import AllocationStep
from channelsync.core.ledger import JournalEntry
from channelsync.core.models import Money
from channelsync.core.pricing import PriceStep

__all__ = [
    "AccountReport",
    "AccountStatus",
    "ChannelStock",
    "Coverage",
    "CustomerEdit",
    "CycleReport",
    "Drift",
    "Explanation",
    "FailedOrder",
    "LocationStock",
    "OrderSummary",
    "Person",
    "PlannedPrice",
    "PlannedPush",
    "Received",
    "ReconcileResult",
    "ShipmentRecord",
    "Status",
    "StockView",
    "WorkerStatus",
]


@dataclass
class AccountReport:
    """What one cycle did on one channel account."""

    account: str
    kind: str
    orders_seen: int = 0
    orders_new: int = 0
    orders_changed: int = 0
    orders_failed: int = 0
    """Orders the channel returned that could not be read (see ``engine.order_failures()``)."""
    orders_reread: int = 0
    """Open orders re-read one by one (the safety net for channels that support it)."""
    events_applied: int = 0
    """Webhook events applied from the inbox."""
    events_failed: int = 0
    """Webhook events that could not be applied yet (they stay in the inbox)."""
    listings_imported: int = 0
    pushes_ok: int = 0
    pushes_failed: int = 0
    conflicts: int = 0
    prices_ok: int = 0
    prices_failed: int = 0
    price_errors: list[str] = field(default_factory=list)
    """Each price not sent or refused by the channel (``SKU: why``): a price rule refused
    it (below the minimum, no exchange rate) or the channel did. They stop nothing else
    and are retried with backoff."""
    shipments_ok: int = 0
    shipments_failed: int = 0
    pulled: bool = False
    errors: list[str] = field(default_factory=list)
    error_kinds: list[str] = field(default_factory=list)
    """The class of each error in ``errors`` (``RateLimited``, ``Unavailable``...)."""
    seconds: float = 0.0
    held: int = 0
    """Stock writes held back (an increase without a trusted read of the channel, or the
    listing's daily revision cap); they stay pending and are looked at again."""
    unseen_sales: int = 0
    """Units the channel was found to have sold that the ledger has not read yet (kept off
    the quantities written until the orders are read)."""
    quotas: dict[str, str] = field(default_factory=dict)
    """Call quotas spent: resource -> when it comes back (ISO 8601, UTC)."""

    @property
    def ok(self) -> bool:
        """No error stopped this account's cycle."""
        return not self.errors


@dataclass
class CycleReport:
    """What one ``run_once`` did, per account and in total."""

    started_at: datetime
    finished_at: datetime | None = None
    accounts: dict[str, AccountReport] = field(default_factory=dict)
    unknown_skus: set[str] = field(default_factory=set)
    oversold: dict[str, int] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return sum(int(getattr(a, name)) for a in self.accounts.values())

    @property
    def orders_seen(self) -> int:
        """Orders read from every channel (webhooks excluded)."""
        return self._sum("orders_seen")

    @property
    def orders_new(self) -> int:
        """Orders seen for the first time."""
        return self._sum("orders_new")

    @property
    def orders_changed(self) -> int:
        """Orders seen before whose state changed."""
        return self._sum("orders_changed")

    @property
    def orders_failed(self) -> int:
        """Orders the channels returned that could not be read (kept for a person)."""
        return self._sum("orders_failed")

    @property
    def pushes_ok(self) -> int:
        """Stock items the channels acknowledged."""
        return self._sum("pushes_ok")

    @property
    def pushes_failed(self) -> int:
        """Stock items that failed (they stay pending and are retried with backoff)."""
        return self._sum("pushes_failed")

    @property
    def ok(self) -> bool:
        """Every account ran without an error."""
        return all(a.ok for a in self.accounts.values())

    @property
    def price_errors(self) -> list[str]:
        """Every price not sent or refused, as ``account: SKU: why``."""
        return [f"{n}: {e}" for n, a in sorted(self.accounts.items()) for e in a.price_errors]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "orders_seen": self.orders_seen,
            "orders_new": self.orders_new,
            "orders_changed": self.orders_changed,
            "orders_failed": self.orders_failed,
            "pushes_ok": self.pushes_ok,
            "pushes_failed": self.pushes_failed,
            "unknown_skus": sorted(self.unknown_skus),
            "oversold": dict(sorted(self.oversold.items())),
            "price_errors": self.price_errors,
            "accounts": {k: asdict(v) for k, v in sorted(self.accounts.items())},
        }


@dataclass(frozen=True)
class AccountStatus:
    """Where one account stands, read from the store (``engine.status()``)."""

    account: str
    kind: str | None
    worker: str | None
    """The worker holding the account's lease now, if any."""
    last_pull_at: datetime | None
    cursor: datetime | None
    cursor_lag_seconds: float | None
    """How far the order cursor is behind now (the newest change applied)."""
    last_push_at: datetime | None
    outbox_depth: int
    oldest_pending_seconds: float | None
    """How long the oldest change still owed a push has waited."""
    failing_rows: int
    """Stock rows whose last push failed (retried with backoff)."""
    inbox_depth: int
    oldest_event_seconds: float | None
    dead_events: int
    order_failures: int
    quota: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        for key in ("last_pull_at", "cursor", "last_push_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


@dataclass(frozen=True)
class WorkerStatus:
    """A worker process sharing the store."""

    worker_id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    accounts: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["heartbeat_at"] = self.heartbeat_at.isoformat()
        out["accounts"] = list(self.accounts)
        return out


@dataclass(frozen=True)
class Status:
    """Every account and worker, as the store sees them now (``channelsync status``)."""

    at: datetime
    accounts: tuple[AccountStatus, ...]
    workers: tuple[WorkerStatus, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "at": self.at.isoformat(),
            "accounts": [a.as_dict() for a in self.accounts],
            "workers": [w.as_dict() for w in self.workers],
        }


@dataclass(frozen=True)
class Received:
    """A verified webhook delivery, stored in the inbox (``engine.receive_webhook``)."""

    events: list[Any]
    """The delivery's ``WebhookEvent`` objects."""
    stored: list[int]
    """Inbox ids of the events new to the inbox."""
    duplicates: int = 0
    """Events already in the inbox (a redelivery)."""


@dataclass(frozen=True)
class ChannelStock:
    """One listing of a SKU: what it should show, what the channel last confirmed (per
    location, for channels that keep a quantity per location)."""

    account: str
    desired: int | None
    acked: int | None
    listed: int | None
    last_error: str | None
    attempts: int
    note: str | None = None
    stale: bool = False
    """The channel changed its own quantity since it last acknowledged (a sale there)."""
    location: str = ""
    """Our location this figure is for ("": the listing's one quantity)."""

    @property
    def pending(self) -> bool:
        """A push is still owed to this listing."""
        return self.desired is not None and (self.stale or self.desired != self.acked)


@dataclass(frozen=True)
class LocationStock:
    """A SKU's figures at one location."""

    location: str
    on_hand: int
    committed: int

    @property
    def available(self) -> int:
        """``on_hand - committed`` there; negative means oversold there."""
        return self.on_hand - self.committed


@dataclass(frozen=True)
class StockView:
    """A SKU's ledger figures (totals, and per location) and every channel listing of it."""

    sku: str
    on_hand: int
    committed: int
    tracked: bool
    channels: tuple[ChannelStock, ...] = ()
    bundle: dict[str, int] | None = None
    locations: tuple[LocationStock, ...] = ()
    """The figures per location; ``on_hand`` and ``committed`` are their sums."""

    @property
    def available(self) -> int:
        """``on_hand - committed``; negative means oversold."""
        return self.on_hand - self.committed

    def at(self, location: str) -> LocationStock:
        """The figures at ``location`` (zeros where the SKU has none there)."""
        for here in self.locations:
            if here.location == location:
                return here
        return LocationStock(location, 0, 0)


@dataclass(frozen=True)
class Explanation:
    """Why a SKU's figures are what they are: the journal rows and allocation steps."""

    sku: str
    on_hand: int
    committed: int
    entries: tuple[JournalEntry, ...]
    allocation: dict[str, tuple[AllocationStep, ...]]
    prices: dict[str, PlannedPrice] = field(default_factory=dict)
    """Per account, how the price it shows (or would show) arises from the merchant's."""
    known: bool = True
    """False when the store knows nothing of the SKU: no ledger figures, no journal row,
    no listing and no bundle (the figures are then zeros because there are none)."""

    @property
    def available(self) -> int:
        """``on_hand - committed``."""
        return self.on_hand - self.committed

    def __iter__(self) -> Any:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class PlannedPrice:
    """A price on one account and the rule steps that make it (``engine.plan_prices()``)."""

    account: str
    sku: str
    base: Money
    """The merchant's price (``set_price``)."""
    price: Money | None
    """What the account is sent (None when refused)."""
    steps: tuple[PriceStep, ...]
    refused: str | None = None
    pending: bool = True
    """The next cycle pushes it (False once the channel acknowledged it)."""
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "sku": self.sku,
            "base": str(self.base),
            "price": str(self.price) if self.price is not None else None,
            "refused": self.refused,
            "pending": self.pending,
            "last_error": self.last_error,
            "steps": [
                {
                    "step": s.step,
                    "detail": s.detail,
                    "amount": str(s.amount),
                    "currency": s.currency,
                }
                for s in self.steps
            ],
        }


@dataclass(frozen=True)
class PlannedPush:
    """One push the next cycle would make (``engine.plan()``)."""

    account: str
    sku: str
    quantity: int
    acked: int | None
    steps: tuple[AllocationStep, ...]
    location: str = ""
    """Our location, for channels that keep a quantity per location."""


@dataclass(frozen=True)
class OrderSummary:
    """One stored order, in a line (``engine.orders()``)."""

    account: str
    order_id: str
    number: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    total: str | None
    currency: str | None
    lines: int
    units: int
    shipments_pending: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out


@dataclass(frozen=True)
class ShipmentRecord:
    """A shipment recorded with ``engine.ship`` and where it stands with the channel."""

    id: int
    account: str
    order_id: str
    carrier: str
    tracking_number: str | None
    status: str
    """``pending`` (not confirmed by the channel yet), ``pushed`` or ``failed``."""
    attempts: int
    last_error: str | None
    created_at: datetime
    pushed_at: datetime | None


@dataclass(frozen=True)
class FailedOrder:
    """An order a channel returned that its adapter could not read, kept for a person."""

    account: str
    order_id: str
    error: str
    first_seen_at: datetime
    last_seen_at: datetime
    times: int


@dataclass
class Coverage:
    """Which account lists which SKU, and which listed SKUs the ledger has not counted."""

    accounts: list[str]
    by_sku: dict[str, set[str]] = field(default_factory=dict)
    untracked: set[str] = field(default_factory=set)

    def missing(self) -> dict[str, list[str]]:
        """SKU -> accounts (among ``accounts``) that do not list it, for partly listed SKUs."""
        everyone = set(self.accounts)
        return {
            sku: sorted(everyone - have)
            for sku, have in sorted(self.by_sku.items())
            if everyone - have and have & everyone
        }


@dataclass(frozen=True)
class Drift:
    """A listing whose channel quantity differs from what the ledger says it should show."""

    account: str
    sku: str
    shows: int | None
    should: int
    acked: int | None
    location: str = ""
    """Our location, for channels that keep a quantity per location ("": the listing's one)."""

    @property
    def difference(self) -> int:
        """``shows - should``: positive means the channel offers units we do not have."""
        return (self.shows or 0) - self.should

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "sku": self.sku,
            "location": self.location or None,
            "shows": self.shows,
            "should": self.should,
            "acknowledged": self.acked,
            "difference": self.difference,
        }


@dataclass
class ReconcileResult:
    """What reading one account's listings found (``engine.reconcile``)."""

    account: str
    listings: int = 0
    in_sync: int = 0
    drift: list[Drift] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """SKU -> why nothing is compared (not counted, disabled, channel-fulfilled...)."""
    not_imported: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    error: str | None = None
    queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "account": self.account,
            "listings": self.listings,
            "in_sync": self.in_sync,
            "drift": [d.as_dict() for d in self.drift],
            "skipped": dict(sorted(self.skipped.items())),
            "not_imported": self.not_imported,
            "gone": self.gone,
            "error": self.error,
            "queued": self.queued,
        }


@dataclass(frozen=True)
class Person:
    """One person of the customer file (``engine.customers()``), across every channel:
    personal data."""

    person_id: str
    """The identity at the root of the person: ``email:<e-mail>``, ``ebay:<buyer id>``..."""
    name: str | None
    """The name on the newest order."""
    email: str | None
    """The e-mail of the newest order that shows one, as the channel wrote it."""
    emails: list[str]
    identities: list[str]
    """Every identity (normalised e-mail or channel buyer id) merged into this person."""
    accounts: list[str]
    orders: int
    """How many orders (cancelled ones left out)."""
    order_ids: list[tuple[str, str]]
    """(account, order id) of every order, oldest first."""
    first_order_at: datetime
    last_order_at: datetime
    revenue: dict[str, Decimal]
    """What the buyer paid per currency: order totals (the lines' revenue where an order
    has no total); never added across currencies."""
    refunds: dict[str, Decimal]
    """Money given back per currency."""
    returned_units: int
    """Units the buyer sent back."""

    @property
    def account(self) -> str:
        """The account of the newest order."""
        return self.order_ids[-1][0]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "person_id": self.person_id,
            "name": self.name,
            "email": self.email,
            "emails": self.emails,
            "identities": self.identities,
            "accounts": self.accounts,
            "orders": self.orders,
            "order_ids": [f"{a}/{o}" for a, o in self.order_ids],
            "first_order_at": self.first_order_at.isoformat(),
            "last_order_at": self.last_order_at.isoformat(),
            "revenue": {c: str(a) for c, a in sorted(self.revenue.items())},
            "refunds": {c: str(a) for c, a in sorted(self.refunds.items())},
            "returned_units": self.returned_units,
        }


@dataclass(frozen=True)
class CustomerEdit:
    """A merge or split of the customer file, as recorded."""

    id: int
    action: str
    """``merge`` (``identity`` joined ``person``) or ``split`` (it left ``person``)."""
    identity: str
    person: str
    actor: str | None
    note: str | None
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "action": self.action,
            "identity": self.identity,
            "person": self.person,
            "actor": self.actor,
            "note": self.note,
            "at": self.at.isoformat(),
        }
