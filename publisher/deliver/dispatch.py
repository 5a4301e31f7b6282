"""Handing due publications to workers: a moment before their time (the worker's claim waits
for it: nothing is sent early), again if Redis lost them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlmodel import Session

from publisher.core import procs
from publisher.core.models import Channel, DispatcherLease, Publication
from publisher.core.states import Status
from publisher.deliver.budgets import Budgets, within_budgets
from publisher.deliver.pauses import under_active_pause
from publisher.deliver.transport import PublishQueue
from publisher.plan.channels import ACTIVE
from publisher.record import events

log = logging.getLogger(__name__)

DISPATCHER = "system:dispatcher"
BATCH = 250
# A pass's first hand-over is small: when many fall due at once, the first of them go out
# after a transaction of this many rows, not of BATCH (which took 40 ms on SQLite), and
# in small jobs that every live worker claims at once.
FIRST_BATCH = 32
# The dispatcher hands publications over this long before they fall due: the worker holds
# them and claims each the moment it is due (`publish.publish_many`), so the hand-over's
# transaction, Redis and the worker's pick-up (together 30-40 ms on PostgreSQL, a third of
# the first publication's lateness in a burst) are out of the way by then.
HAND_OVER_EARLY = timedelta(milliseconds=50)


def available_channels(now: datetime):
    """Channels that may publish at `now`: active (credentials work) and not held."""
    return select(Channel.id).where(
        Channel.status == ACTIVE, or_(Channel.held_until.is_(None), Channel.held_until <= now)
    )


def dispatch_due(
    session: Session,
    queue: PublishQueue,
    *,
    now: datetime,
    fence: int | None = None,
    budgets: Budgets | None = None,
    look: Session | None = None,
    limit: int = BATCH,
    early: timedelta = timedelta(0),
) -> int:
    """Mark the due publications `queued` (`limit` at most, earliest first), commit, then
    enqueue them. Returns how many. With `early`, those due within that much of `now` too.
    With `fence`, nothing moves unless that token is still the leader's in the database;
    with `budgets`, no channel gets more than its platform's write limits allow. With
    `look` (a read-only session), what is due is read there, and `session` writes only
    when something is: an idle pass takes no write lock (on SQLite, the one writer's).
    The hand-over itself moves only rows still `scheduled`; the claim re-checks the rest."""
    due_ids = (
        select(Publication.id, Publication.channel_id, Channel.platform)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Publication.status == Status.SCHEDULED)
        .where(Publication.due_at <= now + early)
        .where(Publication.channel_id.in_(available_channels(now)))
        .where(~under_active_pause())
        .order_by(Publication.due_at)
        .limit(limit)
    )
    # Read the due ids first (an index range scan that finds nothing on an idle pass), then
    # one conditional UPDATE by primary key: a row moved by someone else in between is
    # simply not returned. (An UPDATE ... WHERE id IN (subquery) made SQLite walk every
    # scheduled row through the status index.)
    reader = look or session
    rows = [tuple(row) for row in reader.execute(due_ids)]
    if rows and budgets:
        due = within_budgets(session, rows, budgets, now=now, look=reader)
    else:
        due = [r[0] for r in rows]
    if look is not None:
        look.rollback()  # end the snapshot: the next pass sees what changed
    if not rows:
        if look is None:
            session.commit()
        return 0
    if not due:
        session.commit()  # a channel may have just been held
        return 0
    handover = (
        update(Publication)
        .where(Publication.id.in_(due))
        .where(Publication.status == Status.SCHEDULED)
    )
    if fence is not None:
        handover = handover.where(
            exists(select(DispatcherLease.id).where(DispatcherLease.token == fence))
        )
    moved = session.execute(
        handover.values(status=Status.QUEUED, queued_at=now, updated_at=now).returning(
            Publication.id, Publication.workspace_id, Publication.post_id
        )
    ).all()
    if not moved:
        return 0
    events.record_bulk_transition(
        session,
        moved,
        from_status=Status.SCHEDULED,
        to_status=Status.QUEUED,
        actor=DISPATCHER,
        now=now,
    )
    session.commit()
    queue.hand_over(pid for pid, *_ in moved)
    log.info("dispatched %d publications due by %s", len(moved), now.isoformat())
    return len(moved)


def next_due_at(session: Session, *, now: datetime) -> datetime | None:
    """When the dispatcher next has something to do: a due time, or a channel hold ending."""
    # ORDER BY ... LIMIT 1, not MIN(): with filters, MIN() reads every scheduled row,
    # while the ordered index walk stops at the first row that passes them.
    due = session.execute(
        select(Publication.due_at)
        .where(Publication.status == Status.SCHEDULED)
        .where(Publication.channel_id.in_(available_channels(now)))
        .where(~under_active_pause())
        .order_by(Publication.due_at)
        .limit(1)
    ).scalar_one_or_none()
    check = session.execute(
        select(func.min(Publication.due_at)).where(Publication.status == Status.UNKNOWN)
    ).scalar_one_or_none()
    hold_ends = session.execute(
        select(func.min(Channel.held_until)).where(Channel.held_until > now)
    ).scalar_one_or_none()
    return min((t for t in (due, check, hold_ends) if t is not None), default=None)


def requeue_lost(
    session: Session, queue: PublishQueue, *, now: datetime, older_than: timedelta
) -> int:
    """Hand over again the `queued` publications whose job Redis no longer has."""
    stale = (
        session.execute(
            select(Publication.id)
            .where(Publication.status == Status.QUEUED)
            .where(Publication.queued_at <= now - older_than)
            .limit(BATCH)
        )
        .scalars()
        .all()
    )
    lost = queue.missing(stale) if stale else []
    if lost:
        log.warning("re-enqueueing %d publications whose jobs were lost: %s", len(lost), lost[:20])
        queue.hand_over(lost)
    return len(lost)


def expire_claims(
    session: Session, *, now: datetime, claim_timeout: timedelta, look: Session | None = None
) -> int:
    """Claims whose worker died (or froze past its lease) become `unknown`, for the
    reconciler to ask the platform: at once when their process is certainly gone
    (publisher/core/procs.py), else `claim_timeout` (lease + platform timeout + grace) after
    their last renewal, when no request under that lease can still be under way."""
    cutoff = now - claim_timeout
    reader = look or session
    claims = reader.execute(
        select(Publication.claimed_by, Publication.claimed_at).where(
            Publication.status == Status.PUBLISHING
        )
    ).all()
    if look is not None:
        look.rollback()
    # Read first, write only when something is to be settled (a write on SQLite takes
    # the one writer lock, and this runs every second).
    holders = {holder for holder, _ in claims if holder is not None}
    dead = [holder for holder in holders if procs.gone(procs.ProcessId.parse(holder))]
    expired = 0
    if dead:
        expired += _expire(
            session,
            Publication.claimed_by.in_(dead),
            now=now,
            why="the worker process died before recording an outcome",
        )
    if any(at is not None and at <= cutoff for _, at in claims):
        expired += _expire(
            session,
            Publication.claimed_at <= cutoff,
            now=now,
            why="claim expired: the worker stopped before recording an outcome",
        )
    if expired or look is None:
        session.commit()
    return expired


def _expire(session: Session, which, *, now: datetime, why: str) -> int:
    stuck = session.execute(
        update(Publication)
        .where(and_(Publication.status == Status.PUBLISHING, which))
        .values(status=Status.UNKNOWN, updated_at=now, last_error=why)
        .returning(Publication.id, Publication.workspace_id, Publication.post_id)
        .execution_options(synchronize_session=False)
    ).all()
    events.record_bulk_transition(
        session,
        stuck,
        from_status=Status.PUBLISHING,
        to_status=Status.UNKNOWN,
        actor=DISPATCHER,
        now=now,
        reason=why,
    )
    if stuck:
        log.warning("%s; now unknown: %s", why, [pid for pid, *_ in stuck][:20])
    return len(stuck)
