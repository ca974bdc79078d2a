"""``channelsync report sales``: revenue, units, refunds, fees and gross margin."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from channelsync.cli._state import EXIT_CONFIG, State, esc
from channelsync.cli._time import parse_day
from channelsync.reports import GROUPS, SalesReport, day_bounds, render_chart, sales_report

__all__ = ["register", "sales_table"]

report = typer.Typer(
    help="Reports from the orders in the store.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def sales_table(rep: SalesReport) -> Table:
    """The report as a Rich table (one row per group and currency, then the totals).

    The currency column appears only when there are several currencies, the refunds
    column only when there were refunds: the table fits an 80-column terminal.
    """
    first = rep.start.date().isoformat()
    last = (rep.end - timedelta(microseconds=1)).date().isoformat()
    rows = rep.rows + rep.totals
    currencies = sorted({r.currency for r in rows})
    columns = [
        rep.by,
        "cur",
        "orders",
        "units",
        "revenue",
        "refunds",
        "fees",
        "cost",
        "margin",
        "%",
    ]
    if len(currencies) <= 1:
        columns.remove("cur")
    if not any(r.refunds for r in rows):
        columns.remove("refunds")
    title = f"sales {first} to {last} by {rep.by} ({rep.timezone})"
    if len(currencies) == 1:
        title += f", {currencies[0]}"
    table = Table(*columns, title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    first_col = table.columns[0]
    first_col.max_width, first_col.overflow, first_col.no_wrap = 18, "ellipsis", True
    for col in table.columns[1:]:
        col.justify = "left" if col.header == "cur" else "right"
    for row in rows:
        d = row.as_dict()
        values = {
            rep.by: row.key,
            "cur": row.currency,
            "orders": str(row.orders),
            "units": str(row.units),
            "revenue": d["revenue"],
            "refunds": d["refunds"],
            "fees": d["fees"] + ("*" if row.fees_estimated else ""),
            "cost": d["cost"] + ("!" if row.units_without_cost else ""),
            "margin": d["margin"],
            "%": d["margin_percent"] or "",
        }
        cells = [values[c] for c in columns]
        bold = row in rep.totals
        table.add_row(*(esc(c) for c in cells), style="bold" if bold else None)
        for col, cell in zip(table.columns[1:], cells[1:], strict=True):
            col.min_width = max(col.min_width or 0, len(cell), len(str(col.header)))
    return table


@report.command("sales")
def sales(
    ctx: typer.Context,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="First day (YYYY-MM-DD; default: 29 days before --to)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day, included (default: today).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Group by channel, sku or day.")] = "channel",
    account: Annotated[
        list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--tz", help="Calendar of the days (default: \\[reports] timezone)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON/CSV/table to this file.")
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="Also draw revenue and margin per channel per day into this PNG"
            " (needs channelsync\\[chart]).",
        ),
    ] = None,
) -> None:
    """Revenue, units, refunds, channel fees and gross margin per channel, SKU or day.

    Fees come from the orders where the channel reports them, else from the account's
    fee_percent (marked *). Cost prices come from `channelsync stock cost`; a cost marked !
    misses some SKUs' cost prices (see --json's skus_without_cost).
    """
    state: State = ctx.obj
    if by not in GROUPS:
        raise typer.BadParameter(f"use one of {', '.join(GROUPS)}", param_hint="--by")
    if as_json and as_csv:
        raise typer.BadParameter("choose --json or --csv", param_hint="--json/--csv")
    config = state.config
    tz = timezone or config.settings.reports.timezone
    try:
        ZoneInfo(tz)
    except Exception:
        raise typer.BadParameter(f"unknown timezone {tz!r}", param_hint="--tz") from None
    last = parse_day(to, "--to") if to else datetime.now(ZoneInfo(tz)).date()
    first = parse_day(from_, "--from") if from_ else last - timedelta(days=29)
    if first > last:
        state.out.error(f"--from {first} is after --to {last}")
        raise typer.Exit(EXIT_CONFIG)
    for name in account or ():
        state.check_account(name)
    rep = build_sales(state, first, last, by, tz, account)
    if as_json:
        text = rep.to_json() + "\n"
    elif as_csv:
        buf = io.StringIO()
        rep.write_csv(buf)
        text = buf.getvalue()
    else:
        text = None
    if text is not None:
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            state.out.text(text)
    else:
        table = sales_table(rep)
        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                Console(file=fh, width=140).print(table)
        else:
            state.out.console.print(table)
            if rep.missing_cost:
                state.out.note(
                    f"! no cost price for {len(rep.missing_cost)} SKUs (their margin is"
                    " overstated): `channelsync stock cost SKU AMOUNT`"
                )
            if any(r.fees_estimated for r in rep.rows):
                state.out.note("* fees estimated from the account's fee_percent")
    if chart is not None:
        render_chart(rep, chart)
        state.out.note(f"chart written to {chart}")


def build_sales(
    state: State, first: date, last: date, by: str, tz: str, accounts: list[str] | None = None
) -> SalesReport:
    """The sales report of ``state``'s store over the days ``first`` to ``last``."""
    start, end = day_bounds(first, last, tz)
    return sales_report(
        state.store,
        start=start,
        end=end,
        by=by,  # type: ignore[arg-type]  # checked against GROUPS by the callers
        fee_percent=state.config.fee_percent(),
        timezone=tz,
        accounts=accounts or None,
    )


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.add_typer(report, name="report")
