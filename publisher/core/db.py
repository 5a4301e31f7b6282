"""Database engine, sessions and the UTC column type."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which drops zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def make_engine(
    url: str, *, pool_size: int = 5, idle_transaction_timeout_s: float = 15.0
) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so processes can share a file.
    On PostgreSQL a session left idle inside a transaction for `idle_transaction_timeout_s`
    is ended by the server: a process frozen mid-transaction (SIGSTOP, a paused VM) loses
    its locks instead of stopping every other writer. SQLite has no such remedy: its
    writer lock stays with a frozen holder (docs/promises.md, "What SQLite cannot survive")."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _WriterQueue(f"{path}-writer.lock").install(engine)
        # pysqlite's own transaction handling defers BEGIN; take it over so that a
        # write transaction takes the lock up front (see SQLAlchemy's pysqlite notes). A
        # read-only one (read_only(engine)) begins deferred and takes no lock: in WAL mode
        # readers never block the writer, so an API read cannot hold up a publication.
        event.listen(engine, "begin", _begin)
        return engine
    idle_ms = max(int(idle_transaction_timeout_s * 1000), 1)
    options = f"-c idle_in_transaction_session_timeout={idle_ms}"
    return create_engine(
        url, pool_size=pool_size, pool_pre_ping=True, connect_args={"options": options}
    )


READ_ONLY = "publisher_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they take
    neither the writer queue nor SQLite's write lock; elsewhere nothing changes."""
    return engine.execution_options(**{READ_ONLY: True})


def _reads_only(conn) -> bool:
    return bool(conn.get_execution_options().get(READ_ONLY))


def _begin(conn) -> None:
    conn.exec_driver_sql("BEGIN" if _reads_only(conn) else "BEGIN IMMEDIATE")


class _WriterQueue:
    """Makes SQLite writers wait their turn in the kernel instead of polling.

    SQLite lets one writer in at a time and has the others retry with growing sleeps (1, 2,
    5, 10 ... 100 ms): with a dispatcher and several workers writing, that polling, not the
    work, made the lateness tail (bench/lateness.py). Each transaction first takes an
    flock(2) on a file beside the database, which wakes the next waiter as soon as the
    holder commits or rolls back, and is dropped by the kernel if its process dies. SQLite's
    own lock still guards correctness; this only orders the queue in front of it.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def install(self, engine: Engine) -> None:
        event.listen(engine, "connect", self._open)
        event.listen(engine, "close", self._close)
        event.listen(engine, "begin", self._acquire)  # registered before BEGIN IMMEDIATE
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_conn) -> None:
            try:
                commit(dbapi_conn)
            finally:
                self._release(dbapi_conn)

        def do_rollback(dbapi_conn) -> None:
            try:
                rollback(dbapi_conn)
            finally:
                self._release(dbapi_conn)

        # The pool's reset-on-return goes through the same dialect methods.
        dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    def _open(self, _dbapi_conn, record) -> None:
        record.info["writer_lock"] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def _close(self, _dbapi_conn, record) -> None:
        fd = record.info.pop("writer_lock", None)
        if fd is not None:
            os.close(fd)

    @staticmethod
    def _acquire(conn) -> None:
        if _reads_only(conn):
            return
        fd = conn.connection.info.get("writer_lock")
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)

    @staticmethod
    def _release(dbapi_conn) -> None:
        try:
            fd = dbapi_conn.info.get("writer_lock")
        except (AttributeError, NotImplementedError):  # a bare connection at first connect
            return
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error (for jobs and the CLI)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
