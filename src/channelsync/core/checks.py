"""Argument checks of the public API: each raises ``InvalidInput`` naming what is wrong.

Every public method of ``SyncEngine`` checks its arguments with these before it touches
the store, so a wrong type or value is a ``channelsync`` error (``InvalidInput``, also a
``ValueError``) naming the argument, never an ``AttributeError``, ``KeyError`` or a
database error from deep inside.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channelsync.core.errors import InvalidInput
from channelsync.core.models import MAX_QUANTITY, Money, check_sku

__all__ = [
    "MAX_QUANTITY",
    "check_bool",
    "check_instance",
    "check_money",
    "check_optional_text",
    "check_quantity",
    "check_sku",
    "check_skus",
    "check_text",
    "check_texts",
]


def check_quantity(value: object, what: str, *, negative: bool = False) -> int:
    """Return ``value`` if it is a whole number within 64 bits (and >= 0 unless
    ``negative``), else raise ``InvalidInput`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{what} must be a whole number, got {type(value).__name__} {value!r:.80}"
        )
    if not negative and value < 0:
        raise InvalidInput(f"{what} must be a whole number >= 0, got {value}")
    if abs(value) > MAX_QUANTITY:
        raise InvalidInput(
            f"{what} is {value}: beyond the 64-bit range quantities are kept in"
            f" (at most {MAX_QUANTITY})"
        )
    return value


def check_text(value: object, what: str, *, empty: bool = False) -> str:
    """Return ``value`` if it is a string (non-blank unless ``empty``), else raise
    ``InvalidInput`` naming ``what``."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__} {value!r:.80}")
    if not empty and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    return value


def check_optional_text(value: object, what: str) -> str | None:
    """``check_text`` for an argument that may be None (an empty string is allowed)."""
    return None if value is None else check_text(value, what, empty=True)


def check_texts(values: object, what: str) -> list[str]:
    """Return ``values`` (an iterable of strings, not one string) as a list."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(
            f"{what} must be a list of strings, got {type(values).__name__} {values!r:.80}"
        )
    return [check_text(v, f"each of {what}") for v in values]


def check_skus(values: object, what: str = "skus") -> list[str]:
    """Return ``values`` (an iterable of SKUs, not one string) as a list, each checked."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(
            f"{what} must be a list of SKUs, got {type(values).__name__} {values!r:.80}"
        )
    return [check_sku(v) for v in values]


def check_money(value: object, what: str) -> Money:
    """Return ``value`` if it is a ``channelsync.Money``, else raise ``InvalidInput``."""
    if not isinstance(value, Money):
        raise InvalidInput(
            f"{what} must be a channelsync.Money (amount and currency), got"
            f" {type(value).__name__} {value!r:.80}"
        )
    return value


def check_bool(value: object, what: str) -> bool:
    """Return ``value`` if it is True or False, else raise ``InvalidInput``."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_instance(value: Any, kind: type[Any], what: str) -> Any:
    """Return ``value`` if it is a ``kind``, else raise ``InvalidInput`` naming both."""
    if not isinstance(value, kind):
        raise InvalidInput(
            f"{what} must be a channelsync.{kind.__name__}, got {type(value).__name__}"
            f" {value!r:.80}"
        )
    return value
