"""The SQL store: creation, migration, SQLite settings, PostgreSQL and concurrent workers."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.core.helpers import line, make_order

import channelsync as cs
from channelsync.core.schema import metadata


@pytest.fixture
def store(db_store: cs.Store) -> cs.Store:
    """Every test here that takes ``store`` runs on SQLite and on PostgreSQL."""
    return db_store


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[cs.Store]:
    """A SQLite store, for what only SQLite does (WAL, BEGIN IMMEDIATE)."""
    with cs.open_store(sqlite_url) as s:
        yield s


def test_open_creates_and_reopens(db_url: str) -> None:
    with cs.open_store(db_url) as store:
        cs.SyncEngine(store).set_on_hand("A", 3)
    with cs.open_store(db_url) as again:
        assert cs.SyncEngine(again).stock("A").on_hand == 3
        with again.read() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head()


def _head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def test_sqlite_runs_in_wal_with_a_busy_timeout(sqlite_store: cs.Store) -> None:
    with sqlite_store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_schema_matches_the_migrations(store: cs.Store) -> None:
    with store.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migrate_false_refuses_an_empty_store(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A never-migrated database (db_url's PostgreSQL schema is migrated once per session).
    url = (
        f"sqlite:///{tmp_path / 'empty.db'}"
        if database == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    with pytest.raises(cs.ConfigError, match="schema revision None, the code needs 0"):
        cs.open_store(url, migrate=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://root@localhost/x", "unsupported database 'mysql'"),
        ("sqlite:////nonexistent-folder/x.db", "folder /nonexistent-folder does not exist"),
        (5, "store URL must be a string"),
    ],
)
def test_bad_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(cs.ConfigError, match=message):
        cs.open_store(url)


def test_password_never_shown() -> None:
    with pytest.raises(cs.ConfigError) as caught:
        cs.open_store("postgresql+psycopg://user:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(caught.value)


def test_memory_store_is_shared_between_threads() -> None:
    import threading

    with cs.open_store("sqlite:///:memory:") as store:
        engine = cs.SyncEngine(store)
        th = threading.Thread(target=engine.set_on_hand, args=("A", 4))
        th.start()
        th.join()
        assert engine.stock("A").on_hand == 4


@pytest.mark.postgres
class TestPostgres:
    def test_ledger_semantics_on_postgres(self, pg_url: str) -> None:
        with cs.open_store(pg_url) as store:
            assert store.dialect == "postgresql"
            engine = cs.SyncEngine(store)
            engine.set_on_hand("SKU-1", 10)
            engine.record_order(make_order(lines=[line(qty=3)]))
            engine.record_order(make_order(lines=[line(qty=3)]))
            engine.record_order(
                make_order(status=cs.OrderStatus.SHIPPED, minute=1, lines=[line(qty=3)])
            )
            view = engine.stock("SKU-1")
            assert (view.on_hand, view.committed) == (7, 0)
            with store.read() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == []

    def test_two_processes_ingesting_the_same_orders_commit_once(self, pg_url: str) -> None:
        with cs.open_store(pg_url) as store:
            cs.SyncEngine(store).set_on_hand("SKU-1", 1000)
        worker = textwrap.dedent(
            """
            import sys
            from datetime import UTC, datetime, timedelta
            import channelsync as cs
            url, reverse = sys.argv[1], sys.argv[2] == "1"
            t0 = datetime(2026, 11, 1, tzinfo=UTC)
            orders = [
                cs.Order(kind="fake", account="shop", order_id=str(i), status="open",
                         created_at=t0, updated_at=t0 + timedelta(seconds=i),
                         lines=[cs.OrderLine(line_id="1", sku="SKU-1", quantity=1),
                                cs.OrderLine(line_id="2", sku=f"S{i % 7}", quantity=2)])
                for i in range(300)
            ]
            if reverse:
                orders.reverse()
            store = cs.open_store(url)
            engine = cs.SyncEngine(store)
            for start in range(0, len(orders), 25):
                engine.record_orders(orders[start:start + 25])
            """
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", worker, pg_url, rev], stderr=subprocess.PIPE, text=True
            )
            for rev in ("0", "1", "0")
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        with cs.open_store(pg_url) as store:
            engine = cs.SyncEngine(store)
            assert engine.stock("SKU-1").committed == 300
            assert sum(engine.stock(f"S{k}").committed for k in range(7)) == 600
            with store.read() as conn:
                rows = conn.execute(
                    sa.text("SELECT count(*) FROM journal WHERE order_id IS NOT NULL")
                ).scalar()
            assert rows == 600


def test_a_write_after_a_read_still_takes_the_write_lock(sqlite_store: cs.Store) -> None:
    store = sqlite_store
    begins: list[str] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    engine = cs.SyncEngine(store)
    engine.stock("A")  # a read on the (single) pooled connection
    engine.set_on_hand("A", 1)
    assert "BEGIN IMMEDIATE" in begins
    assert begins[0] == "BEGIN"


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
def test_memory_store_serves_concurrent_lanes(url: str) -> None:
    """Both spellings of an in-memory store: the lanes run on threads of their own, and
    each must see the one database (``sqlite://`` once gave each its own, empty)."""
    from channelsync.testing import FakeChannel

    channels = [FakeChannel(f"shop-{i}") for i in range(4)]
    for ch in channels:
        for k in range(20):
            ch.add_listing(f"SKU-{k}", 0)
    with cs.open_store(url) as store:
        engine = cs.SyncEngine(store, channels)
        engine.set_on_hand_many({f"SKU-{k}": 5 for k in range(20)})
        for ch in channels:
            ch.place_order({"SKU-1": 1})
        for _ in range(3):
            report = engine.run_once()
            assert report.ok, report.as_dict()
        assert engine.stock("SKU-1").committed == 4
        assert {ch.quantities["SKU-1"] for ch in channels} == {1}


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://user:hunter2@host:notaport/db", "postgresql://user:hunter2@[::1/db"],
)
def test_unparseable_urls_never_show_the_password(url: str) -> None:
    with pytest.raises(cs.ConfigError, match="is not a database URL") as caught:
        cs.open_store(url)
    assert "hunter2" not in str(caught.value)


def test_upgrading_to_locations_keeps_every_figure(tmp_path: Path) -> None:
    """A store of the last release before locations, with stock and an open order, keeps
    every figure at the location "default" and goes on from there."""
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    now = "2026-11-01 12:00:00.000000"
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ledger VALUES ('MUG', 10, 2, 1, ?)", (now,))
        conn.exec_driver_sql(
            "INSERT INTO journal (at, sku, d_on_hand, d_committed, on_hand_after,"
            " committed_after, reason, source, idempotency_key)"
            " VALUES (?, 'MUG', 10, 0, 10, 0, 'set_on_hand', 'caller', 'k1'),"
            " (?, 'MUG', 0, 2, 10, 2, 'order open', 'shop/1/L1', 'k2')",
            (now, now),
        )
        order = make_order("1", lines=[line(sku="MUG", qty=2)])
        conn.exec_driver_sql(
            "INSERT INTO orders (account, order_id, kind, status, created_at, updated_at,"
            " version, doc, first_seen_at, last_seen_at)"
            " VALUES ('shop', '1', 'fake', 'open', ?, ?, 'v1', ?, ?, ?)",
            (now, now, order.model_dump_json(), now, now),
        )
        conn.exec_driver_sql(
            "INSERT INTO order_lines (account, order_id, line_id, sku, quantity,"
            " fulfilled_by_channel, applied, local_shipped, local_cancelled, live)"
            " VALUES ('shop', '1', 'L1', 'MUG', 2, 0, '{\"MUG\": [2, 0]}', 0, 0, 2)"
        )
    engine.dispose()
    with cs.open_store(url) as store:
        from channelsync.testing import FakeChannel

        synced = cs.SyncEngine(store, [FakeChannel("shop")])
        view = synced.stock("MUG")
        assert (view.on_hand, view.committed) == (10, 2)
        assert [(x.location, x.on_hand, x.committed) for x in view.locations] == [
            ("default", 10, 2)
        ]
        assert [e.location for e in synced.explain("MUG").entries] == ["default", "default"]
        synced.ship("shop", "1", cs.Shipment(carrier="DHL"), push=False)
        view = synced.stock("MUG")
        assert [(x.location, x.on_hand, x.committed) for x in view.locations] == [("default", 8, 0)]


def test_upgrading_to_customers_keeps_cost_prices_and_goes_back(tmp_path: Path) -> None:
    """A store at 0008 with a cost price: 0010 copies it into the per-currency table (the
    amount scaled exactly), and the downgrade drops the new tables again."""
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO products (sku, cost_amount, cost_currency, updated_at)"
            " VALUES ('MUG', '4.1234', 'USD', '2026-11-01 12:00:00.000000'),"
            " ('CAP', NULL, NULL, '2026-11-01 12:00:00.000000')"
        )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    with engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT sku, currency, amount, scaled FROM product_costs").all()
        assert [tuple(r) for r in rows] == [("MUG", "USD", "4.1234", 41234)]
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
        names = set(sa.inspect(conn).get_table_names())
    assert not names & {"product_costs", "sales_orders", "sales_facts", "customer_links"}
    engine.dispose()


def _upgrade_to_bigint_keeps_every_figure(url: str) -> None:
    """Stock in every quantity table at revision 0008, then 0009: each figure as it was,
    each column BIGINT, and a figure beyond 32 bits fits."""
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config

    from channelsync.core import schema as t

    m = importlib.import_module("channelsync.core.migrations.versions.0009_bigint_quantities")

    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    rows: dict[sa.Table, list[dict[str, object]]] = {
        t.ledger: [{"sku": "MUG", "on_hand": 2_000_000_000, "committed": 3, "tracked": True,
                    "updated_at": now}],
        t.ledger_locations: [{"sku": "MUG", "location": "default", "on_hand": 2_000_000_000,
                              "committed": 3, "updated_at": now}],
        t.journal: [{"at": now, "sku": "MUG", "d_on_hand": 2_000_000_000, "d_committed": -7,
                     "on_hand_after": 2_000_000_000, "committed_after": 3, "reason": "adjust",
                     "source": "caller", "idempotency_key": "k1", "location": "default"}],
        t.order_lines: [{"account": "shop", "order_id": "1", "line_id": "L1", "sku": "MUG",
                         "quantity": 5, "fulfilled_by_channel": False, "applied": {"MUG": [3, 2]},
                         "local_shipped": 2, "local_cancelled": 1, "live": 4,
                         "location": "default"}],
        t.outbox: [{"account": "shop", "sku": "MUG", "location": "", "desired": 1_999_999_997,
                    "acked": 12, "version": 4, "next_attempt_at": now, "updated_at": now}],
        t.listings: [{"account": "shop", "sku": "MUG", "kind": "fake", "listing_id": "m",
                      "quantity": 12, "manages_stock": True, "fulfilled_by": "merchant",
                      "ids": {}, "updated_at": now}],
        t.bundles: [{"bundle_sku": "SET", "component_sku": "MUG", "quantity": 6}],
        t.returns: [{"account": "shop", "order_id": "1", "line_id": "L1", "sku": "MUG",
                     "quantity": 2, "disposition": "restocked", "location": "default",
                     "idempotency_key": "r1", "created_at": now}],
        t.unseen_sales: [{"account": "shop", "sku": "MUG", "units": 9, "seen_at": now}],
    }  # fmt: skip
    assert {table.name for table in rows} == {*m.QUANTITIES, "ledger_locations"}
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
            for table, values in rows.items():
                # the columns of revision 0008 only (later revisions add some)
                then = sa.Table(
                    table.name,
                    sa.MetaData(),
                    *(sa.Column(c.name, c.type) for c in table.c if c.name in values[0]),
                )
                conn.execute(then.insert(), values)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0009")
        inspector = sa.inspect(engine)
        with engine.begin() as conn:
            for table, values in rows.items():
                # the columns of revision 0009 only (later revisions add some)
                columns = [table.c[k] for k in values[0]]
                kept = [dict(r._mapping) for r in conn.execute(sa.select(*columns))]
                assert kept == values, table.name
                types = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
                for column in m.QUANTITIES.get(table.name, ("on_hand", "committed")):
                    assert isinstance(types[column], sa.BigInteger), (table.name, column)
            conn.execute(t.ledger.update().values(on_hand=2**62))
            assert conn.execute(sa.select(t.ledger.c.on_hand)).scalar() == 2**62
    finally:
        engine.dispose()


def test_upgrading_to_bigint_quantities_keeps_every_figure(sqlite_url: str) -> None:
    _upgrade_to_bigint_keeps_every_figure(sqlite_url)


@pytest.mark.postgres
def test_upgrading_to_bigint_quantities_keeps_every_figure_on_postgres(pg_url: str) -> None:
    _upgrade_to_bigint_keeps_every_figure(pg_url)


def test_memory_store_runs_the_worker_and_takes_webhooks() -> None:
    """The worker's loops (one thread per account, plus the store's own) share the one
    in-memory database: a sale delivered to one account reaches the other."""
    import threading
    from collections.abc import Sequence

    from channelsync.testing import FakeChannel

    class Signalling(FakeChannel):
        def __init__(self, account: str) -> None:
            super().__init__(account)
            self.seen: dict[str, threading.Event] = {}

        def push_stock(self, updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
            results = super().push_stock(updates)
            for u in updates:
                self.seen.setdefault(f"{u.sku}={u.quantity}", threading.Event()).set()
            return results

        def wait(self, key: str) -> bool:
            return self.seen.setdefault(key, threading.Event()).wait(30)

    a, b = Signalling("a"), Signalling("b")
    for ch in (a, b):
        ch.add_listing("MUG", 0)
    with cs.open_store("sqlite://") as store:
        engine = cs.SyncEngine(store, [a, b])
        engine.set_on_hand("MUG", 10)
        worker = threading.Thread(
            target=engine.run_forever, kwargs={"install_signal_handlers": False}
        )
        worker.start()
        try:
            assert b.wait("MUG=10")
            headers, body = a.webhook_for(a.place_order({"MUG": 3}), event_id="sale-1")
            engine.ingest_webhook("a", headers, body)
            assert b.wait("MUG=7")
        finally:
            engine.stop()
            worker.join(timeout=60)
        assert not worker.is_alive()
        assert (engine.stock("MUG").on_hand, engine.stock("MUG").committed) == (10, 3)
