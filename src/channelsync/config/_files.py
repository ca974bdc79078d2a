"""Finding and reading the files: the config, the secrets file, the template; and where
each value came from (file and line, or environment variable) for messages."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from channelsync.core.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SECRETS_FILE",
    "Origins",
    "config_path",
    "from_validation",
    "key_lines",
    "read_toml",
    "secrets_path",
    "template",
]

CONFIG_FILE = "channelsync.toml"
SECRETS_FILE = "channelsync.secrets.toml"
ENV_PREFIX = "CHANNELSYNC_"


def template() -> str:
    """The commented ``channelsync.toml`` that ``channelsync init`` writes."""
    return resources.files("channelsync.config").joinpath("template.toml").read_text("utf-8")


def config_path(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """The config file: ``path``, else ``$CHANNELSYNC_CONFIG``, else ``./channelsync.toml``."""
    return Path(path or env.get(f"{ENV_PREFIX}CONFIG") or CONFIG_FILE).expanduser()


def secrets_path(
    config: Path, named: str | None, where: str, env: Mapping[str, str]
) -> Path | None:
    """The secrets file: ``$CHANNELSYNC_SECRETS_FILE`` or ``secrets_file = ...`` (relative to
    the config file; it must exist), else ``channelsync.secrets.toml`` beside the config when
    there is one, else None."""
    name = env.get(f"{ENV_PREFIX}SECRETS_FILE") or named
    if name:
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = config.parent / path
        if not path.is_file():
            raise ConfigError(f"{where}: secrets file {path} does not exist")
        return path
    beside = config.parent / SECRETS_FILE
    return beside if beside.is_file() else None


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text and parsed content of a TOML file; ``ConfigError`` naming line and column."""
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
class Origins:
    """Where every setting came from: a file and line, or an environment variable."""

    where: dict[tuple[str, ...], str] = field(default_factory=dict)

    def add_file(self, path: Path, text: str, prefix: tuple[str, ...] = ()) -> None:
        """Record every key of ``text`` (read from ``path``) under ``prefix``."""
        for key, line in key_lines(text).items():
            self.where.setdefault(prefix + key, f"{path}:{line}")

    def of(self, loc: Sequence[str | int]) -> str | None:
        """``file:line`` (or the variable) of ``loc`` or of its nearest parent."""
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


def from_validation(
    exc: ValidationError | Sequence[Mapping[str, Any]],
    origins: Origins,
    default_where: str,
    prefix: tuple[str, ...] = (),
    *,
    hide_input: bool = False,
) -> ConfigError:
    """One ``ConfigError`` naming file, line and key of every problem of ``exc``."""
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc
    messages = []
    for err in errors:
        loc = prefix + tuple(str(p) for p in err["loc"])
        where = origins.of(loc) or default_where
        text = str(err.get("msg", "invalid")) if hide_input else _describe_error(err)
        messages.append(f"{where}: {_loc_text(loc)}: {text}")
    return ConfigError("\n".join(messages))
