"""Acme's webhooks: ``X-Acme-Signature`` is the hex HMAC-SHA256 of the body."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import SecretStr

from acme_channel.mapping import order_from_payload
from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import WebhookVerificationError

__all__ = ["parse_delivery", "sign"]


def sign(secret: str, body: bytes) -> str:
    """The signature Acme sends with ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parse_delivery(
    account: str, secret: SecretStr | None, headers: Mapping[str, str], body: bytes
) -> list[WebhookEvent]:
    """Verify a delivery before reading it; return its order event."""
    given = next((v for k, v in headers.items() if k.lower() == "x-acme-signature"), None)
    if not given:
        raise WebhookVerificationError("missing X-Acme-Signature header")
    if secret is None:
        raise WebhookVerificationError("no webhook secret configured: cannot verify deliveries")
    if not hmac.compare_digest(given, sign(secret.get_secret_value(), body)):
        raise WebhookVerificationError("X-Acme-Signature does not match the body")
    try:
        payload = json.loads(body)
        order = order_from_payload(payload["order"], account)
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookVerificationError(f"not an Acme order event: {exc}") from exc
    return [WebhookEvent(kind="order", event_id=str(payload.get("id")), order=order, raw=payload)]
