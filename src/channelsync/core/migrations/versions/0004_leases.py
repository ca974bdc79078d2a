"""Leases that hold: claim tokens on outbox rows, workers and account leases; the import
run that last saw each listing (imports stream pages instead of holding the catalogue).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add claim tokens and import runs; create the workers and account_leases tables."""
    for table in ("outbox", "price_outbox", "shipments"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("claim_token", sa.String(36)))
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("import_run", sa.String(36)))
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("heartbeat_at", UtcDateTime, nullable=False),
        sa.Column("lease_seconds", sa.Float, nullable=False),
        sa.Column("stopping", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("worker_id", name="pk_workers"),
    )
    op.create_table(
        "account_leases",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("token", sa.String(36), nullable=False),
        sa.Column("lease_until", UtcDateTime, nullable=False),
        sa.Column("acquired_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_account_leases"),
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("account_leases")
    op.drop_table("workers")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("import_run")
    for table in ("outbox", "price_outbox", "shipments"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claim_token")
