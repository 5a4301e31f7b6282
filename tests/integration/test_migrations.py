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
from sqlalchemy import MetaData, Table, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick
from publisher.engage.click_writes import tally_stored_clicks, write
from publisher.engage.clicks import ClickBuffer
from publisher.engage.figures import bucket_of
from publisher.system import migrate

BEFORE_TALLIES = "e3a5c7e9b1d4"
BEFORE_INTERACTIONS_BY_MEMBER = "f5b7d9a1c3e6"
BEFORE_INTERACTIONS_BY_CAMPAIGN = "c7e9b1d3f5a7"
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


def test_stored_interactions_become_their_authors_members(empty_url):
    """Each interaction stored before the tie was kept is its author's member's (by
    account id, else by handle in any case), and a member's first sighting moves back to
    their earliest interaction."""
    migrate.upgrade(empty_url, BEFORE_INTERACTIONS_BY_MEMBER)
    engine = _orphans_allowed(empty_url)
    sqlite = engine.dialect.name == "sqlite"

    def when(hours: float) -> datetime:
        moment = T0 + timedelta(hours=hours)
        return moment.replace(tzinfo=None) if sqlite else moment

    tables = MetaData()
    member, identity, interaction = (
        Table(name, tables, autoload_with=engine)
        for name in ("member", "member_identity", "interaction")
    )
    with engine.begin() as conn:
        conn.execute(
            insert(member),
            [
                {"id": n, "workspace_id": 1, "external_id": f"m{n}", "first_seen_at": when(10),
                 "created_at": when(10)}
                for n in (1, 2, 3)
            ],
        )  # fmt: skip
        conn.execute(
            insert(identity).values(created_at=when(0)),
            [
                {"workspace_id": 1, "member_id": 1, "platform": "x", "key": "id:7007"},
                {"workspace_id": 1, "member_id": 2, "platform": "x", "key": "@camille"},
                {"workspace_id": 2, "member_id": 3, "platform": "x", "key": "id:8008"},
            ],
        )
        authors = [("7007", "someone"), (None, "@CAMILLE"), ("9", "camille"), ("8008", None)]
        conn.execute(
            insert(interaction).values(
                workspace_id=1, channel_id=1, platform="x", kind="like", received_at=when(0)
            ),
            [
                {"external_id": f"i{n}", "author_id": a, "author_handle": h,
                 "occurred_at": when(n)}
                for n, (a, h) in enumerate(authors)
            ],
        )  # fmt: skip
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        tied = dict(conn.execute(text("SELECT external_id, member_id FROM interaction")).all())
        seen = dict(conn.execute(text("SELECT id, first_seen_at FROM member")).all())
    engine.dispose()
    # By id first; a handle in another case and with its @; the member by handle when the
    # id is no one's; another workspace's identity names no one here.
    assert tied == {"i0": 1, "i1": 2, "i2": 2, "i3": None}
    first = {  # PostgreSQL answers in the session's zone; SQLite with the UTC text stored
        k: (v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo else v)
        for k, v in seen.items()
    }
    first = {
        k: (v if isinstance(v, datetime) else datetime.fromisoformat(v)).replace(tzinfo=None)
        for k, v in first.items()
    }
    naive = {n: when(h).replace(tzinfo=None) for n, h in ((1, 0), (2, 1), (3, 10))}
    assert first == naive


def test_stored_interactions_carry_their_publications_campaign(empty_url):
    migrate.upgrade(empty_url, BEFORE_INTERACTIONS_BY_CAMPAIGN)
    engine = _orphans_allowed(empty_url)
    at = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    tables = MetaData()
    post, publication, interaction = (
        Table(name, tables, autoload_with=engine) for name in ("post", "publication", "interaction")
    )
    with engine.begin() as conn:
        conn.execute(
            insert(post).values(workspace_id=1, text="t", revision=1, content_hash="0" * 64,
                                created_at=at, updated_at=at),
            [{"id": 1, "campaign_id": 7}, {"id": 2, "campaign_id": 8}],
        )  # fmt: skip
        conn.execute(
            insert(publication).values(workspace_id=1, channel_id=1, status="published",
                                       scheduled_at=at, time_zone="UTC", due_at=at, attempts=1,
                                       created_at=at, updated_at=at),
            [{"id": 10, "post_id": 1}, {"id": 11, "post_id": 2}],
        )  # fmt: skip
        conn.execute(
            insert(interaction).values(workspace_id=1, channel_id=1, platform="x", kind="like",
                                       occurred_at=at, received_at=at),
            [{"external_id": "on-10", "publication_id": 10},
             {"external_id": "on-11", "publication_id": 11},
             {"external_id": "follow", "publication_id": None}],
        )  # fmt: skip
    migrate.upgrade(empty_url)
    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT external_id, campaign_id FROM interaction")).all())
    engine.dispose()
    assert found == {"on-10": 7, "on-11": 8, "follow": None}


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
