"""Where each account's stock comes from: the merchant's locations (warehouses, a shop's
store room) and how every channel account draws on them.

Configured per account (``SyncEngine(locations=...)`` or ``locations`` in channelsync.toml):

- a list of location names: the channel shows ONE quantity, pooled from those locations
  (WooCommerce, Amazon merchant-fulfilled, eBay Trading);
- a mapping from our location name to the channel's own location id: the channel keeps a
  quantity PER location (Shopify locations, eBay Inventory API merchant location keys,
  Magento sources), and each is pushed from that location alone;
- nothing: the channel shows one quantity pooled from every location.

An order line commits its units at one location: the one the channel assigned where it
says so (``OrderLine.location_id``, through the account's mapping), otherwise the one the
sourcing policy picks. The default policy, ``FirstWithStock``, takes the first of the
account's locations (in the configured order; every location by name where none is
configured) where every unit the line needs is available, and the first of them where
none can give it all. Replace it with any object that has the same ``choose`` method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from channelsync.core.errors import ConfigError

__all__ = [
    "DEFAULT_LOCATION",
    "AccountLocations",
    "FirstWithStock",
    "LocationBook",
    "LocationSpec",
    "Sourcing",
    "check_location",
]

DEFAULT_LOCATION = "default"

LocationSpec = Sequence[str] | Mapping[str, str]
"""An account's locations: names (pooled) or our name -> the channel's location id."""


def check_location(name: object) -> str:
    """Return ``name`` if it is a usable location name, else raise ``ConfigError``."""
    if not isinstance(name, str) or not name or name != name.strip() or len(name) > 255:
        raise ConfigError(f"location name {name!r} must be a non-empty string of <= 255 chars")
    if any(ord(ch) < 32 for ch in name):
        raise ConfigError(f"location name {name!r} contains a control character")
    return name


@dataclass(frozen=True)
class AccountLocations:
    """How one account draws on the locations.

    Attributes:
        names: the locations it draws on, in the order the sourcing policy tries them
            (empty: every location).
        channel_ids: our location name -> the channel's location id, for channels that
            keep a quantity per location (empty: one pooled quantity).
    """

    names: tuple[str, ...] = ()
    channel_ids: dict[str, str] = field(default_factory=dict)

    @property
    def per_location(self) -> bool:
        """The channel keeps a quantity per location (one outbox row each)."""
        return bool(self.channel_ids)

    def ours(self, channel_location_id: str | None) -> str | None:
        """Our name of a channel location id (None: unknown or not mapped)."""
        if channel_location_id is None:
            return None
        for name, cid in self.channel_ids.items():
            if cid == channel_location_id:
                return name
        return None

    def candidates(self, known: Sequence[str]) -> list[str]:
        """The locations a new line may commit at: the configured ones in their order, or
        every ``known`` one by name (the default location first)."""
        if self.names:
            return list(self.names)
        rest = sorted(n for n in known if n != DEFAULT_LOCATION)
        return [DEFAULT_LOCATION, *rest]


class LocationBook:
    """The locations of every account (``SyncEngine(locations=...)``)."""

    def __init__(self, spec: Mapping[str, LocationSpec] | None = None) -> None:
        self._accounts: dict[str, AccountLocations] = {}
        for account, value in (spec or {}).items():
            self._accounts[account] = _parse(account, value)

    def of(self, account: str | None) -> AccountLocations:
        """How ``account`` draws on the locations (everything, pooled, by default)."""
        if account is None:
            return _EVERYWHERE
        return self._accounts.get(account, _EVERYWHERE)

    def names(self) -> set[str]:
        """Every location named in the configuration."""
        return {n for a in self._accounts.values() for n in a.names}


_EVERYWHERE = AccountLocations()


def _parse(account: str, value: LocationSpec) -> AccountLocations:
    if isinstance(value, Mapping):
        ids: dict[str, str] = {}
        for name, cid in value.items():
            check_location(name)
            if not isinstance(cid, str) or not cid:
                raise ConfigError(
                    f"locations of {account!r}: the channel location id of {name!r} must be"
                    f" a non-empty string, got {cid!r}"
                )
            if cid in ids.values():
                raise ConfigError(f"locations of {account!r}: {cid!r} is mapped twice")
            ids[name] = cid
        if not ids:
            raise ConfigError(f"locations of {account!r}: the mapping is empty")
        return AccountLocations(names=tuple(ids), channel_ids=ids)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(
            f"locations of {account!r} must be a list of names or a mapping of names to the"
            f" channel's location ids, got {value!r}"
        )
    names = tuple(check_location(n) for n in value)
    if not names:
        raise ConfigError(f"locations of {account!r}: the list is empty")
    if len(set(names)) != len(names):
        raise ConfigError(f"locations of {account!r}: a location is listed twice")
    return AccountLocations(names=names)


@runtime_checkable
class Sourcing(Protocol):
    """Picks the location a new order line commits its units at."""

    def choose(
        self,
        account: str | None,
        needs: Mapping[str, int],
        candidates: Sequence[str],
        available: Callable[[str, str], int],
    ) -> str:
        """One of ``candidates`` for a line needing ``needs`` (SKU -> units; a bundle's
        components), where ``available(sku, location)`` is on hand minus committed there
        now (the batch's earlier lines already counted)."""
        ...


class FirstWithStock:
    """The first candidate where every unit the line needs is available, else the first."""

    def choose(
        self,
        account: str | None,
        needs: Mapping[str, int],
        candidates: Sequence[str],
        available: Callable[[str, str], int],
    ) -> str:
        """See ``Sourcing.choose``."""
        for location in candidates:
            if all(available(sku, location) >= units for sku, units in needs.items()):
                return location
        return candidates[0]
