"""Quantities are 64-bit on every store: every quantity column becomes BIGINT.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

SQLite kept 64-bit integers in INTEGER columns already; PostgreSQL refused anything
beyond 2**31 - 1 with a raw ``DataError``. The columns of units (the ledger and its rows
per location, the journal, order lines, the outbox, listings, bundles, returns and
unseen sales) become BIGINT; every value is kept as it is. Counters (attempts, versions,
process ids) stay INTEGER.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: table -> its quantity columns that become BIGINT (ledger_locations is BIGINT already).
QUANTITIES: dict[str, tuple[str, ...]] = {
    "bundles": ("quantity",),
    "listings": ("quantity",),
    "ledger": ("on_hand", "committed"),
    "journal": ("d_on_hand", "d_committed", "on_hand_after", "committed_after"),
    "order_lines": ("quantity", "local_shipped", "local_cancelled", "live"),
    "outbox": ("desired", "acked"),
    "returns": ("quantity",),
    "unseen_sales": ("units",),
}


def _retype(old: type[sa.types.TypeEngine[int]], new: type[sa.types.TypeEngine[int]]) -> None:
    for table, columns in QUANTITIES.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=new(), existing_type=old())


def upgrade() -> None:
    """Every quantity column becomes BIGINT, keeping its values."""
    _retype(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    """Back to INTEGER (fails on PostgreSQL if a value is beyond 32 bits)."""
    _retype(sa.BigInteger, sa.Integer)
