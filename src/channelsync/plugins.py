"""Adapters as plugins: how channelsync finds the channel kinds it can build.

An installed package registers a channel kind through the entry-point group
``channelsync.adapters``; the entry point names an ``AdapterPlugin``::

    # pyproject.toml of the package "acme-channel"
    [project.entry-points."channelsync.adapters"]
    acme = "acme_channel._plugin:PLUGIN"

    # acme_channel/_plugin.py
    PLUGIN = AdapterPlugin(
        kind="acme",
        title="Acme Marketplace",
        config="acme_channel.config:AcmeConfig",
        channel="acme_channel.channel:AcmeChannel",
        fake="acme_channel.fake:AcmeFake",                 # optional: the sandbox fake
        sandbox_account="acme_channel.fake:sandbox_account",  # optional
        doctor="acme_channel._plugin:doctor_checks",      # optional
    )

The five adapters channelsync ships register the same way (in its own ``pyproject.toml``).
The configuration (``kind = "acme"`` in ``channelsync.toml``), ``channelsync doctor``,
``channelsync sandbox``, ``channelsync demo`` and ``channelsync.sandbox.Sandbox`` find
channels only here. The classes behind an ``AdapterPlugin`` are named as
``"module:attribute"`` strings and imported on first use, so a kind whose optional
dependencies are missing fails only when it is used, with a message saying what to install.

``register_adapter`` adds a plugin in-process (tests, an application that does not package
its adapter).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

from pydantic import BaseModel

from channelsync.core.errors import ConfigError

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterPlugin",
    "AdapterRegistry",
    "DoctorCheck",
    "SandboxAccount",
    "adapters",
    "register_adapter",
]

log = logging.getLogger(__name__)

#: The entry-point group adapter packages register in.
ENTRY_POINT_GROUP = "channelsync.adapters"

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class DoctorCheck:
    """One finding of an adapter's own ``channelsync doctor`` checks."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class SandboxAccount:
    """How ``channelsync sandbox`` configures an account aimed at a running fake.

    Attributes:
        settings: the account's non-secret settings (``channelsync.toml`` keys).
        channel_args: constructor arguments aiming the channel at the fake (``base_url``).
        secrets: the fake's made-up credentials, by secret name.
    """

    settings: dict[str, Any] = field(default_factory=dict)
    channel_args: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def _load(ref: str, kind: str, what: str, extra: str | None) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"the {kind} adapter names its {what} as {ref!r}; use 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        hint = (
            f"pip install 'channelsync[{extra}]'"
            if extra
            else "install the package that provides it"
        )
        raise ConfigError(
            f"the {kind} adapter cannot be imported ({exc.name} is missing): {hint}"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"the {kind} adapter's {what} {ref!r} does not exist") from None


@dataclass(frozen=True)
class AdapterPlugin:
    """What an adapter package registers: its config model, channel, fake and doctor checks.

    Attributes:
        kind: the channel kind (``kind = "..."`` in ``channelsync.toml``): lower-case letters,
            digits and ``_``.
        config: ``"module:Model"``, the pydantic config model the channel is built from; it
            has an ``account`` field, and its ``SecretStr`` fields are the secrets.
        channel: ``"module:Class"``, the ``Channel`` built as ``Class(config, **channel_args)``.
        title: the marketplace's name for people.
        fake: ``"module:Class"``, a ``channelsync.sandbox.FakeMarketplace`` subclass built
            as ``Class(latency_ms=..., clock=...)``, or None when there is no fake.
        sandbox_account: ``"module:function"``; ``function(fake) -> SandboxAccount`` says how
            an account reaches a running fake.
        doctor: ``"module:function"``; ``function(channel, options, today) ->
            list[DoctorCheck]`` adds the adapter's own checks (API version...).
        clock_url: ``"module:function"``; ``function(channel, options) -> str | None`` is a URL
            on the API host whose ``Date`` header ``doctor`` compares clocks with.
        permissions: what the account needs granted, in the words of the seller console
            (``doctor`` shows it when the channel refuses a permission).
        extra: the pip extra that installs the adapter's dependencies (built-ins).
        webhooks: whether the channel announces orders by webhook (else it is polled).
        demo_account: the account name ``channelsync demo`` gives it.
        demo_traffic: its share of the demo's buyers (0 keeps it out of the demo).
        demo_fee_percent: the fee the demo charges on its orders (a percentage).
    """

    kind: str
    config: str
    channel: str
    title: str = ""
    fake: str | None = None
    sandbox_account: str | None = None
    doctor: str | None = None
    clock_url: str | None = None
    permissions: str | None = None
    extra: str | None = None
    webhooks: bool = False
    demo_account: str | None = None
    demo_traffic: float = 0.0
    demo_fee_percent: str = "0"

    def config_model(self) -> type[BaseModel]:
        """The config model class (imported now)."""
        model = _load(self.config, self.kind, "config model", self.extra)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(f"{self.config} is not a pydantic model")
        return model

    def channel_class(self) -> type[Any]:
        """The channel class (imported now)."""
        cls = _load(self.channel, self.kind, "channel class", self.extra)
        if not isinstance(cls, type):
            raise ConfigError(f"{self.channel} is not a class")
        return cls

    def fake_class(self) -> type[Any]:
        """The sandbox fake's class; ``ConfigError`` when the adapter has none."""
        if self.fake is None:
            raise ConfigError(f"the {self.kind} adapter has no sandbox fake")
        cls = _load(self.fake, self.kind, "sandbox fake", "sandbox")
        if not isinstance(cls, type):
            raise ConfigError(f"{self.fake} is not a class")
        return cls

    def sandbox_settings(self, fake: Any) -> SandboxAccount:
        """How an account reaches ``fake`` (a running fake of this kind)."""
        if self.sandbox_account is None:
            return SandboxAccount(channel_args={"base_url": str(fake.url)})
        function = _load(self.sandbox_account, self.kind, "sandbox account", "sandbox")
        result = function(fake)
        if not isinstance(result, SandboxAccount):
            raise ConfigError(f"{self.sandbox_account} did not return a SandboxAccount")
        return result

    def doctor_checks(self, channel: Any, options: Mapping[str, Any], today: date) -> list[Any]:
        """The adapter's own doctor checks (``DoctorCheck`` items; none without a hook)."""
        if self.doctor is None:
            return []
        function: Callable[..., list[DoctorCheck]] = _load(
            self.doctor, self.kind, "doctor checks", self.extra
        )
        return list(function(channel, options, today))

    def probe_url(self, channel: Any, options: Mapping[str, Any]) -> str | None:
        """A URL on the account's API host that answers with a ``Date`` header, if known."""
        if self.clock_url is None:
            return None
        function: Callable[..., str | None] = _load(
            self.clock_url, self.kind, "clock URL", self.extra
        )
        return function(channel, options)


class AdapterRegistry:
    """The adapter plugins of this process: entry points plus ``register``-ed ones.

    Entry points are listed once and each plugin is loaded on first use; one that cannot be
    loaded is reported (``ConfigError``) only when its kind is asked for.
    """

    def __init__(self, *, entry_points: bool = True) -> None:
        self._lock = threading.Lock()
        self._use_entry_points = entry_points
        self._refs: dict[str, importlib.metadata.EntryPoint] | None = None
        self._plugins: dict[str, AdapterPlugin] = {}

    def _entry_points(self) -> dict[str, importlib.metadata.EntryPoint]:
        with self._lock:
            if self._refs is None:
                found: dict[str, importlib.metadata.EntryPoint] = {}
                if self._use_entry_points:
                    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                        if ep.name in found and found[ep.name].value != ep.value:
                            log.warning(
                                "two packages register the channel kind %r (%s and %s); using"
                                " the first",
                                ep.name,
                                found[ep.name].value,
                                ep.value,
                            )
                            continue
                        found.setdefault(ep.name, ep)
                self._refs = found
            return self._refs

    def register(self, plugin: AdapterPlugin, *, replace: bool = False) -> None:
        """Add ``plugin`` in this process; an existing kind needs ``replace=True``."""
        if not isinstance(plugin, AdapterPlugin):
            raise TypeError("register() takes an AdapterPlugin")
        _check_kind(plugin.kind)
        if plugin.kind == "custom":
            raise ConfigError("'custom' is reserved for accounts built by a factory")
        known = self.kinds()
        with self._lock:
            if plugin.kind in known and not replace:
                raise ConfigError(
                    f"the channel kind {plugin.kind!r} is registered already; pass replace=True"
                )
            self._plugins[plugin.kind] = plugin

    def unregister(self, kind: str) -> None:
        """Forget a plugin added with ``register`` (entry points stay)."""
        with self._lock:
            self._plugins.pop(kind, None)

    def kinds(self) -> list[str]:
        """Every registered kind, sorted (nothing is imported)."""
        names = set(self._entry_points())
        with self._lock:
            names |= set(self._plugins)
        return sorted(names)

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self.kinds()

    def get(self, kind: str) -> AdapterPlugin:
        """The plugin of ``kind``; ``ConfigError`` naming the known kinds when there is none."""
        with self._lock:
            plugin = self._plugins.get(kind)
        if plugin is not None:
            return plugin
        ep = self._entry_points().get(kind)
        if ep is None:
            known = ", ".join(self.kinds()) or "none"
            raise ConfigError(
                f"no channel adapter of kind {kind!r} is installed (known: {known}; or"
                ' kind = "custom" with a factory)'
            )
        try:
            loaded = ep.load()
        except ModuleNotFoundError as exc:
            hint = f"reinstall {_distribution(ep) or 'the package that registers it'}"
            raise ConfigError(
                f"the {kind} adapter cannot be imported ({exc.name} is missing): {hint}"
            ) from None
        except Exception as exc:
            raise ConfigError(
                f"the {kind} adapter's entry point {ep.value} failed to load:"
                f" {type(exc).__name__}: {exc}"
            ) from exc
        if callable(loaded) and not isinstance(loaded, AdapterPlugin):
            loaded = loaded()
        if not isinstance(loaded, AdapterPlugin):
            raise ConfigError(
                f"the entry point {ep.value} of kind {kind!r} is not an AdapterPlugin"
            )
        if loaded.kind != kind:
            raise ConfigError(
                f"the entry point {kind!r} names a plugin of kind {loaded.kind!r}; they must match"
            )
        with self._lock:
            self._plugins.setdefault(kind, loaded)
            return self._plugins[kind]

    def plugins(self) -> dict[str, AdapterPlugin]:
        """Every plugin that loads, by kind (those that do not are logged and left out)."""
        out: dict[str, AdapterPlugin] = {}
        for kind in self.kinds():
            try:
                out[kind] = self.get(kind)
            except ConfigError as exc:
                log.info("channel kind %s is not available: %s", kind, exc)
        return out

    def with_fakes(self) -> dict[str, AdapterPlugin]:
        """Every loadable plugin that has a sandbox fake, by kind."""
        return {k: p for k, p in self.plugins().items() if p.fake is not None}


def _distribution(ep: importlib.metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return str(cast(Any, dist).name) if dist is not None else None


def _check_kind(kind: str) -> None:
    if not kind or not all(c.islower() or c.isdigit() or c == "_" for c in kind):
        raise ConfigError(f"channel kind {kind!r}: use lower-case letters, digits and '_'")


_registry_lock = threading.Lock()
_registry: AdapterRegistry | None = None


def adapters() -> AdapterRegistry:
    """The registry of this process (created on first use from the installed entry points)."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = AdapterRegistry()
        return _registry


def register_adapter(plugin: AdapterPlugin, *, replace: bool = False) -> None:
    """Add ``plugin`` to this process's registry (``adapters().register``)."""
    adapters().register(plugin, replace=replace)
