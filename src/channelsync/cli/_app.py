"""The root ``channelsync`` command: global options, error handling, exit codes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from channelsync import __version__
from channelsync.cli._state import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_STORE,
    Output,
    State,
    StoreUnavailable,
)
from channelsync.core.errors import (
    ChannelError,
    ConfigError,
    UnknownAccount,
    UnknownOrder,
    WebhookVerificationError,
)

__all__ = ["app", "main"]

log = logging.getLogger(__name__)

HELP = """\
Keep stock, prices and orders consistent across Amazon, eBay, Shopify and WooCommerce.

Try it with no account anywhere: [bold]channelsync demo[/]. For your own shop:
[bold]channelsync init[/] writes channelsync.toml, [bold]channelsync doctor[/] checks it,
then [bold]channelsync listings import[/], [bold]channelsync sync[/] and
[bold]channelsync worker[/].

Exit codes: 0 success, 1 something failed (a channel, a check), 2 bad usage or
configuration, 3 the store cannot be opened.
"""


class _Root(TyperGroup):
    """Turns the library's errors into one line on stderr and an exit code, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            state = ctx.obj if isinstance(ctx.obj, State) else None
            if state is not None and state.debug:
                raise
            out = state.out if state is not None else Output()
            code, message = _classify(exc)
            out.error(message)
            raise typer.Exit(code) from None
        finally:
            if isinstance(ctx.obj, State):
                ctx.obj.teardown()


def _classify(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, StoreUnavailable):
        # One line: drivers' messages run over several ("Is the server running ...").
        return EXIT_STORE, "the store cannot be opened: " + " ".join(str(exc).split())
    if isinstance(exc, ConfigError | UnknownAccount):
        return EXIT_CONFIG, str(exc)
    if isinstance(exc, UnknownOrder):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ChannelError):
        return EXIT_FAILED, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, WebhookVerificationError):
        return EXIT_FAILED, f"webhook refused: {exc}"
    if isinstance(exc, ValueError):
        return EXIT_CONFIG, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    log.debug("unexpected error", exc_info=exc)
    return (
        EXIT_FAILED,
        f"{type(exc).__name__}: {exc} (run with --debug for the traceback, and please report it)",
    )


app = typer.Typer(
    name="channelsync",
    cls=_Root,
    help=HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"channelsync {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="CHANNELSYNC_CONFIG",
            help="The configuration file (default: ./channelsync.toml).",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="DEBUG, INFO, WARNING or ERROR (default WARNING; the worker: its log_level).",
            case_sensitive=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Keep stock, prices and orders consistent across your sales channels."""
    level = log_level.upper() if log_level else None
    if level is not None and level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise typer.BadParameter("use DEBUG, INFO, WARNING or ERROR", param_hint="--log-level")
    state = ctx.obj if isinstance(ctx.obj, State) else State()
    state.config_path = config
    state.log_level = level
    state.debug = debug
    ctx.obj = state
    state.setup_logging()


def _register() -> None:
    from channelsync.cli import _aftersale, _demo, _ledger, _orders, _reports, _setup, _sync

    _setup.register(app)
    _demo.register(app)
    _sync.register(app)
    _ledger.register(app)
    _orders.register(app)
    _aftersale.register(app)
    _reports.register(app)


_register()


def main() -> None:
    """The ``channelsync`` console script."""
    app(prog_name="channelsync")
