"""``channelsync orders cancel|refund|return``, cancel requests, operations, review requests.

Each command takes ``--dry-run`` (what would change, nothing sent) and ``--json``. A
repeat of the same command is a no-op (the operation's idempotency key is made from its
figures, or given with ``--key``); the same ``--key`` with other figures exits 2 and
changes nothing. An operation the channel finishes later (an Amazon feed, an eBay
refund) ends ``pending``: ``channelsync orders settle`` applies it once the channel has.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from channelsync.cli._orders import AccountArg, JsonFlag, OrderArg, orders
from channelsync.cli._state import EXIT_FAILED, State, esc
from channelsync.core.aftersale import OperationResult
from channelsync.core.channel import REASONS
from channelsync.core.errors import ConfigError
from channelsync.core.models import Money

__all__ = ["register"]

_REASONS = ", ".join(REASONS)

LineOpt = Annotated[
    list[str] | None,
    typer.Option("--line", help="LINE_ID=UNITS (repeatable); see channelsync orders show."),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help=f"One of: {_REASONS}.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A free-text note kept with it.")]
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", help="Your idempotency key (default: made from the figures)."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; send and change nothing.")
]
AccountOpt = Annotated[
    str | None, typer.Option("--account", "-a", help="Only this channel account.")
]


def _lines(values: list[str] | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    for value in values or []:
        line_id, sep, qty = value.partition("=")
        if not sep or not line_id or not qty.isdigit() or int(qty) <= 0:
            raise typer.BadParameter(
                f"{value!r}: give LINE_ID=UNITS, e.g. --line 1234=2", param_hint="--line"
            )
        lines[line_id] = lines.get(line_id, 0) + int(qty)
    return lines


def _reason(value: str) -> str:
    if value not in REASONS:
        raise typer.BadParameter(f"{value!r} is not one of: {_REASONS}", param_hint="--reason")
    return value


def _figures(units: dict[str, int]) -> str:
    return esc(", ".join(f"{sku} {n}" for sku, n in sorted(units.items())) or "-")


def _show(state: State, result: OperationResult, as_json: bool) -> None:
    if as_json:
        state.out.json(result.as_dict())
    else:
        out = state.out.console
        what = {"cancel": "cancel", "refund": "refund", "return": "return"}[result.kind]
        again = " (repeated: nothing new)" if result.repeated else ""
        out.print(
            f"{esc(result.account)} order {esc(result.order_id)}: {what} {esc(result.status)}"
            f" [dim](channel: {esc(result.channel)})[/]{again}"
        )
        if result.refund is not None and result.refund.amount is not None:
            out.print(f"  refund {esc(result.refund.amount)}")
        if result.lines:
            out.print(f"  lines: {_figures(result.lines)}")
        if result.released:
            out.print(f"  released: {_figures(result.released)}")
        if result.restocked:
            out.print(f"  restocked: {_figures(result.restocked)}")
        if result.written_off:
            out.print(f"  written off: {_figures(result.written_off)}")
        if result.reference:
            out.print(f"  channel reference: {state.out.clip(result.reference, 200)}")
        if result.detail:
            out.print(f"  {state.out.clip(result.detail, 400)}")
        out.print(f"  [dim]key {state.out.clip(result.idempotency_key, 200)}[/]")
    if result.status == "pending" and not result.repeated:
        state.out.note(
            "pending: the channel is still processing it; run channelsync orders settle"
            " later (nothing moves in the ledger until it is done)"
        )
    if result.status == "failed":
        raise typer.Exit(EXIT_FAILED)


@orders.command("cancel")
def cancel(
    ctx: typer.Context,
    account: AccountArg,
    order_id: OrderArg,
    reason: ReasonOpt,
    line: LineOpt = None,
    note: NoteOpt = None,
    restock: Annotated[
        bool,
        typer.Option(
            "--restock/--write-off",
            help="Units go back to sale (default) or are written off (damaged, lost).",
        ),
    ] = True,
    key: KeyOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Cancel units that have not shipped (every one unless --line), on the channel first.

    A shipped order cannot be cancelled: refund it, or record a return when units come back.
    """
    state: State = ctx.obj
    state.check_account(account)
    engine = state.engine([] if dry_run else [account])
    result = engine.cancel(
        account,
        order_id,
        lines=_lines(line) or None,
        reason=_reason(reason),
        note=note,
        restock=restock,
        idempotency_key=key,
        dry_run=dry_run,
    )
    _show(state, result, as_json)


@orders.command("refund")
def refund(
    ctx: typer.Context,
    account: AccountArg,
    order_id: OrderArg,
    reason: ReasonOpt,
    line: LineOpt = None,
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="The amount to refund, e.g. 12.50 (default: the lines')."),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", help="The amount's currency (default: the order's)."),
    ] = None,
    note: NoteOpt = None,
    restock: Annotated[
        bool,
        typer.Option(
            "--restock/--no-restock",
            help="Shipped units of the lines came back and go on sale again (default: no).",
        ),
    ] = False,
    key: KeyOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Refund money (an amount, the lines' price, or both), through the channel.

    Never more than was paid less earlier refunds. Refunded units not shipped yet are
    cancelled; shipped ones stay with the buyer unless --restock.
    """
    state: State = ctx.obj
    state.check_account(account)
    engine = state.engine([] if dry_run else [account])
    money: Money | None = None
    if amount is not None:
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise typer.BadParameter(
                f"{amount!r} is not an amount", param_hint="--amount"
            ) from None
        code = currency or engine.order(account, order_id).currency
        if code is None:
            raise typer.BadParameter("the order has no currency: give --currency")
        money = Money(amount=value, currency=code.upper())
    result = engine.refund(
        account,
        order_id,
        lines=_lines(line) or None,
        amount=money,
        reason=_reason(reason),
        note=note,
        restock=restock,
        idempotency_key=key,
        dry_run=dry_run,
    )
    _show(state, result, as_json)


@orders.command("return")
def return_(
    ctx: typer.Context,
    account: AccountArg,
    order_id: OrderArg,
    line: Annotated[
        list[str],
        typer.Option("--line", help="LINE_ID=UNITS that came back (repeatable, required)."),
    ],
    restock: Annotated[
        bool,
        typer.Option("--restock/--write-off", help="Back on sale (default) or written off."),
    ] = True,
    location: Annotated[
        str | None,
        typer.Option(
            "--location",
            help="Where the units are restocked (default: where each line shipped from).",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help=f"One of: {_REASONS}.")] = "other",
    note: NoteOpt = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Record it here only; do not tell the channel."),
    ] = False,
    key: KeyOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Record units the buyer sent back: restocked or written off, each unit once.

    Never more units than shipped. Channels with a returns API are told (Shopify closes a
    return, eBay marks the buyer's return received); refund separately.
    """
    state: State = ctx.obj
    state.check_account(account)
    engine = state.engine([] if dry_run or local else [account])
    result = engine.record_return(
        account,
        order_id,
        _lines(line),
        restock=restock,
        location=location,
        reason=_reason(reason),
        note=note,
        notify_channel=not local,
        idempotency_key=key,
        dry_run=dry_run,
    )
    _show(state, result, as_json)


@orders.command("cancel-requests")
def cancel_requests(
    ctx: typer.Context,
    account: AccountOpt = None,
    accept: Annotated[
        list[str] | None,
        typer.Option(
            "--accept", help="Accept this order's request (ORDER_ID, repeatable; needs -a)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Buyers' open cancellation requests (Amazon); --accept cancels what they asked."""
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    if accept:
        if account is None:
            raise typer.BadParameter("--accept needs --account", param_hint="--accept")
        engine = state.engine([account])
        results = [engine.accept_cancel_request(account, order_id) for order_id in accept]
        if as_json:
            state.out.json([r.as_dict() for r in results])
            return
        for result in results:
            _show(state, result, False)
        return
    views = state.engine().cancel_requests(account)
    if as_json:
        state.out.json(
            [
                {
                    "account": v.account,
                    "order_id": v.order_id,
                    "number": v.number,
                    "status": v.status,
                    "requested_by": v.requested_by,
                    "reason": v.reason,
                    "lines": v.lines,
                    "created_at": v.created_at.isoformat(),
                }
                for v in views
            ]
        )
        return
    table = Table("account", "order", "status", "asked by", "reason", "units not shipped")
    for v in views:
        table.add_row(
            esc(v.account),
            esc(v.order_id),
            esc(v.status),
            esc(v.requested_by),
            state.out.clip(v.reason or "", 60),
            _figures(v.lines),
        )
    state.out.console.print(table)


@orders.command("operations")
def operations(
    ctx: typer.Context,
    account: AccountOpt = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="pending, done or failed (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancels, refunds and returns recorded, newest first."""
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    results = state.engine().operations(account=account, status=status or ())
    _list(state, results, as_json)


@orders.command("settle")
def settle(ctx: typer.Context, account: AccountOpt = None, as_json: JsonFlag = False) -> None:
    """Ask the channels about pending operations; apply those that are done."""
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    engine = state.engine([account] if account else None, all_enabled=account is None)
    results = engine.settle_operations(account)
    _list(state, results, as_json)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_FAILED)


def _list(state: State, results: list[OperationResult], as_json: bool) -> None:
    if as_json:
        state.out.json([r.as_dict() for r in results])
        return
    table = Table("account", "order", "kind", "status", "channel", "refund", "units", "detail")
    for r in results:
        table.add_row(
            esc(r.account),
            esc(r.order_id),
            esc(r.kind),
            esc(r.status),
            esc(r.channel),
            esc(r.refund.amount) if r.refund and r.refund.amount else "",
            _figures(r.lines),
            state.out.clip(r.detail or "", 60),
        )
    state.out.console.print(table)


@orders.command("review-requests")
def review_requests(
    ctx: typer.Context,
    account: AccountOpt = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send", help="Send the requests channels send themselves (Amazon Solicitations)."
        ),
    ] = False,
    mark_sent: Annotated[
        list[str] | None,
        typer.Option(
            "--mark-sent",
            help="Record ACCOUNT/ORDER_ID as asked by your own shop's tool (repeatable).",
        ),
    ] = None,
    after_days: Annotated[
        float, typer.Option("--after-days", help="Your shop's orders: days after shipping.")
    ] = 7.0,
    within_days: Annotated[
        float, typer.Option("--within-days", help="...and for how many days after that.")
    ] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Orders due a review request: never cancelled, refunded or returned ones; once each.

    Only accounts that opted in (review_requests = true in their \\[accounts.NAME] table).

    Amazon orders go out with --send when Amazon's window is open. Your own shop's orders
    (Shopify, WooCommerce) are listed for your review tool; record them with --mark-sent.
    eBay offers sellers no review request (eBay asks buyers itself): never listed.
    """
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    if mark_sent:
        pairs = []
        for value in mark_sent:
            acc, sep, order_id = value.partition("/")
            if not sep or not acc or not order_id:
                raise typer.BadParameter(
                    f"{value!r}: give ACCOUNT/ORDER_ID", param_hint="--mark-sent"
                )
            state.check_account(acc)
            pairs.append((acc, order_id))
        count = state.engine().mark_review_requests_sent(pairs)
        if as_json:
            state.out.json({"recorded": count})
        else:
            state.out.console.print(f"{count} review request(s) recorded as sent")
        return
    opted = [
        name
        for name, settings in state.config.accounts.items()
        if settings.review_requests and settings.enabled
    ]
    if account is not None and account not in opted:
        raise ConfigError(
            f"account {account!r} has not opted in to review requests: set"
            f" review_requests = true in [accounts.{account}]"
        )
    if not opted:
        state.out.note(
            "no account has opted in to review requests (review_requests = true in its"
            " [accounts.NAME] table)"
        )
    wanted = [account] if account is not None else opted
    engine = state.engine(wanted)
    after = timedelta(days=after_days)
    within = timedelta(days=within_days)
    if send:
        outcomes = engine.send_review_requests(
            account=account, accounts=wanted, after=after, within=within
        )
        if as_json:
            state.out.json([o.as_dict() for o in outcomes])
            return
        table = Table("account", "order", "status", "via", "detail")
        for o in outcomes:
            table.add_row(
                esc(o.account),
                esc(o.order_id),
                esc(o.status),
                esc(o.via),
                state.out.clip(o.detail or "", 80),
            )
        state.out.console.print(table)
        return
    due = engine.review_requests_due(account=account, accounts=wanted, after=after, within=within)
    if as_json:
        state.out.json([d.as_dict() for d in due])
        return
    table = Table("account", "order", "number", "shipped", "via", "customer")
    for d in due:
        table.add_row(
            esc(d.account),
            esc(d.order_id),
            esc(d.number or ""),
            f"{d.shipped_at:%Y-%m-%d}",
            "channel (--send)" if d.via == "channel" else "your shop (--mark-sent)",
            state.out.clip(d.customer_email or d.customer_name or "", 40),
        )
    state.out.console.print(table)


def register(app: typer.Typer) -> None:
    """The commands are added to ``orders`` when this module is imported."""
