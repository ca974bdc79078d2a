"""The settings model: ``[store]``, ``[worker]``, ``[reports]``, ``[webhooks]`` and
``[accounts.<name>]``, with ``CHANNELSYNC_<SECTION>__<KEY>`` overrides (pydantic-settings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from channelsync.config._files import ENV_PREFIX
from channelsync.core.allocation import Rule
from channelsync.core.models import currency_code
from channelsync.core.pricing import PriceRule
from channelsync.core.store import DEFAULT_URL

__all__ = [
    "SECTIONS",
    "AccountSettings",
    "ReportSettings",
    "Settings",
    "StoreSettings",
    "WebhookSettings",
    "WorkerSettings",
]

#: The tables besides ``[accounts]`` (each overridable as ``CHANNELSYNC_<TABLE>__<KEY>``).
SECTIONS = ("store", "worker", "reports", "webhooks")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    """``[store]``: where the ledger, orders and outbox live."""

    url: str = DEFAULT_URL
    """``sqlite:///channelsync.db`` or ``postgresql+psycopg://user@host/db``; a password
    belongs in ``CHANNELSYNC_STORE__URL`` or the secrets file, never in the TOML."""


class WorkerSettings(_Section):
    """``[worker]``: the long-running ``channelsync worker``."""

    poll_interval: float = Field(default=60.0, ge=0)
    """Seconds between the end of one cycle and the start of the next."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    order_lag_minutes: float = Field(default=5.0, ge=0)
    """How far behind the newest change seen every order poll re-reads."""
    initial_lookback_days: float = Field(default=7.0, gt=0)
    """How far back the first poll of a new account reads."""


class ReportSettings(_Section):
    """``[reports]``: sales report defaults."""

    timezone: str = "UTC"
    """The timezone whose calendar days ``--by day`` groups by."""
    currency: str | None = None
    """The reporting currency ``report channels`` converts into (needs ``rates_file``)."""
    rates_file: str | None = None
    """Exchange rates: a CSV ``date,from,to,rate`` or the ECB's euro reference rates file
    (relative to the configuration file)."""
    repeat_days: int = Field(default=90, ge=1)
    """The window of the repeat-purchase rate, in days."""

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return currency_code(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value


class WebhookSettings(_Section):
    """``[webhooks]``: the ASGI webhook receiver."""

    max_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    threads: int = Field(default=8, ge=1, le=256)


class AccountSettings(BaseModel):
    """``[accounts.<name>]``: one channel account.

    Keys besides the ones below are the adapter's own settings (``shop`` for Shopify,
    ``site_id`` for eBay...); they are checked against the adapter's config model.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str = Field(min_length=1)
    """The channel kind: one registered in ``channelsync.plugins`` (``shopify``,
    ``magento``, an installed package's own), or ``custom``."""
    enabled: bool = True
    fee_percent: Decimal | None = Field(default=None, ge=0, le=100)
    """The channel's fee as a percentage of revenue, for orders that do not report fees."""
    rules: Rule = Field(default_factory=Rule)
    sku_rules: dict[str, Rule] = Field(default_factory=dict)
    review_requests: bool = False
    """Opt in to review requests after delivery (``channelsync orders review-requests``):
    Amazon's through Solicitations, your own shop's listed for your mailer."""
    channel_args: dict[str, str] = Field(default_factory=dict)
    """Keyword arguments of the channel's constructor that aim it elsewhere (``base_url``):
    the sandbox, a proxy."""
    locations: list[str] | dict[str, str] | None = None
    """Where the account's stock comes from: a list of location names (the channel shows
    one quantity pooled from them) or a table of location name = the channel's own
    location id (the channel keeps a quantity per location: Shopify). None: every
    location, pooled."""
    prices: PriceRule | None = None
    """The account's price rule (``[accounts.x.prices] currency = "USD", percent = 10,
    ending = ".99", minimum = 5``): how the merchant's price becomes the account's."""
    sku_prices: dict[str, PriceRule] = Field(default_factory=dict)
    """Price rules per SKU on this account (``[accounts.x.sku_prices.SKU-1]``)."""
    location_rules: dict[str, Rule] = Field(default_factory=dict)
    """Rules per location (``[accounts.x.location_rules.berlin] buffer = 2``), for
    channels that keep a quantity per location."""
    factory: str | None = None
    """For ``kind = "custom"``: ``"package.module:callable"`` building your own Channel."""

    @property
    def options(self) -> dict[str, Any]:
        """The adapter's own settings (the keys this model does not define)."""
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    """The whole configuration (``channelsync.toml`` plus environment overrides)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    secrets_file: str | None = None
    store: StoreSettings = Field(default_factory=StoreSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first (it overrides the file), then the parsed TOML passed as init.
        return (env_settings, init_settings)
