"""Channel limits: spent call quotas, listing revisions per day, unseen channel sales.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create channel_quotas, listing_revisions and unseen_sales."""
    op.create_table(
        "channel_quotas",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("blocked_until", UtcDateTime),
        sa.Column("code", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", "resource", name="pk_channel_quotas"),
    )
    op.create_table(
        "listing_revisions",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("listing_key", sa.String(255), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", "listing_key", "day", name="pk_listing_revisions"),
    )
    op.create_table(
        "unseen_sales",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("sku", sa.String(255), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("seen_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", "sku", name="pk_unseen_sales"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("unseen_sales")
    op.drop_table("listing_revisions")
    op.drop_table("channel_quotas")
