"""The worker runtime behind ``SyncEngine.run_forever``: one event loop per account.

Every account the worker holds runs its own loop on its own thread with its own timers:

- its order poll, every ``poll_interval`` seconds (never more often than the channel's
  ``min_poll_interval``, e.g. Amazon's 3 minutes);
- retries of rows and events that failed, when their backoff ends;
- a wake-up whenever something it must push changed: a ledger change that moved one of
  its desired quantities, a price, a shipment, a webhook event stored in the inbox. The
  store announces these after each commit, in this process directly and, on PostgreSQL,
  to every process through ``LISTEN``/``NOTIFY``.

A wake-up is coalesced over a short window (until changes pause for 25 ms, at most
``coalesce``: 200 ms by default), so a burst of changes goes out in the fewest calls the
channel's limits allow while a lone sale goes out at once. No loop ever waits on
another: a channel that blocks or throttles holds only its own account.

Several worker processes share the accounts of one store by lease (``core/accounts.py``):
each holds its fair share, renews it every third of the lease, and takes over a dead
worker's accounts once that worker's heartbeat is older than the lease. Stopping
(SIGTERM, ``stop()``) lets each loop finish the step under way (a push in flight is
acknowledged), then gives the accounts back at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channelsync.core.accounts import Accounts
from channelsync.core.lanes import AccountLane
from channelsync.core.ledger import ApplyResult
from channelsync.core.results import AccountReport
from channelsync.core.store import Store

__all__ = ["LaneLoop", "Runtime", "RuntimeSettings", "WorkerStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeSettings:
    """How the worker runs.

    Attributes:
        poll_interval: seconds between order polls of an account (the channel's own
            minimum wins where it is longer). Webhooks and notifications bring orders in
            between.
        coalesce: seconds a wake-up waits for more changes before pushing (at most).
        account_lease: how long a worker's hold on an account lasts without renewal: a
            dead worker's accounts are taken over within twice this.
        idle_check: seconds after which an idle loop looks at the store anyway (changes
            made by other processes on SQLite, which has no notifications; a safety net on
            PostgreSQL). None: 1 s on SQLite, 15 s on PostgreSQL.
        worker_id: this worker's name among the store's workers (default host:pid:random).
        drain_timeout: seconds a stop waits for in-flight steps before giving up.
    """

    poll_interval: float = 60.0
    coalesce: float = 0.2
    account_lease: timedelta = timedelta(seconds=30)
    idle_check: float | None = None
    worker_id: str | None = None
    drain_timeout: float = 120.0


@dataclass
class WorkerStats:
    """What the loops of one account did, for health and metrics."""

    account: str
    kind: str
    last_pull_ok: datetime | None = None
    last_push_ok: datetime | None = None
    last_step_at: datetime | None = None
    steps: int = 0
    pushes_ok: int = 0
    pushes_failed: int = 0
    orders_applied: int = 0
    events_applied: int = 0
    events_failed: int = 0
    rate_limit_waits: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    quotas: dict[str, str] = field(default_factory=dict)
    """Call quotas the channel reports spent, until when (``resource -> ISO time``)."""
    running: bool = False


class LaneLoop:
    """The loop of one account: wakes on its timers and on changes, never on other lanes."""

    def __init__(
        self,
        lane: AccountLane,
        settings: RuntimeSettings,
        idle_check: float,
        clock: Callable[[], datetime],
        on_applied: Callable[[ApplyResult], None] | None = None,
    ) -> None:
        self.lane = lane
        self.settings = settings
        self.idle_check = idle_check
        self.clock = clock
        self.on_applied = on_applied
        self.stats = WorkerStats(lane.account, lane.channel.kind)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lane-{lane.account}", daemon=True)
        self._failures = 0

    @property
    def account(self) -> str:
        """The account this loop runs."""
        return self.lane.account

    def start(self) -> None:
        """Start the loop's thread."""
        self.stats.running = True
        self._thread.start()

    def poke(self) -> None:
        """Something this account must push changed: wake the loop (coalesced)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask the loop to finish the step under way and end."""
        self._stopping.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the loop to end; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the loop -------------------------------------------------------------------------

    def _poll_every(self) -> float:
        return max(self.settings.poll_interval, self.lane.channel.limits.min_poll_interval)

    def _pull_due_in(self) -> float:
        due = self.lane.next_pull_at(self._poll_every())
        return 0.0 if due is None else (due - self.clock()).total_seconds()

    def _work_due_in(self) -> float:
        """Seconds until a pending row or event of the account is due (idle check at most)."""
        with self.lane.store.read() as conn:
            due = self.lane.outbox.next_due(conn, self.account)
        inbox_due = self.lane.parts.inbox.due(self.account)
        times = [d for d in (due, inbox_due) if d is not None]
        if not times:
            return self.idle_check
        return max(0.0, min(self.idle_check, (min(times) - self.clock()).total_seconds()))

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                wait = min(self._pull_due_in(), self._work_due_in(), self._backoff())
                if wait > 0 and self._wake.wait(wait):
                    self._coalesce()
                if self._stopping.is_set():
                    break
                self._wake.clear()
                self._step()
        finally:
            self.stats.running = False

    def _coalesce(self) -> None:
        """Changes come in bursts: wait while more arrive (a pause of 25 ms ends the
        burst), at most ``coalesce`` seconds, then push them together."""
        deadline = time.monotonic() + self.settings.coalesce
        quiet = min(0.025, self.settings.coalesce)
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            if not self._wake.wait(min(quiet, left)):
                return

    def _backoff(self) -> float:
        if not self._failures:
            return float("inf")
        return float(min(60.0, 2.0 ** min(self._failures, 6)))

    def _step(self) -> None:
        lane = self.lane
        report = AccountReport(account=self.account, kind=lane.channel.kind)
        applied = ApplyResult()
        started = self.clock()
        pull = self._pull_due_in() <= 0
        lane.cycle(report, applied, pull=pull)
        stats = self.stats
        if report.errors:
            self._failures += 1
            for kind in report.error_kinds:
                stats.errors[kind] = stats.errors.get(kind, 0) + 1
            stats.rate_limit_waits += report.error_kinds.count("RateLimited")
            stats.last_error = report.errors[-1]
            log.warning(
                "account %s: step stopped (%s); next try in %.0f s",
                self.account,
                stats.last_error,
                self._backoff(),
            )
        else:
            self._failures = 0
            if report.pulled:
                stats.last_pull_ok = self.clock()
        stats.steps += 1
        stats.last_step_at = started
        stats.pushes_ok += report.pushes_ok
        stats.pushes_failed += report.pushes_failed
        stats.events_applied += report.events_applied
        stats.events_failed += report.events_failed
        stats.orders_applied += report.orders_new + report.orders_changed
        stats.quotas = dict(report.quotas)
        if report.pushes_ok:
            stats.last_push_ok = self.clock()
        if (
            report.pushes_ok
            or report.orders_new
            or report.orders_changed
            or report.pushes_failed
            or report.events_applied
            or report.events_failed
            or report.held
        ):
            log.info(
                "account %s: %d orders new, %d changed, %d webhook events applied"
                " (%d failed), %d pushed, %d failed, %d held",
                self.account,
                report.orders_new,
                report.orders_changed,
                report.events_applied,
                report.events_failed,
                report.pushes_ok,
                report.pushes_failed,
                report.held,
            )
        if self.on_applied is not None and (applied.new or applied.changed):
            self.on_applied(applied)


class Runtime:
    """Runs the lanes of the accounts this worker holds until stopped."""

    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        lanes: Mapping[str, AccountLane],
        settings: RuntimeSettings,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.lanes = dict(lanes)
        self.settings = settings
        self.clock = clock
        self._stop = stop
        self.worker_id = settings.worker_id or Accounts.new_worker_id()
        self.loops: dict[str, LaneLoop] = {}
        self._held: dict[str, str] = {}
        self._draining: dict[str, LaneLoop] = {}
        self._lock = threading.Lock()
        self.started_at: float | None = None
        self.last_membership: float | None = None
        idle = settings.idle_check
        self._idle = idle if idle is not None else (15.0 if store.dialect == "postgresql" else 1.0)

    # -- wake-ups -------------------------------------------------------------------------

    def wake(self, accounts: set[str]) -> None:
        """Wake the loops of ``accounts`` ("*": all) that run in this worker."""
        with self._lock:
            loops = list(self.loops.values())
        for loop in loops:
            if "*" in accounts or loop.account in accounts:
                loop.poke()

    # -- membership -----------------------------------------------------------------------

    def _rebalance(self) -> None:
        lease = self.settings.account_lease
        # Accounts handed over still count as held until their loop has finished (their
        # lease is renewed meanwhile), so nobody else runs them while a push is in flight.
        for account, loop in list(self._draining.items()):
            if loop.join(0):
                self.accounts.release(self.worker_id, [account])
                self._held.pop(account, None)
                del self._draining[account]
        assignment = self.accounts.assign(self.worker_id, self.lanes, lease, dict(self._held))
        self.last_membership = time.monotonic()
        for account in assignment.lost:
            log.warning("account %s: another worker holds it now; stopping its loop", account)
            self._stop_loop(account)
            self._draining.pop(account, None)
        for account in assignment.surplus:
            if account not in self._draining:
                log.info("account %s: handing it over to balance the workers", account)
                stopping = self._stop_loop(account)
                if stopping is not None:
                    self._draining[account] = stopping
                else:
                    self.accounts.release(self.worker_id, [account])
                    assignment.held.pop(account, None)
        self._held = assignment.held
        for account in sorted(self._held):
            with self._lock:
                running = account in self.loops
            if not running and account not in self._draining:
                self._start_loop(account)

    def _start_loop(self, account: str) -> None:
        loop = LaneLoop(self.lanes[account], self.settings, self._idle, self.clock)
        with self._lock:
            self.loops[account] = loop
        loop.start()
        log.info("account %s: loop started by %s", account, self.worker_id)

    def _stop_loop(self, account: str) -> LaneLoop | None:
        """Ask the account's loop to finish its step and end (without waiting for it)."""
        with self._lock:
            loop = self.loops.pop(account, None)
        if loop is not None:
            loop.stop()
        return loop

    # -- running --------------------------------------------------------------------------

    def run(self) -> None:
        """Run until the stop event is set; then drain and give the accounts back."""
        self.started_at = time.monotonic()
        lease = self.settings.account_lease
        self.accounts.register(self.worker_id, lease)
        unsubscribe = self.store.on_commit(self.wake)
        listener = _Listener(self.store, self.wake) if self.store.dialect == "postgresql" else None
        if listener is not None:
            listener.start()
        log.info(
            "worker %s: %d accounts, polls every %.0f s, pushes coalesced over %.0f ms",
            self.worker_id,
            len(self.lanes),
            self.settings.poll_interval,
            self.settings.coalesce * 1000,
        )
        try:
            while not self._stop.is_set():
                try:
                    self._rebalance()
                except Exception:
                    log.exception("worker %s: lease round failed; trying again", self.worker_id)
                self._stop.wait(lease.total_seconds() / 3)
        finally:
            unsubscribe()
            if listener is not None:
                listener.stop()
            with self._lock:
                loops = list(self.loops.values()) + list(self._draining.values())
                self.loops.clear()
            for loop in loops:
                loop.stop()
            deadline = time.monotonic() + self.settings.drain_timeout
            for loop in loops:
                loop.join(max(0.0, deadline - time.monotonic()))
            try:
                self.accounts.retire(self.worker_id)
            except Exception:
                log.exception("worker %s: could not give its accounts back", self.worker_id)
            log.info("worker %s stopped", self.worker_id)

    def stats(self) -> dict[str, WorkerStats]:
        """The stats of every loop running now."""
        with self._lock:
            return {a: loop.stats for a, loop in self.loops.items()}


class _Listener:
    """LISTEN channelsync on a connection of its own (PostgreSQL): other processes' commits."""

    def __init__(self, store: Store, wake: Callable[[set[str]], None]) -> None:
        self.store = store
        self.wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        raw = self.store.engine.raw_connection()
        try:
            dbapi = raw.driver_connection
            assert dbapi is not None
            dbapi.autocommit = True
            dbapi.execute("LISTEN channelsync")
            while not self._stop.is_set():
                for note in dbapi.notifies(timeout=0.5, stop_after=64):
                    self.wake(set(note.payload.split(",")) if note.payload else {"*"})
        finally:
            raw.close()
