"""Baseline: every table of channelsync 0.1.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

The baseline creates the schema from ``channelsync.core.schema`` as it was when 0.1
shipped. Every later revision changes tables with explicit ``op`` calls, so that stores
created by any release migrate to the newest one.
"""

from __future__ import annotations

from alembic import op

from channelsync.core.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table."""
    metadata.create_all(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    """Drop every table."""
    metadata.drop_all(bind=op.get_bind())
