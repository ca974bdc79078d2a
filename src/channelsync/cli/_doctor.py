"""The checks behind ``channelsync doctor``, each ending in plain words about what to do."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx
import sqlalchemy as sa

from channelsync.cli._state import State, StoreUnavailable, close_channels
from channelsync.config import AccountSettings, Config
from channelsync.core.channel import Channel
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    ConfigError,
    NotFound,
    RateLimited,
    TransientError,
)
from channelsync.plugins import adapters

__all__ = ["Check", "run_checks"]

Status = Literal["ok", "warn", "fail"]
SKEW_WARN = timedelta(seconds=30)
SKEW_FAIL = timedelta(minutes=4)


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, and what to do about it."""

    subject: str
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "subject": self.subject,
            "check": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }


def run_checks(
    state: State, accounts: list[str], *, now: Callable[[], datetime] | None = None
) -> list[Check]:
    """Every check on the store and on ``accounts``."""
    clock = now or (lambda: datetime.now(UTC))
    checks = _store_checks(state, clock)
    config = state.config
    for name in accounts:
        checks.extend(_account_checks(config, name, clock))
    return checks


def _store_checks(state: State, clock: Callable[[], datetime]) -> list[Check]:
    try:
        store = state.store
    except StoreUnavailable as exc:
        return [
            Check(
                "store",
                "reachable",
                "fail",
                str(exc),
                "check [store] url (or CHANNELSYNC_STORE__URL), that the database server runs"
                " and that this machine may connect to it",
            )
        ]
    checks = [Check("store", "reachable", "ok", f"{store.url} (schema up to date)")]
    if store.dialect == "postgresql":
        with store.read() as conn:
            db_now = conn.execute(sa.text("SELECT now()")).scalar_one()
        skew = abs(db_now - clock())
        checks.append(_skew_check("store", "database clock", skew))
    checks += _quota_checks(store, clock)
    return checks


def _quota_checks(store: Any, clock: Callable[[], datetime]) -> list[Check]:
    """Call quotas a worker found spent (stored, so they survive a restart)."""
    from channelsync.core.quotas import QuotaBook

    return [
        Check(
            account,
            "call quota",
            "warn",
            f"{q.resource} quota spent (code {q.code or '?'}) until {q.blocked_until.isoformat()}"
            + (f": {q.detail}" if q.detail else ""),
            "it comes back by itself; meanwhile the worker holds the writes that need it",
        )
        for account, states in QuotaBook(store, clock).by_account().items()
        for q in states
    ]


def _skew_check(subject: str, what: str, skew: timedelta) -> Check:
    text = f"{what} differs from this machine's by {skew.total_seconds():.0f} s"
    if skew >= SKEW_FAIL:
        return Check(subject, "clock", "fail", text, "synchronise the clocks with NTP (chrony)")
    if skew >= SKEW_WARN:
        return Check(subject, "clock", "warn", text, "synchronise the clocks with NTP (chrony)")
    return Check(subject, "clock", "ok", text)


def _account_checks(config: Config, name: str, clock: Callable[[], datetime]) -> list[Check]:
    acc = config.accounts[name]
    checks: list[Check] = []
    missing = config.missing_secrets(name)
    if missing:
        return [
            Check(
                name,
                "secrets",
                "fail",
                f"missing: {', '.join(missing)}",
                "; ".join(config.secret_hint(name, s) for s in missing),
            )
        ]
    try:
        channel = config.build_channel(name)
    except ConfigError as exc:
        return [Check(name, "configuration", "fail", str(exc), "fix the setting named above")]
    try:
        checks.append(Check(name, "configuration", "ok", f"{acc.kind} adapter built"))
        checks += _channel_checks(config, name, acc, channel, clock)
    finally:
        close_channels([channel])
    return checks


def _channel_checks(
    config: Config,
    name: str,
    acc: AccountSettings,
    channel: Channel,
    clock: Callable[[], datetime],
) -> list[Check]:
    checks: list[Check] = []

    listing_check = _call(
        name,
        acc.kind,
        "credentials and listings",
        lambda: next(iter(channel.fetch_listings()), None),
        lambda first: (
            "credentials accepted; "
            + ("listings readable" if first is not None else "no listing found on the account")
        ),
    )
    checks.append(listing_check)
    if listing_check.status != "fail":
        since = clock() - timedelta(minutes=10)
        checks.append(
            _call(
                name,
                acc.kind,
                "orders access",
                lambda: next(iter(channel.fetch_orders(since)), None),
                lambda _first: "orders readable",
            )
        )
    checks.append(_clock_check(name, acc, config, channel, clock))
    checks += _adapter_checks(name, acc, channel, clock().date())
    return checks


def _call(
    account: str,
    kind: str,
    what: str,
    call: Callable[[], Any],
    ok_text: Callable[[Any], str],
) -> Check:
    try:
        result = call()
    except AuthError as exc:
        if exc.status == 403:
            return Check(account, what, "fail", f"permission refused: {exc}", _permissions(kind))
        return Check(
            account,
            what,
            "fail",
            f"credentials refused: {exc}",
            "the secrets are wrong or revoked: create new ones and set them again",
        )
    except NotFound as exc:
        return Check(
            account,
            what,
            "fail",
            f"not found: {exc}",
            "the shop address, seller id or marketplace in channelsync.toml is wrong",
        )
    except RateLimited as exc:
        return Check(
            account,
            what,
            "warn",
            f"throttled: {exc}",
            "another program uses this account's rate limit; try again in a minute",
        )
    except TransientError as exc:
        return Check(
            account,
            what,
            "fail",
            f"not reachable: {exc}",
            "check the address, this machine's internet access, proxy and firewall",
        )
    except ChannelError as exc:
        return Check(account, what, "fail", f"{type(exc).__name__}: {exc}", _permissions(kind))
    return Check(account, what, "ok", ok_text(result))


def _permissions(kind: str) -> str | None:
    try:
        return adapters().get(kind).permissions
    except ConfigError:
        return None


def _probe_url(acc: AccountSettings, channel: Channel) -> str | None:
    """A URL on the account's API host whose answer carries a ``Date`` header."""
    base = acc.channel_args.get("base_url")
    if base:
        return base
    if acc.kind == "custom":
        return None
    return adapters().get(acc.kind).probe_url(channel, acc.options)


def _clock_check(
    name: str, acc: AccountSettings, config: Config, channel: Channel, clock: Callable[[], datetime]
) -> Check:
    url = _probe_url(acc, channel)
    if url is None:
        return Check(name, "clock", "warn", "no API host known to compare clocks with")
    try:
        response = httpx.head(url, timeout=10.0, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Check(
            name,
            "clock",
            "warn",
            f"could not reach {httpx.URL(url).host}: {type(exc).__name__}",
            "check this machine's internet access",
        )
    date_header = response.headers.get("date")
    if not date_header:
        return Check(name, "clock", "warn", f"{httpx.URL(url).host} sent no Date header")
    server = email.utils.parsedate_to_datetime(date_header)
    return _skew_check(name, f"{httpx.URL(url).host}'s clock", abs(server - clock()))


def _adapter_checks(name: str, acc: AccountSettings, channel: Channel, today: date) -> list[Check]:
    """The adapter plugin's own checks (API version, locations...); the adapter's options
    carry the account's ``locations`` too, for checks of the channel's own locations."""
    if acc.kind == "custom":
        return [Check(name, "API version", "ok", "custom adapter: not applicable")]
    options = {**acc.options, "locations": acc.locations} if acc.locations else acc.options
    try:
        found = adapters().get(acc.kind).doctor_checks(channel, options, today)
    except ConfigError as exc:
        return [Check(name, "adapter checks", "fail", str(exc))]
    return [Check(name, c.name, c.status, c.detail, c.fix) for c in found]
