"""Idempotency keys: one row per key a caller passed, with its operation and payload digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Keys that 0.1 kept only in the journal (the caller's key of ``set_on_hand`` and
``adjust``) are copied in, with the digest of the payload they applied, so a repeat of
such a call after the upgrade is still a no-op (and a reuse for another payload refused).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from channelsync.core.idempotency import digest
from channelsync.core.schema import UtcDateTime

_GENERATED = re.compile(r"^(set|adjust):[0-9a-f-]{36}$")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the idempotency_keys table."""
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    conn = op.get_bind()
    journal = sa.table(
        "journal",
        sa.column("idempotency_key", sa.String),
        sa.column("reason", sa.String),
        sa.column("sku", sa.String),
        sa.column("d_on_hand", sa.Integer),
        sa.column("on_hand_after", sa.Integer),
        sa.column("note", sa.Text),
        sa.column("at", UtcDateTime),
    )
    keys = sa.table(
        "idempotency_keys",
        sa.column("key", sa.String),
        sa.column("operation", sa.String),
        sa.column("digest", sa.String),
        sa.column("created_at", UtcDateTime),
    )
    rows = []
    for r in conn.execute(
        sa.select(journal).where(journal.c.reason.in_(["set_on_hand", "adjust"]))
    ):
        if _GENERATED.match(r.idempotency_key) or len(r.idempotency_key) > 255:
            continue
        if r.reason == "set_on_hand":
            op_name, payload = "set_on_hand", {"counts": {r.sku: r.on_hand_after}}
        else:
            op_name, payload = "adjust", {"deltas": {r.sku: r.d_on_hand}, "reason": r.note}
        rows.append(
            {
                "key": r.idempotency_key,
                "operation": op_name,
                "digest": digest(payload),
                "created_at": r.at,
            }
        )
    if rows:
        conn.execute(keys.insert(), rows)


def downgrade() -> None:
    """Drop the idempotency_keys table."""
    op.drop_table("idempotency_keys")
