"""Describing a running sandbox: URLs, credentials and a ``channelsync.toml`` for it."""

from __future__ import annotations

from typing import Any

from channelsync.config import secret_env_name
from channelsync.plugins import adapters
from channelsync.sandbox import Sandbox

__all__ = ["account_name", "describe", "seed_listings"]


def account_name(kind: str) -> str:
    """The account name a fake of ``kind`` gets in the snippet ``channelsync sandbox`` prints."""
    return {"woocommerce": "sandbox-woo"}.get(kind, f"sandbox-{kind}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def describe(sb: Sandbox) -> dict[str, Any]:
    """URLs and credentials of every running fake, a TOML snippet and the secrets' variables.

    The credentials are the fakes' own (made up when the sandbox started); they open
    nothing but these fakes.
    """
    fakes: dict[str, Any] = {}
    toml = ['[store]\nurl = "sqlite:///sandbox.db"\n']
    env: list[str] = []
    for name, fake in sb.fakes.items():
        found = adapters().get(name).sandbox_settings(fake)
        settings, args, secrets = found.settings, found.channel_args, found.secrets
        account = account_name(name)
        fakes[name] = {
            "url": fake.url,
            "account": account,
            "settings": settings,
            "credentials": secrets,
        }
        lines = [f"[accounts.{account}]", f'kind = "{name}"']
        lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
        if args:
            inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in args.items())
            lines.append(f"channel_args = {{ {inner} }}")
        toml.append("\n".join(lines) + "\n")
        env += [f"export {secret_env_name(account, k)}='{v}'" for k, v in secrets.items()]
    return {"fakes": fakes, "toml": "\n".join(toml), "env": env}


def seed_listings(sb: Sandbox, count: int) -> list[str]:
    """List ``count`` stock-managed products (10 units, 19.99) on every running fake."""
    skus = [f"SANDBOX-{i:03d}" for i in range(1, count + 1)]
    for fake in sb.fakes.values():
        for sku in skus:
            fake.seed_listing(sku, quantity=10, price="19.99", title=f"Sandbox product {sku}")
    return skus
