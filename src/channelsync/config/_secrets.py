"""Secrets: ``CHANNELSYNC_<ACCOUNT>__<FIELD>`` environment variables and the private secrets
file (``channelsync.secrets.toml``), which mirrors the main file's tables."""

from __future__ import annotations

import os
import re
import stat
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from channelsync.config._files import CONFIG_FILE, ENV_PREFIX, key_lines, read_toml
from channelsync.config._settings import Settings
from channelsync.core.errors import ConfigError

__all__ = ["check_private", "env_account", "is_secret", "load_secrets", "secret_env_name"]


def secret_env_name(account: str, name: str) -> str:
    """The environment variable holding secret ``name`` of ``account``.

    >>> secret_env_name("shopify-main", "access_token")
    'CHANNELSYNC_SHOPIFY_MAIN__ACCESS_TOKEN'
    """
    return f"{ENV_PREFIX}{env_account(account)}__{name.upper()}"


def env_account(account: str) -> str:
    """The account part of its variables: upper-cased, every non-alphanumeric as ``_``."""
    return re.sub(r"[^A-Za-z0-9]", "_", account).upper()


def is_secret(annotation: Any) -> bool:
    """Whether a config model field's annotation holds a ``SecretStr``."""
    if annotation is SecretStr:
        return True
    return any(is_secret(a) for a in typing.get_args(annotation))


def check_private(path: Path) -> None:
    """Refuse a secrets file that other users of this machine may read or write."""
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


def load_secrets(
    settings: Settings,
    secret_fields: Mapping[str, set[str] | None],
    secrets_path: Path | None,
    environ: Mapping[str, str],
    parse_store_url: Callable[[str, str], object],
) -> tuple[dict[str, dict[str, SecretStr]], dict[tuple[str, str], str], str | None]:
    """Secrets per account from the secrets file and the environment; and a store URL.

    ``parse_store_url(url, where)`` checks a ``[store] url`` found in the secrets file.
    """
    secrets: dict[str, dict[str, SecretStr]] = {name: {} for name in settings.accounts}
    sources: dict[tuple[str, str], str] = {}
    store_url: str | None = None
    if secrets_path is not None:
        check_private(secrets_path)
        text, doc = read_toml(secrets_path)
        lines = key_lines(text)
        for key, value in doc.items():
            if key == "store" and isinstance(value, dict) and set(value) <= {"url"}:
                if "url" in value:
                    where = f"{secrets_path}:{lines.get(('store', 'url'), 1)}"
                    if not isinstance(value["url"], str):
                        raise ConfigError(f"{where}: store.url: must be a string")
                    parse_store_url(value["url"], where)
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
        prefix = f"{ENV_PREFIX}{env_account(account)}__"
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
