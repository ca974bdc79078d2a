"""A ``channelsync.toml``, its secrets and their variables for a running ``Sandbox``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from channelsync.plugins import adapters

if TYPE_CHECKING:  # pragma: no cover
    from channelsync.sandbox._runner import Sandbox

__all__ = ["SandboxConfig", "account_name", "sandbox_config", "url_variable"]

#: The files ``SandboxConfig.write`` creates, by role.
CONFIG_NAME = "channelsync.toml"
SECRETS_NAME = "channelsync.secrets.toml"
ENV_NAME = "sandbox.env"
JSON_NAME = "sandbox.json"

#: The variable holding the control endpoint's URL (``channelsync sandbox order`` reads it).
CONTROL_VARIABLE = "CHANNELSYNC_SANDBOX_URL"


def account_name(kind: str) -> str:
    """The account a fake of ``kind`` gets in a sandbox configuration.

    The adapter's demo account (``shopify-main``, ``woo-main``, ``amazon-eu``, ``ebay-de``,
    ``magento-main``: the names the README and the guides use), else ``sandbox-<kind>``.
    """
    try:
        demo = adapters().get(kind).demo_account
    except Exception:  # an unknown kind has no plugin to ask
        demo = None
    return demo or f"sandbox-{kind}"


def url_variable(kind: str) -> str:
    """The variable ``sandbox.env`` sets to the URL of the fake of ``kind``."""
    return f"CHANNELSYNC_SANDBOX_{kind.upper()}_URL"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


@dataclass(frozen=True)
class SandboxConfig:
    """What a program needs to reach a running sandbox.

    Attributes:
        toml: a ``channelsync.toml`` aiming one account at each fake (no secrets in it).
        secrets_toml: the matching ``channelsync.secrets.toml``.
        env: ``export`` lines: each secret's ``CHANNELSYNC_<ACCOUNT>__<FIELD>`` variable,
            each fake's URL (``CHANNELSYNC_SANDBOX_<KIND>_URL``) and the control endpoint's
            (``CHANNELSYNC_SANDBOX_URL``) when it runs.
        fakes: per fake kind: ``url``, ``account``, ``settings`` and ``credentials``.
        control_url: the control endpoint, or None.
    """

    toml: str
    secrets_toml: str
    env: list[str]
    fakes: dict[str, dict[str, Any]] = field(default_factory=dict)
    control_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data (what ``channelsync sandbox --json`` prints)."""
        return {
            "fakes": self.fakes,
            "control_url": self.control_url,
            "toml": self.toml,
            "secrets_toml": self.secrets_toml,
            "env": self.env,
        }

    def write(self, directory: Path) -> list[Path]:
        """Write the four files into ``directory`` (created if missing); returns their paths.

        The three holding secrets are created mode 600 (``load_config`` refuses a secrets
        file others may read).
        """
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / CONFIG_NAME]
        written[0].write_text(self.toml, encoding="utf-8")
        private = {
            SECRETS_NAME: self.secrets_toml,
            ENV_NAME: "\n".join(self.env) + "\n",
            JSON_NAME: json.dumps(self.as_dict(), indent=2) + "\n",
        }
        for name, text in private.items():
            path = directory / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(path, 0o600)
            written.append(path)
        return written


def sandbox_config(sb: Sandbox, *, store_url: str = "sqlite:///sandbox.db") -> SandboxConfig:
    """``Sandbox.config``: the configuration of every running fake."""
    from channelsync.config import secret_env_name

    fakes: dict[str, dict[str, Any]] = {}
    toml = [f"[store]\nurl = {_toml_value(store_url)}\n"]
    secrets_toml = ["# Made-up secrets of the sandbox's fakes (they open nothing else).\n"]
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
        secret_lines = [f"[accounts.{account}]"]
        secret_lines += [f"{k} = {_toml_value(v)}" for k, v in secrets.items()]
        secrets_toml.append("\n".join(secret_lines) + "\n")
        env += [
            f"export {secret_env_name(account, k)}={_shell_quote(v)}" for k, v in secrets.items()
        ]
        env.append(f"export {url_variable(name)}={_shell_quote(str(fake.url))}")
    if sb.control_url is not None:
        env.append(f"export {CONTROL_VARIABLE}={_shell_quote(sb.control_url)}")
    return SandboxConfig(
        toml="\n".join(toml),
        secrets_toml="\n".join(secrets_toml),
        env=env,
        fakes=fakes,
        control_url=sb.control_url,
    )
