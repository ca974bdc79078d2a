"""Opening the SQL store: SQLite by default, PostgreSQL (psycopg 3) for several workers.

``open_store(url)`` creates the database schema or migrates it to the newest revision
(Alembic) and returns a ``Store``. SQLite runs in WAL mode with a busy timeout and takes
its write lock at the start of every transaction (``BEGIN IMMEDIATE``), so concurrent
writers queue instead of failing half-way; PostgreSQL transactions lock the rows they
change (``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from channelsync.core import schema
from channelsync.core.errors import ConfigError, StoreRace
from channelsync.core.retry import RetryPolicy

__all__ = ["DEFAULT_URL", "Store", "open_store"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_URL = "sqlite:///channelsync.db"
_SQLITE_BUSY_MS = 30_000
_MIGRATION_LOCK = 0x63_73_79_6E  # pg advisory lock id ("csyn")
_TOUCHED = "channelsync.touched"


def _redacted(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _scrub(url: str) -> str:
    """A URL string that did not parse, with anything between ``://`` and ``@`` hidden."""
    head, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{head}://***@{rest.rpartition('@')[2]}"
    return url


class Store:
    """The SQL store the engine keeps its ledger, journal, orders and outbox in.

    Build it with ``open_store``. ``transaction()`` gives a connection inside one
    transaction that retries the whole block on a lost race (deadlock, serialization
    failure, unique-key collision between two workers) when used through ``run``.
    """

    def __init__(
        self, engine: Engine, *, serialize: bool = False, policy: RetryPolicy | None = None
    ) -> None:
        self.engine = engine
        self.policy = policy or RetryPolicy.for_store()
        self._listeners: list[Callable[[set[str]], None]] = []
        self.dialect: str = engine.dialect.name
        # One in-memory SQLite connection serves every thread: its transactions must not
        # interleave, so they take turns.
        self._turns: threading.RLock | None = threading.RLock() if serialize else None

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return _redacted(self.engine.url)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if self._turns is None:
            yield
            return
        with self._turns:
            yield

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction: committed on success, rolled back on error.

        Accounts marked with ``touched`` in it are announced once it committed: to this
        process's listeners (``on_commit``) and, on PostgreSQL, to every process listening
        on the ``channelsync`` channel (``NOTIFY``, delivered at commit).
        """
        touched: set[str] = set()
        with self._turn(), self.engine.begin() as conn:
            conn.info.pop(_TOUCHED, None)
            try:
                yield conn
            finally:
                touched = conn.info.pop(_TOUCHED, None) or set()
            if touched and self.dialect == "postgresql":
                payload = ",".join(sorted(touched))
                conn.exec_driver_sql(
                    "SELECT pg_notify('channelsync', %(p)s)",
                    {"p": payload if len(payload) < 7000 else "*"},
                )
        if touched:
            for listener in list(self._listeners):
                try:
                    listener(touched)
                except Exception:  # a listener never undoes a commit
                    log.exception("store commit listener failed")

    def touched(self, conn: Connection, account: str) -> None:
        """Mark, inside a transaction, that ``account`` has something new to push."""
        conn.info.setdefault(_TOUCHED, set()).add(account)

    def on_commit(self, listener: Callable[[set[str]], None]) -> Callable[[], None]:
        """Call ``listener(accounts)`` after each commit that touched accounts in this
        process; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading (no write lock taken on SQLite)."""
        with self._turn(), self.engine.connect() as conn:
            # conn.info lives with the pooled DBAPI connection: the flag must not outlive
            # this read, or a later write transaction would begin without its lock.
            conn.info["read_only"] = True
            try:
                yield conn
            finally:
                conn.rollback()
                conn.info.pop("read_only", None)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction, repeating it when it lost a race to another worker.

        Races are deadlocks, serialization failures, a busy SQLite file and two writers of
        the same idempotency key; the whole transaction is repeated through the store's
        retry policy, and on repeat the work sees the winner's rows and does nothing twice.
        Any other integrity error (a check or foreign key failing) surfaces at once.
        """

        def attempt() -> T:
            try:
                with self.transaction() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if not _is_race(exc):
                    raise
                raise StoreRace(f"store transaction lost a race: {_first_line(exc)}") from exc

        return self.policy.call(attempt)

    def upsert(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        keys: Sequence[str],
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert ``rows`` into ``table``, updating ``update`` columns where ``keys`` exist.

        With ``update=()`` existing rows are left alone (insert-or-ignore).
        """
        if not rows:
            return
        stmt: Any
        stmt = postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)
        columns = list(rows[0]) if update is None else list(update)
        columns = [c for c in columns if c not in keys]
        if columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(stmt, list(rows))

    def bulk(
        self,
        conn: Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        keys: Sequence[str] | None = None,
        update: Sequence[str] = (),
        where: Sequence[str] = (),
        newer: str | None = None,
    ) -> None:
        """Insert, upsert or update many rows straight through the driver (hot paths).

        SQLAlchemy's per-row parameter processing costs more than SQLite itself for the
        ledger's batches, so the ledger's hottest statements go through here:

        - ``keys`` given: ``INSERT ... ON CONFLICT (keys) DO UPDATE SET update`` (or
          ``DO NOTHING`` without ``update``);
        - ``where`` given: ``UPDATE table SET <other columns> WHERE <where columns>``;
        - neither: a plain ``INSERT``;
        - ``newer`` (with ``keys`` and ``update``): an existing row is updated only where
          the new row's ``newer`` column is greater (a version guard).

        Values are converted as the table's column types would: aware datetimes to UTC
        (text on SQLite), JSON columns serialised.
        """
        if not rows:
            return
        columns = list(rows[0])
        if self.dialect == "postgresql":
            self._bulk_pg(
                conn, table, columns, rows, tuple(keys or ()), tuple(update), tuple(where), newer
            )
            return
        sql = _bulk_sql(
            table.name,
            tuple(columns),
            tuple(keys or ()),
            tuple(update),
            tuple(where),
            self.dialect,
            newer,
        )
        dates = [c for c in columns if isinstance(table.c[c].type, schema.UtcDateTime)]
        docs = [c for c in columns if isinstance(table.c[c].type, sa.JSON)]
        if not dates and not docs:
            conn.exec_driver_sql(sql, list(rows))
            return
        to_db = _sqlite_datetime if self.dialect == "sqlite" else _utc
        seen: dict[datetime, Any] = {}  # batches mostly share one timestamp
        params = []
        for row in rows:
            out = dict(row)
            for name in dates:
                value = row[name]
                if value is not None:
                    out[name] = seen.get(value) or seen.setdefault(value, to_db(value))
            for name in docs:
                out[name] = json.dumps(row[name], separators=(",", ":"))
            params.append(out)
        conn.exec_driver_sql(sql, params)

    def _bulk_pg(
        self,
        conn: Connection,
        table: sa.Table,
        columns: list[str],
        rows: Sequence[Mapping[str, Any]],
        keys: tuple[str, ...],
        update: tuple[str, ...],
        where: tuple[str, ...],
        newer: str | None,
    ) -> None:
        # One statement per batch: the rows travel as one array per column (unnest), so
        # PostgreSQL plans once instead of once per row.
        types = {c: table.c[c].type.compile(dialect=self.engine.dialect) for c in columns}
        docs = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
        arrays = {
            c: [json.dumps(r[c], separators=(",", ":")) if c in docs else r[c] for r in rows]
            for c in columns
        }
        source = ", ".join(f"%({c})b::{types[c]}[]" for c in columns)
        if where:
            sets = ", ".join(f"{c} = v.{c}" for c in columns if c not in where)
            cond = " AND ".join(f"{table.name}.{c} = v.{c}" for c in where)
            sql = (
                f"UPDATE {table.name} SET {sets} FROM unnest({source}) AS v({', '.join(columns)})"
                f" WHERE {cond}"
            )
        else:
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({source})"
            if keys:
                sql += f" ON CONFLICT ({', '.join(keys)}) DO "
                sql += (
                    "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
                    if update
                    else "NOTHING"
                )
                if update and newer:
                    sql += f" WHERE {table.name}.{newer} < excluded.{newer}"
        # Binary parameters: text arrays in text format escape every quote of every value
        # (a JSON order document has hundreds), which cost more than the statement itself.
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        with dbapi.cursor() as cursor:
            cursor.execute(sql, arrays)

    def among(self, column: sa.ColumnElement[Any], values: Iterable[str]) -> sa.ColumnElement[bool]:
        """``column IN values`` with one bound parameter however many values there are.

        A plain ``IN`` binds (and SQLAlchemy processes) one parameter per value; the
        ledger's batches look up a thousand SKUs at a time. SQLite gets a JSON array
        (``json_each``), PostgreSQL an array (``= ANY``).
        """
        items = sorted(set(values))
        if self.dialect == "postgresql":
            return column == sa.any_(sa.literal(items, type_=postgresql.ARRAY(sa.Text)))
        rows = sa.select(sa.column("value", sa.Text)).select_from(
            sa.func.json_each(sa.literal(json.dumps(items), type_=sa.Text))
        )
        return column.in_(rows.scalar_subquery())

    def for_update(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """``select`` with ``FOR UPDATE`` where the backend has row locks (PostgreSQL)."""
        return select.with_for_update() if self.dialect == "postgresql" else select

    def for_update_skip_locked(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """``select`` with ``FOR UPDATE SKIP LOCKED`` where supported (PostgreSQL)."""
        if self.dialect == "postgresql":
            return select.with_for_update(skip_locked=True)
        return select

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.lru_cache(maxsize=64)
def _bulk_sql(
    table: str,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    update: tuple[str, ...],
    where: tuple[str, ...],
    dialect: str,
    newer: str | None = None,
) -> str:
    def param(name: str) -> str:
        return f"%({name})s" if dialect == "postgresql" else f":{name}"

    if where:
        sets = ", ".join(f"{c} = {param(c)}" for c in columns if c not in where)
        cond = " AND ".join(f"{c} = {param(c)}" for c in where)
        return f"UPDATE {table} SET {sets} WHERE {cond}"
    values = ", ".join(param(c) for c in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
    if keys:
        target = f" ON CONFLICT ({', '.join(keys)}) DO "
        if update:
            sql += target + "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
            if newer:
                sql += f" WHERE {table}.{newer} < excluded.{newer}"
        else:
            sql += target + "NOTHING"
    return sql


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused by the store; use an aware UTC datetime")
    return value.astimezone(UTC)


def _sqlite_datetime(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime stores and parses back.
    if value.tzinfo is None:
        raise ValueError("naive datetime refused by the store; use an aware UTC datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


#: Unique constraints whose violation means "another worker wrote the same key first": the
#: transaction is repeated and then finds the winner's row. Any other violation is a bug or
#: bad input and surfaces at once.
_RACE_CONSTRAINTS = frozenset(
    {
        "uq_journal_idempotency_key",
        "uq_shipments_idempotency_key",
        "uq_returns_idempotency_key",
        "pk_idempotency_keys",
        "uq_inbox_account_delivery_id",
        "pk_webhook_events",
    }
)
_RACE_COLUMNS = frozenset(
    {
        "journal.idempotency_key",
        "shipments.idempotency_key",
        "returns.idempotency_key",
        "idempotency_keys.key",
        "inbox.account, inbox.delivery_id",
        "webhook_events.account, webhook_events.event_id",
    }
)


def _is_race(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in {"40001", "40P01", "55P03"}:  # serialization failure, deadlock, lock not available
        return True
    if code == "23505":  # unique violation: a race only on an idempotency key
        diag = getattr(orig, "diag", None)
        return getattr(diag, "constraint_name", None) in _RACE_CONSTRAINTS
    text = str(orig)
    if "UNIQUE constraint failed: " in text:
        return text.split("UNIQUE constraint failed: ", 1)[1].strip() in _RACE_COLUMNS
    return "database is locked" in text


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: two writers queue on busy_timeout instead of
        # failing at their first write with "database is locked".
        conn.exec_driver_sql("BEGIN" if conn.info.get("read_only") else "BEGIN IMMEDIATE")


def _make_engine(url: str, echo: bool) -> Engine:
    try:
        parsed = sa.make_url(url)
        port = parsed.port  # a non-numeric port fails here, not later
    except (sa.exc.ArgumentError, ValueError) as exc:
        # The message names the URL without what could be a password in it.
        raise ConfigError(
            f"store URL {_scrub(url)!r} is not a database URL"
            " (expected sqlite:///path.db or postgresql+psycopg://user@host:port/db)"
        ) from exc
    del port
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(
                    f"store URL {_redacted(parsed)!r}: folder {folder} does not exist"
                )
        engine = sa.create_engine(
            parsed, echo=echo, connect_args={"timeout": _SQLITE_BUSY_MS / 1000}
        )
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            # No server-side prepared statements: psycopg prepares a query after five runs,
            # and PostgreSQL then keeps a generic plan made while the tables were small (an
            # array lookup planned as a scan stays a scan as they grow): 100x slower batches.
            return sa.create_engine(
                parsed,
                echo=echo,
                pool_pre_ping=True,
                pool_size=10,
                connect_args={"prepare_threshold": None},
            )
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "PostgreSQL needs psycopg 3: pip install 'channelsync[postgres]'"
            ) from exc
    raise ConfigError(
        f"store URL {_redacted(parsed)!r}: unsupported database {backend!r};"
        " use sqlite:///path.db or postgresql+psycopg://..."
    )


def _migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two workers starting at once: one migrates, the other waits and finds it done.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(url: str = DEFAULT_URL, *, migrate: bool = True, echo: bool = False) -> Store:
    """Open (and create or migrate) the store at ``url``.

    Args:
        url: ``sqlite:///channelsync.db`` (the default, a file beside the caller),
            ``sqlite:///:memory:`` or ``sqlite://`` (in memory: one connection that every
            thread shares, gone when the store closes) or
            ``postgresql+psycopg://user@host/db``.
        migrate: bring the schema to the newest revision (default). With False, a store
            that is behind raises ``ConfigError`` instead.
        echo: log every SQL statement (debugging).

    Raises:
        ConfigError: the URL is malformed, the backend unsupported or unreachable.
    """
    if not isinstance(url, str):
        raise ConfigError(
            f"store URL must be a string such as sqlite:///channelsync.db, got {type(url).__name__}"
        )
    engine = _make_engine(url, echo)
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        # ``sqlite://`` and ``sqlite:///:memory:``: one connection shared by every thread,
        # or each pooled connection (each lane's thread) would see its own empty database.
        engine.dispose()
        engine = sa.create_engine(
            "sqlite://",
            echo=echo,
            poolclass=sa.pool.StaticPool,
            connect_args={"check_same_thread": False},
        )
        _configure_sqlite(engine)
    try:
        if migrate:
            _migrate(engine)
        else:
            _check_current(engine)
    except OperationalError as exc:
        engine.dispose()
        raise ConfigError(f"cannot open store {_redacted(engine.url)}: {exc.orig}") from exc
    except BaseException:
        engine.dispose()  # a refused store (migrate=False, behind) keeps no connection open
        raise
    return Store(engine, serialize=isinstance(engine.pool, sa.pool.StaticPool))


def _check_current(engine: Engine) -> None:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise ConfigError(
            f"store {_redacted(engine.url)} is at schema revision {current}, the code needs"
            f" {head}: open it with migrate=True (or run `channelsync sync` once)"
        )
