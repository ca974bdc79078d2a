"""After-sale operations (cancel, refund, return) under idempotency keys; review requests;
units cancelled through the engine on order lines.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the aftersale_ops and review_requests tables; order lines remember units
    cancelled through the engine."""
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("local_cancelled", sa.Integer, nullable=False, server_default="0")
        )
    op.create_table(
        "aftersale_ops",
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255)),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_aftersale_ops"),
    )
    op.create_index("ix_aftersale_ops_account_order_id", "aftersale_ops", ["account", "order_id"])
    op.create_index("ix_aftersale_ops_status", "aftersale_ops", ["status"])
    op.create_table(
        "review_requests",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", name="pk_review_requests"),
    )


def downgrade() -> None:
    """Drop both tables and the column."""
    op.drop_table("review_requests")
    op.drop_table("aftersale_ops")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("local_cancelled")
