"""Real parts for every test: a database (SQLite file, or PostgreSQL when
PUBLISHER_TEST_DATABASE_URL names a server), a real Redis, the sandbox servers."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from adapters.sandbox import Sandbox
from publisher import jobs
from publisher.core.settings import Settings
from publisher.runtime import Runtime, build_runtime
from publisher.system import migrate
from publisher.system.embedded import redis_answers, start_private_redis
from tests.client import ApiClient, KeyRing, make_keys
from tests.helpers import set_clock
from tests.scenario import Scenario

TEST_SECRET = "test-secret-key-for-credentials"


def pytest_collection_modifyitems(config, items):
    """Tests of the embedded default use their own SQLite file in either pass, and tests
    of what no database changes (a browser's layout, the HTTP server's reads, the logs)
    check the same thing in both: the PostgreSQL pass would only run them again."""
    if not os.environ.get("PUBLISHER_TEST_DATABASE_URL"):
        return
    embedded = pytest.mark.skip(reason="the embedded default (SQLite) whatever the pass: run once")
    same = pytest.mark.skip(reason="nothing it checks depends on the database: run once")
    for item in items:
        if item.get_closest_marker("embedded"):
            item.add_marker(embedded)
        elif item.get_closest_marker("any_database"):
            item.add_marker(same)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database with the schema applied by the Alembic migrations."""
    server = os.environ.get("PUBLISHER_TEST_DATABASE_URL")
    if not server:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'publisher.db'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"publisher_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # an unreachable server fails here: never a silent skip
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL (or the local default) if it answers, else a private redis-server."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        yield url
        return
    url, proc = start_private_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def redis_url(redis_server_url: str) -> str:
    """A database index of its own, so the tests never touch the engine's index 0."""
    base = int(os.environ.get("PUBLISHER_TEST_REDIS_DB", "9"))
    # pytest-xdist's workers (gw0, gw1 ...) each empty their own index: two passes side by
    # side (bases 9 and 10) interleave, 9, 11, 13 and 10, 12, 14.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = base + 2 * int(worker.removeprefix("gw"))
    if db > 15:  # a default Redis has 16 databases
        raise pytest.UsageError(
            f"pytest-xdist worker {worker} would use Redis database {db}: a default Redis has "
            "0-15; run fewer workers (-n) or a lower PUBLISHER_TEST_REDIS_DB"
        )
    return make_url_redis(redis_server_url, db=db)


def make_url_redis(url: str, *, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
    return f"{base}/{db}"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def settings(database_url: str, redis_url: str, sandbox: Sandbox, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=(TEST_SECRET,),
        api_base_urls={
            "x": sandbox.x_url,
            "facebook": sandbox.graph_url,
            "instagram": sandbox.graph_url,
        },
        platform_timeout_s=2.0,
        job_timeout_s=30,
        reconcile_after_s=0.0,
    )


@pytest.fixture
def runtime(settings: Settings, sandbox: Sandbox) -> Iterator[Runtime]:
    """Clean tables, an empty Redis index, an empty sandbox ledger; the runtime bound to jobs."""
    rt = build_runtime(settings)
    _empty_tables(rt)
    rt.redis.flushdb()
    sandbox.ledger.reset()
    jobs.bind(rt)
    yield rt
    jobs.bind(None)
    rt.close()


def _empty_tables(rt: Runtime) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with rt.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # The audit log refuses DELETE (append-only triggers): lift them while emptying.
            guards = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _ in guards:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            for table in tables:
                conn.execute(table.delete())
            for _, sql in guards:
                conn.execute(text(sql))


@pytest.fixture
def app(runtime: Runtime):
    from api import create_app

    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def keys(runtime: Runtime) -> KeyRing:
    """Keys of every role in workspace 'acme', and an admin key in workspace 'other'."""
    return make_keys(runtime)


@pytest.fixture
def api(app, keys: KeyRing) -> ApiClient:
    """The HTTP client, as any role's key (`as_=`; editor by default)."""
    return ApiClient(app.test_client(), keys)


@pytest.fixture
def scenario(api: ApiClient) -> Scenario:
    """The standard world (channels, campaign, posts, approvals), built through `api`."""
    return Scenario(api)


@pytest.fixture
def redis(runtime: Runtime) -> Redis:
    return runtime.redis


@pytest.fixture
def at(runtime: Runtime):
    """Set the engine's clock to an instant (or an offset from now): `set_clock`, bound."""
    return functools.partial(set_clock, runtime)
