"""Dates and times on the command line: ``2026-11-01``, ISO datetimes, ``7d`` ago."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import typer

__all__ = ["parse_day", "parse_when"]

_RELATIVE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_when(
    value: str, hint: str, timezone: str = "UTC", *, now: datetime | None = None
) -> datetime:
    """An aware datetime from a date (its midnight in ``timezone``), an ISO datetime (naive
    ones in ``timezone``) or a span ago (``7d``, ``12h``, ``30m``)."""
    text = value.strip()
    rel = _RELATIVE.match(text)
    if rel:
        span = timedelta(**{_UNITS[rel.group(2)]: int(rel.group(1))})
        return (now or datetime.now(UTC)) - span
    tz = ZoneInfo(timezone)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: use a date (2026-11-01), a datetime (2026-11-01T08:00+01:00) or a span"
            " ago (7d, 12h, 30m)",
            param_hint=hint,
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def parse_day(value: str, hint: str) -> date:
    """A calendar date ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: use a date like 2026-11-01", param_hint=hint
        ) from None
