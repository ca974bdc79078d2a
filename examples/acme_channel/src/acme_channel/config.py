"""``AcmeConfig``: one Acme Market seller account."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["API_URL", "AcmeConfig"]

API_URL = "https://api.acme-market.example"


class AcmeConfig(BaseModel):
    """One Acme Market seller account.

    Attributes:
        account: the merchant's name for this account.
        api_key: the seller's API key (sent as a Bearer token).
        webhook_secret: signs deliveries (``X-Acme-Signature``, hex HMAC-SHA256).
        page_size: listings and orders per page (Acme allows 1 to 100).
        timeout: seconds per request.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1)
    api_key: SecretStr
    webhook_secret: SecretStr | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    timeout: float = Field(default=30.0, gt=0)
