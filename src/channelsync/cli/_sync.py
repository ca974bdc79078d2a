"""``channelsync listings import``, ``sync``, ``worker``, ``status`` and ``reconcile``."""

from __future__ import annotations

import getpass
import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from channelsync.cli._state import EXIT_CONFIG, EXIT_FAILED, Output, State, esc
from channelsync.core.engine import SyncEngine
from channelsync.core.errors import ChannelError
from channelsync.core.lanes import ImportResult
from channelsync.core.results import CycleReport, PlannedPrice

__all__ = ["register", "render_cycle"]

log = logging.getLogger("channelsync.worker")

_SETTINGS = {"help_option_names": ["-h", "--help"]}
listings = typer.Typer(
    help="Read the channels' listings into the store.",
    no_args_is_help=True,
    context_settings=_SETTINGS,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AccountsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--account", "-a", help="Only this account (repeatable); default every enabled one."
    ),
]


def _accounts(state: State, chosen: list[str] | None) -> list[str]:
    if not chosen:
        names = state.config.enabled_accounts()
        if not names:
            state.out.error(f"no enabled account in {state.config.path}")
            raise typer.Exit(EXIT_CONFIG)
        return names
    for name in chosen:
        state.check_account(name)
    return list(dict.fromkeys(chosen))


def _progress(out: Output, *, total: bool = False) -> Progress:
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns.append(BarColumn())
    columns += [TextColumn("{task.completed} read"), TimeElapsedColumn()]
    return Progress(*columns, console=out.err, transient=True, disable=not out.err.is_terminal)


# -- listings import --------------------------------------------------------------------------


@listings.command("import")
def import_(ctx: typer.Context, account: AccountsOption = None, as_json: JsonFlag = False) -> None:
    """Fetch every listing of every channel account into the store and bind their SKUs.

    Reports SKUs listed on one account but not another, SKUs listed twice on one account,
    listings that do not manage stock, and SKUs the ledger has not counted yet.
    """
    state: State = ctx.obj
    names = _accounts(state, account)
    engine = state.engine(names, refresh_rules=True)
    results: dict[str, ImportResult | ChannelError] = {}
    with _progress(state.out) as progress:
        tasks = {a: progress.add_task(f"{a}: reading listings", total=None) for a in names}

        def one(name: str) -> None:
            results[name] = engine.import_listings([name])[name]
            result = results[name]
            count = result.listings if isinstance(result, ImportResult) else 0
            progress.update(tasks[name], completed=count, description=f"{name}: done")

        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            list(pool.map(one, names))
    cov = engine.coverage(names)
    missing = cov.missing()
    failed = {a: r for a, r in results.items() if isinstance(r, ChannelError)}
    if as_json:
        state.out.json(
            {
                "accounts": {
                    a: (
                        {"error": f"{type(r).__name__}: {r}"}
                        if isinstance(r, ChannelError)
                        else {
                            "listings": r.listings,
                            "duplicates": r.duplicates,
                            "unmanaged": r.unmanaged,
                            "channel_fulfilled": r.channel_fulfilled,
                            "removed": r.removed,
                        }
                    )
                    for a, r in results.items()
                },
                "missing_on": missing,
                "not_counted": sorted(cov.untracked),
            }
        )
    else:
        _print_import(state.out, names, results, missing, cov.untracked)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _sample(items: list[str] | set[str], n: int = 5) -> str:
    ordered = sorted(items)
    more = f" (+{len(ordered) - n} more)" if len(ordered) > n else ""
    return ", ".join(esc(x) for x in ordered[:n]) + more


def _print_import(
    out: Output,
    names: list[str],
    results: dict[str, ImportResult | ChannelError],
    missing: dict[str, list[str]],
    untracked: set[str],
) -> None:
    table = Table(
        "account", "listings", "listed twice", "no stock management", "fulfilled by channel", "gone"
    )
    for name in names:
        r = results[name]
        if isinstance(r, ChannelError):
            table.add_row(
                esc(name), f"[red]{out.clip(f'{type(r).__name__}: {r}', 80)}[/]", "", "", "", ""
            )
            continue
        table.add_row(
            esc(name),
            str(r.listings),
            _sample(r.duplicates, 3) if r.duplicates else "",
            _sample(r.unmanaged, 3) if r.unmanaged else "",
            str(len(r.channel_fulfilled)) if r.channel_fulfilled else "",
            str(len(r.removed)) if r.removed else "",
        )
    out.console.print(table)
    if missing:
        out.console.print(f"{len(missing)} SKUs missing on some accounts:")
        gaps = Table("SKU", "not listed on")
        for sku, where in list(missing.items())[:30]:
            gaps.add_row(esc(sku), esc(", ".join(where)))
        out.console.print(gaps)
        if len(missing) > 30:
            out.console.print(f"... and {len(missing) - 30} more (--json lists all)")
    if untracked:
        out.console.print(
            f"[yellow]{len(untracked)} SKUs are listed but not counted yet[/] (nothing is pushed"
            f" for them until `channelsync stock set SKU N`): {_sample(untracked)}"
        )
    for name, r in results.items():
        if isinstance(r, ImportResult) and r.duplicates:
            out.warn(f"{name}: {len(r.duplicates)} SKUs are listed twice; the first is synced")


# -- sync -------------------------------------------------------------------------------------


def price_steps(p: PlannedPrice) -> str:
    """The steps of one planned price, e.g. ``19.99 EUR -> convert 21.99 USD -> .99 21.99``."""
    chain = " -> ".join(
        f"{s.step} {s.amount.quantize(Decimal('0.01'))} {s.currency}"
        + (f" ({s.detail})" if s.step != "price" else "")
        for s in p.steps
    )
    return chain + (f" -> refused: {p.refused}" if p.refused else "")


def price_table(prices: list[PlannedPrice]) -> Table:
    """The prices the next cycle would push, with their rule steps."""
    table = Table("account", "SKU", "price", "how", title="next prices")
    for p in prices:
        table.add_row(
            escape(p.account),
            escape(p.sku),
            str(p.price) if p.price is not None else "[red]refused[/]",
            escape(price_steps(p)),
        )
    return table


def render_cycle(out: Output, report: CycleReport) -> None:
    """The per-account summary table of one cycle."""
    table = Table(
        "account",
        "orders seen",
        "new",
        "changed",
        "stock pushed",
        "failed",
        "conflicts",
        "prices",
        "shipments",
        "seconds",
        "errors",
    )
    for name, a in sorted(report.accounts.items()):
        table.add_row(
            esc(name),
            str(a.orders_seen),
            str(a.orders_new),
            str(a.orders_changed),
            str(a.pushes_ok),
            f"[red]{a.pushes_failed}[/]" if a.pushes_failed else "0",
            str(a.conflicts),
            f"{a.prices_ok}/{a.prices_ok + a.prices_failed}",
            f"{a.shipments_ok}/{a.shipments_ok + a.shipments_failed}",
            f"{a.seconds:.1f}",
            f"[red]{out.clip('; '.join(a.errors), 100)}[/]" if a.errors else "",
        )
    out.console.print(table)
    if report.oversold:
        out.console.print(
            "[bold red]oversold:[/] "
            + ", ".join(f"{esc(sku)} by {n}" for sku, n in sorted(report.oversold.items()))
        )
    if report.unknown_skus:
        out.console.print(
            f"[yellow]orders named SKUs the ledger did not know:[/] {_sample(report.unknown_skus)}"
        )
    if report.price_errors:
        shown = report.price_errors[:10]
        more = len(report.price_errors) - len(shown)
        out.console.print(
            f"[yellow]{len(report.price_errors)} prices not sent[/] (retried with backoff;"
            " see `channelsync plan`):"
        )
        for line in shown:
            out.console.print(f"  {out.clip(line, 200)}")
        if more:
            out.console.print(f"  ... and {more} more")
    if report.orders_failed:
        out.console.print(
            f"[yellow]{report.orders_failed} orders could not be read[/]"
            " (they block nothing): see `channelsync orders failures`"
        )


def sync(
    ctx: typer.Context,
    account: AccountsOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what the next cycle would push; send nothing."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run one sync cycle: pull orders, apply them, push stock, prices and shipments.

    Exits 1 when any account had an error (the others still ran).
    """
    state: State = ctx.obj
    if dry_run:
        engine = state.engine(refresh_rules=True)
        plan = engine.plan()
        prices = engine.plan_prices()
        if account:
            plan = [p for p in plan if p.account in set(account)]
            prices = [p for p in prices if p.account in set(account)]
        if as_json:
            state.out.json(
                [
                    {
                        "kind": "stock",
                        "account": p.account,
                        "sku": p.sku,
                        "location": p.location or None,
                        "quantity": p.quantity,
                        "acked": p.acked,
                    }
                    for p in plan
                ]
                + [{"kind": "price", **p.as_dict()} for p in prices]
            )
        else:
            table = Table("account", "SKU", "push", "channel has", "how", title="next pushes")
            for p in plan:
                how = esc(" -> ".join(f"{s.step} {s.quantity}" for s in p.steps))
                where = f" @ {p.location}" if p.location else ""
                table.add_row(
                    escape(p.account + where), escape(p.sku), str(p.quantity), str(p.acked), how
                )
            state.out.console.print(table)
            state.out.note(f"{len(plan)} pushes pending")
            if prices:
                state.out.console.print(price_table(prices))
        return
    names = _accounts(state, account)
    engine = state.engine(names, refresh_rules=True)
    report = engine.run_once()
    if as_json:
        state.out.json(report.as_dict())
    else:
        render_cycle(state.out, report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


# -- worker -----------------------------------------------------------------------------------


class _WebhookServer:
    """The webhook receiver on a uvicorn thread beside the worker."""

    def __init__(self, engine: SyncEngine, state: State, listen: str) -> None:
        host, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit():
            raise typer.BadParameter("give HOST:PORT, e.g. 0.0.0.0:8080", param_hint="--webhooks")
        import uvicorn

        from channelsync.webhooks import create_app

        hooks = state.config.settings.webhooks
        app = create_app(engine, max_body_bytes=hooks.max_body_bytes, threads=hooks.threads)
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host or "0.0.0.0",  # noqa: S104 - the operator asked for every interface
                port=int(port),
                log_level="warning",
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="webhooks", daemon=True)
        self.listen = listen

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the webhook receiver could not listen on {self.listen}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _listen(value: str, option: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter("give HOST:PORT, e.g. 127.0.0.1:9108", param_hint=option)
    return host or "127.0.0.1", int(port)


def _notification_readers(engine: SyncEngine) -> Any:
    """Reader threads of the accounts with a notifications queue (None when there is none)."""
    channels = [engine.channel(a) for a in engine.accounts]
    if not any(
        getattr(getattr(c, "config", None), "notifications_queue_url", None) for c in channels
    ):
        return None
    from channelsync.adapters.amazon.webhooks import NotificationReaders

    return NotificationReaders(channels, engine.record_order)


def worker(
    ctx: typer.Context,
    account: AccountsOption = None,
    interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between order polls of an account (default: \\[worker] poll_interval;"
            " a channel's own minimum wins where longer).",
            min=0,
        ),
    ] = None,
    coalesce: Annotated[
        float,
        typer.Option(help="Seconds a change waits for more before it is pushed (at most).", min=0),
    ] = 0.2,
    lease: Annotated[
        float,
        typer.Option(
            help="Seconds a worker's hold on an account lasts without renewal; a dead"
            " worker's accounts are taken over within twice this.",
            min=1,
        ),
    ] = 30.0,
    webhooks: Annotated[
        str | None,
        typer.Option(
            help="Also receive webhooks on HOST:PORT (POST /webhooks/<account>).",
            show_default=False,
        ),
    ] = None,
    health: Annotated[
        str | None,
        typer.Option(
            help="Serve /healthz and /metrics (Prometheus) on HOST:PORT.", show_default=False
        ),
    ] = None,
) -> None:
    """Run the worker until SIGTERM or Ctrl-C: one loop per account, in real time.

    Each account polls its orders on its own timer and pushes within a fraction of a second
    of any change (a sale on another channel, a webhook, a count); a slow channel holds no
    other. Pushes in flight finish before the worker exits (0). It exits 3 at once when the
    store cannot be opened. Several workers may share one PostgreSQL store: they split the
    accounts between them and take over those of a worker that died.
    """
    state: State = ctx.obj
    config = state.config
    state.setup_logging(default=config.settings.worker.log_level)
    names = _accounts(state, account)
    health_at = _listen(health, "--health") if health else None
    store = state.store  # exits 3 when unreachable, before anything else happens
    engine = state.engine(names)  # its first run recomputes every listing under the rules
    previous = {  # graceful from here on, start-up included
        sig: signal.signal(sig, lambda _signum, _frame: engine.stop())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    every = config.settings.worker.poll_interval if interval is None else interval
    server = _WebhookServer(engine, state, webhooks) if webhooks else None
    readers = _notification_readers(engine)  # Amazon ORDER_CHANGE queues (issue 12)
    monitor = None
    try:
        if server is not None:
            server.start()
        if readers is not None:
            readers.start()
            log.warning("reading ORDER_CHANGE notifications of %s", ", ".join(readers.accounts))
        if health_at is not None:
            from channelsync.health import HealthServer

            monitor = HealthServer(engine, *health_at)
            monitor.start()
        log.warning(
            "worker started: accounts %s, store %s, orders polled every %g s, pushes within"
            " %g s of a change%s%s",
            ", ".join(names),
            store.url,
            every,
            coalesce,
            f", webhooks on {webhooks}" if webhooks else "",
            f", health on {health}" if health else "",
        )
        engine.run_forever(
            poll_interval=every,
            coalesce=coalesce,
            account_lease=timedelta(seconds=lease),
            install_signal_handlers=False,
        )
    finally:
        if readers is not None:
            readers.stop()
        if server is not None:
            server.stop()
        if monitor is not None:
            monitor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.warning("worker stopped")


def status(ctx: typer.Context, account: AccountsOption = None, as_json: JsonFlag = False) -> None:
    """Where every account stands, read from the store: last pull and push, cursor lag,
    changes owed a push, webhook events not applied, failures, and which worker runs it.

    Exits 1 when something needs a person: events set aside after repeated failures,
    orders that could not be read, or stock rows failing to push.
    """
    state: State = ctx.obj
    names = _accounts(state, account)
    engine = state.engine(names)
    report = engine.status()
    problems = [a for a in report.accounts if a.dead_events or a.order_failures or a.failing_rows]
    if as_json:
        state.out.json(report.as_dict())
    else:
        table = Table(
            "account",
            "worker",
            "last pull",
            "cursor lag",
            "last push",
            "owed",
            "oldest owed",
            "failing",
            "inbox",
            "failures",
            "quota spent",
        )
        for a in report.accounts:
            table.add_row(
                escape(a.account),
                escape(a.worker or "-"),
                _ago(a.last_pull_at, report.at),
                _secs(a.cursor_lag_seconds),
                _ago(a.last_push_at, report.at),
                str(a.outbox_depth),
                _secs(a.oldest_pending_seconds),
                f"[red]{a.failing_rows}[/]" if a.failing_rows else "0",
                f"{a.inbox_depth}" + (f" [red]({a.dead_events} dead)[/]" if a.dead_events else ""),
                f"[yellow]{a.order_failures}[/]" if a.order_failures else "0",
                escape(
                    ", ".join(
                        f"{res} until {str(q['blocked_until'])[:16]}" for res, q in a.quota.items()
                    )
                )
                or "-",
            )
        state.out.console.print(table)
        alive = [w for w in report.workers if w.alive]
        state.out.console.print(
            f"{len(alive)} live worker(s)"
            + "".join(f"\n  {escape(w.worker_id)}: {len(w.accounts)} accounts" for w in alive)
        )
    if problems:
        raise typer.Exit(EXIT_FAILED)


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"


def _ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else _secs((now - when).total_seconds()) + " ago"


# -- reconcile --------------------------------------------------------------------------------


def reconcile(
    ctx: typer.Context,
    account: AccountsOption = None,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Queue a push of the ledger's value for every drifted listing."),
    ] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="List the corrections --fix journalled (who, when, from what to what);"
            " read nothing from the channels.",
        ),
    ] = False,
    limit: Annotated[
        int, typer.Option(help="With --history: the newest N corrections.", min=1)
    ] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Read what every channel shows now and compare it with what the ledger says it should.

    Prints the drift; with --fix queues the corrections (the next `channelsync sync` or the
    worker pushes them) and journals each one (see `channelsync stock explain SKU` and
    `channelsync reconcile --history`). Exits 1 when drift remains (without --fix) or a
    channel failed.
    """
    state: State = ctx.obj
    if history:
        if fix:
            raise typer.BadParameter("--history reads the journal; it fixes nothing")
        _print_history(state, account, limit, as_json)
        return
    names = _accounts(state, account)
    engine = state.engine(names, refresh_rules=True)
    results = []
    with _progress(state.out) as progress:
        for name in names:
            task = progress.add_task(f"{name}: reading listings", total=None)

            def advance(count: int, task_id: Any = task) -> None:
                progress.update(task_id, completed=count)

            results.append(engine.reconcile(name, fix=fix, progress=advance, source=_who()))
    drift = [d for r in results for d in r.drift]
    if as_json:
        state.out.json({"accounts": [r.as_dict() for r in results], "fixed": fix})
    else:
        _print_reconcile(state.out, results, fix)
    if any(r.error for r in results) or (drift and not fix):
        raise typer.Exit(EXIT_FAILED)


def _who() -> str:
    """``cli:<login name>``: who ran a fixing command, for the journal."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _print_history(state: State, accounts: list[str] | None, limit: int, as_json: bool) -> None:
    for name in accounts or ():
        state.check_account(name)
    engine = state.engine([])
    if accounts and len(accounts) == 1:
        rows = engine.corrections(accounts[0], limit=limit)
    else:
        rows = [e for e in engine.corrections(limit=None) if not accounts or e.account in accounts][
            :limit
        ]
    if as_json:
        state.out.json(
            [
                {
                    "at": e.at.isoformat(),
                    "account": e.account,
                    "sku": e.sku,
                    "location": e.location or None,
                    "source": e.source,
                    "correction": e.note,
                    "on_hand": e.on_hand_after,
                    "committed": e.committed_after,
                }
                for e in rows
            ]
        )
        return
    if not rows:
        state.out.note("no corrections journalled (reconcile --fix writes them)")
        return
    table = Table("when (UTC)", "account", "SKU", "by", "correction", title="reconcile --fix")
    for e in rows:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            esc(e.account or ""),
            esc(e.sku),
            state.out.clip(e.source, 60),
            state.out.clip(e.note or "", 200),
        )
    state.out.console.print(table)


def _print_reconcile(out: Output, results: list[Any], fix: bool) -> None:
    summary = Table("account", "listings read", "in sync", "drift", "not compared", "notes")
    for r in results:
        notes = []
        if r.error:
            notes.append(f"[red]{out.clip(r.error, 80)}[/]")
        if r.not_imported:
            notes.append(f"{len(r.not_imported)} not imported (run `channelsync listings import`)")
        if r.gone:
            notes.append(f"{len(r.gone)} no longer on the channel")
        if fix and r.queued:
            notes.append(f"{r.queued} corrections queued")
        summary.add_row(
            esc(r.account),
            str(r.listings),
            str(r.in_sync),
            f"[red]{len(r.drift)}[/]" if r.drift else "0",
            str(len(r.skipped)),
            "; ".join(notes),
        )
    out.console.print(summary)
    drift = [d for r in results for d in r.drift]
    if not drift:
        out.console.print("every compared listing shows what the ledger says")
        return
    table = Table("account", "SKU", "channel shows", "ledger says", "difference", title="drift")
    for d in drift[:200]:
        risk = " [red](oversell risk)[/]" if d.difference > 0 else ""
        table.add_row(
            escape(d.account + (f" @ {d.location}" if d.location else "")),
            escape(d.sku),
            str(d.shows),
            str(d.should),
            f"{d.difference:+d}{risk}",
        )
    out.console.print(table)
    if len(drift) > 200:
        out.console.print(f"... and {len(drift) - 200} more (--json lists all)")
    if fix:
        out.console.print(
            "corrections queued: `channelsync sync` (or the running worker) pushes them"
        )
    else:
        out.console.print("run again with --fix to queue the corrections")


def register(app: typer.Typer) -> None:
    """Add ``listings``, ``sync``, ``worker`` and ``reconcile`` to ``app``."""
    app.add_typer(listings, name="listings")
    app.command("sync")(sync)
    app.command("worker")(worker)
    app.command("status")(status)
    app.command("reconcile")(reconcile)
