"""Review deadlines: a reminder before the committee's deadline, and expiry for what was
not approved by its scheduled time (held, reported, never published)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from publisher.core.models import (
    ApiKey,
    Channel,
    Comment,
    Event,
    Post,
    Publication,
    ReviewPolicy,
)
from publisher.core.states import Status
from publisher.record import events
from publisher.review import policies
from publisher.review.policies import Policy

log = logging.getLogger(__name__)

ACTOR = "system:deadlines"
REMINDER = "review.deadline_near"
BATCH = 500


def sweep(session: Session, *, now: datetime) -> tuple[int, int]:
    """One pass: (reminders sent, publications expired). The caller commits."""
    return remind(session, now=now), expire(session, now=now)


class _Policies:
    """Effective policies per (workspace, campaign), read once per pass."""

    def __init__(self, session: Session) -> None:
        self.session, self.cache = session, {}

    def of(self, pub: Publication, post: Post) -> Policy:
        key = (pub.workspace_id, post.campaign_id)
        if key not in self.cache:
            self.cache[key] = policies.effective(self.session, *key)
        return self.cache[key]


def _waiting(session: Session, *conditions):
    query = (
        select(Publication, Post)
        .join(Post, Post.id == Publication.post_id)
        .where(Publication.status == Status.IN_REVIEW, *conditions)
    )
    return session.exec(query.order_by(Publication.due_at).limit(BATCH)).all()


def expire(session: Session, *, now: datetime) -> int:
    """In review past its scheduled time (and the policy's grace): expired, with the
    author named in the event so the webhook tells them."""
    known = _Policies(session)
    expired = 0
    for pub, post in _waiting(session, Publication.due_at <= now):
        policy = known.of(pub, post)
        if now <= policy.expires_at(pub.due_at):
            continue
        author = session.get(ApiKey, post.created_by) if post.created_by else None
        _tell_the_author(session, pub, post, now=now)
        events.move(
            session,
            pub,
            Status.EXPIRED,
            actor=ACTOR,
            now=now,
            reason=f"not approved by its time {pub.due_at.isoformat()}: held, never published",
            data={
                "revision": post.revision,
                "author_id": post.created_by,
                "author": author.name if author else None,
            },
        )
        expired += 1
    if expired:
        log.warning("%d publication(s) expired unapproved", expired)
    return expired


def _longest_lead(session: Session) -> timedelta | None:
    """The furthest ahead any policy reminds: nothing later needs looking at."""
    leads = [
        timedelta(minutes=rules["review_deadline_minutes"] + rules.get("remind_minutes", 0))
        for rules in session.exec(select(ReviewPolicy.rules))
        if rules.get("review_deadline_minutes") is not None
    ]
    return max(leads, default=None)


def remind(session: Session, *, now: datetime) -> int:
    """One `review.deadline_near` event per publication whose review deadline is near."""
    lead = _longest_lead(session)
    if lead is None:
        return 0
    candidates = _waiting(
        session, Publication.scheduled_at <= now + lead, Publication.scheduled_at > now
    )
    if not candidates:
        return 0
    ids = [pub.id for pub, _ in candidates]
    done = set(
        session.exec(
            select(Event.publication_id)
            .where(Event.kind == REMINDER, Event.publication_id.in_(ids))
            .distinct()
        )
    )
    known = _Policies(session)
    sent = 0
    for pub, post in candidates:
        policy = known.of(pub, post)
        deadline = policy.deadline(pub.scheduled_at)
        if pub.id in done or deadline is None:
            continue
        if now < deadline - timedelta(minutes=policy.rules.remind_minutes):
            continue
        events.record(
            session,
            workspace_id=pub.workspace_id,
            kind=REMINDER,
            actor=ACTOR,
            now=now,
            post_id=post.id,
            publication_id=pub.id,
            channel_id=pub.channel_id,
            reason=f"review deadline {deadline.isoformat()}",
            data={
                "review_deadline": deadline.isoformat(),
                "scheduled_at": pub.scheduled_at.isoformat(),
                "revision": post.revision,
            },
        )
        sent += 1
    return sent


def _tell_the_author(session: Session, pub: Publication, post: Post, *, now: datetime) -> None:
    """A line in the post's discussion, where the author looks (the webhook tells tools)."""
    channel = session.get(Channel, pub.channel_id)
    session.add(
        Comment(
            workspace_id=post.workspace_id,
            post_id=post.id,
            author_id=None,
            body=f"Not approved by {pub.due_at.isoformat()}: publication {pub.id} on "
            f"{channel.name} will not be published. Plan it again with a new post.",
            revision=post.revision,
            created_at=now,
        )
    )
