"""Settling `unknown` publications: ask the platform before anything is sent again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from adapters.errors import AdapterError
from publisher.core.models import Channel, Post, Publication
from publisher.core.states import Status
from publisher.deliver.outcomes import RetryPolicy
from publisher.deliver.publish import AdapterFactory
from publisher.deliver.transport import RUN_RECONCILE, PublishQueue
from publisher.plan.content import content_of, post_hash
from publisher.plan.links import LinkMaker
from publisher.record import events

log = logging.getLogger(__name__)

RECONCILER = "system:reconciler"
# Look this far before the attempt: clocks differ and a platform stamps its own time.
LOOK_BACK = timedelta(minutes=2)
# A reconcile job that found nothing to settle (or failed) is tried again after this.
RECHECK = timedelta(seconds=60)
BATCH = 500


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether an `unknown` publication's check is due (a read: no write lock)."""
    return (
        session.execute(
            select(Publication.id)
            .where(Publication.status == Status.UNKNOWN, Publication.due_at <= now)
            .limit(1)
        ).first()
        is not None
    )


def dispatch_reconciliations(session: Session, queue: PublishQueue, *, now: datetime) -> int:
    """Hand `unknown` publications whose check is due to workers (at most one job each)."""
    moved = (
        session.execute(
            update(Publication)
            .where(
                Publication.id.in_(
                    select(Publication.id)
                    .where(Publication.status == Status.UNKNOWN, Publication.due_at <= now)
                    .limit(BATCH)
                    .scalar_subquery()
                )
            )
            .where(Publication.status == Status.UNKNOWN)
            .values(due_at=now + RECHECK)
            .returning(Publication.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    session.commit()
    if moved:
        queue.hand_over(moved, RUN_RECONCILE)
    return len(moved)


def requeue_lost_checks(
    session: Session, queue: PublishQueue, *, now: datetime, older_than: timedelta
) -> int:
    """Hand over again the checks whose job Redis no longer has: a frozen worker's blocking
    pop takes a job and sits on it (it is neither waiting nor running), which held a check
    back a whole RECHECK per frozen worker. A check that ran and found the publication not
    ready yet waits its RECHECK, as before."""
    handed = (
        session.execute(
            select(Publication.id)
            .where(Publication.status == Status.UNKNOWN)
            .where(Publication.due_at > now, Publication.due_at <= now + RECHECK - older_than)
            .limit(BATCH)
        )
        .scalars()
        .all()
    )
    lost = queue.missing(handed, RUN_RECONCILE, ended=True) if handed else []
    if lost:
        log.warning("handing over again %d checks whose jobs were lost: %s", len(lost), lost[:20])
        queue.hand_over(lost, RUN_RECONCILE)
    return len(lost)


def _still_unknown(session: Session, pub: Publication, known: tuple[str, ...]) -> bool:
    """Read the row again after the platform answered: still `unknown`, same parts out."""
    session.refresh(pub)
    return pub.status == Status.UNKNOWN and tuple(pub.part_ids or ()) == known


def reconcile_publication(
    session: Session,
    publication_id: int,
    *,
    adapter_for: AdapterFactory,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    settle_after: timedelta,
    links: LinkMaker | None,
) -> str:
    """Found on the platform: `published` with its id. Proven absent: safe to send again.
    `links`: the engine's LinkMaker, for the short links the publication went out with."""
    pub = session.get(Publication, publication_id)
    if pub is None or pub.status != Status.UNKNOWN:
        return "skipped"
    post = session.get(Post, pub.post_id)
    channel = session.get(Channel, pub.channel_id)
    attempted_at = pub.claimed_at or pub.updated_at
    if post_hash(post) != pub.approved_hash:
        # Only the approved content can have been sent, and we no longer have its text.
        pub.last_error = "content changed since it was sent; settle it by hand"
        session.commit()
        return pub.status
    content = content_of(post, channel, publication_id=pub.id, links=links)
    known = tuple(pub.part_ids or ())
    # Nothing open while the platform answers: a transaction held across the network
    # would stall every SQLite writer, and a token refresh in adapter_for writes itself.
    session.commit()
    try:
        adapter = adapter_for(channel)
        total = len(adapter.parts(content))
        if known:  # a thread partly out: look for the parts after those
            found = adapter.find(content, since=attempted_at - LOOK_BACK, after=known)
        else:
            found = adapter.find(content, since=attempted_at - LOOK_BACK)
    except (AdapterError, ValueError) as exc:
        log.warning("publication %s: reconciliation could not ask the platform: %s", pub.id, exc)
        if _still_unknown(session, pub, known):
            pub.last_error = f"reconciliation pending: {exc}"[:2000]
            session.commit()
        return pub.status
    if not _still_unknown(session, pub, known):
        return "skipped"  # settled meanwhile (another reconciliation, a late answer)
    now = clock()
    out = list(found.part_ids or (found.external_id,)) if found is not None else list(known)
    if total > 1 and len(out) > len(known):
        pub.part_ids = out  # these parts are out: a retry resumes after them
    if found is not None and len(out) < total:
        found = None  # the rest of the thread is not there (yet)
    if found is not None:
        pub.external_id, pub.external_url = found.external_id, found.url
        pub.published_at = pub.published_at or now
        pub.metrics_due_at = now  # its metrics' schedule starts (publisher/engage/metrics.py)
        events.move(
            session,
            pub,
            Status.PUBLISHED,
            actor=RECONCILER,
            now=now,
            reason=f"found on the platform as {found.external_id}",
        )
    elif now - attempted_at < settle_after:
        pub.due_at = attempted_at + settle_after  # the platform may not list it yet
    elif pub.attempts >= policy.max_attempts:
        pub.last_error = f"not on the platform after {pub.attempts} attempts: {pub.last_error}"
        events.move(session, pub, Status.FAILED, actor=RECONCILER, now=now, reason=pub.last_error)
    else:
        pub.due_at = now
        events.move(
            session,
            pub,
            Status.SCHEDULED,
            actor=RECONCILER,
            now=now,
            reason=(
                f"parts 1-{len(out)} of {total} are out, the rest is not: safe to send the rest"
                if out
                else "not on the platform: safe to send again"
            ),
        )
    session.commit()
    return pub.status
