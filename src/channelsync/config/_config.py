"""The loaded configuration: ``load_config`` validates the file, the secrets and every
account against its adapter's config model, and ``Config`` builds the channels."""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, SecretStr, ValidationError

from channelsync.config._files import (
    CONFIG_FILE,
    ENV_PREFIX,
    SECRETS_FILE,
    Origins,
    from_validation,
    read_toml,
)
from channelsync.config._files import config_path as locate_config
from channelsync.config._files import secrets_path as locate_secrets
from channelsync.config._secrets import env_account, is_secret, load_secrets, secret_env_name
from channelsync.config._settings import SECTIONS, AccountSettings, Settings
from channelsync.core.allocation import Rule
from channelsync.core.channel import Channel
from channelsync.core.errors import ConfigError
from channelsync.core.pricing import PriceRule
from channelsync.core.rates import Rates, load_rates
from channelsync.plugins import AdapterPlugin, adapters

__all__ = ["RESERVED_ENV", "Config", "iter_problems", "load_config"]

#: Account names whose variable prefix would clash with the tables' overrides.
RESERVED_ENV = {s.upper() for s in SECTIONS} | {"SECRETS_FILE", "CONFIG"}


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
    origins: Origins = field(default_factory=Origins, repr=False)
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

    def rules(self) -> dict[Any, Rule]:
        """The allocation rules of every account, per-SKU and per-location override, for
        ``SyncEngine``."""
        out: dict[Any, Rule] = {}
        for name, acc in self.settings.accounts.items():
            out[name] = acc.rules
            for sku, rule in acc.sku_rules.items():
                out[(name, sku)] = rule
            for location, rule in acc.location_rules.items():
                out[(name, None, location)] = rule
        return out

    def price_rules(self) -> dict[Any, PriceRule]:
        """The price rules of every account and per-SKU override, for ``SyncEngine``."""
        out: dict[Any, PriceRule] = {}
        for name, acc in self.settings.accounts.items():
            if acc.prices is not None:
                out[name] = acc.prices
            for sku, rule in acc.sku_prices.items():
                out[(name, sku)] = rule
        return out

    def rates(self) -> Rates | None:
        """The exchange rates of ``[reports] rates_file`` (None if unset).

        Raises:
            ConfigError: the file is missing or malformed (named with the line).
        """
        path = self.rates_path()
        return load_rates(path) if path is not None else None

    def locations(self) -> dict[str, list[str] | dict[str, str]]:
        """Where each account's stock comes from (the accounts that say), for ``SyncEngine``."""
        return {
            name: acc.locations
            for name, acc in self.settings.accounts.items()
            if acc.locations is not None
        }

    def rates_path(self) -> Path | None:
        """``[reports] rates_file``, relative to the configuration file (None if unset)."""
        name = self.settings.reports.rates_file
        if not name:
            return None
        path = Path(name).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = Path(self.path).parent / path
        return path

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
        model = _config_model(acc.kind, self.origins.of(("accounts", account, "kind")))
        return sorted(n for n, f in model.model_fields.items() if is_secret(f.annotation))

    def missing_secrets(self, account: str) -> list[str]:
        """Required secrets of ``account`` that neither the environment nor the file has."""
        acc = self.settings.accounts[account]
        if acc.kind == "custom":
            return []
        model = _config_model(acc.kind, self.origins.of(("accounts", account, "kind")))
        have = self.secrets.get(account, {})
        return sorted(
            n
            for n, f in model.model_fields.items()
            if is_secret(f.annotation) and f.is_required() and n not in have
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
        plugin = _plugin(acc.kind, self.origins.of(("accounts", account, "kind")))
        model = _config_model(acc.kind, self.origins.of(("accounts", account, "kind")))
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
            raise from_validation(
                exc,
                Origins({**self.origins.where, **self._secret_origins(account)}),
                str(self.path),
                ("accounts", account),
                hide_input=True,
            ) from None
        channel_cls: Any = plugin.channel_class()
        kwargs = _endpoint_kwargs(channel_cls, account, acc, self.origins)
        channel = channel_cls(cfg, **kwargs)
        if not isinstance(channel, Channel):
            raise ConfigError(f"{plugin.channel} does not implement channelsync.Channel")
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


def _plugin(kind: str, where: str | None) -> AdapterPlugin:
    try:
        return adapters().get(kind)
    except ConfigError as exc:
        raise ConfigError(f"{where or CONFIG_FILE}: kind = {kind!r}: {exc}") from None


def _config_model(kind: str, where: str | None) -> type[BaseModel]:
    plugin = _plugin(kind, where)
    try:
        return plugin.config_model()
    except ConfigError as exc:
        raise ConfigError(f"{where or CONFIG_FILE}: kind = {kind!r}: {exc}") from None


def _endpoint_kwargs(
    channel_cls: Any, account: str, acc: AccountSettings, origins: Origins
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
    account: str, acc: AccountSettings, secrets: Mapping[str, SecretStr], origins: Origins
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


def _secret_fields(kind: str, where: str | None) -> set[str] | None:
    """Secret field names of ``kind``'s adapter config, or None for custom accounts."""
    if kind == "custom":
        return None
    model = _config_model(kind, where)
    return {n for n, f in model.model_fields.items() if is_secret(f.annotation)}


def _check_accounts(settings: Settings, origins: Origins, path: Path) -> dict[str, set[str] | None]:
    secret_fields: dict[str, set[str] | None] = {}
    normalized: dict[str, str] = {}
    for name, acc in settings.accounts.items():
        where = origins.of(("accounts", name)) or str(path)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", name):
            raise ConfigError(
                f"{where}: accounts.{name}: account names are letters, digits, '-', '_' and '.'"
                " (at most 64, starting with a letter or digit)"
            )
        env = env_account(name)
        if env in RESERVED_ENV or env in normalized:
            other = normalized.get(env, env.lower())
            raise ConfigError(
                f"{where}: accounts.{name}: its environment prefix {ENV_PREFIX}{env}__ clashes"
                f" with {other!r}; rename the account"
            )
        normalized[env] = name
        if acc.kind != "custom" and acc.kind not in adapters():
            kinds = ", ".join(adapters().kinds()) or "none"
            raise ConfigError(
                f"{origins.of(('accounts', name, 'kind'))}: accounts.{name}.kind: no channel"
                f" adapter of kind {acc.kind!r} is installed (known: {kinds}, or custom)"
            )
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
        model = _config_model(acc.kind, origins.of(("accounts", name, "kind")))
        assert fields is not None
        try:
            channel_cls = _plugin(acc.kind, None).channel_class()
        except ConfigError as exc:
            raise ConfigError(
                f"{origins.of(('accounts', name, 'kind'))}: kind = {acc.kind!r}: {exc}"
            ) from None
        _endpoint_kwargs(channel_cls, name, acc, origins)
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
                raise from_validation(
                    errors,
                    origins,
                    str(path),
                    ("accounts", name),
                ) from None
    return secret_fields


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
    config_path = locate_config(path, env)
    text, doc = read_toml(config_path)
    origins = Origins()
    origins.add_file(config_path, text)
    for section in SECTIONS:
        for key in Settings.model_fields[section].annotation.model_fields:  # type: ignore[union-attr]
            var = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
            if var in os.environ:
                origins.where[(section, key)] = f"environment variable {var}"
    try:
        settings = Settings(**doc)
    except ValidationError as exc:
        raise from_validation(exc, origins, str(config_path)) from None
    parsed = _parse_url(settings.store.url, origins.of(("store", "url")) or str(config_path))
    url_origin = origins.of(("store", "url")) or ""
    if parsed.password and url_origin.startswith(str(config_path)):
        raise ConfigError(
            f"{url_origin}: store.url: the URL holds a password; secrets never go in"
            f" {config_path.name}: set {ENV_PREFIX}STORE__URL or put [store] url in the"
            f" secrets file ({SECRETS_FILE}, chmod 600)"
        )
    secret_fields = _check_accounts(settings, origins, config_path)

    secrets_path = locate_secrets(
        config_path,
        settings.secrets_file,
        origins.of(("secrets_file",)) or str(config_path),
        env,
    )
    secrets, sources, secret_url = load_secrets(
        settings, secret_fields, secrets_path, env, _parse_url
    )
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
