"""Migrations that carry data: the rows already stored come out as the engine would have
written them (on SQLite and, in the PostgreSQL pass, on PostgreSQL)."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick
from publisher.engage.click_writes import tally_stored_clicks, write
from publisher.engage.clicks import ClickBuffer
from publisher.engage.figures import bucket_of
from publisher.system import migrate

BEFORE_TALLIES = "e3a5c7e9b1d4"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def empty_url(tmp_path) -> Iterator[str]:
    """A database of its own, with no schema yet."""
    server = os.environ.get("PUBLISHER_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"publisher_migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _click(n: int, link_id: int, at: datetime, bot: bool = False) -> dict:
    return {
        "key": f"k{n:031d}",
        "workspace_id": 1,
        "link_id": link_id,
        "publication_id": 10 + link_id,
        "campaign_id": 7,
        "at": at,
        "referrer_host": None,
        "agent": "bot" if bot else "mobile",
        "bot": bot,
    }


def test_the_clicks_stored_are_tallied_as_the_engine_tallies_them(empty_url, redis_url):
    migrate.upgrade(empty_url, BEFORE_TALLIES)
    moments = [
        T0,
        T0 + timedelta(minutes=4, seconds=59, microseconds=999_999),
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=9, seconds=30),
        T0 + timedelta(hours=13, minutes=57, seconds=1),
        T0 + timedelta(days=1, minutes=55, microseconds=5),
    ]
    stored = [_click(n, 1 + n % 2, at, bot=n == 3) for n, at in enumerate(moments)]
    stored.append(_click(99, 1, T0 + timedelta(minutes=1)))
    engine = _orphans_allowed(empty_url)  # rows alone: no link or publication behind them
    with engine.begin() as conn:
        conn.execute(insert(LinkClick), stored)
    migrate.upgrade(empty_url)

    with Session(engine) as session:
        assert _tallies(session) == _expected(stored)
        # A click the engine writes later lands in the same day's and five minutes' rows.
        redis = Redis.from_url(redis_url)
        buffer = ClickBuffer(redis, name=f"migration-{uuid.uuid4().hex[:8]}")
        later = _click(100, 1, T0 + timedelta(minutes=2))
        redis.rpush(buffer.key, json.dumps({**later, "at": later["at"].isoformat()}))
        assert buffer.flush(session) == 1
        assert _tallies(session) == _expected([*stored, later])
    engine.dispose()


def _expected(clicks: list[dict]) -> tuple[dict, dict]:
    days = Counter((c["publication_id"], c["at"].date(), c["bot"]) for c in clicks)
    buckets = Counter((bucket_of(c["at"]), c["bot"]) for c in clicks)
    return dict(days), dict(buckets)


def _tallies(session: Session) -> tuple[dict, dict]:
    days = session.execute(select(ClickDay)).scalars().all()
    buckets = session.execute(select(ClickBucket)).scalars().all()
    assert {t.campaign_id for t in [*days, *buckets]} == {7}
    return (
        {(t.publication_id, t.day, t.bot): t.count for t in days},
        {(t.bucket, t.bot): t.count for t in buckets},
    )


def test_clicks_loaded_in_bulk_are_tallied_as_the_batch_writes_tally_them(empty_url):
    """`tally_stored_clicks` (for a bulk load, as the benchmark does) gives the tallies the
    engine's batch writes give the same clicks."""
    migrate.upgrade(empty_url)
    engine = _orphans_allowed(empty_url)
    moments = [T0 + timedelta(minutes=m, seconds=s) for m in (0, 4, 5, 59, 900) for s in (0, 59)]
    clicks = [_click(n, 1 + n % 2, at, bot=n % 3 == 0) for n, at in enumerate(moments)]
    with Session(engine) as session:
        write(session, clicks)
        by_batches = _tallies(session)
        tally_stored_clicks(session)  # made again, from the clicks
        bulk = _tallies(session)
    engine.dispose()
    assert bulk == by_batches == _expected(clicks)


def _orphans_allowed(url: str):
    """An engine whose rows need not name existing links and publications."""
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            name = engine.url.database
            conn.execute(text(f'ALTER DATABASE "{name}" SET session_replication_role = replica'))
            conn.commit()
        engine.dispose()
    return engine
