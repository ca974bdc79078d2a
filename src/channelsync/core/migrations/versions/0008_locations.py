"""Stock per location: the ledger per (SKU, location), journal rows and order lines with
their location, outbox rows per channel location, listings' levels per location.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Every existing figure is kept: each SKU's on_hand and committed move to the location
"default", journal rows and order lines holding units are at "default", and outbox rows
are the listing's one (pooled) quantity.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add locations everywhere stock is counted, keeping every figure at "default"."""
    op.create_table(
        "ledger_locations",
        sa.Column("sku", sa.String(255), nullable=False),
        sa.Column("location", sa.String(255), nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("committed", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sku", "location", name="pk_ledger_locations"),
    )
    op.execute(
        "INSERT INTO ledger_locations (sku, location, on_hand, committed, updated_at)"
        " SELECT sku, 'default', on_hand, committed, updated_at FROM ledger"
    )
    with op.batch_alter_table("journal") as batch:
        batch.add_column(
            sa.Column("location", sa.String(255), nullable=False, server_default="default")
        )
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("location", sa.String(255)))
    op.execute(
        "UPDATE order_lines SET location = 'default' WHERE sku IS NOT NULL"
        " AND applied IS NOT NULL AND CAST(applied AS TEXT) NOT IN ('{}', 'null')"
    )
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("levels", sa.JSON))
    with op.batch_alter_table("outbox", recreate="always") as batch:
        batch.add_column(sa.Column("location", sa.String(255), nullable=False, server_default=""))
        batch.drop_constraint("pk_outbox", type_="primary")
        batch.create_primary_key("pk_outbox", ["account", "sku", "location"])


def downgrade() -> None:
    """Back to one figure per SKU (per-location outbox rows are dropped)."""
    op.execute("DELETE FROM outbox WHERE location <> ''")
    with op.batch_alter_table("outbox", recreate="always") as batch:
        batch.drop_constraint("pk_outbox", type_="primary")
        batch.drop_column("location")
        batch.create_primary_key("pk_outbox", ["account", "sku"])
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("levels")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("location")
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("location")
    op.drop_table("ledger_locations")
