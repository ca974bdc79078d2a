"""Orders that cannot be read: what counts as bad data, and how it is described.

An adapter maps each order inside ``try: ... except ORDER_DATA_ERRORS`` and yields an
``OrderFailure`` for one that fails (``Channel.fetch_orders``), so one malformed order never
stops the stream. Transport, auth and throttling problems are ``ChannelError``s, none of
these: they still end the read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from channelsync.core.channel import OrderFailure

__all__ = ["ORDER_DATA_ERRORS", "describe_error", "failure", "iso_time"]

ORDER_DATA_ERRORS: tuple[type[Exception], ...] = (
    ValidationError,
    ValueError,
    KeyError,
    ArithmeticError,
)
"""What a malformed or inconsistent order raises while it is read and mapped."""


def describe_error(exc: Exception) -> str:
    """The first problem of ``exc``, naming the field: no input values, no personal data."""
    if isinstance(exc, ValidationError):
        problems = exc.errors(include_url=False, include_input=False)
        first = problems[0]
        where = ".".join(str(p) for p in first["loc"])
        text = first["msg"].removeprefix("Value error, ")
        text = f"{exc.title}.{where}: {text}" if where else f"{exc.title}: {text}"
        if len(problems) > 1:
            text += f" (and {len(problems) - 1} more)"
        return text
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    return str(exc) or type(exc).__name__


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 time with a zone, as aware UTC; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def failure(
    order_id: str | None, exc: Exception, updated_at: datetime | None, raw: Mapping[str, Any]
) -> OrderFailure:
    """The ``OrderFailure`` of one order, with a message naming the order and the field."""
    return OrderFailure(
        order_id=order_id,
        error=f"order {order_id or '(no id)'} cannot be read: {describe_error(exc)}",
        updated_at=updated_at,
        raw=dict(raw),
    )
