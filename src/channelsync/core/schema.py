"""The SQL schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Amounts are stored as decimal text (exact on every backend), datetimes as aware UTC.
The Alembic revisions under ``migrations/`` create and evolve these tables; this module
is the current shape and what the code queries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_Amount = sa.String(40)
_Key = sa.String(255)

products = sa.Table(
    "products",
    metadata,
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("title", sa.Text),
    sa.Column("cost_amount", _Amount),
    sa.Column("cost_currency", sa.String(3)),
    sa.Column("price_amount", _Amount),
    sa.Column("price_currency", sa.String(3)),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

bundles = sa.Table(
    "bundles",
    metadata,
    sa.Column("bundle_sku", _Key, primary_key=True),
    sa.Column("component_sku", _Key, primary_key=True),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.CheckConstraint("quantity > 0", name="positive"),
    sa.Index(None, "component_sku"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("listings_imported_at", UtcDateTime),
    sa.Column("last_pull_at", UtcDateTime),
    sa.Column("needs_repull", sa.Boolean, nullable=False, server_default=sa.false()),
)

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("listing_id", _Key, nullable=False),
    sa.Column("quantity", sa.BigInteger),
    sa.Column("price_amount", _Amount),
    sa.Column("price_currency", sa.String(3)),
    sa.Column("title", sa.Text),
    sa.Column("manages_stock", sa.Boolean, nullable=False),
    sa.Column("fulfilled_by", sa.String(16), nullable=False),
    sa.Column("ids", sa.JSON, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # The import that last saw the listing: what an import did not see is gone.
    sa.Column("import_run", sa.String(36)),
    # Channels that keep a quantity per location: channel location id -> quantity.
    sa.Column("levels", sa.JSON),
    sa.Index(None, "sku"),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("committed", sa.BigInteger, nullable=False),
    # False while the SKU is only known from orders: nothing is pushed for it until the
    # merchant counts it (set_on_hand / adjust).
    sa.Column("tracked", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

ledger_locations = sa.Table(
    "ledger_locations",
    metadata,
    # The ledger per location: ``ledger`` holds the sums over a SKU's rows here. Written
    # only with them, by core/ledger.py.
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("location", _Key, primary_key=True),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("committed", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("sku", _Key, nullable=False),
    sa.Column("d_on_hand", sa.BigInteger, nullable=False),
    sa.Column("d_committed", sa.BigInteger, nullable=False),
    sa.Column("on_hand_after", sa.BigInteger, nullable=False),
    sa.Column("committed_after", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("account", _Key),
    sa.Column("order_id", _Key),
    sa.Column("line_id", _Key),
    sa.Column("note", sa.Text),
    sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
    # Where the change happened; ``on_hand_after`` and ``committed_after`` are that
    # location's figures after it.
    sa.Column("location", _Key, nullable=False, server_default="default"),
    sa.Index(None, "sku", "id"),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("number", _Key),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("raw_status", _Key),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("currency", sa.String(3)),
    sa.Column("total_amount", _Amount),
    sa.Column("customer_id", _Key),
    sa.Column("customer_email", _Key),
    sa.Column("customer_name", _Key),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("doc", sa.Text, nullable=False),  # Order.model_dump_json()
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("redacted_at", UtcDateTime),
    sa.Index(None, "created_at"),
    sa.Index(None, "customer_email"),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("line_id", _Key, primary_key=True),
    sa.Column("sku", _Key),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("fulfilled_by_channel", sa.Boolean, nullable=False),
    # What this line contributes to the ledger now, per SKU it touches (bundles expand):
    # {"SKU": [open_units, shipped_units]}. Deltas are computed against this.
    sa.Column("applied", sa.JSON, nullable=False),
    # Units shipped through engine.ship() (the channel may not report them yet).
    sa.Column("local_shipped", sa.BigInteger, nullable=False, server_default="0"),
    # Units cancelled through engine.cancel()/refund() (the channel may never report them:
    # an eBay refund leaves the line's quantity as it was).
    sa.Column("local_cancelled", sa.BigInteger, nullable=False, server_default="0"),
    # Units of the listing SKU the order holds (open + shipped): what the selling channel
    # took off its own quantity for this line.
    sa.Column("live", sa.BigInteger, nullable=False, server_default="0"),
    # The location the line's units are committed, shipped or returned at (None until the
    # line holds any).
    sa.Column("location", _Key),
    sa.Index(None, "sku"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("sku", _Key, primary_key=True),
    # Our location name for channels that keep a quantity per location; "" for the
    # listing's one (pooled) quantity.
    sa.Column("location", _Key, primary_key=True, server_default=""),
    sa.Column("desired", sa.BigInteger, nullable=False),
    sa.Column("acked", sa.BigInteger),
    # The channel changed its own quantity (a sale there): push even if desired == acked.
    sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime),
    # The claim that holds the lease: only its holder may acknowledge or fail the row.
    sa.Column("claim_token", sa.String(36)),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("acked_at", UtcDateTime),
    sa.Index(None, "account", "next_attempt_at"),
)

price_outbox = sa.Table(
    "price_outbox",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("desired_amount", _Amount, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("acked_amount", _Amount),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("claim_token", sa.String(36)),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("stream", sa.String(64), primary_key=True),
    sa.Column("position", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("account", _Key, nullable=False),
    sa.Column("order_id", _Key, nullable=False),
    sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
    sa.Column("shipment", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("claim_token", sa.String(36)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("pushed_at", UtcDateTime),
    sa.Index(None, "account", "status", "next_attempt_at"),
)

order_failures = sa.Table(
    "order_failures",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("times", sa.Integer, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    # Verified webhook events, written before the receiver answers 2xx and applied from
    # here (retried until they apply); a redelivery of the same event id is a duplicate.
    # Owned by core/inbox.py.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("account", _Key, nullable=False),
    sa.Column("delivery_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # WebhookEvent.model_dump_json()
    sa.Column("status", sa.String(16), nullable=False),  # pending | applied | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("claim_token", sa.String(36)),
    sa.Column("applied_at", UtcDateTime),
    sa.UniqueConstraint("account", "delivery_id"),
    sa.Index(None, "status", "next_attempt_at"),
)

returns = sa.Table(
    "returns",
    metadata,
    # Units a buyer sent back, recorded with ``engine.record_return`` or read from the
    # channel: restocked at a location or written off, each unit once.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("account", _Key, nullable=False),
    sa.Column("order_id", _Key, nullable=False),
    sa.Column("line_id", _Key, nullable=False),
    sa.Column("sku", _Key),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("disposition", sa.String(16), nullable=False),  # restocked | written_off
    sa.Column("location", _Key, nullable=False, server_default="default"),
    sa.Column("reason", sa.Text),
    sa.Column("channel_return_id", _Key),
    sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("quantity > 0", name="positive"),
    sa.Index(None, "account", "order_id"),
    sa.Index(None, "created_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    # One row per idempotency key a caller passed: the operation it named and a digest of
    # its payload. Owned by core/idempotency.py.
    sa.Column("key", _Key, primary_key=True),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

workers = sa.Table(
    "workers",
    metadata,
    # Worker processes sharing this store: each renews its heartbeat; one whose heartbeat
    # is older than its lease is dead and its accounts are taken over. Owned by
    # core/accounts.py.
    sa.Column("worker_id", sa.String(64), primary_key=True),
    sa.Column("host", _Key, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False),
    sa.Column("lease_seconds", sa.Float, nullable=False),
    sa.Column("stopping", sa.Boolean, nullable=False, server_default=sa.false()),
)

account_leases = sa.Table(
    "account_leases",
    metadata,
    # Which worker runs an account's lane now. Owned by core/accounts.py.
    sa.Column("account", _Key, primary_key=True),
    sa.Column("worker_id", sa.String(64), nullable=False),
    sa.Column("token", sa.String(36), nullable=False),
    sa.Column("lease_until", UtcDateTime, nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
)


# -- quotas, revision budgets and unseen sales (issue 12; each table has one owning module) --

#: Owned by ``core.quotas``: a channel call quota that is spent, until when, and why.
channel_quotas = sa.Table(
    "channel_quotas",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("resource", _Key, primary_key=True),
    sa.Column("blocked_until", UtcDateTime),
    sa.Column("code", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: Owned by ``core.revisions``: writes to one listing per channel day (eBay: 250 a day).
listing_revisions = sa.Table(
    "listing_revisions",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("listing_key", _Key, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: Owned by ``core.stockcheck``: units a channel sold that the ledger has not read yet.
unseen_sales = sa.Table(
    "unseen_sales",
    metadata,
    sa.Column("account", _Key, primary_key=True),
    sa.Column("sku", _Key, primary_key=True),
    # The channel location the units were found missing at ("": the listing's one quantity).
    sa.Column("location", _Key, primary_key=True, server_default=""),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False),
)

aftersale_ops = sa.Table(
    "aftersale_ops",
    metadata,
    # One row per cancel, refund or return (or accepted cancellation request), under its
    # idempotency key: the payload's digest makes a reused key with another payload an
    # error, and the status lets a repeat resume an operation the channel is still on.
    sa.Column("idempotency_key", _Key, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # cancel | refund | return
    sa.Column("account", _Key, nullable=False),
    sa.Column("order_id", _Key, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | done | failed
    sa.Column("reference", _Key),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "account", "order_id"),
    sa.Index(None, "status"),
)

review_requests = sa.Table(
    "review_requests",
    metadata,
    # Review requests sent (or refused by the channel), at most one per order.
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # sent | refused
    sa.Column("via", sa.String(16), nullable=False),  # channel | callback
    sa.Column("detail", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
)

product_costs = sa.Table(
    "product_costs",
    metadata,
    # Cost prices per (SKU, currency): a SKU may have one in every currency it sells in.
    sa.Column("sku", _Key, primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("amount", _Amount, nullable=False),
    sa.Column("scaled", sa.BigInteger, nullable=False),  # amount in 1/10000, for SQL sums
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

sales_orders = sa.Table(
    "sales_orders",
    metadata,
    # The reports' projection of each stored order (rebuilt from ``orders``, ``returns``
    # and refunds whenever their ``signature`` changes): who bought, when, in what.
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("signature", sa.String(255), nullable=False),
    # The buyer's identity: "email:<normalised e-mail>" or "<kind>:<buyer id>"; None
    # without a customer or once the customer's data is forgotten.
    sa.Column("identity", _Key),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("at_s", sa.BigInteger, nullable=False),  # created_at as Unix seconds
    sa.Column("currency", sa.String(3)),
    sa.Column("counted", sa.Boolean, nullable=False),  # False for a cancelled order
    sa.Index(None, "identity"),
    sa.Index(None, "at_s"),
)

sales_facts = sa.Table(
    "sales_facts",
    metadata,
    # What one order line contributes at one moment in one currency (the sale on the
    # order's time, each refund on its own, each return to stock on its own). Amounts
    # are integers in 1/10000 of the currency unit, so SQL sums them exactly.
    sa.Column("account", _Key, primary_key=True),
    sa.Column("order_id", _Key, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("line_id", _Key, nullable=False),
    sa.Column("sku", _Key),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("at_s", sa.BigInteger, nullable=False),
    sa.Column("sale", sa.Boolean, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("revenue", sa.BigInteger, nullable=False),
    sa.Column("refunds", sa.BigInteger, nullable=False),
    sa.Column("fees", sa.BigInteger, nullable=False),  # reported by the channel
    sa.Column("fees_reported", sa.Boolean, nullable=False),
    # Units whose cost counts (sold minus restocked): the cost is applied at report time.
    sa.Column("cost_units", sa.BigInteger, nullable=False),
    sa.Column("returned", sa.BigInteger, nullable=False),  # units the buyer sent back
    sa.Index(None, "at_s"),
    sa.Index(None, "sku", "currency", "at_s"),
)

customer_links = sa.Table(
    "customer_links",
    metadata,
    # Merges made by hand: this identity belongs to ``person`` (an identity of its own
    # when no row says otherwise).
    sa.Column("identity", _Key, primary_key=True),
    sa.Column("person", _Key, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index(None, "person"),
)

customer_edits = sa.Table(
    "customer_edits",
    metadata,
    # Every merge and split, who asked and when (append-only).
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("action", sa.String(16), nullable=False),  # merge | split
    sa.Column("identity", _Key, nullable=False),
    sa.Column("person", _Key, nullable=False),
    sa.Column("actor", _Key),
    sa.Column("note", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
)
