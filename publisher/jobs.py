"""RQ entry points: thin, they take ids, find the runtime and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from adapters.errors import AdapterError
from adapters.http import PlatformSession
from publisher.core.clock import ClockSkewed
from publisher.core.db import utcnow
from publisher.core.settings import Settings
from publisher.core.states import Status
from publisher.deliver import publish, reconcile
from publisher.deliver.transport import MAX_CHUNK
from publisher.engage import audience, metrics
from publisher.record import webhooks
from publisher.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)

_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    """Set the runtime the jobs of this process use (the worker's composition root does)."""
    global _runtime
    _runtime = runtime


def warm_up(runtime: Runtime) -> None:
    """Pay before the first job what the first job would pay: SQLAlchemy sets its mappers
    up on first use and compiles a statement the first time it runs (together 20-30 ms,
    which were in the lateness of the first publication of a burst), and the sender
    threads start on first use. Best effort: a database not reachable yet is the first
    job's business."""
    configure_mappers()
    try:
        with runtime.session() as session:
            publish.warm_up(session, now=utcnow())
            session.rollback()
    except SQLAlchemyError as exc:
        log.debug("warm-up skipped: %s", exc)
    for _ in range(MAX_CHUNK):
        runtime.senders.submit(int)


def current() -> Runtime:
    if _runtime is None:
        bind(build_runtime(Settings.from_env()))
    assert _runtime is not None
    return _runtime


def _clock_is_good(runtime: Runtime, publication_ids: tuple[int, ...]) -> bool:
    """False (and said) when this process's clock is too far from the shared one: the
    publications stay `queued`, and are handed over again after PUBLISHER_REQUEUE_AFTER."""
    try:
        runtime.check_clock("worker")
    except ClockSkewed as exc:
        log.error("not sending %s: %s", list(publication_ids), exc)
        return False
    return True


def run_publish(*publication_ids: int) -> int:
    """Publish the publications on one of this process's job threads (`publish_batch`):
    the worker takes its next job while this one's platform answers are awaited, up to
    `runtime.IN_FLIGHT` publications (then it waits for a job to end). A job that blocked
    until its answers came back made each worker wait out a platform's latency for every
    job: publications due one after another queued behind each other. The claims, leases and
    outcomes are the same; a worker that stops finishes the jobs it has under way first.
    Returns how many publications it took."""
    runtime = current()
    if not _clock_is_good(runtime, publication_ids):
        return 0
    runtime.in_flight.run(_publish, runtime, publication_ids, weight=len(publication_ids))
    return len(publication_ids)


def publish_batch(*publication_ids: int) -> list[str]:
    """Publish each publication that can still be claimed, in this thread (several are
    sent concurrently); returns their statuses."""
    runtime = current()
    if not _clock_is_good(runtime, publication_ids):
        return ["skipped"] * len(publication_ids)
    return _publish(runtime, publication_ids)


def _publish(runtime: Runtime, publication_ids: tuple[int, ...]) -> list[str]:
    with runtime.session() as session:
        statuses = publish.publish_many(
            session,
            publication_ids,
            adapter_for=runtime.adapter_for,
            clock=runtime.clock,
            policy=runtime.policy,
            senders=runtime.senders,
            store=runtime.media,
            lease_s=runtime.settings.claim_lease_s,
            links=runtime.links,
        )
    if Status.SCHEDULED in statuses:
        runtime.queue.wake()  # held or retried: the dispatcher must see its new due time
    return statuses


def run_reconcile(*publication_ids: int) -> list[str]:
    """Settle `unknown` publications by asking their platform, concurrently on the
    checker threads (each with its own session; apart from the senders): after a worker
    died with a chunk of claims, its publications are looked up together, not one
    platform answer after another."""
    runtime = current()
    if not _clock_is_good(runtime, publication_ids):
        return ["skipped"] * len(publication_ids)
    settle_after = timedelta(seconds=runtime.settings.reconcile_after_s)

    def settle(publication_id: int) -> str:
        with runtime.session() as session:
            return reconcile.reconcile_publication(
                session,
                publication_id,
                adapter_for=runtime.adapter_for,
                clock=runtime.clock,
                policy=runtime.policy,
                settle_after=settle_after,
                links=runtime.links,
            )

    statuses = list(runtime.checkers.map(settle, publication_ids))
    if {Status.SCHEDULED, Status.UNKNOWN} & set(statuses):
        runtime.queue.wake()
    return statuses


def run_deliver(*delivery_ids: int) -> list[str]:
    """POST webhook deliveries; no transaction is open while a receiver answers."""
    runtime = current()
    statuses = []
    for delivery_id in delivery_ids:
        with runtime.session() as session:
            outgoing = webhooks.prepare(session, delivery_id, box=runtime.box, now=runtime.clock())
            session.commit()
            if outgoing is None:
                statuses.append("skipped")
                continue
            answer = webhooks.send(outgoing, allow_private=runtime.settings.allow_private_urls)
            statuses.append(webhooks.record(session, delivery_id, answer, now=runtime.clock()))
            session.commit()
    return statuses


def run_pull_metrics(channel_id: int, pull_id: int, *publication_ids: int) -> int:
    """Pull one batch of a channel's publications' metrics and store them; no
    transaction is open while the platform answers. Returns the snapshots stored."""
    runtime = current()
    with runtime.session() as session:
        batch = metrics.prepare(session, channel_id, pull_id, publication_ids)
        session.commit()
        if batch is None:
            return 0
        before = PlatformSession.sent_by_this_thread()
        try:
            found = runtime.adapter_for(batch.channel).fetch_metrics(batch.post_ids())
        except AdapterError as refused:
            found = refused
        except ValueError as exc:  # stored credentials that no longer decrypt or parse
            found = AdapterError(f"stored credentials unusable: {exc}")
        calls = PlatformSession.sent_by_this_thread() - before
        metrics.record(
            session,
            batch,
            found,
            calls=calls,
            now=runtime.clock(),
            schedule=runtime.metrics_schedule,
        )
        session.commit()
    return len(batch.posts)


def run_pull_audience(channel_id: int, pull_id: int) -> int:
    """Read how many follow the channel's account and store it; no transaction is open
    while the platform answers. Returns 1 when a snapshot was stored."""
    runtime = current()
    with runtime.session() as session:
        channel = audience.prepare(session, channel_id, pull_id)
        session.commit()
        if channel is None:
            return 0
        before = PlatformSession.sent_by_this_thread()
        try:
            found: int | AdapterError = runtime.adapter_for(channel).audience()
        except AdapterError as refused:
            found = refused
        except ValueError as exc:  # stored credentials that no longer decrypt or parse
            found = AdapterError(f"stored credentials unusable: {exc}")
        calls = PlatformSession.sent_by_this_thread() - before
        stored = audience.record(
            session, channel_id, pull_id, found, calls=calls, now=runtime.clock()
        )
        session.commit()
    return 0 if stored is None else 1


def run_flush_clicks() -> int:
    """Write the clicks through the short links that wait in Redis (publisher/engage/clicks.py)
    on this process's background thread: the worker goes on taking publications meanwhile
    (written on the worker's own thread, they held publications back for as long as
    readers kept clicking: 8.5 s late under 2,000 clicks/s, bench/redirects.py). Nothing
    when this process writes them already. Returns 0: the clicks are counted as written;
    a write that fails is logged, and the clicks wait for the next."""
    runtime = current()
    if not runtime.background.busy():
        runtime.background.run(_flush_clicks, runtime)
    return 0


def _flush_clicks(runtime: Runtime) -> None:
    with runtime.session() as session:
        runtime.clicks.flush(session)
