"""Webhook verification the adapters share: HMAC in constant time and a size cap.

Deduplication of redeliveries lives in the engine's durable inbox, not here."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from pydantic import SecretStr

from channelsync.core.errors import WebhookVerificationError

__all__ = ["MAX_WEBHOOK_BYTES", "header", "verify_hmac_sha256"]

#: Bodies above this are refused before any parsing (real order webhooks are far smaller).
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


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
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookVerificationError(
            f"webhook body of {len(body)} bytes is over the {MAX_WEBHOOK_BYTES}-byte limit"
        )
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
