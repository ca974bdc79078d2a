"""One customer file and the reports' projection: cost prices per currency, the orders'
and lines' report facts, manual merges and splits of customers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Existing cost prices (one per SKU in ``products``) are copied into ``product_costs``.
The projection tables start empty: the first report builds them from the stored orders.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from alembic import op

from channelsync.core.schema import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_Key = sa.String(255)


def upgrade() -> None:
    """Create the cost, projection and customer-link tables."""
    op.create_table(
        "product_costs",
        sa.Column("sku", _Key, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("scaled", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sku", "currency", name="pk_product_costs"),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT sku, cost_currency, cost_amount, updated_at FROM products"
            " WHERE cost_amount IS NOT NULL AND cost_currency IS NOT NULL"
        )
    ).all()
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO product_costs (sku, currency, amount, scaled, updated_at)"
                " VALUES (:sku, :currency, :amount, :scaled, :updated_at)"
            ),
            [
                {
                    "sku": r[0],
                    "currency": r[1],
                    "amount": r[2],
                    "scaled": int((Decimal(r[2]) * 10000).to_integral_value(ROUND_HALF_EVEN)),
                    "updated_at": r[3],
                }
                for r in rows
            ],
        )
    op.create_table(
        "sales_orders",
        sa.Column("account", _Key, nullable=False),
        sa.Column("order_id", _Key, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("signature", sa.String(255), nullable=False),
        sa.Column("identity", _Key),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("at_s", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("counted", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", name="pk_sales_orders"),
    )
    op.create_index("ix_sales_orders_identity", "sales_orders", ["identity"])
    op.create_index("ix_sales_orders_at_s", "sales_orders", ["at_s"])
    op.create_table(
        "sales_facts",
        sa.Column("account", _Key, nullable=False),
        sa.Column("order_id", _Key, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("line_id", _Key, nullable=False),
        sa.Column("sku", _Key),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("at_s", sa.BigInteger, nullable=False),
        sa.Column("sale", sa.Boolean, nullable=False),
        sa.Column("units", sa.BigInteger, nullable=False),
        sa.Column("revenue", sa.BigInteger, nullable=False),
        sa.Column("refunds", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.Column("fees_reported", sa.Boolean, nullable=False),
        sa.Column("cost_units", sa.BigInteger, nullable=False),
        sa.Column("returned", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account", "order_id", "seq", name="pk_sales_facts"),
    )
    op.create_index("ix_sales_facts_at_s", "sales_facts", ["at_s"])
    op.create_index("ix_sales_facts_sku_currency_at_s", "sales_facts", ["sku", "currency", "at_s"])
    op.create_table(
        "customer_links",
        sa.Column("identity", _Key, nullable=False),
        sa.Column("person", _Key, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("identity", name="pk_customer_links"),
    )
    op.create_index("ix_customer_links_person", "customer_links", ["person"])
    op.create_table(
        "customer_edits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("identity", _Key, nullable=False),
        sa.Column("person", _Key, nullable=False),
        sa.Column("actor", _Key),
        sa.Column("note", sa.Text),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_edits"),
    )


def downgrade() -> None:
    """Drop the tables (the cost prices in ``products`` were kept up to date)."""
    op.drop_table("customer_edits")
    op.drop_index("ix_customer_links_person", "customer_links")
    op.drop_table("customer_links")
    op.drop_index("ix_sales_facts_sku_currency_at_s", "sales_facts")
    op.drop_index("ix_sales_facts_at_s", "sales_facts")
    op.drop_table("sales_facts")
    op.drop_index("ix_sales_orders_at_s", "sales_orders")
    op.drop_index("ix_sales_orders_identity", "sales_orders")
    op.drop_table("sales_orders")
    op.drop_table("product_costs")
