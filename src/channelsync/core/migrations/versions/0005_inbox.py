"""A durable webhook inbox replaces the delivery-id table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Delivery ids recorded by 0.1 (``webhook_events``) move into the inbox as applied events,
so a redelivery of one of them is still recognised.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the inbox, carry the recorded delivery ids over, drop webhook_events."""
    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("delivery_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("claim_token", sa.String(36)),
        sa.Column("applied_at", UtcDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("account", "delivery_id", name="uq_inbox_account_delivery_id"),
    )
    op.create_index("ix_inbox_status_next_attempt_at", "inbox", ["status", "next_attempt_at"])
    old = sa.table(
        "webhook_events",
        sa.column("account", sa.String),
        sa.column("event_id", sa.String),
        sa.column("received_at", UtcDateTime),
    )
    inbox = sa.table(
        "inbox",
        sa.column("account", sa.String),
        sa.column("delivery_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("event", sa.Text),
        sa.column("status", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("received_at", UtcDateTime),
        sa.column("next_attempt_at", UtcDateTime),
        sa.column("applied_at", UtcDateTime),
    )
    conn = op.get_bind()
    rows = [
        {
            "account": r.account,
            "delivery_id": r.event_id,
            "kind": "unknown",
            "event": "{}",
            "status": "applied",
            "attempts": 1,
            "received_at": r.received_at,
            "next_attempt_at": r.received_at,
            "applied_at": r.received_at,
        }
        for r in conn.execute(sa.select(old))
    ]
    if rows:
        conn.execute(inbox.insert(), rows)
    op.drop_table("webhook_events")


def downgrade() -> None:
    """Back to the delivery-id table (applied ids only)."""
    op.create_table(
        "webhook_events",
        sa.Column("account", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("account", "event_id", name="pk_webhook_events"),
    )
    op.drop_table("inbox")
