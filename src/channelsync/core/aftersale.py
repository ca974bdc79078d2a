"""After-sale operations: cancel, refund and record a return, on the channel and in the ledger.

This module alone writes the ``aftersale_ops`` and ``returns`` tables (orders change
through the order book, stock through the ledger).

Each operation is one row of ``aftersale_ops`` under an idempotency key (given, or made
from the payload): the same key with the same payload is a no-op that returns the first
result, with another payload an ``IdempotencyConflict`` and nothing applied. The order is
checked against what the store knows before anything is sent (``OperationRefused`` names
what does not fit: more units than are left, more money than was paid, a shipped order to
cancel); then the channel is told (``SupportsCancel``/``SupportsRefund``/``SupportsReturns``,
with the operation's key so the channel's own idempotency covers a retry), and only when
it has applied the operation does the ledger change, in one transaction:

- a cancelled unit is released once: the stored order gets a new version with the units
  cancelled, applied like any order version (a later version from the channel that says
  the same changes nothing); ``restock=False`` writes the units off as well;
- a refunded unit that had not shipped is cancelled the same way; a refunded unit that had
  shipped stays shipped, and comes back on hand only with ``restock`` (recorded as a return);
- a returned unit is restocked (on hand again) or written off, once: the ``returns`` table
  holds every returned unit and no line returns more than it shipped.

An operation the channel processes asynchronously (an Amazon feed, an eBay refund) stays
``pending`` with the channel's reference; repeating the call, or ``settle``, asks the
channel again and applies it once it is done.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.channel import (
    REASONS,
    CancelOperation,
    Channel,
    OperationReceipt,
    Reason,
    RefundOperation,
    ReturnOperation,
    SupportsCancel,
    SupportsOperationStatus,
    SupportsRefund,
    SupportsReturns,
)
from channelsync.core.errors import (
    ChannelError,
    IdempotencyConflict,
    OperationRefused,
    Rejected,
    UnknownOrder,
)
from channelsync.core.idempotency import IdempotencyKeys, check_key
from channelsync.core.ledger import Ledger
from channelsync.core.models import Money, Order, OrderLine, OrderStatus, Refund
from channelsync.core.orderbook import OrderBook
from channelsync.core.planner import Planner
from channelsync.core.store import Store

__all__ = [
    "AfterSale",
    "CancelRequestView",
    "OperationResult",
    "ReturnRecord",
    "recorded_refunds",
    "with_recorded_refunds",
]

log = logging.getLogger(__name__)

OperationKind = Literal["cancel", "refund", "return"]
#: A pending operation without a channel reference younger than this is someone else's
#: attempt in flight; an older one was interrupted and is resumed.
_IN_FLIGHT = timedelta(minutes=2)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class OperationResult:
    """What a cancel, refund or return did (or, with ``dry_run``, would do).

    Attributes:
        status: ``done`` (applied on the channel and in the ledger), ``pending`` (the channel
            works on it; repeat the call or ``engine.settle_operations()`` later), ``failed``
            (the channel refused it; ``detail`` says why, nothing changed) or ``dry_run``.
        repeated: the key had been applied before: this call changed nothing.
        channel: ``done``, ``pending``, ``local`` (an account of your own shop: nothing to
            tell) or ``not_supported`` (the channel has no API for it; ``detail`` says why).
        lines: line id -> units the operation covers.
        released: SKU -> committed units released (cancelled units).
        restocked: SKU -> units back on hand (returned units).
        written_off: SKU -> units written off (not restocked).
        refund: the refund as recorded on the order.
    """

    kind: OperationKind
    account: str
    order_id: str
    idempotency_key: str
    status: Literal["done", "pending", "failed", "dry_run"]
    repeated: bool = False
    channel: str = "done"
    reference: str | None = None
    detail: str | None = None
    lines: dict[str, int] = field(default_factory=dict)
    released: dict[str, int] = field(default_factory=dict)
    restocked: dict[str, int] = field(default_factory=dict)
    written_off: dict[str, int] = field(default_factory=dict)
    refund: Refund | None = None

    @property
    def reference_text(self) -> str:
        """The journal's note of the operation: its kind and key."""
        return f"engine.{self.kind} {self.idempotency_key}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "kind": self.kind,
            "account": self.account,
            "order_id": self.order_id,
            "idempotency_key": self.idempotency_key,
            "status": self.status,
            "repeated": self.repeated,
            "channel": self.channel,
            "reference": self.reference,
            "detail": self.detail,
            "lines": dict(self.lines),
            "released": dict(self.released),
            "restocked": dict(self.restocked),
            "written_off": dict(self.written_off),
            "refund": self.refund.model_dump(mode="json") if self.refund else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **changes: Any) -> OperationResult:
        """The result stored by ``as_dict`` (with ``changes`` applied)."""
        values = {**data, **changes}
        refund = values.get("refund")
        values["refund"] = Refund.model_validate(refund) if refund else None
        return cls(**values)


@dataclass(frozen=True)
class ReturnRecord:
    """Units of one order line sent back: restocked at a location or written off."""

    account: str
    order_id: str
    line_id: str
    sku: str | None
    quantity: int
    disposition: Literal["restocked", "written_off"]
    location: str
    reason: str | None
    channel_return_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class CancelRequestView:
    """An open buyer cancellation request: accept it with ``engine.accept_cancel_request``."""

    account: str
    order_id: str
    number: str | None
    status: str
    requested_by: str
    reason: str | None
    lines: dict[str, int]
    """Line id -> units not shipped that the request covers."""
    created_at: datetime


@dataclass
class _Line:
    """One order line as the operation sees it (cancelled and shipped units as the channel
    or the engine says, whichever knows of more)."""

    line: OrderLine
    shipped: int
    cancelled: int
    refunded: int = 0
    returned: int = 0
    location: str = "default"
    """Where the line's units are committed and shipped from (returns go back there)."""

    @property
    def open(self) -> int:
        """Units neither shipped nor cancelled."""
        return max(0, self.line.quantity - self.cancelled - self.shipped)

    @property
    def refundable(self) -> int:
        """Units not cancelled and not refunded yet."""
        return max(0, self.line.quantity - self.cancelled - self.refunded)

    @property
    def returnable(self) -> int:
        """Shipped units not yet returned."""
        return max(0, self.shipped - self.returned)


@dataclass
class _Claim:
    """Where an operation's key stands: new, or what an earlier attempt left."""

    status: Literal["new", "done", "pending", "failed", "busy"]
    reference: str | None = None
    result: dict[str, Any] | None = None


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _key(
    given: str | None, kind: str, account: str, order_id: str, payload: Mapping[str, Any]
) -> str:
    """The operation's key: the caller's, or one made from the payload (a repeat of the same
    call is then the same operation)."""
    if given is not None:
        return check_key(given)
    made = f"{kind}:{account}:{order_id}:{_digest(payload)[:24]}"
    if len(made) > 255:
        made = f"{kind}:{_digest({'account': account, 'order_id': order_id, **payload})}"
    return made


def _check_lines(lines: Mapping[str, int] | None, what: str) -> dict[str, int]:
    if lines is None:
        return {}
    out: dict[str, int] = {}
    for line_id, qty in lines.items():
        if not isinstance(line_id, str) or not line_id:
            raise OperationRefused(f"{what}: line ids must be non-empty strings, got {line_id!r}")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise OperationRefused(
                f"{what}: units of line {line_id!r} must be a whole number > 0, got {qty!r}"
            )
        out[line_id] = qty
    return out


def _check_reason(reason: str) -> Reason:
    for known in REASONS:
        if reason == known:
            return known
    raise OperationRefused(f"unknown reason {reason!r}: use one of {', '.join(REASONS)}")


def _line_amount(line: OrderLine, units: int) -> Money | None:
    """What ``units`` of the line cost the buyer (after discounts)."""
    if line.quantity <= 0:
        return None
    if line.total is not None:
        return Money(
            amount=(line.total.amount * units / line.quantity).quantize(Decimal("0.01")),
            currency=line.total.currency,
        )
    if line.unit_price is not None:
        gross = line.unit_price.amount * units
        if line.discount is not None and line.discount.currency == line.unit_price.currency:
            gross -= line.discount.amount * units / line.quantity
        return Money(amount=gross.quantize(Decimal("0.01")), currency=line.unit_price.currency)
    return None


def _shares(money: Money, parts: Mapping[str, Money], lines: Mapping[str, int]) -> dict[str, Money]:
    """``money`` split over ``lines`` in proportion to ``parts`` (cents; the last line takes
    the rounding); empty unless every line has a part in ``money``'s currency and the parts
    cover ``money`` (a refund above what the lines cost, shipping say, is order level)."""
    if (
        not lines
        or set(parts) != set(lines)
        or any(p.currency != money.currency for p in parts.values())
    ):
        return {}
    whole = sum((p.amount for p in parts.values()), Decimal(0))
    if whole <= 0 or money.amount > whole:
        return {}
    out: dict[str, Money] = {}
    left = money.amount
    ids = list(lines)
    for i, line_id in enumerate(ids):
        part = (
            left
            if i == len(ids) - 1
            else (parts[line_id].amount * money.amount / whole).quantize(Decimal("0.01"))
        )
        out[line_id] = Money(amount=part, currency=money.currency)
        left -= part
    return out


def recorded_refunds(
    conn: Connection, account: str | None = None, order_ids: Iterable[str] | None = None
) -> dict[tuple[str, str], list[Refund]]:
    """(account, order id) -> the refunds channelsync made and the channel confirmed.

    They are on the order's own version when it is stored; a channel whose order reads
    carry no refunds (Amazon's Orders API) drops them from the next version it sends, so
    readers merge these back in with ``with_recorded_refunds``.
    """
    o = t.aftersale_ops.c
    query = sa.select(o.account, o.order_id, o.result).where(o.kind == "refund", o.status == "done")
    if account is not None:
        query = query.where(o.account == account)
    if order_ids is not None:
        query = query.where(o.order_id.in_(list(order_ids)))
    out: dict[tuple[str, str], list[Refund]] = defaultdict(list)
    for row in conn.execute(query.order_by(o.created_at)):
        data = (row.result or {}).get("refund")
        if data:
            out[(row.account, row.order_id)].append(Refund.model_validate(data))
    return dict(out)


def with_recorded_refunds(order: Order, recorded: Iterable[Refund]) -> Order:
    """``order`` with channelsync's confirmed refunds it lacks added back.

    A refund is added when the order has none under its id and the version does not
    speak for it: the version carries no refunds at all (its channel does not report
    them), or it is older than the refund. A version that reports refunds of its own
    is trusted as the channel's account of them (its ids may differ from ours).
    """
    ids = {r.refund_id for r in order.refunds}
    missing = [
        r
        for r in recorded
        if r.refund_id not in ids
        and (not order.refunds or (r.created_at is not None and order.updated_at < r.created_at))
    ]
    if not missing:
        return order
    return order.model_copy(update={"refunds": (*order.refunds, *missing)})


def _add(into: dict[str, int], sku: str, units: int) -> None:
    if units:
        into[sku] = into.get(sku, 0) + units


class AfterSale:
    """Cancel, refund and return, journaled under idempotency keys (see the module doc).

    This module alone reads and writes ``aftersale_ops`` and ``returns``; orders change
    through the order book, stock through the ledger, keys through ``IdempotencyKeys``.

    Args:
        store, orderbook, ledger, planner, keys: the engine's.
        clock: aware UTC now.
        channel_of: the channel of an account, None for an account that is no channel of
            the engine (orders recorded with ``record_order``: the operation is local).
    """

    def __init__(
        self,
        store: Store,
        orderbook: OrderBook,
        ledger: Ledger,
        planner: Planner,
        keys: IdempotencyKeys,
        clock: Callable[[], datetime],
        channel_of: Callable[[str], Channel | None],
    ) -> None:
        self.store = store
        self.orderbook = orderbook
        self.ledger = ledger
        self.planner = planner
        self.keys = keys
        self.clock = clock
        self.channel_of = channel_of

    # -- the operations ------------------------------------------------------------------

    def cancel(
        self,
        account: str,
        order_id: str,
        *,
        lines: Mapping[str, int] | None = None,
        reason: str,
        note: str | None = None,
        restock: bool = True,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Cancel units that have not shipped (``lines``: line id -> units; None: all).

        The units are released (committed drops) once the channel has cancelled them; with
        ``restock=False`` they are written off as well (on hand drops: damaged, lost).
        """
        code = _check_reason(reason)
        wanted = _check_lines(lines, "cancel")
        payload = {
            "kind": "cancel",
            "account": account,
            "order_id": order_id,
            "lines": sorted(wanted.items()),
            "reason": code,
            "note": note,
            "restock": bool(restock),
        }
        key = _key(idempotency_key, "cancel", account, order_id, payload)
        early = self._repeat(key, payload)
        if early is not None:
            return early
        order, states, bundles = self._snapshot(account, order_id)
        units = self._cancel_units(order, states, wanted)
        released, written = self._stock_of(states, units, bundles, restock=restock)
        plan = OperationResult(
            kind="cancel",
            account=account,
            order_id=order_id,
            idempotency_key=key,
            status="dry_run",
            lines=units,
            released=released,
            written_off=written,
        )
        if dry_run:
            return plan
        operation = CancelOperation(
            order_id=order_id,
            lines={} if self._whole(order, states, units) else units,
            reason=code,
            note=note,
            restock=restock,
            idempotency_key=key,
        )

        def call(channel: Channel) -> OperationReceipt:
            if isinstance(channel, SupportsCancel):
                return channel.cancel_lines(operation)
            if operation.lines:
                raise Rejected(
                    f"{channel.kind} cancels whole orders only: refund the lines instead"
                    f" (channelsync orders refund {account} {order_id} --line ...)",
                    channel=account,
                    operation="cancel",
                )
            channel.cancel_order(order_id, f"{code}: {note}" if note else code)
            return OperationReceipt()

        return self._run(key, payload, plan, call)

    def refund(
        self,
        account: str,
        order_id: str,
        *,
        lines: Mapping[str, int] | None = None,
        amount: Money | None = None,
        reason: str,
        note: str | None = None,
        restock: bool = False,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Give money back: ``amount``, or what ``lines`` (line id -> units) cost, or both.

        Refunded units that have not shipped are cancelled (released); refunded units that
        shipped stay shipped, and with ``restock`` come back on hand as a return. The
        amount may not exceed what was paid less what was refunded before.
        """
        code = _check_reason(reason)
        wanted = _check_lines(lines, "refund")
        if amount is None and not wanted:
            raise OperationRefused("refund needs lines, an amount, or both")
        if amount is not None and amount.amount <= 0:
            raise OperationRefused(f"a refund amount must be positive, got {amount}")
        payload = {
            "kind": "refund",
            "account": account,
            "order_id": order_id,
            "lines": sorted(wanted.items()),
            "amount": str(amount.amount) if amount else None,
            "currency": amount.currency if amount else None,
            "reason": code,
            "note": note,
            "restock": bool(restock),
        }
        key = _key(idempotency_key, "refund", account, order_id, payload)
        early = self._repeat(key, payload)
        if early is not None:
            return early
        order, states, bundles = self._snapshot(account, order_id)
        money, cancelled, returned, shares = self._refund_plan(
            order, states, wanted, amount, restock
        )
        released, _ = self._stock_of(states, cancelled, bundles, restock=True)
        restocked, _ = self._stock_of(states, returned, bundles, restock=True)
        plan = OperationResult(
            kind="refund",
            account=account,
            order_id=order_id,
            idempotency_key=key,
            status="dry_run",
            lines=wanted,
            released=released,
            restocked=restocked,
            refund=Refund(
                refund_id=key,
                amount=money,
                created_at=self.clock(),
                reason=note or code,
                lines=wanted,
            ),
        )
        if dry_run:
            return plan
        operation = RefundOperation(
            order_id=order_id,
            amount=money,
            lines=wanted,
            line_amounts=shares,
            cancelled=cancelled,
            returned=returned,
            reason=code,
            note=note,
            idempotency_key=key,
        )

        def call(channel: Channel) -> OperationReceipt:
            if isinstance(channel, SupportsRefund):
                return channel.refund(operation)
            raise Rejected(
                f"{channel.kind} offers no refunds through its API: refund in its back office,"
                " the refund is read with the order",
                channel=account,
                operation="refund",
            )

        return self._run(key, payload, plan, call)

    def record_return(
        self,
        account: str,
        order_id: str,
        lines: Mapping[str, int],
        *,
        restock: bool = True,
        location: str | None = None,
        reason: str = "other",
        note: str | None = None,
        channel_location: str | None = None,
        notify_channel: bool = True,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> OperationResult:
        """Units the buyer sent back: on hand again at ``location`` (default: the location
        each line was committed and shipped at), or written off.

        Each line returns at most what it shipped (less what came back before). Channels
        with a returns API are told (``notify_channel``); for the others the return is
        recorded here only and ``channel`` says ``not_supported``.
        """
        code = _check_reason(reason)
        wanted = _check_lines(lines, "return")
        if not wanted:
            raise OperationRefused("a return needs lines (line id -> units)")
        if location is not None and (not location or location != location.strip()):
            raise OperationRefused(
                f"a return's location must be a location name, got {location!r}"
                " (leave it out to restock where each line shipped from)"
            )
        payload = {
            "kind": "return",
            "account": account,
            "order_id": order_id,
            "lines": sorted(wanted.items()),
            "restock": bool(restock),
            "location": location,
            "reason": code,
            "note": note,
            "channel_location": channel_location,
            "notify_channel": bool(notify_channel),
        }
        key = _key(idempotency_key, "return", account, order_id, payload)
        early = self._repeat(key, payload)
        if early is not None:
            return early
        order, states, bundles = self._snapshot(account, order_id)
        for line_id, qty in wanted.items():
            state = self._state(order, states, line_id, "return")
            if qty > state.returnable:
                raise OperationRefused(
                    f"order {order_id}: line {line_id!r} shipped {state.shipped} unit(s) and"
                    f" {state.returned} came back already: {qty} cannot be returned"
                    f" (at most {state.returnable})"
                )
        restocked, written = self._stock_of(states, wanted, bundles, restock=restock)
        plan = OperationResult(
            kind="return",
            account=account,
            order_id=order_id,
            idempotency_key=key,
            status="dry_run",
            lines=wanted,
            restocked=restocked if restock else {},
            written_off=written,
        )
        if dry_run:
            return plan
        operation = ReturnOperation(
            order_id=order_id,
            lines=wanted,
            restock=restock,
            location=channel_location,
            reason=code,
            note=note,
            idempotency_key=key,
        )

        def call(channel: Channel) -> OperationReceipt | None:
            if not notify_channel:
                return None
            if isinstance(channel, SupportsReturns):
                return channel.record_return(operation)
            return None

        return self._run(key, payload, plan, call)

    def accept_cancel_request(
        self, account: str, order_id: str, *, idempotency_key: str | None = None
    ) -> OperationResult:
        """Cancel what the buyer asked to cancel (reason ``customer_request``)."""
        order, states, _ = self._snapshot(account, order_id)
        request = order.cancel_request
        if request is None:
            raise OperationRefused(f"order {order_id} on {account} has no open cancel request")
        asked = request.lines or tuple(states)
        lines = {lid: states[lid].open for lid in asked if lid in states and states[lid].open}
        if not lines:
            raise OperationRefused(
                f"order {order_id}: every unit the buyer asked to cancel has shipped or is"
                " cancelled already; answer the request on the channel"
            )
        return self.cancel(
            account,
            order_id,
            lines=lines,
            reason="customer_request",
            note=request.reason,
            idempotency_key=idempotency_key,
        )

    # -- reading ---------------------------------------------------------------------------

    def returns(
        self, account: str | None = None, order_id: str | None = None
    ) -> list[ReturnRecord]:
        """Returned units, newest first."""
        r = t.returns.c
        query = sa.select(t.returns).order_by(r.created_at.desc(), r.id.desc())
        if account is not None:
            query = query.where(r.account == account)
        if order_id is not None:
            query = query.where(r.order_id == order_id)
        with self.store.read() as conn:
            return [
                ReturnRecord(
                    account=row.account,
                    order_id=row.order_id,
                    line_id=row.line_id,
                    sku=row.sku,
                    quantity=row.quantity,
                    disposition=row.disposition,
                    location=row.location,
                    reason=row.reason,
                    channel_return_id=row.channel_return_id,
                    created_at=row.created_at,
                )
                for row in conn.execute(query)
            ]

    def operations(
        self, *, account: str | None = None, status: Iterable[str] = ()
    ) -> list[OperationResult]:
        """Recorded operations (newest first), ``pending`` ones with what is known so far."""
        o = t.aftersale_ops.c
        query = sa.select(t.aftersale_ops).order_by(o.created_at.desc())
        if account is not None:
            query = query.where(o.account == account)
        wanted = list(status)
        if wanted:
            query = query.where(o.status.in_(wanted))
        out = []
        with self.store.read() as conn:
            for row in conn.execute(query):
                if row.status == "done":
                    out.append(OperationResult.from_dict(row.result))
                    continue
                out.append(
                    OperationResult.from_dict(
                        row.result,
                        status="failed" if row.status == "failed" else "pending",
                        channel="failed" if row.status == "failed" else "pending",
                        reference=row.reference,
                        detail=row.error,
                    )
                )
        return out

    def cancel_requests(self, account: str | None = None) -> list[CancelRequestView]:
        """Open buyer cancellation requests on orders that still hold units."""
        with self.store.read() as conn:
            orders = self.orderbook.with_cancel_request(conn, account)
        out = []
        for order in orders:
            request = order.cancel_request
            assert request is not None
            asked = set(request.lines) or {ln.line_id for ln in order.lines}
            lines = {
                ln.line_id: ln.quantity_open
                for ln in order.lines
                if ln.line_id in asked and ln.quantity_open
            }
            out.append(
                CancelRequestView(
                    account=order.account,
                    order_id=order.order_id,
                    number=order.number,
                    status=order.status.value,
                    requested_by=request.requested_by,
                    reason=request.reason,
                    lines=lines,
                    created_at=order.created_at,
                )
            )
        return out

    def settle(self, account: str | None = None) -> list[OperationResult]:
        """Ask the channels about pending operations and apply those that are done."""
        o = t.aftersale_ops.c
        query = sa.select(o.idempotency_key, o.payload, o.result).where(o.status == "pending")
        if account is not None:
            query = query.where(o.account == account)
        with self.store.read() as conn:
            pending = [(r.idempotency_key, r.payload, r.result) for r in conn.execute(query)]
        out = []
        for key, payload, result in pending:
            try:
                out.append(self._resume(key, dict(payload)))
            except ChannelError as exc:
                log.warning("operation %s: %s", key, exc)
                refused = isinstance(exc, Rejected)
                out.append(
                    OperationResult.from_dict(
                        result,
                        status="failed" if refused else "pending",
                        channel="failed" if refused else "pending",
                        detail=exc.message,
                    )
                )
        return out

    # -- the shared path -------------------------------------------------------------------

    def _repeat(self, key: str, payload: Mapping[str, Any]) -> OperationResult | None:
        """The stored result when ``key`` was applied before; resume it when pending."""
        digest = _digest(payload)
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(t.aftersale_ops).where(t.aftersale_ops.c.idempotency_key == key)
            ).first()
        if row is None:
            return None
        if row.digest != digest:
            raise IdempotencyConflict(
                f"idempotency_key {key!r} was used for another operation ({row.kind} of order"
                f" {row.order_id} on {row.account}, other figures): use a new key for a new"
                " operation (nothing was applied)",
                key=key,
                operation=f"aftersale.{row.kind}",
            )
        if row.status == "done":
            return OperationResult.from_dict(row.result, repeated=True)
        if row.status == "pending":
            return self._resume(key, payload)
        return None  # failed before: try again

    def _resume(self, key: str, payload: Mapping[str, Any]) -> OperationResult:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(t.aftersale_ops).where(t.aftersale_ops.c.idempotency_key == key)
            ).one()
        plan = OperationResult.from_dict(row.result) if row.result else None
        if plan is None:  # pragma: no cover - every pending row stores its plan
            raise RuntimeError(f"operation {key} has no plan stored")
        channel = self.channel_of(row.account)
        if row.reference is None or channel is None:
            if row.updated_at > self.clock() - _IN_FLIGHT:
                return OperationResult.from_dict(
                    row.result,
                    status="pending",
                    channel="pending",
                    detail="another attempt of this operation is under way",
                )
            return self._run(key, payload, OperationResult.from_dict(row.result), None)
        receipt = OperationReceipt(status="pending", reference=row.reference)
        if isinstance(channel, SupportsOperationStatus):
            try:
                receipt = channel.operation_status(row.order_id, receipt)
            except Rejected as exc:  # the channel refused it in processing: nothing applied
                error = exc
                self.store.run(lambda conn: self._fail(conn, key, error))
                raise
        if receipt.status != "done":
            self.store.run(lambda conn: self._touch(conn, key))
            return OperationResult.from_dict(
                row.result, status="pending", channel="pending", reference=row.reference
            )
        return self.store.run(lambda conn: self._apply(conn, key, plan, receipt, "done"))

    def _run(
        self,
        key: str,
        payload: Mapping[str, Any],
        plan: OperationResult,
        call: Callable[[Channel], OperationReceipt | None] | None,
    ) -> OperationResult:
        state = self.store.run(lambda conn: self._claim(conn, key, payload, plan))
        if state.status == "done" and state.result is not None:
            return OperationResult.from_dict(state.result, repeated=True)
        if state.status == "busy":
            return OperationResult.from_dict(
                plan.as_dict(),
                status="pending",
                channel="pending",
                detail="another attempt of this operation is under way",
            )
        if call is None:  # resuming an interrupted attempt: rebuild the call from the kind
            return self._rerun(key, payload)
        channel = self.channel_of(plan.account)
        receipt: OperationReceipt | None
        how = "local"
        if channel is None:
            receipt = None
        else:
            try:
                receipt = call(channel)
            except ChannelError as exc:
                error = exc
                self.store.run(lambda conn: self._fail(conn, key, error))
                raise
            how = "not_supported" if receipt is None else receipt.status
        if receipt is not None and receipt.status == "pending":
            self.store.run(lambda conn: self._pending(conn, key, receipt))
            return OperationResult.from_dict(
                plan.as_dict(), status="pending", channel="pending", reference=receipt.reference
            )
        return self.store.run(lambda conn: self._apply(conn, key, plan, receipt, how))

    def _rerun(self, key: str, payload: Mapping[str, Any]) -> OperationResult:
        """Send an interrupted operation again (the channel's idempotency covers a repeat)."""
        self.store.run(lambda conn: self._forget(conn, key))
        kind = payload["kind"]
        common = {
            "reason": payload["reason"],
            "note": payload.get("note"),
            "idempotency_key": key,
        }
        lines = {lid: qty for lid, qty in payload.get("lines") or []}
        if kind == "cancel":
            return self.cancel(
                payload["account"],
                payload["order_id"],
                lines=lines or None,
                restock=payload["restock"],
                **common,
            )
        if kind == "refund":
            amount = (
                Money(amount=payload["amount"], currency=payload["currency"])
                if payload.get("amount")
                else None
            )
            return self.refund(
                payload["account"],
                payload["order_id"],
                lines=lines or None,
                amount=amount,
                restock=payload["restock"],
                **common,
            )
        return self.record_return(
            payload["account"],
            payload["order_id"],
            lines,
            restock=payload["restock"],
            location=payload["location"],
            channel_location=payload.get("channel_location"),
            notify_channel=payload.get("notify_channel", True),
            **common,
        )

    # -- the key (one function to swap for the engine's generic idempotency module) --------

    def _claim(
        self, conn: Connection, key: str, payload: Mapping[str, Any], plan: OperationResult
    ) -> _Claim:
        """Claim ``key`` for ``payload``: new, or what an earlier attempt left behind.

        The key is recorded with ``IdempotencyKeys`` (one operation per key across the
        library: a key an ``adjust`` used is refused here); the operation's own row keeps
        where it stands on the channel.
        """
        self.keys.first_use(conn, key, f"aftersale.{plan.kind}", payload)
        digest = _digest(payload)
        o = t.aftersale_ops.c
        row = conn.execute(
            self.store.for_update(sa.select(t.aftersale_ops).where(o.idempotency_key == key))
        ).first()
        now = self.clock()
        if row is not None:
            if row.status == "done":
                return _Claim("done", row.reference, row.result)
            if row.status == "pending" and row.updated_at > now - _IN_FLIGHT:
                return _Claim("busy", row.reference)
            conn.execute(
                t.aftersale_ops.update()
                .where(o.idempotency_key == key)
                .values(status="pending", error=None, result=plan.as_dict(), updated_at=now)
            )
            return _Claim("new")
        conn.execute(
            t.aftersale_ops.insert().values(
                idempotency_key=key,
                kind=plan.kind,
                account=plan.account,
                order_id=plan.order_id,
                digest=digest,
                payload=dict(payload),
                status="pending",
                result=plan.as_dict(),
                created_at=now,
                updated_at=now,
            )
        )
        return _Claim("new")

    def _touch(self, conn: Connection, key: str) -> None:
        conn.execute(
            t.aftersale_ops.update()
            .where(t.aftersale_ops.c.idempotency_key == key)
            .values(updated_at=self.clock())
        )

    def _forget(self, conn: Connection, key: str) -> None:
        conn.execute(
            t.aftersale_ops.update()
            .where(t.aftersale_ops.c.idempotency_key == key)
            .values(status="failed", error="interrupted; sent again", updated_at=self.clock())
        )

    def _fail(self, conn: Connection, key: str, exc: ChannelError) -> None:
        conn.execute(
            t.aftersale_ops.update()
            .where(t.aftersale_ops.c.idempotency_key == key)
            .values(status="failed", error=str(exc)[:2000], updated_at=self.clock())
        )

    def _pending(self, conn: Connection, key: str, receipt: OperationReceipt) -> None:
        conn.execute(
            t.aftersale_ops.update()
            .where(t.aftersale_ops.c.idempotency_key == key)
            .values(reference=receipt.reference, updated_at=self.clock())
        )

    # -- applying --------------------------------------------------------------------------

    def _apply(
        self,
        conn: Connection,
        key: str,
        plan: OperationResult,
        receipt: OperationReceipt | None,
        how: str,
    ) -> OperationResult:
        """Apply a planned operation the channel has done: ledger, order, returns, key."""
        o = t.aftersale_ops.c
        row = conn.execute(
            self.store.for_update(sa.select(o.status, o.result).where(o.idempotency_key == key))
        ).one()
        if row.status == "done":
            return OperationResult.from_dict(row.result, repeated=True)
        order, states, bundles = self._load(conn, plan.account, plan.order_id, lock=True)
        reference = receipt.reference if receipt else None
        source = f"{plan.account}/{plan.order_id}"
        if plan.kind == "cancel":
            units = {
                lid: min(qty, states[lid].open) for lid, qty in plan.lines.items() if lid in states
            }
            self.orderbook.cancel_units(
                conn, plan.account, plan.order_id, units, f"cancelled ({plan.reference_text})"
            )
            self._new_version(conn, order, states, cancelled=units)
            if plan.written_off:
                # Written off where each line's units were: by location.
                places: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
                for lid, qty in units.items():
                    state = states.get(lid)
                    if state is None or state.line.sku is None or not qty:
                        continue
                    for comp, per in (bundles.get(state.line.sku) or {state.line.sku: 1}).items():
                        if comp in plan.written_off:
                            places[state.location][comp] += qty * per
                for place in sorted(places):
                    self.ledger.adjust_many(
                        conn,
                        {sku: -qty for sku, qty in places[place].items()},
                        f"cancelled, not restocked ({source})",
                        source=source,
                        key=f"{key}:writeoff" + ("" if place == "default" else f"@{place}"),
                        location=place,
                        allow_negative=True,  # the units are gone, whatever was counted
                    )
        elif plan.kind == "refund":
            assert plan.refund is not None
            cancelled: dict[str, int] = {}
            returned: dict[str, int] = {}
            for lid, qty in plan.lines.items():
                state = states.get(lid)
                if state is None:
                    continue
                first = min(qty, state.open)
                cancelled[lid] = first
                if plan.restocked:
                    returned[lid] = min(qty - first, state.returnable)
            given = receipt.refund if receipt is not None and receipt.refund else None
            refund = plan.refund.model_copy(
                update={
                    "refund_id": (given.refund_id if given else None) or reference or key,
                    "created_at": self.clock(),
                }
            )
            self.orderbook.cancel_units(
                conn,
                plan.account,
                plan.order_id,
                {k: v for k, v in cancelled.items() if v},
                f"refunded before shipping ({plan.reference_text})",
            )
            self._new_version(conn, order, states, cancelled=cancelled, refund=refund)
            self._returns(
                conn,
                plan,
                order,
                states,
                bundles,
                {k: v for k, v in returned.items() if v},
                restock=True,
                location=None,
                reason=f"refund {refund.refund_id}",
                channel_id=reference,
                key=key,
            )
            plan = OperationResult.from_dict(plan.as_dict(), refund=refund)
        else:
            payload: dict[str, Any] = dict(
                conn.execute(sa.select(o.payload).where(o.idempotency_key == key)).scalar_one()
            )
            self._returns(
                conn,
                plan,
                order,
                states,
                bundles,
                plan.lines,
                restock=bool(payload["restock"]),
                location=payload["location"],
                reason=payload.get("note") or payload.get("reason"),
                channel_id=reference,
                key=key,
            )
        result = OperationResult.from_dict(
            plan.as_dict(),
            status="done",
            channel=how,
            reference=reference,
            detail=receipt.detail if receipt else self._local_detail(how, plan),
        )
        conn.execute(
            t.aftersale_ops.update()
            .where(o.idempotency_key == key)
            .values(
                status="done",
                reference=reference,
                result=result.as_dict(),
                error=None,
                updated_at=self.clock(),
            )
        )
        return result

    @staticmethod
    def _local_detail(how: str, plan: OperationResult) -> str | None:
        if how == "local":
            return "an account of your own shop: recorded here only"
        if how == "not_supported":
            return f"the channel has no {plan.kind} API (or was not told): recorded here only"
        return None

    def _new_version(
        self,
        conn: Connection,
        order: Order,
        states: Mapping[str, _Line],
        *,
        cancelled: Mapping[str, int],
        refund: Refund | None = None,
    ) -> None:
        """Apply the order with ``cancelled`` units and ``refund`` added, one version on.

        The version's change time is just after the stored one: whatever the channel
        reports later (the same cancellation, or anything after it) is newer and wins.
        Shipped units are written out per line (a channel may say only "shipped" at order
        level), so a status that moves on never takes a shipped unit back.
        """
        lines = []
        for line in order.lines:
            state = states.get(line.line_id)
            n = cancelled.get(line.line_id, 0)
            update: dict[str, Any] = {"quantity_cancelled": line.quantity_cancelled + n}
            if state is not None:
                update = {
                    "quantity_cancelled": state.cancelled + n,
                    "quantity_shipped": state.shipped,
                }
            lines.append(line.model_copy(update=update))
        refunds = (*order.refunds, refund) if refund is not None else order.refunds
        status = order.status
        if status.commits_stock and all(ln.quantity_open <= 0 for ln in lines):
            shipped_any = any(ln.quantity_shipped > 0 for ln in lines)
            status = OrderStatus.SHIPPED if shipped_any else OrderStatus.CANCELLED
        if refund is not None and refund.amount is not None and order.total is not None:
            paid = sum(
                (
                    r.amount.amount
                    for r in refunds
                    if r.amount is not None and r.amount.currency == order.total.currency
                ),
                Decimal(0),
            )
            if paid >= order.total.amount and not any(ln.quantity_open for ln in lines):
                status = OrderStatus.REFUNDED
        new = Order.model_validate(
            {
                **order.model_dump(),
                "lines": [ln.model_dump() for ln in lines],
                "refunds": [r.model_dump() for r in refunds],
                "status": status,
                "updated_at": order.updated_at + _TICK,
                "cancel_request": None if status is OrderStatus.CANCELLED else order.cancel_request,
            }
        )
        self.orderbook.apply(conn, [new])

    def _returns(
        self,
        conn: Connection,
        plan: OperationResult,
        order: Order,
        states: Mapping[str, _Line],
        bundles: Mapping[str, Mapping[str, int]],
        lines: Mapping[str, int],
        *,
        restock: bool,
        location: str | None,
        reason: str | None,
        channel_id: str | None,
        key: str,
    ) -> None:
        now = self.clock()
        source = f"{plan.account}/{plan.order_id}"
        for line_id, qty in sorted(lines.items()):
            state = states.get(line_id)
            if state is None or qty <= 0:
                continue
            qty = min(qty, state.returnable)
            if qty <= 0:
                continue
            sku = state.line.sku
            place = location or state.location  # back where it left, unless told otherwise
            conn.execute(
                t.returns.insert().values(
                    account=plan.account,
                    order_id=plan.order_id,
                    line_id=line_id,
                    sku=sku,
                    quantity=qty,
                    disposition="restocked" if restock else "written_off",
                    location=place,
                    reason=reason,
                    channel_return_id=channel_id,
                    idempotency_key=f"{key}:{line_id}",
                    created_at=now,
                )
            )
            if not restock or sku is None or state.line.fulfilled_by_channel:
                continue
            self.ledger.adjust_many(
                conn,
                {c: qty * per for c, per in (bundles.get(sku) or {sku: 1}).items()},
                f"returned ({source}), restocked at {place}",
                source=source,
                key=f"{key}:restock:{line_id}",
                location=place,
            )

    # -- reading the order -----------------------------------------------------------------

    def _snapshot(
        self, account: str, order_id: str
    ) -> tuple[Order, dict[str, _Line], dict[str, dict[str, int]]]:
        with self.store.read() as conn:
            return self._load(conn, account, order_id, lock=False)

    def _load(
        self, conn: Connection, account: str, order_id: str, *, lock: bool
    ) -> tuple[Order, dict[str, _Line], dict[str, dict[str, int]]]:
        if lock:
            self.orderbook.lock(conn, [(account, order_id)])
        order = self.orderbook.stored(conn, account, order_id)
        if order is None:
            raise UnknownOrder(
                f"no order {order_id!r} on account {account!r}: pull or record it first"
            )
        order = with_recorded_refunds(
            order, recorded_refunds(conn, account, [order_id]).get((account, order_id), ())
        )
        local = self.orderbook.local_units(conn, account, order_id)
        places = self.orderbook.line_locations(conn, account, order_id)
        refunded: dict[str, int] = defaultdict(int)
        for r in order.refunds:
            for lid, qty in r.lines.items():
                refunded[lid] += qty
        returned: dict[str, int] = defaultdict(int)
        for row in conn.execute(
            sa.select(t.returns.c.line_id, sa.func.sum(t.returns.c.quantity).label("units"))
            .where(t.returns.c.account == account, t.returns.c.order_id == order_id)
            .group_by(t.returns.c.line_id)
        ):
            returned[row.line_id] = int(row.units or 0)
        states = {}
        for line in order.lines:
            engine_shipped, engine_cancelled = local.get(line.line_id, (0, 0))
            cancelled = min(line.quantity, max(line.quantity_cancelled, engine_cancelled))
            shipped = max(line.quantity_shipped, engine_shipped)
            if order.status is OrderStatus.SHIPPED:
                shipped = line.quantity - cancelled
            shipped = min(shipped, line.quantity - cancelled)
            states[line.line_id] = _Line(
                line,
                shipped,
                cancelled,
                refunded.get(line.line_id, 0),
                returned.get(line.line_id, 0),
                places.get(line.line_id, "default"),
            )
        bundles = self.planner.bundles(conn, {ln.sku for ln in order.lines if ln.sku})
        return order, states, {k: dict(v) for k, v in bundles.items()}

    @staticmethod
    def _state(order: Order, states: Mapping[str, _Line], line_id: str, what: str) -> _Line:
        state = states.get(line_id)
        if state is None:
            raise OperationRefused(
                f"{what}: order {order.order_id} has no line {line_id!r}"
                f" (its lines: {', '.join(sorted(states)) or 'none'})"
            )
        return state

    # -- planning ----------------------------------------------------------------------------

    def _cancel_units(
        self, order: Order, states: Mapping[str, _Line], wanted: Mapping[str, int]
    ) -> dict[str, int]:
        if order.status is OrderStatus.CANCELLED:
            raise OperationRefused(
                f"order {order.order_id} on {order.account} is cancelled already"
            )
        if order.status is OrderStatus.REFUNDED:
            raise OperationRefused(
                f"order {order.order_id} on {order.account} is refunded: nothing to cancel"
            )
        if not wanted:
            units = {lid: s.open for lid, s in states.items() if s.open}
            if not units:
                raise OperationRefused(
                    f"order {order.order_id} on {order.account} has shipped: nothing is left to"
                    " cancel; refund it, or record a return when the units come back"
                )
            return units
        for line_id, qty in wanted.items():
            state = self._state(order, states, line_id, "cancel")
            if qty > state.open:
                raise OperationRefused(
                    f"order {order.order_id}: line {line_id!r} has {state.open} unit(s) not"
                    f" shipped or cancelled ({state.shipped} shipped,"
                    f" {state.cancelled} cancelled): {qty} cannot be cancelled;"
                    " refund shipped units instead"
                )
        return dict(wanted)

    @staticmethod
    def _whole(order: Order, states: Mapping[str, _Line], units: Mapping[str, int]) -> bool:
        """Whether ``units`` are every unit of the order (none shipped, none left)."""
        return all(
            s.shipped == 0 and s.cancelled == 0 and units.get(lid, 0) == s.open
            for lid, s in states.items()
        )

    def _refund_plan(
        self,
        order: Order,
        states: Mapping[str, _Line],
        wanted: Mapping[str, int],
        amount: Money | None,
        restock: bool,
    ) -> tuple[Money, dict[str, int], dict[str, int], dict[str, Money]]:
        """The amount; per line the units cancelled and returned, and its share of the amount."""
        if order.status is OrderStatus.CANCELLED and not order.total:
            raise OperationRefused(f"order {order.order_id} is cancelled: nothing was paid")
        currency = order.currency or (order.total.currency if order.total else None)
        cancelled: dict[str, int] = {}
        returned: dict[str, int] = {}
        due: Money | None = None
        parts: dict[str, Money] = {}
        for line_id, qty in wanted.items():
            state = self._state(order, states, line_id, "refund")
            if qty > state.refundable:
                raise OperationRefused(
                    f"order {order.order_id}: line {line_id!r} has {state.refundable} unit(s)"
                    f" not refunded or cancelled yet: {qty} cannot be refunded"
                )
            first = min(qty, state.open)
            if first:
                cancelled[line_id] = first
            if restock and qty - first:
                back = min(qty - first, state.returnable)
                if back:
                    returned[line_id] = back
            share = _line_amount(state.line, qty)
            if share is not None:
                parts[line_id] = share
                due = share if due is None else due + share
        money = amount or due
        if money is None:
            raise OperationRefused(
                f"order {order.order_id}: the lines carry no prices: give the amount to refund"
            )
        if currency is not None and money.currency != currency:
            raise OperationRefused(
                f"order {order.order_id} was paid in {currency}: a refund in {money.currency}"
                " cannot be made"
            )
        paid = order.total
        if paid is None:
            totals = [_line_amount(s.line, s.line.quantity) for s in states.values()]
            known = [m for m in totals if m is not None]
            if known:
                paid = sum(known[1:], known[0])
        if paid is not None and paid.currency == money.currency:
            before = sum(
                (
                    r.amount.amount
                    for r in order.refunds
                    if r.amount is not None and r.amount.currency == money.currency
                ),
                Decimal(0),
            )
            left = paid.amount - before
            if money.amount > left:
                raise OperationRefused(
                    f"order {order.order_id}: {money} is more than can be refunded: the buyer"
                    f" paid {paid} and {before} {money.currency} was refunded before"
                    f" (at most {left} {money.currency} left)"
                )
        return money, cancelled, returned, _shares(money, parts, wanted)

    @staticmethod
    def _stock_of(
        states: Mapping[str, _Line],
        units: Mapping[str, int],
        bundles: Mapping[str, Mapping[str, int]],
        *,
        restock: bool,
    ) -> tuple[dict[str, int], dict[str, int]]:
        """SKU -> units moved back (released or restocked), and SKU -> units written off."""
        moved: dict[str, int] = {}
        written: dict[str, int] = {}
        for line_id, qty in units.items():
            state = states.get(line_id)
            if state is None or state.line.sku is None or state.line.fulfilled_by_channel:
                continue
            for sku, per in (bundles.get(state.line.sku) or {state.line.sku: 1}).items():
                _add(moved, sku, qty * per)
                if not restock:
                    _add(written, sku, qty * per)
        return moved, written
