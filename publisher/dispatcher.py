"""The dispatcher loop: lead (or stand by), sleep until the next due time or a wake-up,
hand over what is due, sweep. Survives Redis and database outages by retrying."""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from publisher.core.clock import ClockSkewed
from publisher.deliver import dispatch, reconcile
from publisher.deliver.leader import Leadership
from publisher.deliver.pauses import pause_stragglers
from publisher.deliver.reconcile import dispatch_reconciliations
from publisher.deliver.transport import (
    RUN_DELIVER,
    RUN_PULL_AUDIENCE,
    RUN_PULL_METRICS,
    PublishQueue,
)
from publisher.engage import audience, interactions, metrics
from publisher.plan import media, series
from publisher.record import webhooks
from publisher.review import deadlines
from publisher.runtime import Runtime
from publisher.system.logs import shown_url

log = logging.getLogger(__name__)

LEASE_S = 3.0
# The leader renews its lease at least this often; a standby polls as often.
TICK_S = 1.0
SWEEP_EVERY_S = 5.0
# Claims are looked at more often: a dead worker's are settled within a second of this.
CLAIMS_EVERY_S = 1.0
MEDIA_CLEAN_EVERY = timedelta(hours=1)
OUTAGE_RETRY_S = 0.5


def run_dispatcher(runtime: Runtime, stop: threading.Event, *, name: str | None = None) -> None:
    """Run until `stop` is set. Hands publications over a moment before they are due
    (`dispatch.HAND_OVER_EARLY`); the workers' claims never take one before."""
    leadership = Leadership(runtime.redis, lease_s=LEASE_S, name=name)
    loop = _Loop(runtime, leadership)
    with contextlib.suppress(RedisError):  # else on the first wait
        runtime.queue.listen_for_wakes()
    log.info("dispatcher %s started", leadership.name)
    while not stop.is_set():
        try:
            sleep_s = loop.step()
            if sleep_s > 0 and not stop.is_set():
                # A standby waits on the wake-ups too: read, they do not pile up in Redis
                # (which would cut a subscriber that never reads them).
                runtime.queue.wait_for_wake(sleep_s)
        except (RedisError, DBAPIError) as exc:
            redis = isinstance(exc, RedisError)
            log.warning(
                "dispatcher %s: %s unavailable at %s (%s); again in %.0f s (start it, or set %s)",
                leadership.name,
                "Redis" if redis else "the database",
                shown_url(runtime.settings.redis_url if redis else str(runtime.engine.url)),
                type(exc).__name__,
                OUTAGE_RETRY_S,
                "REDIS_URL" if redis else "DATABASE_URL",
            )
            leadership.token = None  # lead again only through a fresh lease and token
            stop.wait(OUTAGE_RETRY_S)
        except ClockSkewed as exc:
            log.error("dispatcher %s: %s", leadership.name, exc)
            with contextlib.suppress(RedisError):
                leadership.release()  # a standby with a good clock takes over
            leadership.token = None
            stop.wait(TICK_S)
    with contextlib.suppress(RedisError):
        leadership.release()
    log.info("dispatcher %s stopped", leadership.name)


class _Loop:
    def __init__(self, runtime: Runtime, leadership: Leadership) -> None:
        self.runtime = runtime
        self.leadership = leadership
        settings = runtime.settings
        self.claim_timeout = timedelta(
            seconds=settings.claim_lease_s + settings.platform_timeout_s + settings.claim_grace_s
        )
        self.requeue_after = timedelta(seconds=runtime.settings.requeue_after_s)
        self.last_sweep = runtime.clock() - timedelta(seconds=SWEEP_EVERY_S)
        self.last_claims = self.last_sweep
        self.last_media_clean = runtime.clock() - MEDIA_CLEAN_EVERY

    def step(self) -> float:
        """One pass; returns how long to sleep."""
        rt, clock = self.runtime, self.runtime.clock
        rt.check_clock("dispatcher")
        with rt.session() as session, rt.read_session() as look:
            if self.leadership.token is None:
                if not self.leadership.try_acquire(session, now=clock()):
                    return TICK_S
            elif not self.leadership.renew():
                return 0
            fence = self.leadership.token
            # Reads go through `look` (no write lock); `session` writes only when there is
            # something to write: an idle pass leaves the one SQLite writer's lock alone.
            # The first hand-over may be a moment early (a burst's first publications are
            # then claimed the moment they are due); the rest go when due.
            limit, early, capped = dispatch.FIRST_BATCH, dispatch.HAND_OVER_EARLY, False
            while True:
                moved = dispatch.dispatch_due(
                    session,
                    rt.queue,
                    now=clock(),
                    fence=fence,
                    budgets=rt.budgets,
                    look=look,
                    limit=limit,
                    early=early,
                )
                if moved < limit:
                    break
                capped = capped or early > timedelta(0)  # a burst: more due in this moment
                limit, early = dispatch.BATCH, timedelta(0)
            if reconcile.any_due(look, now=clock()):
                dispatch_reconciliations(session, rt.queue, now=clock())
            if webhooks.any_due(look, now=clock()):
                hand_over_deliveries(session, rt.queue, now=clock())
            if metrics.any_due(look, now=clock()):
                hand_over_pulls(session, rt, now=clock())
            look.rollback()
            if (clock() - self.last_claims).total_seconds() >= CLAIMS_EVERY_S:
                dispatch.expire_claims(
                    session, now=clock(), claim_timeout=self.claim_timeout, look=look
                )
                if rt.clicks.waiting():
                    rt.queue.hand_over_flush()
                self.last_claims = clock()
            if (clock() - self.last_sweep).total_seconds() >= SWEEP_EVERY_S:
                self._sweep(session)
            next_due = dispatch.next_due_at(look, now=clock())
            look.rollback()
        if next_due is None:
            return TICK_S
        wake_at = next_due - dispatch.HAND_OVER_EARLY
        if capped and wake_at <= clock():
            # A burst's first ones are handed over early; the rest go when they are due (not
            # FIRST_BATCH at a time until then, taking the cores the first claims need).
            wake_at = next_due
        return min(max((wake_at - clock()).total_seconds(), 0.0), TICK_S)

    def _sweep(self, session) -> None:
        clock = self.runtime.clock
        dispatch.requeue_lost(
            session, self.runtime.queue, now=clock(), older_than=self.requeue_after
        )
        reconcile.requeue_lost_checks(
            session, self.runtime.queue, now=clock(), older_than=self.requeue_after
        )
        pause_stragglers(session, now=clock())
        deadlines.sweep(session, now=clock())
        interactions.forget_deliveries(session, now=clock())
        session.commit()
        if audience.any_due(session, now=clock()):  # daily reads: the sweep's pace will do
            hand_over_audience(session, self.runtime, now=clock())
        if series.extend_all(session, now=clock()):
            self.runtime.queue.wake()
        session.commit()
        if clock() - self.last_media_clean >= MEDIA_CLEAN_EVERY:
            removed = media.clean_orphans(session, self.runtime.media, now=clock())
            if removed:
                log.info("removed %d media no post uses, older than a day", removed)
            self.last_media_clean = clock()
        self.last_sweep = clock()


def hand_over_pulls(session: Session, rt: Runtime, *, now: datetime) -> int:
    """Lease the metrics pulls due now, a job per channel batch, and hand them over."""
    batches = metrics.due(session, now=now, budgets=rt.read_budgets, schedule=rt.metrics_schedule)
    session.commit()
    jobs = [(channel_id, pull_id, *ids) for channel_id, pull_id, ids in batches]
    return rt.queue.hand_over_batches(jobs, RUN_PULL_METRICS)


def hand_over_audience(session: Session, rt: Runtime, *, now: datetime) -> int:
    """Lease the channels' audience reads due now, a job each, and hand them over."""
    reads = audience.due(session, now=now, budgets=rt.read_budgets)
    session.commit()
    return rt.queue.hand_over_batches(reads, RUN_PULL_AUDIENCE)


def hand_over_deliveries(session: Session, queue: PublishQueue, *, now: datetime) -> int:
    """Lease the webhook deliveries due now and hand them to workers."""
    ids = webhooks.due(session, now=now)
    session.commit()
    if ids:
        queue.hand_over(ids, RUN_DELIVER)
    return len(ids)
