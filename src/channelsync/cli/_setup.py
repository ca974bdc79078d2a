"""``channelsync init``, ``doctor`` and ``sandbox``: setting up and checking."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from channelsync.cli._doctor import Check, run_checks
from channelsync.cli._state import EXIT_CONFIG, EXIT_FAILED, State, esc
from channelsync.config import CONFIG_FILE, SECRETS_FILE, template

__all__ = ["register"]


def init(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Where to write the configuration.", show_default=True)
    ] = Path(CONFIG_FILE),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    secrets_file: Annotated[
        bool,
        typer.Option(
            "--secrets-file/--no-secrets-file",
            help=f"Also create an empty {SECRETS_FILE} beside it, readable by you only.",
        ),
    ] = False,
) -> None:
    """Write a commented channelsync.toml to start from (secrets stay out of it)."""
    state: State = ctx.obj
    if path.exists() and not force:
        state.out.error(f"{path} exists; pass --force to overwrite it")
        raise typer.Exit(EXIT_CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template(), encoding="utf-8")
    state.out.console.print(f"wrote {esc(path)}")
    if secrets_file:
        target = path.parent / SECRETS_FILE
        if target.exists() and not force:
            state.out.error(f"{target} exists; pass --force to overwrite it")
            raise typer.Exit(EXIT_CONFIG)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(
                "# Secrets of the accounts in channelsync.toml (keep this file mode 600).\n"
                '# [accounts.shopify-main]\n# access_token = "shpat_..."\n'
            )
        os.chmod(target, 0o600)
        state.out.console.print(f"wrote {esc(target)} (mode 600)")
    state.out.console.print(
        "next: edit the accounts, give their secrets as environment variables"
        " (CHANNELSYNC_<ACCOUNT>__<FIELD>) or in the secrets file, then run `channelsync doctor`"
    )


def doctor(
    ctx: typer.Context,
    account: Annotated[
        list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check the store and every account: credentials, permissions, reachability, clock, API.

    Says in plain words what to fix. Exits 1 when a check failed.
    """
    state: State = ctx.obj
    config = state.config
    names = account or config.enabled_accounts()
    for name in names:
        state.check_account(name)
    checks: list[Check] = run_checks(state, names)
    if as_json:
        state.out.json([c.as_dict() for c in checks])
    else:
        table = Table("", "what", "check", "result", "what to do")
        for c in checks:
            mark = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}[
                c.status
            ]
            table.add_row(mark, esc(c.subject), esc(c.name), esc(c.detail), esc(c.fix or ""))
        state.out.console.print(table)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(EXIT_FAILED)


def sandbox(
    ctx: typer.Context,
    latency_ms: Annotated[
        float, typer.Option(help="Added to every request of every fake.", min=0)
    ] = 0.0,
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help="Only this fake (repeatable): shopify, woocommerce, ..."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed each fake with this many demo listings.", min=0)
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the URLs and credentials as JSON.")
    ] = False,
) -> None:
    """Serve the marketplace fakes on 127.0.0.1 until Ctrl-C, for developing against them.

    Prints each fake's URL and credentials, and a channelsync.toml snippet aiming
    accounts at them.
    """
    from channelsync.cli._sandbox import describe, seed_listings
    from channelsync.sandbox import Sandbox

    state: State = ctx.obj
    # With the Amazon fake comes a local SQS queue of its ORDER_CHANGE notifications.
    sb = Sandbox(latency_ms=latency_ms, channels=channel or None, amazon_notifications=True).start()
    try:
        info = describe(sb)
        if seed:
            seed_listings(sb, seed)
        if as_json:
            state.out.json(info)
        else:
            _print_sandbox(state, info)
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        sb.stop()
        state.out.note("sandbox stopped")


def _print_sandbox(state: State, info: dict[str, Any]) -> None:
    table = Table("fake", "URL", "account in the snippet below")
    for name, fake in info["fakes"].items():
        table.add_row(name, fake["url"], fake["account"])
    state.out.console.print(table)
    state.out.console.print(
        "[bold]channelsync.toml[/] for these fakes (their credentials are made up for this run"
        " and open nothing else):"
    )
    state.out.text(info["toml"] + "\n")
    state.out.console.print("[bold]secrets[/] (paste into your shell):")
    state.out.text("\n".join(info["env"]) + "\n\n")
    state.out.console.print("serving until Ctrl-C")


def register(app: typer.Typer) -> None:
    """Add ``init``, ``doctor`` and ``sandbox`` to ``app``."""
    app.command("init")(init)
    app.command("doctor")(doctor)
    app.command("sandbox")(sandbox)
