"""Describing a running sandbox: URLs, credentials and a ``channelsync.toml`` for it."""

from __future__ import annotations

from typing import Any

from channelsync.config import secret_env_name
from channelsync.sandbox import Sandbox

__all__ = ["ACCOUNTS", "describe", "seed_listings"]

#: The account name each fake gets in the snippet ``channelsync sandbox`` prints.
ACCOUNTS = {
    "shopify": "sandbox-shopify",
    "woocommerce": "sandbox-woo",
    "amazon": "sandbox-amazon",
    "ebay": "sandbox-ebay",
}


def _fake_settings(
    name: str, fake: Any, sqs: Any = None
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(non-secret settings, channel_args, secrets) of one fake."""
    url = fake.url
    if name == "shopify":
        return (
            {"shop": fake.shop},
            {"base_url": url},
            {"access_token": fake.access_token, "webhook_secret": fake.webhook_secret},
        )
    if name == "woocommerce":
        return (
            {"url": url, "allow_insecure_http": True},
            {},
            {
                "consumer_key": fake.consumer_key,
                "consumer_secret": fake.consumer_secret,
                "webhook_secret": fake.webhook_secret,
            },
        )
    if name == "amazon":
        settings: dict[str, Any] = {
            "seller_id": fake.seller_id,
            "marketplace_ids": list(fake.marketplace_ids),
            "region": "eu",
            "lwa_client_id": fake.lwa_client_id,
            "feed_poll_interval": 0.05,
            "write_settle_seconds": max(fake.patch_apply_delay, fake.feed_processing_seconds),
            "order_search_lag_seconds": max(fake.order_search_lag),
        }
        secrets = {"lwa_client_secret": fake.lwa_client_secret, "refresh_token": fake.refresh_token}
        if sqs is not None and sqs.queue_url:
            settings.update(
                notifications_queue_url=sqs.queue_url,
                notifications_endpoint_url=sqs.endpoint_url,
                notifications_region=sqs.region,
                aws_access_key_id=sqs.access_key_id,
            )
            secrets["aws_secret_access_key"] = sqs.secret_access_key
        return settings, {"base_url": url, "token_url": f"{url}/auth/o2/token"}, secrets
    if name == "ebay":
        return (
            {
                "site_id": fake.site_id,
                "app_id": fake.APP_ID,
                "dev_id": fake.DEV_ID,
                "deletion_endpoint_url": fake.DELETION_ENDPOINT,
                "mod_time_lag_seconds": 0,
            },
            {"base_url": url},
            {
                "cert_id": fake.CERT_ID,
                "refresh_token": fake.REFRESH_TOKEN,
                "verification_token": fake.VERIFICATION_TOKEN,
            },
        )
    raise KeyError(name)


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
        settings, args, secrets = _fake_settings(name, fake, sb.sqs)
        account = ACCOUNTS[name]
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
