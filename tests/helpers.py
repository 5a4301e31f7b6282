"""Test helpers: moving the engine's clock, running the pipeline in this process, a
digest of every row, waiting on other processes. The API client is `tests.client`, the
standard world `tests.scenario`."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from sqlalchemy import select
from sqlmodel import SQLModel

from publisher.deliver import dispatch
from publisher.runtime import Runtime


def set_clock(runtime: Runtime, when: datetime | timedelta, *, running: bool = False) -> datetime:
    """Set the engine's clock in this process (the API's, the dispatcher's and the in-process
    workers' "now") to `when`: an instant, or an offset from now. It stands still there, or
    with `running` goes on from there at the real pace (`timedelta(0), running=True` is the
    real time again). Returns the instant. The one way tests move time (the `at` fixture is
    this, bound to the runtime)."""
    instant = datetime.now(UTC) + when if isinstance(when, timedelta) else when
    if running:
        start = time.monotonic()
        runtime.clock = lambda: instant + timedelta(seconds=time.monotonic() - start)
    else:
        runtime.clock = lambda: instant
    return instant


def soon(seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def run_pipeline(runtime: Runtime, *, now: datetime | None = None) -> int:
    """One dispatcher pass at `now`, then a burst worker in this process. Returns dispatched."""
    with runtime.session() as session:
        count = dispatch.dispatch_due(session, runtime.queue, now=now or datetime.now(UTC))
    drain_queue(runtime)
    return count


def run_after_due(runtime: Runtime, at) -> None:
    """Publish what is due a few minutes from now, with the engine's clock (`at`) there."""
    later = soon(300)
    at(later)
    run_pipeline(runtime, now=later)


def drain_queue(runtime: Runtime) -> None:
    """A burst worker in this process, until the queues are empty and the jobs it took
    have ended (publish jobs run on the process's job threads)."""
    SimpleWorker(runtime.queue.queues, connection=runtime.redis).work(burst=True)
    runtime.in_flight.drain()
    runtime.background.drain()


def rows_digest(runtime: Runtime) -> dict[str, str]:
    """A digest of every table's rows: 'nothing written' means this does not change (an
    in-place UPDATE changes it where a row count would not)."""
    digests = {}
    with runtime.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = [c for c in table.primary_key.columns] or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            blob = repr([tuple(row) for row in rows]).encode()
            digests[table.name] = hashlib.sha256(blob).hexdigest()
    return digests


def reconcile_pass(runtime: Runtime, *, now: datetime | None = None) -> int:
    """One dispatcher pass over `unknown` publications, then a burst worker."""
    from publisher.deliver.reconcile import dispatch_reconciliations

    with runtime.session() as session:
        count = dispatch_reconciliations(session, runtime.queue, now=now or datetime.now(UTC))
    drain_queue(runtime)
    return count


def wait_until(predicate, *, timeout_s: float = 60.0, what: str = "condition", state=None):
    """Poll `predicate` until it returns something truthy, and return that. A deadline for
    waiting on other processes, not a timing assertion: only a hang makes it fail."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f": {state()}" if state else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        time.sleep(min(0.05, remaining))


def flush_clicks(runtime: Runtime) -> int:
    """Write the clicks waiting in Redis, as the background job does."""
    with runtime.session() as session:
        return runtime.clicks.flush(session)


def a_writer_is_waiting(runtime: Runtime) -> bool:
    """Whether a write transaction is blocked behind another right now: on PostgreSQL, a
    session of this database waiting for a lock (pg_stat_activity); on SQLite, a waiter on
    the writer queue's flock (/proc/locks marks a blocked request with "->"). A race test
    waits for this instead of sleeping, so it cannot pass with its two transactions one
    after the other."""
    import os

    url = runtime.engine.url
    if url.get_backend_name() == "postgresql":
        with runtime.engine.connect() as conn:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return waiting.scalar_one() > 0
    inode = os.stat(f"{url.database}-writer.lock").st_ino
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if len(fields) > 6 and fields[1] == "->" and fields[6].endswith(f":{inode}"):
                return True
    return False
