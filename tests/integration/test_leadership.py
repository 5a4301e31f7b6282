"""One dispatcher leads; a standby takes over; a stale leader is fenced off."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime

from publisher.deliver import dispatch
from publisher.deliver.leader import KEY, Leadership
from publisher.dispatcher import run_dispatcher
from tests.helpers import soon, wait_until


def _leader_name(redis) -> str | None:
    value = redis.get(KEY)
    return value.decode().rsplit(":", 1)[0] if value else None


def test_one_leads_and_a_standby_takes_over_when_it_stops(runtime):
    stops = {name: threading.Event() for name in ("a", "b")}
    threads = {
        name: threading.Thread(
            target=run_dispatcher, args=(runtime, stop), kwargs={"name": name}, daemon=True
        )
        for name, stop in stops.items()
    }
    for thread in threads.values():
        thread.start()
    try:
        assert wait_until(lambda: _leader_name(runtime.redis) in stops, what="a leader")
        first = _leader_name(runtime.redis)
        stops[first].set()
        threads[first].join(10)
        other = "b" if first == "a" else "a"
        assert wait_until(lambda: _leader_name(runtime.redis) == other, what="the standby")
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            thread.join(10)


def test_a_standby_waits_while_the_lease_is_held(runtime):
    a = Leadership(runtime.redis, name="a")
    b = Leadership(runtime.redis, name="b")
    with runtime.session() as session:
        assert a.try_acquire(session, now=datetime.now(UTC))
        assert not b.try_acquire(session, now=datetime.now(UTC))
        assert a.renew()
    token_a = a.token
    a.release()
    with runtime.session() as session:
        assert b.try_acquire(session, now=datetime.now(UTC))
    assert b.token > token_a


def test_a_stale_leader_is_fenced_off_in_the_database(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    stale = Leadership(runtime.redis, name="stale")
    fresh = Leadership(runtime.redis, name="fresh")
    with runtime.session() as session:
        assert stale.try_acquire(session, now=datetime.now(UTC))
        old_token = stale.token
        runtime.redis.delete(KEY)  # its lease expired while it stalled
        assert fresh.try_acquire(session, now=datetime.now(UTC))
        assert fresh.token > old_token
        # The stale leader wakes up and tries to hand over: nothing moves.
        assert (
            dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC), fence=old_token)
            == 0
        )
        assert (
            dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC), fence=fresh.token)
            == 1
        )
    assert not stale.renew()


def test_tokens_keep_rising_after_redis_is_flushed(runtime):
    first = Leadership(runtime.redis, name="first")
    with runtime.session() as session:
        assert first.try_acquire(session, now=datetime.now(UTC))
    runtime.redis.flushdb()  # the epoch counter and the lease are gone
    second = Leadership(runtime.redis, name="second")
    with runtime.session() as session:
        assert second.try_acquire(session, now=datetime.now(UTC))
    assert second.token > first.token


def test_a_standby_touches_no_database_before_it_holds_the_lease(runtime):
    """Issue 12 item 6: a leader frozen inside a write transaction holds the database's
    lock; a standby asked the database first and stood blocked behind it. The lease is
    taken first: without it, no database work (the database is locked here)."""
    leader = Leadership(runtime.redis, name="frozen")
    with runtime.session() as session:
        assert leader.try_acquire(session, now=datetime.now(UTC))
    standby = Leadership(runtime.redis, name="standby")
    answered = threading.Event()
    with _database_locked(runtime):

        def try_standby() -> None:
            with runtime.session() as session:
                assert not standby.try_acquire(session, now=datetime.now(UTC))
            answered.set()

        thread = threading.Thread(target=try_standby, daemon=True)
        thread.start()
        # A hang detector, not a timing: without the lease it must not wait on the lock.
        assert answered.wait(20), "the standby waited on the database lock"
    thread.join(10)
    assert standby.token is None and _leader_name(runtime.redis) == "frozen"


@contextlib.contextmanager
def _database_locked(runtime):
    """Another connection holds the lock a writer (and the lease table's reader) needs."""
    with runtime.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("COMMIT")  # leave SQLAlchemy's own BEGIN IMMEDIATE
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            conn.exec_driver_sql("LOCK TABLE dispatcher_lease IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()
