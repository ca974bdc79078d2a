"""``channelsync orders list|show|ship|failures`` and ``customers list|show|merge|split|
edits|export|forget``
(``cancel``, ``refund``, ``return`` and the rest of after-sale live in ``_aftersale``)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from channelsync.cli._state import EXIT_CONFIG, EXIT_FAILED, State, esc
from channelsync.cli._time import parse_when
from channelsync.core.errors import InvalidInput, UnknownCustomer
from channelsync.core.models import Order, OrderStatus, Shipment
from channelsync.core.results import Person

__all__ = ["register"]

_SETTINGS = {"help_option_names": ["-h", "--help"]}
orders = typer.Typer(
    help="List, show, ship, cancel and refund the orders channelsync has seen; returns.",
    no_args_is_help=True,
    context_settings=_SETTINGS,
)
customers = typer.Typer(
    help="Customer data requests (GDPR art. 15 export, art. 17 erasure) and retention.",
    no_args_is_help=True,
    context_settings=_SETTINGS,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AccountArg = Annotated[str, typer.Argument(help="The channel account, e.g. shopify-main.")]
OrderArg = Annotated[str, typer.Argument(help="The channel's order id.")]


@orders.command("list")
def list_(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this channel account.")
    ] = None,
    status: Annotated[
        list[OrderStatus] | None,
        typer.Option("--status", "-s", help="Only orders in this status (repeatable)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Created at or after: 2026-11-01, 2026-11-01T08:00+01:00, or 7d."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Created before (same forms).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The newest orders in the store."""
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    rows = state.engine().orders(
        account=account,
        status=status or (),
        since=parse_when(since, "--since") if since else None,
        until=parse_when(until, "--until") if until else None,
        limit=limit,
    )
    if as_json:
        state.out.json([r.as_dict() for r in rows])
        return
    table = Table(
        "account", "order", "number", "status", "created (UTC)", "lines", "units", "total"
    )
    for r in rows:
        status_text = esc(r.status) + (
            f" [yellow](+{r.shipments_pending} shipment pending)[/]" if r.shipments_pending else ""
        )
        table.add_row(
            esc(r.account),
            esc(r.order_id),
            esc(r.number or ""),
            status_text,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            str(r.lines),
            str(r.units),
            esc(f"{r.total} {r.currency or ''}".strip()) if r.total is not None else "",
        )
    state.out.console.print(table)
    if not rows:
        state.out.note("no orders match")


@orders.command("failures")
def failures(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this channel account.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Orders a channel returned that could not be read (malformed on the channel).

    They never block the other orders. Each stays listed until the order changes on the
    channel and reads cleanly; exits 1 while any is listed.
    """
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    rows = state.engine().order_failures(account)
    if as_json:
        state.out.json(
            [
                {
                    "account": r.account,
                    "order_id": r.order_id,
                    "error": state.out.scrub(r.error),
                    "first_seen_at": r.first_seen_at.isoformat(),
                    "last_seen_at": r.last_seen_at.isoformat(),
                    "times": r.times,
                }
                for r in rows
            ]
        )
    else:
        table = Table("account", "order", "error", "first seen (UTC)", "times")
        for r in rows:
            table.add_row(
                esc(r.account),
                esc(r.order_id),
                state.out.clip(r.error, 160),
                r.first_seen_at.strftime("%Y-%m-%d %H:%M"),
                str(r.times),
            )
        state.out.console.print(table)
        if not rows:
            state.out.note("every order the channels returned could be read")
    if rows:
        raise typer.Exit(EXIT_FAILED)


def order_dict(order: Order) -> dict[str, Any]:
    """An order as JSON-ready data (the raw channel payload left out)."""
    return order.model_dump(mode="json", exclude={"raw"})


@orders.command("show")
def show(
    ctx: typer.Context, account: AccountArg, order_id: OrderArg, as_json: JsonFlag = False
) -> None:
    """One stored order with its lines, shipments and refunds."""
    state: State = ctx.obj
    state.check_account(account)
    order = state.engine().order(account, order_id)
    if as_json:
        state.out.json(order_dict(order))
        return
    out = state.out
    total = f"  total {esc(order.total)}" if order.total else ""
    out.console.print(
        f"[bold]{esc(order.account)} order {esc(order.order_id)}[/]"
        f" ({esc(order.number or '-')})"
        f"  {order.status.value} [dim]({esc(order.raw_status or '')})[/]{total}"
    )
    out.console.print(
        f"created {order.created_at:%Y-%m-%d %H:%M} UTC,"
        f" updated {order.updated_at:%Y-%m-%d %H:%M} UTC"
    )
    if order.customer and (order.customer.name or order.customer.email):
        out.console.print(
            esc(f"customer: {order.customer.name or ''} {order.customer.email or ''}".rstrip())
        )
    if order.shipping_address is not None:
        addr = order.shipping_address
        place = " ".join(p for p in (addr.postal_code, addr.city, addr.country_code) if p)
        out.console.print(esc(f"ship to: {addr.name or ''}, {place}"))
    table = Table("line", "SKU", "title", "qty", "shipped", "cancelled", "unit price", "total")
    for ln in order.lines:
        table.add_row(
            esc(ln.line_id),
            esc(ln.sku or "(custom)"),
            esc((ln.title or "")[:40]),
            str(ln.quantity),
            str(ln.quantity_shipped),
            str(ln.quantity_cancelled),
            esc(ln.unit_price) if ln.unit_price else "",
            esc(ln.total) if ln.total else "",
        )
    out.console.print(table)
    for sh in order.shipments:
        when = f" on {sh.shipped_at:%Y-%m-%d}" if sh.shipped_at else ""
        out.console.print(esc(f"shipped with {sh.carrier} {sh.tracking_number or ''}{when}"))
    for rf in order.refunds:
        out.console.print(
            esc(f"refund {rf.refund_id}: {rf.amount or ''} {rf.reason or ''}".rstrip())
        )


def _parse_lines(values: list[str]) -> dict[str, int]:
    lines: dict[str, int] = {}
    for value in values:
        line_id, sep, qty = value.partition("=")
        if not sep or not line_id or not qty.isdigit() or int(qty) <= 0:
            raise typer.BadParameter(
                f"{value!r}: give LINE_ID=QUANTITY, e.g. --line 1234=2", param_hint="--line"
            )
        lines[line_id] = int(qty)
    return lines


@orders.command("ship")
def ship(
    ctx: typer.Context,
    account: AccountArg,
    order_id: OrderArg,
    carrier: Annotated[str, typer.Option(help="The carrier, e.g. DHL, UPS, Royal Mail.")],
    tracking: Annotated[
        str | None, typer.Option("--tracking", "-t", help="The tracking number.")
    ] = None,
    tracking_url: Annotated[str | None, typer.Option(help="A tracking page URL.")] = None,
    line: Annotated[
        list[str] | None,
        typer.Option(
            "--line", help="Ship only LINE_ID=QUANTITY (repeatable); default every open unit."
        ),
    ] = None,
    push: Annotated[
        bool,
        typer.Option(
            "--push/--no-push", help="Tell the channel now (default) or leave it to the next sync."
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Record that ORDER_ID left the warehouse and tell the channel, with tracking.

    The stock ledger changes at once. Exits 1 when the channel could not be told (the
    shipment stays queued and the next sync tries again; repeating this command is safe).
    """
    state: State = ctx.obj
    state.check_account(account)
    shipment = Shipment(
        carrier=carrier,
        tracking_number=tracking,
        tracking_url=tracking_url,
        lines=_parse_lines(line or []),
    )
    engine = state.engine([account])
    result = engine.ship(account, order_id, shipment, push=push)
    if as_json:
        state.out.json({"account": account, "order_id": order_id, "status": result})
    elif result == "pushed":
        state.out.console.print(
            f"{esc(account)} order {esc(order_id)}: shipped, the channel has the tracking"
        )
    elif result == "pending":
        state.out.console.print(
            f"{esc(account)} order {esc(order_id)}: recorded; the channel is told by the next sync"
        )
    else:
        state.out.error(f"{account} order {order_id}: the channel refused the shipment")
    if result == "failed" or (result == "pending" and push):
        raise typer.Exit(EXIT_FAILED)


# -- customers --------------------------------------------------------------------------------


def _who(emails: list[str] | None, ids: list[str] | None, orders_: list[str] | None) -> None:
    if not (emails or ids or orders_):
        raise typer.BadParameter("name the customer with --email, --customer-id or --order")


@customers.command("list")
def list_customers(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only people who ordered here.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, most recent first.", min=1)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The customer file: one row per person across every channel (same e-mail in any
    case, or the channel's buyer id where it hides the e-mail, and your merges)."""
    state: State = ctx.obj
    if account is not None:
        state.check_account(account)
    rows = state.engine().customers(account)[:limit]
    if as_json:
        state.out.json([r.as_dict() for r in rows])
        return
    table = Table("person", "name", "accounts", "orders", "first", "last", "revenue", "refunds")
    for r in rows:
        table.add_row(
            state.out.clip(r.person_id, 40),
            state.out.clip(r.name or "", 30),
            esc(", ".join(r.accounts)),
            str(r.orders),
            r.first_order_at.strftime("%Y-%m-%d"),
            r.last_order_at.strftime("%Y-%m-%d"),
            esc(", ".join(f"{a} {c}" for c, a in sorted(r.revenue.items()))),
            esc(", ".join(f"{a} {c}" for c, a in sorted(r.refunds.items()))),
        )
    state.out.console.print(table)
    if not rows:
        state.out.note("no customers in the store")


PersonArg = Annotated[
    str,
    typer.Argument(
        help="A person id (email:..., ebay:...), an e-mail, or ACCOUNT/ORDER_ID of their order."
    ),
]


def _person(state: State, ref: str) -> Person:
    try:
        return state.engine().customer(ref)
    except UnknownCustomer as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None


@customers.command("show")
def show_customer(ctx: typer.Context, ref: PersonArg, as_json: JsonFlag = False) -> None:
    """One person: identities, accounts, orders, revenue, refunds and returns."""
    state: State = ctx.obj
    p = _person(state, ref)
    if as_json:
        state.out.json(p.as_dict())
        return
    out = state.out.console
    out.print(f"[bold]{esc(p.name or p.person_id)}[/]  ({esc(p.person_id)})")
    out.print(f"identities: {esc(', '.join(p.identities))}")
    out.print(f"e-mails:    {esc(', '.join(p.emails) or '-')}")
    out.print(f"accounts:   {esc(', '.join(p.accounts))}")
    out.print(
        f"orders:     {p.orders}, first {p.first_order_at:%Y-%m-%d %H:%M},"
        f" last {p.last_order_at:%Y-%m-%d %H:%M} (UTC)"
    )
    out.print(f"revenue:    {', '.join(f'{a} {c}' for c, a in sorted(p.revenue.items())) or '-'}")
    out.print(f"refunds:    {', '.join(f'{a} {c}' for c, a in sorted(p.refunds.items())) or '-'}")
    out.print(f"returned:   {p.returned_units} units")
    table = Table("account", "order")
    for account, order_id in p.order_ids:
        table.add_row(esc(account), esc(order_id))
    out.print(table)


@customers.command("merge")
def merge_customers(
    ctx: typer.Context,
    into: PersonArg,
    other: Annotated[str, typer.Argument(help="The person to merge into the first.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (recorded).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Merge two entries of the customer file that are one person (recorded; undo with
    `customers split`)."""
    state: State = ctx.obj
    try:
        p = state.engine().merge_customers(into, other, actor=_actor(), note=note)
    except (UnknownCustomer, InvalidInput) as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        state.out.json(p.as_dict())
    else:
        state.out.console.print(
            f"{esc(p.person_id)}: {len(p.identities)} identities, {p.orders} orders"
        )


@customers.command("split")
def split_customer(
    ctx: typer.Context,
    identity: Annotated[
        str, typer.Argument(help="The identity to take out (email:..., ebay:..., an e-mail).")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why (recorded).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Take an identity out of the person it was merged into (recorded)."""
    state: State = ctx.obj
    try:
        p = state.engine().split_customer(identity, actor=_actor(), note=note)
    except (UnknownCustomer, InvalidInput) as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        state.out.json(p.as_dict())
    else:
        state.out.console.print(f"{esc(p.person_id)}: a customer of its own, {p.orders} orders")


@customers.command("edits")
def customer_edits(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every merge and split of the customer file: who, when, what."""
    state: State = ctx.obj
    rows = state.engine().customer_edits()
    if as_json:
        state.out.json([e.as_dict() for e in rows])
        return
    table = Table("at (UTC)", "action", "identity", "person", "by", "note")
    for e in rows:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M"), e.action, esc(e.identity), esc(e.person),
            esc(e.actor or ""), esc(e.note or ""),
        )  # fmt: skip
    state.out.console.print(table)


def _actor() -> str | None:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or None


@customers.command("export")
def export(
    ctx: typer.Context,
    email: Annotated[list[str] | None, typer.Option("--email", "-e", help="Repeatable.")] = None,
    customer_id: Annotated[
        list[str] | None, typer.Option("--customer-id", help="The channel's customer id.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this channel account.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", help="A person of the customer file: every channel, merges included."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON to this file.")
    ] = None,
) -> None:
    """Everything the store holds about a customer, as JSON (GDPR art. 15 access request).

    --person exports the person across every channel (their identities and your merges);
    --email matches the e-mail in any case on every channel.
    """
    state: State = ctx.obj
    if person is not None:
        if email or customer_id or account:
            raise typer.BadParameter("--person names the customer alone", param_hint="--person")
        _person(state, person)
        data = state.engine().export_customer(person)
    else:
        _who(email, customer_id, None)
        if account is not None:
            state.check_account(account)
        data = state.engine().privacy.export(
            account=account, customer_ids=customer_id or (), emails=email or ()
        )
    data["customers"] = [json.loads(c) for c in data["customers"]]
    data["exported_at"] = datetime.now(UTC).isoformat()
    if output is not None:
        # Personal data: the file is private from its first byte (not chmod-ed afterwards,
        # which leaves it readable by everyone meanwhile, and keeps an existing file's mode).
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2, default=str) + "\n")
        state.out.note(f"{len(data['orders'])} orders written to {output} (mode 600)")
    else:
        state.out.json(data)
    if not data["orders"]:
        state.out.warn("the store holds no order of this customer")


@customers.command("forget")
def forget(
    ctx: typer.Context,
    email: Annotated[list[str] | None, typer.Option("--email", "-e", help="Repeatable.")] = None,
    customer_id: Annotated[list[str] | None, typer.Option("--customer-id")] = None,
    order: Annotated[
        list[str] | None, typer.Option("--order", help="An order id whose customer to forget.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this channel account.")
    ] = None,
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than-days",
            help="Retention: forget the customers of every order older than this many days.",
            min=1,
        ),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="A person of the customer file: erased on every channel."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase a customer's personal data from stored orders (GDPR art. 17), or apply retention.

    --person erases the person on every channel, with their merges.

    Orders keep their SKUs, quantities and amounts (your books need them); the customer,
    both addresses and the channel's raw payload are removed. This cannot be undone.
    """
    state: State = ctx.obj
    if person is not None:
        if email or customer_id or order or account or older_than is not None:
            raise typer.BadParameter("--person names the customer alone", param_hint="--person")
        p = _person(state, person)
        if not yes and not typer.confirm(
            f"Erase the personal data of {p.person_id} on {', '.join(p.accounts)}?"
            " This cannot be undone.",
            err=True,
        ):
            raise typer.Exit(EXIT_CONFIG)
        count = state.engine().forget_customer(person)
        if as_json:
            state.out.json({"orders_redacted": count})
        else:
            state.out.console.print(f"{count} orders redacted")
        return
    if older_than is None:
        _who(email, customer_id, order)
    elif email or customer_id or order or account:
        raise typer.BadParameter(
            "--older-than-days applies to every customer of every account; name no one"
        )
    if account is not None:
        state.check_account(account)
    if not yes:
        what = (
            f"personal data of every order older than {older_than} days"
            if older_than is not None
            else "this customer's personal data"
        )
        if not typer.confirm(f"Erase {what}? This cannot be undone.", err=True):
            raise typer.Exit(EXIT_CONFIG)
    privacy = state.engine().privacy
    if older_than is not None:
        count = privacy.redact_older_than(timedelta(days=older_than))
    else:
        count = privacy.redact(
            account=account,
            customer_ids=customer_id or (),
            emails=email or (),
            order_ids=order or (),
        )
    if as_json:
        state.out.json({"orders_redacted": count})
    else:
        state.out.console.print(f"{count} orders redacted")


def register(app: typer.Typer) -> None:
    """Add ``orders`` and ``customers`` to ``app``."""
    app.add_typer(orders, name="orders")
    app.add_typer(customers, name="customers")
