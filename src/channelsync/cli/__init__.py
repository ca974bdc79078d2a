"""The ``channelsync`` command (Typer + Rich): the face operators and sync scripts use.

Every command calls the public library API (``SyncEngine`` and friends); none holds sync
logic of its own. ``main`` is the console script's entry point; ``app`` is the Typer app
(``typer.testing.CliRunner().invoke(app, [...])`` in tests).
"""

from channelsync.cli._app import app, main

__all__ = ["app", "main"]
