"""What every command shares: the configuration, the engine, output and exit codes.

Output goes through ``Output``, which scrubs every secret value the configuration holds
from whatever is written (tables, JSON, error messages, log lines): a secret a channel
happened to echo back in an error body still never reaches the terminal or a log file.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.text import Text

from channelsync.config import Config, load_config
from channelsync.core.engine import SyncEngine
from channelsync.core.errors import ConfigError
from channelsync.core.store import Store, open_store

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STORE",
    "Output",
    "State",
    "StoreUnavailable",
    "esc",
]

log = logging.getLogger(__name__)


def esc(value: object) -> str:
    """``value`` as text for Rich output: its brackets print as they are, never as markup.

    Every value a user, a channel or the store supplies (SKUs, accounts, order ids,
    notes, messages) goes through this before it is put into a string that has markup.
    """
    return escape(str(value))


EXIT_OK = 0
EXIT_FAILED = 1
"""The command ran and something failed (a channel refused, a check found problems)."""
EXIT_CONFIG = 2
"""Bad usage or configuration (also click's code for usage errors)."""
EXIT_STORE = 3
"""The store could not be opened."""

REDACTED = "***"


class Scrubber:
    """Replaces every known secret value in text with ``***``."""

    def __init__(self) -> None:
        self._secrets: list[str] = []

    def add(self, values: Iterable[str]) -> None:
        """Remember more secret values (longest first, so overlaps scrub whole)."""
        merged = {*self._secrets, *(v for v in values if v and len(v) >= 4)}
        self._secrets = sorted(merged, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class _ScrubbingStream(io.TextIOBase):
    """A text stream that scrubs secrets and writes to ``sys.stdout`` or ``sys.stderr``.

    The target is the stream current when the output was created (a test runner's capture
    included), not whatever replaces it later: Rich's live display redirects ``sys.stdout``
    to itself, and writing back into it would loop.
    """

    def __init__(self, which: str, scrub: Scrubber) -> None:
        self._stream: IO[str] = getattr(sys, which)
        self._scrub = scrub

    @property
    def _target(self) -> IO[str]:
        return self._stream

    def write(self, text: str) -> int:
        self._target.write(self._scrub(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        try:
            return self._target.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"


def _as_io(stream: _ScrubbingStream) -> IO[str]:
    return stream  # type: ignore[return-value]  # a TextIOBase is a text IO


class _ScrubbingConsole(Console):
    """A Rich console that scrubs secrets from text before laying it out.

    Scrubbing the written bytes alone is not enough: a table cell folds a long secret
    over two lines, or cuts it short with an ellipsis, and neither half matches.
    """

    def __init__(self, scrub: Scrubber, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scrub = scrub

    def render_str(self, text: str, **kwargs: Any) -> Text:
        text = self._scrub(text)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            # A value that was not escaped (a SKU like "mug-[/l]"): print it as it is rather
            # than fail after the command's change is committed.
            log.debug("unescaped markup in output: %r", text[:200])
            return super().render_str(escape(text), **kwargs)


class _ScrubbingFormatter(logging.Formatter):
    def __init__(self, scrub: Scrubber, fmt: str) -> None:
        super().__init__(fmt)
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self._scrub(super().format(record))


@dataclass
class Output:
    """Where commands write: a Rich console on stdout, errors on stderr, JSON, CSV."""

    scrub: Scrubber = field(default_factory=Scrubber)
    json_mode: bool = False

    def __post_init__(self) -> None:
        self.stdout = _ScrubbingStream("stdout", self.scrub)
        self.stderr_stream = _ScrubbingStream("stderr", self.scrub)
        self.console: Console = _ScrubbingConsole(
            self.scrub, file=_as_io(self.stdout), highlight=False, soft_wrap=False
        )
        self.err: Console = _ScrubbingConsole(
            self.scrub,
            file=_as_io(self.stderr_stream),
            highlight=False,
            stderr=True,
            soft_wrap=True,
        )
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            self.console.width = 140  # files and pipes get whole table rows, not 80 columns

    def clip(self, text: str, width: int) -> str:
        """``text`` for a table cell: secrets scrubbed, cut to ``width``, markup escaped.

        Scrubbing comes first: cutting first could leave half a secret that no longer
        matches. Escaping keeps a ``[/...]`` in a channel's message from breaking markup.
        """
        return escape(self.scrub(text)[:width])

    def json(self, data: Any) -> None:
        """Print ``data`` as JSON on stdout (secrets scrubbed)."""
        self.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
        self.stdout.flush()

    def text(self, text: str) -> None:
        """Print plain text on stdout, unformatted."""
        self.stdout.write(text)
        self.stdout.flush()

    def error(self, message: str) -> None:
        """Print an error message on stderr (plain text: brackets in it are not markup)."""
        self.err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)

    def warn(self, message: str) -> None:
        """Print a warning on stderr (plain text: brackets in it are not markup)."""
        self.err.print(f"[yellow]warning:[/] {escape(message)}", markup=True, highlight=False)

    def note(self, message: str) -> None:
        """Print a remark on stderr (stdout stays clean for --json and --csv); plain text:
        brackets in it are not markup."""
        self.err.print(message, markup=False, highlight=False)


@dataclass
class State:
    """The per-invocation state the root command builds and every subcommand uses."""

    config_path: Path | None = None
    log_level: str | None = None
    debug: bool = False
    out: Output = field(default_factory=Output)
    _config: Config | None = None
    _store: Store | None = None
    _handler: logging.Handler | None = None
    _channels: list[Any] = field(default_factory=list)

    @property
    def config(self) -> Config:
        """The loaded configuration (read on first use)."""
        if self._config is None:
            self._config = load_config(self.config_path)
            self.out.scrub.add(self._config.secret_values())
        return self._config

    def use_config(self, config: Config) -> None:
        """Use an already loaded configuration (the demo builds its own)."""
        self._config = config
        self.out.scrub.add(config.secret_values())

    def setup_logging(self, default: str = "WARNING") -> None:
        """Log to stderr, secrets scrubbed, at --log-level or the configured level."""
        level = self.log_level or default
        logger = logging.getLogger("channelsync")
        if self._handler is not None:
            logger.removeHandler(self._handler)
        handler = logging.StreamHandler(self.out.stderr_stream)
        handler.setFormatter(
            _ScrubbingFormatter(self.out.scrub, "%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
        self._handler = handler

    def teardown(self) -> None:
        """Close the channels and the store, and remove the log handler."""
        close_channels(self._channels)
        self._channels.clear()
        if self._handler is not None:
            logging.getLogger("channelsync").removeHandler(self._handler)
            self._handler = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> Store:
        """The store of the configuration (opened and migrated on first use)."""
        if self._store is None:
            self._store = open_store_or_exit(self.config.store_url)
        return self._store

    def engine(
        self,
        accounts: Iterable[str] | None = (),
        *,
        all_enabled: bool = False,
        refresh_rules: bool = False,
    ) -> SyncEngine:
        """An engine on the store with the channels of ``accounts`` (none by default).

        Commands that only read or change the ledger need no channel (and no secrets);
        ``all_enabled`` builds every enabled account's channel. ``refresh_rules``
        recomputes what every listing should show under the configured rules (they may
        have changed since the quantities were last computed).
        """
        config = self.config
        channels = config.build_channels(None if all_enabled else list(accounts or ()))
        self._channels.extend(channels)
        worker = config.settings.worker
        engine = SyncEngine(
            self.store,
            channels,
            rules=config.rules(),
            locations=config.locations(),
            price_rules=config.price_rules(),
            rates=config.rates() if config.price_rules() else None,
            order_lag=timedelta(minutes=worker.order_lag_minutes),
            initial_lookback=timedelta(days=worker.initial_lookback_days),
        )
        if refresh_rules:
            engine.refresh()
        return engine

    def check_account(self, account: str) -> None:
        """Exit with a usage error if ``account`` is not configured."""
        accounts = self.config.accounts
        if account not in accounts:
            raise ConfigError(
                f"no account {account!r} in {self.config.path};"
                f" configured: {', '.join(accounts) or 'none'}"
            )


def open_store_or_exit(url: str) -> Store:
    """``open_store(url)``; an unreachable store becomes ``StoreUnavailable``."""
    try:
        return open_store(url)
    except ConfigError as exc:
        raise StoreUnavailable(str(exc)) from None


class StoreUnavailable(Exception):
    """The store could not be opened (exit code 3)."""


def close_channels(channels: Iterable[Any]) -> None:
    """Close every channel that has a ``close()`` (the adapters' HTTP connections)."""
    for channel in channels:
        close = getattr(channel, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing is best effort; the process may be ending
                logging.getLogger(__name__).debug("closing %r failed", channel, exc_info=True)
