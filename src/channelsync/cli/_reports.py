"""``channelsync report sales|channels|customers``: sales figures, marketing success per
channel and period, customer cohorts."""

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
from channelsync.core.errors import ConfigError
from channelsync.marketing import (
    PERIODS,
    ChannelReport,
    channel_report,
    customer_report,
    render_channel_chart,
)
from channelsync.rates import Rates, load_rates
from channelsync.reports import GROUPS, SalesReport, day_bounds, render_chart, sales_report

__all__ = ["channels_table", "register", "sales_table"]

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
    rates: Annotated[
        Path | None,
        typer.Option(
            "--rates",
            help="Exchange rates to cost SKUs whose cost price is in another currency"
            " (default: \\[reports] rates_file).",
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
    rep = build_sales(state, first, last, by, tz, account, _rates(state, rates))
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
    state: State,
    first: date,
    last: date,
    by: str,
    tz: str,
    accounts: list[str] | None = None,
    rates: Rates | None = None,
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
        rates=rates,
    )


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""
    app.add_typer(report, name="report")


def _days(state: State, from_: str | None, to: str | None, tz: str) -> tuple[date, date]:
    try:
        ZoneInfo(tz)
    except Exception:
        raise typer.BadParameter(f"unknown timezone {tz!r}", param_hint="--tz") from None
    last = parse_day(to, "--to") if to else datetime.now(ZoneInfo(tz)).date()
    first = parse_day(from_, "--from") if from_ else last - timedelta(days=29)
    if first > last:
        state.out.error(f"--from {first} is after --to {last}")
        raise typer.Exit(EXIT_CONFIG)
    return first, last


def _rates(state: State, path: Path | None) -> Rates | None:
    chosen = path or state.config.rates_path()
    if chosen is None:
        return None
    try:
        return load_rates(chosen)
    except ConfigError as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None


def _emit(state: State, text: str | None, table: Table | None, output: Path | None) -> None:
    if text is not None:
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            state.out.text(text)
    elif table is not None:
        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                Console(file=fh, width=160).print(table)
        else:
            state.out.console.print(table)


def channels_table(rep: ChannelReport) -> Table:
    """The channel report as a Rich table: one row per period, account and currency."""
    last = (rep.end - timedelta(microseconds=1)).date().isoformat()
    title = f"channels {rep.start.date().isoformat()} to {last} per {rep.period} ({rep.timezone})"
    if rep.currency:
        title += f", in {rep.currency}"
    columns = [
        "period",
        "account",
        "cur",
        "orders",
        "units",
        "revenue",
        "refund%",
        "return%",
        "fees",
        "margin",
        "aov",
        "new",
        "back",
        f"rep{rep.repeat_days}d%",
    ]
    table = Table(*columns, title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    for col in table.columns[3:]:
        col.justify = "right"
    for row in rep.rows:
        d = row.as_dict()
        table.add_row(
            d["period"],
            row.account,
            row.currency,
            str(row.orders),
            str(row.units),
            d["revenue"],
            d["refund_rate"] or "",
            d["return_rate"] or "",
            d["fees"] + ("*" if row.fees_estimated else ""),
            d["margin"] + ("!" if row.units_without_cost else ""),
            d["aov"] or "",
            str(row.new_customers),
            str(row.returning_customers),
            d["repeat_rate"] or "",
        )
    return table


FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day (YYYY-MM-DD; default: 29 days before --to).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, included (default: today).")]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="Calendar of the days (default: \\[reports] timezone).")
]
AccountOpt = Annotated[
    list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")
]
RepeatOpt = Annotated[
    int | None,
    typer.Option(
        "--repeat-days", min=1, help="Repeat-purchase window (default: \\[reports] repeat_days)."
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the JSON/CSV/table to this file.")
]


@report.command("channels")
def channels(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    period: Annotated[str, typer.Option("--period", help="day, week or month.")] = "day",
    account: AccountOpt = None,
    timezone: TzOpt = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency", help="Convert into this currency (default: \\[reports] currency)."
        ),
    ] = None,
    rates: Annotated[
        Path | None,
        typer.Option(
            "--rates",
            help="Exchange rates: CSV date,from,to,rate or the ECB's eurofxref(-hist).csv"
            " (default: \\[reports] rates_file).",
        ),
    ] = None,
    repeat_days: RepeatOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    output: OutputOpt = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="Also draw revenue and margin per channel per day into this PNG."
        ),
    ] = None,
) -> None:
    """Marketing success per channel and period: orders, units, revenue, refund and return
    rates, fees, margin, average order value, new and returning customers, repeat rate.

    A person is recognised across channels (see `channelsync customers list`). Amounts
    stay in their currency unless --currency is given with rates; what the rates cannot
    convert stays in its own currency and is listed.
    """
    state: State = ctx.obj
    if period not in PERIODS:
        raise typer.BadParameter(f"use one of {', '.join(PERIODS)}", param_hint="--period")
    if as_json and as_csv:
        raise typer.BadParameter("choose --json or --csv", param_hint="--json/--csv")
    settings = state.config.settings.reports
    tz = timezone or settings.timezone
    first, last = _days(state, from_, to, tz)
    for name in account or ():
        state.check_account(name)
    target = (currency or settings.currency or "").upper() or None
    table_rates = _rates(state, rates)
    if target is not None and table_rates is None:
        state.out.error(
            f"converting into {target} needs exchange rates: --rates FILE or [reports] rates_file"
        )
        raise typer.Exit(EXIT_CONFIG)
    start, end = day_bounds(first, last, tz)
    rep = channel_report(
        state.store,
        start=start,
        end=end,
        period=period,  # checked against PERIODS above
        fee_percent=state.config.fee_percent(),
        timezone=tz,
        accounts=account or None,
        repeat_days=repeat_days or settings.repeat_days,
        rates=table_rates,
        currency=target,
    )
    if as_json:
        _emit(state, rep.to_json() + "\n", None, output)
    elif as_csv:
        buf = io.StringIO()
        rep.write_csv(buf)
        _emit(state, buf.getvalue(), None, output)
    else:
        _emit(state, None, channels_table(rep), output)
        if output is None:
            if not rep.rows:
                state.out.note("no sales in this period")
            if rep.skus_without_cost:
                state.out.note(
                    f"! no cost price for {len(rep.skus_without_cost)} SKUs in the sale's"
                    " currency (their margin is overstated): `channelsync stock cost`"
                )
            if any(r.fees_estimated for r in rep.rows):
                state.out.note("* fees estimated from the account's fee_percent")
    if rep.unconverted:
        missing = sorted({(u.currency, u.day.isoformat()) for u in rep.unconverted})
        shown = ", ".join(f"{c} on {d}" for c, d in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        state.out.warn(
            f"{len(rep.unconverted)} amounts not converted into {target} (no rate: {shown}{more});"
            " they stay in their own currency"
        )
    if chart is not None:
        render_channel_chart(rep, chart)
        state.out.note(f"chart written to {chart}")


@report.command("customers")
def customers_report(
    ctx: typer.Context,
    from_: FromOpt = None,
    to: ToOpt = None,
    account: AccountOpt = None,
    timezone: TzOpt = None,
    repeat_days: RepeatOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (one row per cohort).")] = False,
    output: OutputOpt = None,
) -> None:
    """Customers of the period: new, returning, repeat rate, and cohorts by the month of
    their first order (how many came back in each later month)."""
    state: State = ctx.obj
    if as_json and as_csv:
        raise typer.BadParameter("choose --json or --csv", param_hint="--json/--csv")
    settings = state.config.settings.reports
    tz = timezone or settings.timezone
    first, last = _days(state, from_, to, tz)
    for name in account or ():
        state.check_account(name)
    start, end = day_bounds(first, last, tz)
    rep = customer_report(
        state.store,
        start=start,
        end=end,
        timezone=tz,
        repeat_days=repeat_days or settings.repeat_days,
        accounts=account or None,
    )
    if as_json:
        _emit(state, rep.to_json() + "\n", None, output)
        return
    if as_csv:
        buf = io.StringIO()
        rep.write_csv(buf)
        _emit(state, buf.getvalue(), None, output)
        return
    d = rep.as_dict()
    width = max((len(c.active) for c in rep.cohorts), default=0)
    table = Table(
        "first order",
        "customers",
        f"repeat {rep.repeat_days}d",
        *[f"+{k}m" for k in range(1, width + 1)],
        title=f"customers {first} to {last}: {rep.customers} ordered, {rep.new_customers} new,"
        f" {rep.returning_customers} returning, repeat rate {d['repeat_rate'] or '-'}%",
        box=box.SIMPLE_HEAD,
    )
    for c in rep.cohorts:
        cd = c.as_dict()
        table.add_row(
            cd["month"],
            str(c.customers),
            f"{c.repeat_customers} ({cd['repeat_rate'] or '-'}%)",
            *[str(n) for n in c.active],
            *[""] * (width - len(c.active)),
        )
    _emit(state, None, table, output)
