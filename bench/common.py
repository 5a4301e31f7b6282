"""Shared set-up for the benchmarks: a private home, a private Redis, seeded publications."""

from __future__ import annotations

import atexit
import statistics
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from publisher.core.db import make_engine, session_scope, utcnow
from publisher.core.models import Campaign, Channel, Post, Publication
from publisher.core.security import CredentialBox
from publisher.core.settings import Settings
from publisher.core.workspaces import get_or_create_workspace
from publisher.plan.content import content_hash
from publisher.system import migrate
from publisher.system.embedded import start_private_redis

X_TOKEN = "bench-x-token"


@dataclass
class World:
    settings: Settings
    channel_ids: list[int]
    campaign_id: int
    workspace_id: int


def private_settings(server_url: str | None = None) -> tuple[Settings, object]:
    """Settings on a fresh directory and a private redis-server (stopped by the caller).
    The database is a fresh SQLite file, or with `server_url` (PostgreSQL) a throw-away
    database created on that server and dropped when the benchmark exits."""
    home = Path(tempfile.mkdtemp(prefix="publisher-bench-"))
    url, redis_proc = start_private_redis(home / "redis")
    database_url = _throwaway_database(server_url) if server_url else ""
    settings = Settings(
        home=home, database_url=database_url, redis_url=url, secret_keys=("bench-secret",)
    )
    migrate.upgrade(settings.effective_database_url)
    return settings, redis_proc


def _throwaway_database(server_url: str) -> str:
    server = make_url(server_url)
    name = f"publisher_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    atexit.register(drop)
    return server.set(database=name).render_as_string(hide_password=False)


def seed_world(settings: Settings, channels: int = 20) -> World:
    """A workspace with `channels` X accounts and one campaign. Loads are spread over the
    accounts, as a community team's are: 2,000 posts on one X account would be held by its
    posting budget (200 per 15 minutes), which is not what these figures measure."""
    engine = make_engine(settings.effective_database_url)
    box = CredentialBox(settings.secret_keys)
    with session_scope(engine) as session:
        workspace = get_or_create_workspace(session, "bench")
        accounts = [
            Channel(
                workspace_id=workspace.id,
                platform="x",
                name=f"bench {i}",
                external_account_id=str(i),
                credentials=box.seal({"access_token": f"{X_TOKEN}-{i}"}),
            )
            for i in range(channels)
        ]
        campaign = Campaign(workspace_id=workspace.id, name="bench", objective="awareness")
        session.add_all([*accounts, campaign])
        session.flush()
        world = World(settings, [c.id for c in accounts], campaign.id, workspace.id)
    engine.dispose()
    return world


def seed_scheduled(
    session: Session, world: World, times: list[datetime], *, prefix: str
) -> list[str]:
    """Approved, scheduled publications at `times` (bulk inserts); returns their texts."""
    now = utcnow()
    texts = [f"{prefix} {i}" for i in range(len(times))]
    post_rows = [
        {
            "workspace_id": world.workspace_id,
            "campaign_id": world.campaign_id,
            "text": text,
            "content_hash": content_hash(text, None),
            "revision": 1,
            "created_at": now,
            "updated_at": now,
        }
        for text in texts
    ]
    post_ids = (
        session.execute(insert(Post).returning(Post.id, sort_by_parameter_order=True), post_rows)
        .scalars()
        .all()
    )
    session.execute(
        insert(Publication),
        [
            {
                "workspace_id": world.workspace_id,
                "post_id": post_id,
                "channel_id": world.channel_ids[i % len(world.channel_ids)],
                "status": "scheduled",
                "scheduled_at": at,
                "due_at": at,
                "time_zone": "UTC",
                "approved_hash": content_hash(text, None),
                "approved_at": now,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for i, (post_id, text, at) in enumerate(zip(post_ids, texts, times, strict=True))
        ],
    )
    return texts


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summary(lateness_ms: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(lateness_ms),
        "p99": percentile(lateness_ms, 99),
        "max": max(lateness_ms),
        "earliest": min(lateness_ms),
    }
