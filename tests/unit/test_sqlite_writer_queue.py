"""SQLite writers queue on an flock beside the database file: held for exactly the length
of a transaction, however the transaction ends."""

from __future__ import annotations

import fcntl
import os

import pytest
from sqlalchemy import text

from publisher.core.db import make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _held(lock_path) -> bool:
    """Whether some transaction holds the writer lock (a second open file cannot take it)."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("ending", ["commit", "rollback", "error", "close"])
def test_the_lock_is_held_during_a_transaction_and_released_at_its_end(engine, tmp_path, ending):
    lock = tmp_path / "db.sqlite3-writer.lock"
    assert not _held(lock)
    conn = engine.connect()
    trans = conn.begin()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _held(lock)
    if ending == "commit":
        trans.commit()
    elif ending == "rollback":
        trans.rollback()
    elif ending == "error":
        with pytest.raises(Exception, match="no such table"):
            conn.execute(text("INSERT INTO missing VALUES (1)"))
        trans.rollback()
    if ending != "close":
        assert not _held(lock)  # released by the transaction's end, not by the pool
    conn.close()  # "close": returned to the pool mid-transaction, which rolls it back
    assert not _held(lock)
    with engine.connect() as check:
        assert check.execute(text("SELECT count(*) FROM t")).scalar_one() == (
            1 if ending == "commit" else 0
        )
