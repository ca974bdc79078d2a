"""Webhook verification the adapters share: HMAC in constant time, bounded JSON, short
error messages.

Every parser checks the signature first, then reads the body with ``load_json`` (a size
cap, a nesting cap checked before the parser runs, any parser failure a
``WebhookPayloadError``), and words a payload that does not validate with
``describe_invalid`` (a count and the first problem, never the whole error list).
Deduplication of redeliveries lives in the engine's durable inbox, not here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr, ValidationError

from channelsync.core.errors import WebhookPayloadError, WebhookVerificationError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE",
    "MAX_WEBHOOK_BYTES",
    "check_size",
    "clip",
    "describe_invalid",
    "header",
    "json_depth",
    "load_json",
    "verify_hmac_sha256",
]

#: Bodies above this are refused before any parsing (real order webhooks are far smaller).
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
#: The deepest nesting of objects and arrays a JSON body may have (a Shopify order with
#: its line items, discounts and tax lines is about 6 deep).
MAX_JSON_DEPTH = 64
#: The longest error message a refused delivery produces (it ends up in the log).
MAX_MESSAGE = 500

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: one step per run of chars
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_size(body: bytes, limit: int = MAX_WEBHOOK_BYTES) -> None:
    """Refuse a body over ``limit`` bytes with ``WebhookPayloadError``."""
    if len(body) > limit:
        raise WebhookPayloadError(
            f"webhook body of {len(body)} bytes is over the {limit}-byte limit"
        )


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of the JSON text ``body`` (brackets inside strings do not count),
    counting at most to ``limit + 1``: linear, no recursion, whatever the input."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for c in brackets:
        depth += 1 if c in (0x5B, 0x7B) else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def load_json(body: bytes, what: str = "webhook body", *, depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse ``body`` as JSON within the size and depth limits.

    Raises:
        WebhookPayloadError: too large, nested deeper than ``depth``, not UTF-8 or not JSON.
    """
    check_size(body)
    if json_depth(body, depth) > depth:
        raise WebhookPayloadError(f"{what} is nested deeper than {depth} levels")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookPayloadError(f"{what} is not JSON: {clip(str(exc))}") from None


def describe_invalid(exc: BaseException) -> str:
    """A short account of why a payload did not validate: for a pydantic error the count
    and the first problem, for others the message, cut to ``MAX_MESSAGE`` characters."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        if not errors:
            return "invalid"
        first = errors[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(body)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return clip(f"{len(errors)} validation error{'s' if len(errors) > 1 else ''}:"
                    f" {where}: {first.get('msg', '')}{more}")  # fmt: skip
    return clip(str(exc))


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis when cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value by case-insensitive name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_hmac_sha256(
    body: bytes,
    signature: str | None,
    secrets: Iterable[SecretStr | None],
    *,
    encoding: str = "base64",
    header_name: str = "signature",
) -> None:
    """Check that ``signature`` is the HMAC-SHA256 of ``body`` under one of ``secrets``.

    Several secrets support rotation (the new one and the previous one). The comparison is
    constant-time. Raises ``WebhookVerificationError`` naming what is wrong.
    """
    check_size(body)
    if not signature:
        raise WebhookVerificationError(f"missing {header_name} header")
    keys = [
        s.get_secret_value().encode() for s in secrets if s is not None and s.get_secret_value()
    ]
    if not keys:
        raise WebhookVerificationError("no webhook secret configured: cannot verify deliveries")
    given = signature.strip().encode()
    for key in keys:
        digest = hmac.new(key, body, hashlib.sha256).digest()
        expected = base64.b64encode(digest) if encoding == "base64" else digest.hex().encode()
        if hmac.compare_digest(given, expected):
            return
    raise WebhookVerificationError(f"{header_name} does not match the body")
