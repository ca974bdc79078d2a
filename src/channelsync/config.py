"""``channelsync.toml``: the store, the worker and every channel account, validated.

The file names accounts and their non-secret settings; secrets never live in it. They
come from environment variables or from a separate secrets file::

    CHANNELSYNC_<ACCOUNT>__<FIELD>     e.g. CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN

where ``<ACCOUNT>`` is the account name upper-cased with every character that is not a
letter or digit turned into ``_`` (``shopify-main`` -> ``SHOPIFY_MAIN``) and ``<FIELD>``
the secret's name upper-cased. The same double-underscore scheme overrides any setting
of the ``[store]``, ``[worker]``, ``[reports]`` and ``[webhooks]`` tables
(``CHANNELSYNC_STORE__URL``, ``CHANNELSYNC_WORKER__POLL_INTERVAL``): that part is read by
pydantic-settings. The secrets file (``channelsync.secrets.toml`` beside the config, or
``secrets_file = ...``, or ``CHANNELSYNC_SECRETS_FILE``) mirrors the main file's tables
and is refused when other users may read it. An environment variable wins over the file.

Every problem becomes one ``ConfigError`` whose message names the file, the line and the
key (``channelsync.toml:12: accounts.ebay-de.site_id: ...``); ``load_config`` never lets
a pydantic traceback through. Nothing here runs at import time or keeps module state.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import stat
import tomllib
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from channelsync.core.allocation import Rule
from channelsync.core.channel import Channel
from channelsync.core.errors import ConfigError
from channelsync.core.store import DEFAULT_URL

__all__ = [
    "ADAPTERS",
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SECRETS_FILE",
    "AccountSettings",
    "Config",
    "ReportSettings",
    "Settings",
    "StoreSettings",
    "WebhookSettings",
    "WorkerSettings",
    "load_config",
    "secret_env_name",
    "template",
]

CONFIG_FILE = "channelsync.toml"
SECRETS_FILE = "channelsync.secrets.toml"
ENV_PREFIX = "CHANNELSYNC_"
Kind = Literal["shopify", "woocommerce", "amazon", "ebay", "custom"]


@dataclass(frozen=True)
class AdapterSpec:
    """Where the adapter of one channel kind lives, and which extra installs it."""

    module: str
    channel: str
    config: str
    extra: str | None


#: The channel kinds channelsync ships, and where their adapters live.
ADAPTERS: dict[str, AdapterSpec] = {
    "shopify": AdapterSpec("channelsync.adapters.shopify", "ShopifyChannel", "ShopifyConfig", None),
    "woocommerce": AdapterSpec(
        "channelsync.adapters.woocommerce", "WooCommerceChannel", "WooCommerceConfig", None
    ),
    "amazon": AdapterSpec("channelsync.adapters.amazon", "AmazonChannel", "AmazonConfig", "amazon"),
    "ebay": AdapterSpec("channelsync.adapters.ebay", "EbayChannel", "EbayConfig", "ebay"),
}

_SECTIONS = ("store", "worker", "reports", "webhooks")
_RESERVED_ENV = {s.upper() for s in _SECTIONS} | {"SECRETS_FILE", "CONFIG"}


# -- the settings model -----------------------------------------------------------------------


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

    kind: Kind
    enabled: bool = True
    fee_percent: Decimal | None = Field(default=None, ge=0, le=100)
    """The channel's fee as a percentage of revenue, for orders that do not report fees."""
    rules: Rule = Field(default_factory=Rule)
    sku_rules: dict[str, Rule] = Field(default_factory=dict)
    channel_args: dict[str, str] = Field(default_factory=dict)
    """Keyword arguments of the channel's constructor that aim it elsewhere (``base_url``):
    the sandbox, a proxy."""
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


# -- where each value came from (for messages) ------------------------------------------------


_HEADER = re.compile(r"^\s*\[\[?\s*(?P<key>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r"^\s*(?P<key>(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _split_key(text: str) -> tuple[str, ...]:
    parts: list[str] = []
    for m in re.finditer(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_\-]+)", text):
        parts.append(next(g for g in m.groups() if g is not None))
    return tuple(parts)


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table and key path of a TOML document to its (1-based) line number."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        if in_multiline is not None:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(raw)
        if header:
            table = _split_key(header.group("key"))
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(raw)
        if assign:
            path = table + _split_key(assign.group("key"))
            lines.setdefault(path, number)
            rest = raw[assign.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


@dataclass
class _Origins:
    """Where every setting came from: a file and line, or an environment variable."""

    where: dict[tuple[str, ...], str] = field(default_factory=dict)

    def add_file(self, path: Path, text: str, prefix: tuple[str, ...] = ()) -> None:
        for key, line in key_lines(text).items():
            self.where.setdefault(prefix + key, f"{path}:{line}")

    def of(self, loc: Sequence[str | int]) -> str | None:
        path = tuple(str(p) for p in loc)
        for end in range(len(path), 0, -1):
            hit = self.where.get(path[:end])
            if hit is not None:
                return hit
        return None


def _loc_text(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in loc)


def _describe_error(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown setting (check the spelling; see `channelsync init` for every key)"
    if err.get("type") == "missing":
        return "required setting is missing"
    value = err.get("input")
    if isinstance(value, str | int | float | bool) and not isinstance(value, SecretStr):
        return f"{msg} (got {value!r})"
    return msg


def _from_validation(
    exc: ValidationError | Sequence[Mapping[str, Any]],
    origins: _Origins,
    default_where: str,
    prefix: tuple[str, ...] = (),
    *,
    hide_input: bool = False,
) -> ConfigError:
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc
    messages = []
    for err in errors:
        loc = prefix + tuple(str(p) for p in err["loc"])
        where = origins.of(loc) or default_where
        text = str(err.get("msg", "invalid")) if hide_input else _describe_error(err)
        messages.append(f"{where}: {_loc_text(loc)}: {text}")
    return ConfigError("\n".join(messages))


# -- secrets ----------------------------------------------------------------------------------


def secret_env_name(account: str, name: str) -> str:
    """The environment variable holding secret ``name`` of ``account``.

    >>> secret_env_name("shopify-main", "access_token")
    'CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN'
    """
    return f"{ENV_PREFIX}{_env_account(account)}__{name.upper()}"


def _env_account(account: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", account).upper()


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(a) for a in typing.get_args(annotation))


def _check_private(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover - POSIX permissions only
        return
    mode = path.stat().st_mode
    # Like libpq's .pgpass and ssh's keys: any access for the group or everyone is refused
    # (a group-readable file is readable by every member of that group).
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        who = "every user" if mode & stat.S_IRWXO else "other users of its group"
        raise ConfigError(
            f"{path}: the secrets file is readable or writable by {who} on this machine"
            f" (mode {stat.S_IMODE(mode):o}); refused. Fix it with: chmod 600 {path}"
        )


# -- the loaded configuration -----------------------------------------------------------------


@dataclass
class Config:
    """A validated configuration: settings, per-account secrets, and what builds from them.

    Build it with ``load_config``. It never prints or logs a secret: ``secret_values()``
    lists them so output can be scrubbed of them.
    """

    settings: Settings
    path: Path | None = None
    secrets_path: Path | None = None
    secrets: dict[str, dict[str, SecretStr]] = field(default_factory=dict)
    origins: _Origins = field(default_factory=_Origins, repr=False)
    secret_sources: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Config(path={self.path}, accounts={sorted(self.settings.accounts)})"

    @property
    def store_url(self) -> str:
        """The store URL (it may hold a password: never print it; ``Store.url`` hides it)."""
        return self.settings.store.url

    @property
    def accounts(self) -> dict[str, AccountSettings]:
        """Every configured account, enabled or not."""
        return dict(self.settings.accounts)

    def enabled_accounts(self) -> list[str]:
        """Names of the enabled accounts, in file order."""
        return [name for name, acc in self.settings.accounts.items() if acc.enabled]

    def rules(self) -> dict[str | tuple[str, str], Rule]:
        """The allocation rules of every account and per-SKU override, for ``SyncEngine``."""
        out: dict[str | tuple[str, str], Rule] = {}
        for name, acc in self.settings.accounts.items():
            out[name] = acc.rules
            for sku, rule in acc.sku_rules.items():
                out[(name, sku)] = rule
        return out

    def fee_percent(self) -> dict[str, Decimal]:
        """The configured fee percentage of every account that has one."""
        return {
            name: acc.fee_percent
            for name, acc in self.settings.accounts.items()
            if acc.fee_percent is not None
        }

    def secret_values(self) -> list[str]:
        """Every secret value this configuration holds (to scrub them from any output)."""
        values = [s.get_secret_value() for acc in self.secrets.values() for s in acc.values()]
        password = sa.make_url(self.store_url).password if "://" in self.store_url else None
        if password:
            values.append(str(password))
        return [v for v in values if v]

    def secret_names(self, account: str) -> list[str]:
        """The secret settings ``account``'s adapter takes (empty for custom kinds)."""
        acc = self.settings.accounts[account]
        if acc.kind == "custom":
            return sorted(self.secrets.get(account, {}))
        model = _adapter_config_class(acc.kind, self.origins.of(("accounts", account, "kind")))
        return sorted(n for n, f in model.model_fields.items() if _is_secret(f.annotation))

    def missing_secrets(self, account: str) -> list[str]:
        """Required secrets of ``account`` that neither the environment nor the file has."""
        acc = self.settings.accounts[account]
        if acc.kind == "custom":
            return []
        model = _adapter_config_class(acc.kind, self.origins.of(("accounts", account, "kind")))
        have = self.secrets.get(account, {})
        return sorted(
            n
            for n, f in model.model_fields.items()
            if _is_secret(f.annotation) and f.is_required() and n not in have
        )

    def secret_hint(self, account: str, name: str) -> str:
        """How to provide secret ``name`` of ``account``."""
        where = f"the secrets file {self.secrets_path}" if self.secrets_path else SECRETS_FILE
        return (
            f"set {secret_env_name(account, name)} or add {name} under"
            f" [accounts.{account}] in {where}"
        )

    def build_channel(self, account: str) -> Channel:
        """The channel adapter of ``account``, built from its settings and secrets."""
        if account not in self.settings.accounts:
            raise ConfigError(
                f"no account {account!r} in {self.path or CONFIG_FILE};"
                f" configured: {', '.join(self.settings.accounts) or 'none'}"
            )
        acc = self.settings.accounts[account]
        secrets = self.secrets.get(account, {})
        if acc.kind == "custom":
            return _build_custom(account, acc, secrets, self.origins)
        spec = ADAPTERS[acc.kind]
        model = _adapter_config_class(acc.kind, self.origins.of(("accounts", account, "kind")))
        missing = self.missing_secrets(account)
        if missing:
            raise ConfigError(
                "\n".join(
                    f"{self.origins.of(('accounts', account)) or self.path}:"
                    f" accounts.{account}.{name}: secret is missing:"
                    f" {self.secret_hint(account, name)}"
                    for name in missing
                )
            )
        try:
            cfg = model.model_validate({**acc.options, **secrets, "account": account})
        except ValidationError as exc:
            raise _from_validation(
                exc,
                _Origins({**self.origins.where, **self._secret_origins(account)}),
                str(self.path),
                ("accounts", account),
                hide_input=True,
            ) from None
        channel_cls: Any = getattr(importlib.import_module(spec.module), spec.channel)
        kwargs = _endpoint_kwargs(channel_cls, account, acc, self.origins)
        channel = channel_cls(cfg, **kwargs)
        if not isinstance(channel, Channel):  # pragma: no cover - adapters are tested
            raise ConfigError(f"{spec.module}.{spec.channel} does not implement Channel")
        return channel

    def _secret_origins(self, account: str) -> dict[tuple[str, ...], str]:
        return {
            ("accounts", account, name): where
            for (acct, name), where in self.secret_sources.items()
            if acct == account
        }

    def build_channels(self, accounts: Iterable[str] | None = None) -> list[Channel]:
        """Channels of ``accounts`` (default: every enabled account)."""
        names = list(accounts) if accounts is not None else self.enabled_accounts()
        return [self.build_channel(n) for n in names]


def _adapter_config_class(kind: str, where: str | None) -> type[BaseModel]:
    spec = ADAPTERS[kind]
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        extra = (
            f"pip install 'channelsync[{spec.extra}]'" if spec.extra else "reinstall channelsync"
        )
        raise ConfigError(
            f"{where or CONFIG_FILE}: kind = {kind!r}: the {kind} adapter cannot be imported"
            f" ({exc.name} is missing): {extra}"
        ) from None
    model = getattr(module, spec.config, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(f"{spec.module} has no config model {spec.config}")
    return model


def _endpoint_kwargs(
    channel_cls: Any, account: str, acc: AccountSettings, origins: _Origins
) -> dict[str, Any]:
    if not acc.channel_args:
        return {}
    params = inspect.signature(channel_cls).parameters
    for key in acc.channel_args:
        if key not in params or key == "config" or list(params).index(key) == 0:
            accepted = [p for i, p in enumerate(params) if i > 0 and p != "transport"]
            where = origins.of(("accounts", account, "channel_args", key))
            raise ConfigError(
                f"{where}: accounts.{account}.channel_args.{key}: {channel_cls.__name__} takes no"
                f" {key!r}; it accepts: {', '.join(accepted) or 'nothing'}"
            )
    return dict(acc.channel_args)


def _build_custom(
    account: str, acc: AccountSettings, secrets: Mapping[str, SecretStr], origins: _Origins
) -> Channel:
    where = origins.of(("accounts", account, "factory")) or origins.of(("accounts", account))
    if not acc.factory or ":" not in acc.factory:
        raise ConfigError(
            f"{where}: accounts.{account}.factory: a custom account needs"
            ' factory = "package.module:callable"'
        )
    module_name, _, attr = acc.factory.partition(":")
    try:
        factory: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"{where}: accounts.{account}.factory: cannot load {acc.factory!r}: {exc}"
        ) from None
    try:
        channel = factory(account=account, options=acc.options, secrets=dict(secrets))
    except Exception as exc:
        raise ConfigError(
            f"{where}: accounts.{account}.factory: {acc.factory} failed:"
            f" {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(channel, Channel):
        raise ConfigError(
            f"{where}: accounts.{account}.factory: {acc.factory} returned {type(channel).__name__},"
            " which does not implement channelsync.Channel"
        )
    if channel.account != account:
        raise ConfigError(
            f"{where}: accounts.{account}.factory: the channel says its account is"
            f" {channel.account!r}, not {account!r}"
        )
    return channel


# -- loading ----------------------------------------------------------------------------------


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; create one with `channelsync init` or pass --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        if found:
            raise ConfigError(
                f"{path}:{found.group(1)}: invalid TOML at column {found.group(2)}: {reason}"
            ) from None
        raise ConfigError(f"{path}: invalid TOML: {reason}") from None


def _secret_fields(kind: str, where: str | None) -> set[str] | None:
    """Secret field names of ``kind``'s adapter config, or None for custom accounts."""
    if kind == "custom":
        return None
    model = _adapter_config_class(kind, where)
    return {n for n, f in model.model_fields.items() if _is_secret(f.annotation)}


def _check_accounts(
    settings: Settings, origins: _Origins, path: Path
) -> dict[str, set[str] | None]:
    secret_fields: dict[str, set[str] | None] = {}
    normalized: dict[str, str] = {}
    for name, acc in settings.accounts.items():
        where = origins.of(("accounts", name)) or str(path)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", name):
            raise ConfigError(
                f"{where}: accounts.{name}: account names are letters, digits, '-', '_' and '.'"
                " (at most 64, starting with a letter or digit)"
            )
        env = _env_account(name)
        if env in _RESERVED_ENV or env in normalized:
            other = normalized.get(env, env.lower())
            raise ConfigError(
                f"{where}: accounts.{name}: its environment prefix {ENV_PREFIX}{env}__ clashes"
                f" with {other!r}; rename the account"
            )
        normalized[env] = name
        fields = _secret_fields(acc.kind, origins.of(("accounts", name, "kind")))
        secret_fields[name] = fields
        if acc.kind == "custom":
            if not acc.factory:
                raise ConfigError(
                    f"{where}: accounts.{name}.factory: a custom account needs"
                    ' factory = "package.module:callable"'
                )
            continue
        if acc.factory is not None:
            raise ConfigError(
                f"{origins.of(('accounts', name, 'factory'))}: accounts.{name}.factory:"
                f" only custom accounts take a factory (this one is {acc.kind!r})"
            )
        model = _adapter_config_class(acc.kind, origins.of(("accounts", name, "kind")))
        assert fields is not None
        spec = ADAPTERS[acc.kind]
        _endpoint_kwargs(
            getattr(importlib.import_module(spec.module), spec.channel), name, acc, origins
        )
        for key in acc.options:
            loc = ("accounts", name, key)
            if key in fields:
                raise ConfigError(
                    f"{origins.of(loc)}: accounts.{name}.{key}: secrets never go in"
                    f" {path.name}: set {secret_env_name(name, key)} or put it in the secrets"
                    f" file ({SECRETS_FILE}, chmod 600)"
                )
            if key == "account":
                raise ConfigError(
                    f"{origins.of(loc)}: accounts.{name}.account: the account name is the"
                    " table's name; remove this key"
                )
            if key not in model.model_fields:
                known = sorted(
                    {*model.model_fields, *AccountSettings.model_fields} - fields - {"account"}
                )
                raise ConfigError(
                    f"{origins.of(loc)}: accounts.{name}.{key}: the {acc.kind} adapter has no"
                    f" setting {key!r}; known: {', '.join(known)}"
                )
        # Validate the non-secret options now (secrets are checked when channels are built).
        placeholders = {f: "placeholder" for f in fields}
        try:
            model.model_validate({**acc.options, **placeholders, "account": name})
        except ValidationError as exc:
            errors = [e for e in exc.errors(include_url=False) if str(e["loc"][0]) not in fields]
            if errors:
                raise _from_validation(
                    errors,
                    origins,
                    str(path),
                    ("accounts", name),
                ) from None
    return secret_fields


def _load_secrets(
    settings: Settings,
    secret_fields: Mapping[str, set[str] | None],
    secrets_path: Path | None,
    environ: Mapping[str, str],
) -> tuple[dict[str, dict[str, SecretStr]], dict[tuple[str, str], str], str | None]:
    """Secrets per account from the secrets file and the environment; and a store URL."""
    secrets: dict[str, dict[str, SecretStr]] = {name: {} for name in settings.accounts}
    sources: dict[tuple[str, str], str] = {}
    store_url: str | None = None
    if secrets_path is not None:
        _check_private(secrets_path)
        text, doc = _read_toml(secrets_path)
        lines = key_lines(text)
        for key, value in doc.items():
            if key == "store" and isinstance(value, dict) and set(value) <= {"url"}:
                if "url" in value:
                    where = f"{secrets_path}:{lines.get(('store', 'url'), 1)}"
                    if not isinstance(value["url"], str):
                        raise ConfigError(f"{where}: store.url: must be a string")
                    _parse_url(value["url"], where)
                    store_url = value["url"]
                continue
            if key != "accounts" or not isinstance(value, dict):
                raise ConfigError(
                    f"{secrets_path}:{lines.get((key,), 1)}: {key}: the secrets file holds only"
                    " [store] url and [accounts.<name>] secrets"
                )
            for account, table in value.items():
                line = lines.get(("accounts", account), 1)
                if account not in settings.accounts:
                    raise ConfigError(
                        f"{secrets_path}:{line}: accounts.{account}: no such account in the"
                        " config file"
                    )
                if not isinstance(table, dict):
                    raise ConfigError(f"{secrets_path}:{line}: accounts.{account} must be a table")
                allowed = secret_fields.get(account)
                for name, secret in table.items():
                    where = f"{secrets_path}:{lines.get(('accounts', account, name), line)}"
                    if allowed is not None and name not in allowed:
                        raise ConfigError(
                            f"{where}: accounts.{account}.{name}: not a secret of the"
                            f" {settings.accounts[account].kind} adapter (secrets:"
                            f" {', '.join(sorted(allowed)) or 'none'}); other settings go in"
                            f" {CONFIG_FILE}"
                        )
                    if not isinstance(secret, str):
                        raise ConfigError(f"{where}: accounts.{account}.{name}: must be a string")
                    secrets[account][name] = SecretStr(secret)
                    sources[(account, name)] = where
    upper = {k.upper(): v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
    for account, fields in secret_fields.items():
        prefix = f"{ENV_PREFIX}{_env_account(account)}__"
        if fields is None:  # custom: every variable of the account's prefix
            names = {k[len(prefix) :].lower() for k in upper if k.startswith(prefix)}
        else:
            names = set(fields)
        for name in names:
            env = secret_env_name(account, name)
            if env in upper and upper[env] != "":
                secrets[account][name] = SecretStr(upper[env])
                sources[(account, name)] = f"environment variable {env}"
    return secrets, sources, store_url


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, validate and return the configuration.

    Args:
        path: the TOML file; default ``$CHANNELSYNC_CONFIG`` or ``./channelsync.toml``.
        environ: the environment to read secrets and overrides from (default
            ``os.environ``; the ``[store]``/``[worker]``... overrides always come from
            ``os.environ`` through pydantic-settings).

    Raises:
        ConfigError: one message naming file, line and key of every problem found.
    """
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get(f"{ENV_PREFIX}CONFIG") or CONFIG_FILE).expanduser()
    text, doc = _read_toml(config_path)
    origins = _Origins()
    origins.add_file(config_path, text)
    for section in _SECTIONS:
        for key in Settings.model_fields[section].annotation.model_fields:  # type: ignore[union-attr]
            var = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            if var in os.environ:
                origins.where[(section, key)] = f"environment variable {var}"
    try:
        settings = Settings(**doc)
    except ValidationError as exc:
        raise _from_validation(exc, origins, str(config_path)) from None
    parsed = _parse_url(settings.store.url, origins.of(("store", "url")) or str(config_path))
    url_origin = origins.of(("store", "url")) or ""
    if parsed.password and url_origin.startswith(str(config_path)):
        raise ConfigError(
            f"{url_origin}: store.url: the URL holds a password; secrets never go in"
            f" {config_path.name}: set {ENV_PREFIX}STORE__URL or put [store] url in the"
            f" secrets file ({SECRETS_FILE}, chmod 600)"
        )
    secret_fields = _check_accounts(settings, origins, config_path)

    secrets_name = env.get(f"{ENV_PREFIX}SECRETS_FILE") or settings.secrets_file
    secrets_path: Path | None = None
    if secrets_name:
        secrets_path = Path(secrets_name).expanduser()
        if not secrets_path.is_absolute():
            secrets_path = config_path.parent / secrets_path
        if not secrets_path.is_file():
            raise ConfigError(
                f"{origins.of(('secrets_file',)) or config_path}: secrets file"
                f" {secrets_path} does not exist"
            )
    elif (config_path.parent / SECRETS_FILE).is_file():
        secrets_path = config_path.parent / SECRETS_FILE
    secrets, sources, secret_url = _load_secrets(settings, secret_fields, secrets_path, env)
    if secret_url and f"{ENV_PREFIX}STORE__URL" not in os.environ:
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"url": secret_url})}
        )
    if settings.store.url.startswith("sqlite:///") and not settings.store.url.startswith(
        "sqlite:////"
    ):
        # A relative SQLite path is relative to the config file, not to the caller's folder.
        rel = settings.store.url.removeprefix("sqlite:///")
        if rel and rel != ":memory:" and not rel.startswith("?"):
            absolute = (config_path.parent / rel).resolve()
            settings = settings.model_copy(
                update={"store": settings.store.model_copy(update={"url": f"sqlite:///{absolute}"})}
            )
    return Config(
        settings=settings,
        path=config_path,
        secrets_path=secrets_path,
        secrets=secrets,
        origins=origins,
        secret_sources=sources,
    )


def _parse_url(url: str, where: str) -> sa.URL:
    """``url`` parsed, or a ``ConfigError`` naming ``where`` (never the URL: it may hold a
    password)."""
    try:
        return sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        # ValueError: a port that is not a number ("invalid literal for int()").
        detail = " (its port is not a number)" if not isinstance(exc, sa.exc.ArgumentError) else ""
        raise ConfigError(
            f"{where}: store.url: not a database URL{detail}"
            " (sqlite:///channelsync.db or postgresql+psycopg://user@host/db)"
        ) from None


def iter_problems(config: Config) -> Iterator[tuple[str, str]]:
    """(account, problem) for every account whose secrets are incomplete."""
    for name in config.enabled_accounts():
        for secret in config.missing_secrets(name):
            yield name, f"secret {secret} is missing: {config.secret_hint(name, secret)}"


# -- the template -----------------------------------------------------------------------------


def template() -> str:
    """The commented ``channelsync.toml`` that ``channelsync init`` writes."""
    return _TEMPLATE


_TEMPLATE = """\
# channelsync configuration. Secrets never go in this file: give each one as an
# environment variable CHANNELSYNC_<ACCOUNT>__<FIELD> (the account name upper-cased, every
# character other than a letter or digit turned into "_"), e.g.
#     export CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN=shpat_...
# or put them in channelsync.secrets.toml beside this file (same tables, chmod 600):
#     [accounts.shopify-main]
#     access_token = "shpat_..."
# Any [store]/[worker]/[reports]/[webhooks] setting can be overridden the same way:
#     export CHANNELSYNC_STORE__URL=postgresql+psycopg://channelsync:secret@db/channelsync

[store]
# SQLite for one worker (relative paths are relative to this file); PostgreSQL for
# several workers on one database. A password belongs in CHANNELSYNC_STORE__URL.
url = "sqlite:///channelsync.db"

[worker]
poll_interval = 60          # seconds between cycles of `channelsync worker`
log_level = "INFO"          # DEBUG, INFO, WARNING or ERROR
order_lag_minutes = 5       # every order poll re-reads this far behind the newest change
initial_lookback_days = 7   # how far back the first poll of a new account reads

[reports]
timezone = "UTC"            # calendar days of `channelsync report sales --by day`

[webhooks]
max_body_bytes = 5242880    # larger deliveries are refused with 413
threads = 8                 # threads applying deliveries

# One table per channel account; the table name is the account name you use everywhere
# (commands, rules, environment variables). Remove the ones you do not sell on.

[accounts.shopify-main]
kind = "shopify"
shop = "your-shop.myshopify.com"
# location_id = "gid://shopify/Location/123"   # default: the shop's primary location
fee_percent = 2.9           # fee share of revenue for orders that do not report fees
rules = { buffer = 0 }      # allocation: buffer, share, cap, min_to_list, enabled
# secrets: CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN, CHANNELSYNC_SHOPIFY_MAIN__WEBHOOK_SECRET

[accounts.woo]
kind = "woocommerce"
url = "https://shop.example.com"
fee_percent = 1.9
# secrets: CHANNELSYNC_WOO__CONSUMER_KEY, CHANNELSYNC_WOO__CONSUMER_SECRET,
#          CHANNELSYNC_WOO__WEBHOOK_SECRET

[accounts.amazon-eu]
kind = "amazon"
seller_id = "A1EXAMPLE"
marketplace_ids = ["A1PA6795UKMFR9"]   # DE; add A13V1IB3VIYZZH (FR), APJ6JRA9NG5V4 (IT)...
region = "eu"
lwa_client_id = "amzn1.application-oa2-client.example"
fee_percent = 15
rules = { buffer = 2 }
# secrets: CHANNELSYNC_AMAZON_EU__LWA_CLIENT_SECRET, CHANNELSYNC_AMAZON_EU__REFRESH_TOKEN

[accounts.ebay-de]
kind = "ebay"
site_id = 77                # 77 Germany, 0 US, 3 UK ...
app_id = "YourApp-PRD-0123456789-abcdef01"
dev_id = "00000000-0000-0000-0000-000000000000"
deletion_endpoint_url = "https://hooks.example.com/webhooks/ebay-de"
fee_percent = 11
rules = { buffer = 1, cap = 10 }
# secrets: CHANNELSYNC_EBAY_DE__CERT_ID, CHANNELSYNC_EBAY_DE__USER_TOKEN,
#          CHANNELSYNC_EBAY_DE__VERIFICATION_TOKEN

# Per-SKU overrides of an account's rules:
# [accounts.ebay-de.sku_rules.GIFT-CARD]
# enabled = false

# Your own adapter (any class implementing channelsync.Channel):
# [accounts.pos]
# kind = "custom"
# factory = "myshop.channels:build"   # called as build(account=, options=, secrets=)
"""
