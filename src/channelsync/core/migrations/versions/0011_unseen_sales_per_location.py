"""Unseen channel sales per location: a channel that keeps a quantity per location without
compare-and-set (Magento sources) is read per (SKU, location) before a write, and the units
found sold there that the ledger has not read are remembered per location.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Every existing row is the listing's one (pooled) quantity: its location is "".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Key unseen_sales on (account, sku, location)."""
    with op.batch_alter_table("unseen_sales", recreate="always") as batch:
        batch.add_column(sa.Column("location", sa.String(255), nullable=False, server_default=""))
        batch.drop_constraint("pk_unseen_sales", type_="primary")
        batch.create_primary_key("pk_unseen_sales", ["account", "sku", "location"])


def downgrade() -> None:
    """Back to (account, sku): per-location rows are dropped (they are re-found on the next
    read before a write)."""
    op.execute("DELETE FROM unseen_sales WHERE location <> ''")
    with op.batch_alter_table("unseen_sales", recreate="always") as batch:
        batch.drop_constraint("pk_unseen_sales", type_="primary")
        batch.drop_column("location")
        batch.create_primary_key("pk_unseen_sales", ["account", "sku"])
