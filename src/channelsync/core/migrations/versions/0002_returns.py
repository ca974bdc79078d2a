"""Returns: units sent back per order line, restocked or written off.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the returns table."""
    op.create_table(
        "returns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("line_id", sa.String(255), nullable=False),
        sa.Column("sku", sa.String(255)),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("location", sa.String(255), nullable=False, server_default="default"),
        sa.Column("reason", sa.Text),
        sa.Column("channel_return_id", sa.String(255)),
        sa.Column("idempotency_key", sa.String(512), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_returns_positive"),
        sa.PrimaryKeyConstraint("id", name="pk_returns"),
        sa.UniqueConstraint("idempotency_key", name="uq_returns_idempotency_key"),
    )
    op.create_index("ix_returns_account_order_id", "returns", ["account", "order_id"])
    op.create_index("ix_returns_created_at", "returns", ["created_at"])


def downgrade() -> None:
    """Drop the returns table."""
    op.drop_table("returns")
