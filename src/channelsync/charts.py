"""Charts of report series (matplotlib, optional: ``pip install 'channelsync[chart]'``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from channelsync.core.errors import ConfigError

__all__ = ["daily_figure", "draw_daily", "report_days"]

_ZERO = Decimal(0)


def draw_daily(
    series: Mapping[tuple[str, str], Mapping[date, tuple[Decimal, Decimal]]],
    days: list[date],
    path: str | Path,
    *,
    title: str,
    xlabel: str,
) -> Path:
    """``daily_figure`` written to ``path`` as a PNG."""
    fig = daily_figure(series, days, title=title, xlabel=xlabel)
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def daily_figure(
    series: Mapping[tuple[str, str], Mapping[date, tuple[Decimal, Decimal]]],
    days: list[date],
    *,
    title: str,
    xlabel: str,
) -> Any:
    """Revenue (solid) and margin (dashed) per account per day, one panel per currency.

    The date axis spans ``days`` (the report's whole period); a day without sales is
    drawn as zero, never joined over. Needs matplotlib (``channelsync[chart]``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        raise ConfigError("the chart needs matplotlib: pip install 'channelsync[chart]'") from None
    currencies = sorted({cur for _, cur in series}) or [""]
    fig = Figure(figsize=(10, 2.7 + 2.8 * len(currencies)), dpi=100)
    FigureCanvasAgg(fig)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    xs: Any = [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]  # stubs: floats
    for n, cur in enumerate(currencies, start=1):
        ax = fig.add_subplot(len(currencies), 1, n)
        drawn = 0
        for (account, c), points in series.items():
            if c != cur:
                continue
            color = colors[drawn % len(colors)]
            revenue = [float(points.get(d, (_ZERO, _ZERO))[0]) for d in days]
            margin = [float(points.get(d, (_ZERO, _ZERO))[1]) for d in days]
            single = len(days) == 1
            ax.plot(
                xs, revenue, color=color, marker="o" if single else None, label=f"{account} revenue"
            )
            ax.plot(
                xs,
                margin,
                color=color,
                linestyle="--",
                marker="x" if single else None,
                label=f"{account} margin",
            )
            drawn += 1
        if days:
            pad = timedelta(hours=12)
            ax.set_xlim(xs[0] - pad, xs[-1] + pad)
        locator = AutoDateLocator(minticks=2, maxticks=10)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_ylabel(cur or "amount")
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(loc="best", fontsize="small")
        else:
            ax.text(
                0.5,
                0.5,
                "no sales in this period",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        if n == 1:
            ax.set_title(title)
        if n == len(currencies):
            ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def report_days(start: datetime, end: datetime, timezone: str) -> list[date]:
    """Every calendar day of ``[start, end)`` in ``timezone``."""
    tz = ZoneInfo(timezone)
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
