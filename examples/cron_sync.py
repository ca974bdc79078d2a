"""One sync cycle, for cron or a systemd timer: pull orders, push stock, exit.

    */5 * * * *  cd /srv/shop && .venv/bin/python examples/cron_sync.py --config channelsync.toml

A lock file keeps two runs from overlapping when one cycle takes longer than the
interval (a slow marketplace, a large first import): the second run exits at once with
status 0 and a note. The exit status is 1 when an account failed (cron mails you the
output), 0 otherwise. For a long-running process use ``channelsync worker`` instead.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import channelsync as cs
from channelsync.config import load_config

log = logging.getLogger("cron_sync")


def run_cycle(engine: cs.SyncEngine) -> cs.CycleReport:
    """One cycle, logged as one line per account."""
    started = time.monotonic()
    report = engine.run_once()
    for account, acc in sorted(report.accounts.items()):
        log.info(
            "%s: %d orders seen (%d new), %d stock pushes ok, %d failed%s",
            account,
            acc.orders_seen,
            acc.orders_new,
            acc.pushes_ok,
            acc.pushes_failed,
            f", errors: {'; '.join(acc.errors)}" if acc.errors else "",
        )
    if report.oversold:
        log.warning(
            "oversold: %s", ", ".join(f"{s} by {n}" for s, n in sorted(report.oversold.items()))
        )
    log.info("cycle done in %.1f s", time.monotonic() - started)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one channelsync cycle.")
    parser.add_argument("--config", type=Path, default=None, help="channelsync.toml")
    parser.add_argument(
        "--lock", type=Path, default=None, help="lock file (default: beside the config)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    try:
        return _run(args.config, args.lock)
    except cs.ConfigError as exc:  # a bad config or an unreachable store: one line for cron
        log.error("%s", exc)
        return 2
    except OSError as exc:  # the lock file's folder is missing or not writable
        log.error("%s: %s", exc.filename or "lock file", exc.strerror)
        return 2


def _run(config_path: Path | None, lock: Path | None) -> int:
    config = load_config(config_path)
    lock_path = lock or (config.path or Path("channelsync.toml")).with_suffix(".lock")
    with open(lock_path, "w") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another run holds %s; skipping this one", lock_path)
            return 0
        store = cs.open_store(config.store_url)
        channels = config.build_channels()
        try:
            engine = cs.SyncEngine(store, channels, rules=config.rules())
            report = run_cycle(engine)
        finally:
            for channel in channels:
                getattr(channel, "close", lambda: None)()
            store.close()
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
