"""Alembic environment: migrations run on the connection ``open_store`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from channelsync.core.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):  # pragma: no cover - only open_store runs these
    raise RuntimeError("channelsync migrations run through channelsync.open_store(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
