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


sandbox_app = typer.Typer(
    help="Serve the marketplace fakes on 127.0.0.1 (without a subcommand), or act on them.",
    no_args_is_help=False,
)

ControlUrl = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CHANNELSYNC_SANDBOX_URL",
        help="The sandbox's control endpoint (sandbox.env exports CHANNELSYNC_SANDBOX_URL).",
        show_default=False,
    ),
]


@sandbox_app.callback(invoke_without_command=True)
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
        int,
        typer.Option(help="Also list this many SANDBOX-nnn products on each fake.", min=0),
    ] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write channelsync.toml, channelsync.secrets.toml, sandbox.env and"
            " sandbox.json for the fakes into this folder.",
            file_okay=False,
        ),
    ] = None,
    port_base: Annotated[
        int | None,
        typer.Option(
            "--port-base",
            help="Fixed ports: the control endpoint on this one, the fakes on the next"
            " (amazon +1, ebay +2, magento +3, shopify +4, woocommerce +5), SQS +6, other"
            " adapters' fakes from +7.",
            min=1024,
            max=65000,
        ),
    ] = None,
    webhooks: Annotated[
        str | None,
        typer.Option(
            "--webhooks",
            help="Deliver the fakes' webhooks to URL/<account>, e.g."
            " http://127.0.0.1:8080/webhooks for `channelsync worker --webhooks 127.0.0.1:8080`.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the URLs and credentials as JSON.")
    ] = False,
) -> None:
    """Serve the marketplace fakes on 127.0.0.1 until Ctrl-C, for developing against them.

    Lists MUG-1 and TEE-M (the guides' SKUs) on every fake, prints each fake's URL and
    credentials, a channelsync.toml aiming accounts at them and the URL of the control
    endpoint that `channelsync sandbox order|ship|cancel` use.
    """
    if ctx.invoked_subcommand is not None:
        return
    from channelsync.cli._sandbox import seed_listings
    from channelsync.core.errors import ConfigError
    from channelsync.sandbox import Sandbox

    state: State = ctx.obj
    # With the Amazon fake comes a local SQS queue of its ORDER_CHANGE notifications.
    try:
        sb = Sandbox(
            latency_ms=latency_ms,
            channels=channel or None,
            amazon_notifications=True,
            port_base=port_base,
            control=True,
        ).start()
    except ConfigError as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        try:
            if webhooks:
                sb.subscribe(webhooks)
            config = sb.config()
            written = config.write(out) if out is not None else []
        except (ConfigError, OSError) as exc:
            state.out.error(str(exc))
            raise typer.Exit(EXIT_CONFIG) from None
        seed_listings(sb, seed)
        if as_json:
            state.out.json(config.as_dict() | {"files": [str(p) for p in written]})
        else:
            _print_sandbox(state, config.as_dict(), written, webhooks)
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


def _print_sandbox(
    state: State, info: dict[str, Any], written: list[Path], webhooks: str | None
) -> None:
    table = Table("fake", "URL", "account")
    for name, fake in info["fakes"].items():
        table.add_row(name, fake["url"], fake["account"])
    state.out.console.print(table)
    state.out.text(f"control endpoint: {info['control_url']} (GET it for its routes)\n")
    if webhooks:
        state.out.text(f"webhooks go to {webhooks.rstrip('/')}/<account>\n")
    if written:
        state.out.text(
            "wrote " + ", ".join(str(p) for p in written) + "\n"
            f"in {written[0].parent}: `. ./sandbox.env` and every command uses the fakes\n"
        )
    else:
        state.out.console.print(
            "[bold]channelsync.toml[/] for these fakes (their credentials are made up for"
            " this run and open nothing else):"
        )
        state.out.text(info["toml"] + "\n")
        state.out.console.print("[bold]secrets[/] (paste into your shell):")
        state.out.text("\n".join(info["env"]) + "\n\n")
    state.out.console.print("serving until Ctrl-C")


def _control(state: State, url: str | None, method: str, path: str, body: Any = None) -> Any:
    from channelsync.cli._sandbox import call_control
    from channelsync.core.errors import ConfigError

    if not url:
        state.out.error(
            "no sandbox to talk to: start `channelsync sandbox` and give its control endpoint"
            " with --url or CHANNELSYNC_SANDBOX_URL (sandbox.env exports it)"
        )
        raise typer.Exit(EXIT_CONFIG)
    try:
        status, data = call_control(url, method, path, body)
    except ConfigError as exc:
        state.out.error(str(exc))
        raise typer.Exit(EXIT_CONFIG) from None
    if status >= 400:
        state.out.error(str(data.get("error", data)))
        raise typer.Exit(EXIT_FAILED)
    return data


@sandbox_app.command("order")
def sandbox_order(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="The fake: shopify, woocommerce, amazon, ...")],
    sku: Annotated[str, typer.Argument(help="The SKU a buyer buys.")],
    qty: Annotated[int, typer.Argument(help="Units.", min=1)] = 1,
    url: ControlUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A buyer orders SKU on a running sandbox's fake (webhook sent where it has them)."""
    state: State = ctx.obj
    data = _control(state, url, "POST", f"/fakes/{kind}/orders", {"sku": sku, "qty": qty})
    if as_json:
        state.out.json(data)
    else:
        state.out.text(
            f"{kind} order {data['order_id']}: {qty} x {sku}; {kind} now shows {data['quantity']}\n"
        )


@sandbox_app.command("ship")
def sandbox_ship(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="The fake the order is on.")],
    order_id: Annotated[str, typer.Argument(help="The order's id on that fake.")],
    carrier: Annotated[str, typer.Option(help="The carrier.")] = "DHL",
    tracking: Annotated[str | None, typer.Option(help="The tracking number.")] = None,
    url: ControlUrl = None,
) -> None:
    """The seller ships an order in the marketplace's own admin (outside channelsync)."""
    state: State = ctx.obj
    body = {"carrier": carrier, "tracking_number": tracking}
    _control(state, url, "POST", f"/fakes/{kind}/orders/{order_id}/ship", body)
    state.out.text(f"{kind} order {order_id} shipped with {carrier}\n")


@sandbox_app.command("cancel")
def sandbox_cancel(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="The fake the order is on.")],
    order_id: Annotated[str, typer.Argument(help="The order's id on that fake.")],
    url: ControlUrl = None,
) -> None:
    """The order is cancelled on the marketplace (outside channelsync); units return."""
    state: State = ctx.obj
    _control(state, url, "POST", f"/fakes/{kind}/orders/{order_id}/cancel")
    state.out.text(f"{kind} order {order_id} cancelled\n")


def register(app: typer.Typer) -> None:
    """Add ``init``, ``doctor`` and ``sandbox`` to ``app``."""
    app.command("init")(init)
    app.command("doctor")(doctor)
    app.add_typer(sandbox_app, name="sandbox")
