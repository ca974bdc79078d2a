"""``channelsync stock show|set|adjust|transfer|explain|cost``: the ledger of one SKU."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from channelsync.cli._state import EXIT_FAILED, State, esc
from channelsync.cli._sync import price_steps
from channelsync.core.models import Money
from channelsync.core.results import Explanation, StockView

__all__ = ["register", "stock_view_dict"]

stock = typer.Typer(
    help="Show, count, adjust and explain the stock of a SKU.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="An idempotency key (an ERP export id, a delivery note number): repeating"
        " the command with the same key changes nothing.",
    ),
]
LocationOption = Annotated[
    str,
    typer.Option("--location", "-l", help="The location (warehouse) the units are at."),
]


def stock_view_dict(view: StockView) -> dict[str, Any]:
    """A ``StockView`` as JSON-ready data."""
    return {
        "sku": view.sku,
        "on_hand": view.on_hand,
        "committed": view.committed,
        "available": view.available,
        "tracked": view.tracked,
        "bundle": view.bundle,
        "locations": [
            {
                "location": x.location,
                "on_hand": x.on_hand,
                "committed": x.committed,
                "available": x.available,
            }
            for x in view.locations
        ],
        "channels": [
            {
                "account": c.account,
                "location": c.location or None,
                "should_show": c.desired,
                "acknowledged": c.acked,
                "listed": c.listed,
                "pending": c.pending,
                "attempts": c.attempts,
                "last_error": c.last_error,
                "note": c.note,
            }
            for c in view.channels
        ],
    }


def _print_view(state: State, view: StockView) -> None:
    out = state.out
    avail = view.available
    style = "bold red" if avail < 0 else "bold"
    head = (
        f"[bold]{esc(view.sku)}[/]  on hand [bold]{view.on_hand}[/]  committed"
        f" [bold]{view.committed}[/]  available [{style}]{avail}[/]"
    )
    if avail < 0:
        head += f"  [red](oversold by {-avail})[/]"
    if view.bundle:
        head += "  bundle of " + ", ".join(
            f"{q} x {esc(c)}" for c, q in sorted(view.bundle.items())
        )
    elif not view.tracked:
        head += "  [yellow](not counted yet: set its stock with `channelsync stock set`)[/]"
    out.console.print(head)
    if len(view.locations) > 1 or any(x.location != "default" for x in view.locations):
        places = Table("location", "on hand", "committed", "available")
        for x in view.locations:
            places.add_row(
                escape(x.location),
                str(x.on_hand),
                str(x.committed),
                f"[red]{x.available}[/]" if x.available < 0 else str(x.available),
            )
        out.console.print(places)
    if not view.channels:
        out.console.print("not listed on any imported channel account")
        return
    table = Table("account", "should show", "channel acknowledged", "pending", "note / last error")
    for c in view.channels:
        table.add_row(
            escape(c.account + (f" @ {c.location}" if c.location else "")),
            "-" if c.desired is None else str(c.desired),
            "-" if c.acked is None else str(c.acked),
            "yes" if c.pending else "",
            out.clip(c.last_error or c.note or "", 120),
        )
    out.console.print(table)


@stock.command("show")
def show(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    as_json: JsonFlag = False,
) -> None:
    """On hand, committed and available units of SKU, and what every channel should show."""
    state: State = ctx.obj
    view = state.engine().stock(sku)
    if as_json:
        state.out.json(stock_view_dict(view))
    else:
        _print_view(state, view)


@stock.command("set", context_settings={"ignore_unknown_options": True})
def set_(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    quantity: Annotated[int, typer.Argument(help="Units physically in the warehouse.", min=0)],
    key: KeyOption = None,
    note: Annotated[str | None, typer.Option(help="A note for the journal.")] = None,
    location: LocationOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """Record a stock count: SKU's on-hand units (at --location) become QUANTITY.

    Channels get the new figures on the next `channelsync sync` (or from the worker).
    """
    state: State = ctx.obj
    view = state.engine().set_on_hand(
        sku, quantity, idempotency_key=key, note=note, source="cli", location=location
    )
    if as_json:
        state.out.json(stock_view_dict(view))
    else:
        _print_view(state, view)


@stock.command("adjust", context_settings={"ignore_unknown_options": True})
def adjust(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    delta: Annotated[
        int | None,
        typer.Argument(
            help="Units to add (negative to remove), e.g. 12 or -2 (or `-- -2`, or --by -2).",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why: receipt, return, damage, ...")
    ] = "",
    by: Annotated[
        int | None,
        typer.Option("--by", help="The delta as an option: --by -5 (instead of DELTA)."),
    ] = None,
    allow_negative: Annotated[
        bool,
        typer.Option(
            "--allow-negative",
            help="Let on hand go below zero (refused otherwise); the journal row says so.",
        ),
    ] = False,
    key: KeyOption = None,
    location: LocationOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """Change SKU's on-hand units (at --location) by DELTA (a delivery, a restocked return,
    damage).

    A negative DELTA works as it is (`stock adjust MUG-1 -2 -r damage`), after `--`, or as
    `--by -2`. Taking on hand below zero is refused (exit 2) unless --allow-negative. Pass
    --key to make a retry of the same command harmless.
    """
    state: State = ctx.obj
    if (delta is None) == (by is None):
        raise typer.BadParameter("give the delta once: as DELTA or as --by", param_hint="DELTA")
    if not reason.strip():
        raise typer.BadParameter("say why: --reason receipt|return|damage|...")
    units = delta if delta is not None else by
    assert units is not None
    view = state.engine().adjust(
        sku,
        units,
        reason,
        idempotency_key=key,
        source="cli",
        location=location,
        allow_negative=allow_negative,
    )
    if as_json:
        state.out.json(stock_view_dict(view))
    else:
        _print_view(state, view)


@stock.command("transfer")
def transfer(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    units: Annotated[int, typer.Argument(help="Units to move.", min=1)],
    from_location: Annotated[str, typer.Option("--from", help="Where the units are now.")],
    to_location: Annotated[str, typer.Option("--to", help="Where they go.")],
    key: KeyOption = None,
    note: Annotated[str | None, typer.Option(help="A note for the journal.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Move UNITS of SKU on hand from one location to another (the total stays).

    Refused (exit 2, nothing changes) when the source location has fewer units on hand.
    """
    state: State = ctx.obj
    view = state.engine().transfer(
        sku,
        units,
        from_location,
        to_location,
        idempotency_key=key,
        note=note,
        source="cli",
    )
    if as_json:
        state.out.json(stock_view_dict(view))
    else:
        _print_view(state, view)


def explanation_dict(exp: Explanation, limit: int | None = None) -> dict[str, Any]:
    """An ``Explanation`` as JSON-ready data (the newest ``limit`` journal rows)."""
    entries = list(exp.entries)
    if limit is not None:
        entries = entries[-limit:]
    return {
        "sku": exp.sku,
        "on_hand": exp.on_hand,
        "committed": exp.committed,
        "available": exp.available,
        "journal_rows": len(exp.entries),
        "journal": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "d_on_hand": e.d_on_hand,
                "d_committed": e.d_committed,
                "on_hand_after": e.on_hand_after,
                "committed_after": e.committed_after,
                "reason": e.reason,
                "location": e.location,
                "source": e.source,
                "account": e.account,
                "order_id": e.order_id,
                "line_id": e.line_id,
                "note": e.note,
            }
            for e in entries
        ],
        "allocation": {
            account: [{"step": s.step, "detail": s.detail, "quantity": s.quantity} for s in steps]
            for account, steps in sorted(exp.allocation.items())
        },
        "prices": {account: p.as_dict() for account, p in sorted(exp.prices.items())},
    }


@stock.command("explain")
def explain(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="Only this channel account.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show the newest N journal rows.", min=1)] = 50,
    location: Annotated[
        str | None,
        typer.Option("--location", "-l", help="Only the journal rows of this location."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Why SKU's figures are what they are: its journal (each row at its location), and
    how each channel's number arose."""
    state: State = ctx.obj
    exp = state.engine().explain(sku, account)
    if not exp.known:
        state.out.error(
            f"no SKU {sku!r} in the store: never counted, listed, ordered or bundled"
            " (check its spelling, or `channelsync listings import`)"
        )
        raise typer.Exit(EXIT_FAILED)
    if location is not None:
        exp = dataclasses.replace(
            exp, entries=tuple(e for e in exp.entries if e.location == location)
        )
    if as_json:
        state.out.json(explanation_dict(exp, limit))
        return
    out = state.out
    out.console.print(
        f"[bold]{esc(exp.sku)}[/]  on hand {exp.on_hand}  committed {exp.committed}"
        f"  available {exp.available}  ({len(exp.entries)} journal rows)"
    )
    table = Table(
        "#", "when (UTC)", "location", "on hand", "committed", "after", "reason", "source"
    )
    shown = list(exp.entries)[-limit:]
    for e in shown:
        source = e.source
        if e.order_id:
            source = f"{e.account} order {e.order_id}" + (f" line {e.line_id}" if e.line_id else "")
        table.add_row(
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(e.location or "(all)"),
            f"{e.d_on_hand:+d}" if e.d_on_hand else "",
            f"{e.d_committed:+d}" if e.d_committed else "",
            f"{e.on_hand_after}/{e.committed_after}",
            out.clip(e.reason + (f" ({e.note})" if e.note else ""), 200),
            out.clip(source, 200),
        )
    if len(exp.entries) > len(shown):
        out.console.print(f"(the first {len(exp.entries) - len(shown)} rows are not shown)")
    out.console.print(table)
    for acct, steps in sorted(exp.allocation.items()):
        chain = "  ->  ".join(f"{s.step} {s.quantity} ({esc(s.detail)})" for s in steps)
        out.console.print(f"[bold]{esc(acct)}[/]: {chain or 'nothing pushed'}")
    for acct, price in sorted(exp.prices.items()):
        out.console.print(f"[bold]{esc(acct)}[/] price: {esc(price_steps(price))}")


@stock.command("cost")
def cost(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    amount: Annotated[str, typer.Argument(help="The cost price of one unit, e.g. 12.50.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency code.")] = "EUR",
    title: Annotated[str | None, typer.Option(help="The product's title.")] = None,
) -> None:
    """Record SKU's cost price, which the sales report's gross margin subtracts."""
    state: State = ctx.obj
    money = Money.of(amount, currency)
    state.engine().set_cost(sku, money, title=title)
    state.out.console.print(f"cost of {esc(sku)}: {esc(money)}")


def register(app: typer.Typer) -> None:
    """Add ``stock`` to ``app``."""
    app.add_typer(stock, name="stock")
