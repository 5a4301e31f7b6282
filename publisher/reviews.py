"""The committee's side: what waits for review, with previews, and the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from adapters.base import AdapterRegistry
from publisher import events
from publisher.content import content_of
from publisher.errors import Conflict, NotFound
from publisher.models import Channel, Post, Publication, Review
from publisher.pauses import is_paused
from publisher.states import Status
from publisher.workspaces import Actor, Permission


@dataclass(frozen=True)
class QueueItem:
    publication: Publication
    post: Post
    channel: Channel


def review_queue(
    session: Session,
    actor: Actor,
    *,
    campaign_id: int | None = None,
    channel_id: int | None = None,
) -> list[QueueItem]:
    """Publications waiting for a decision, soonest due first."""
    query = (
        select(Publication, Post, Channel)
        .join(Post, Post.id == Publication.post_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Publication.workspace_id == actor.workspace_id)
        .where(Publication.status == Status.IN_REVIEW)
    )
    if campaign_id is not None:
        query = query.where(Post.campaign_id == campaign_id)
    if channel_id is not None:
        query = query.where(Publication.channel_id == channel_id)
    query = query.order_by(Publication.scheduled_at, Publication.id)
    return [QueueItem(pub, post, channel) for pub, post, channel in session.exec(query)]


def preview(item: QueueItem, registry: AdapterRegistry) -> dict:
    """The content exactly as it would go out on the item's channel, measured and checked."""
    content = content_of(item.post)
    adapter = registry.get(item.channel.platform)
    if adapter is None:
        return {
            "platform": item.channel.platform,
            "channel_name": item.channel.name,
            "text": content.text,
            "link": content.link,
            "length": len(content.text),
            "limit": 0,
            "unit": "characters",
            "problems": ["platform not installed"],
        }
    return {
        "platform": adapter.platform,
        "channel_name": item.channel.name,
        "text": adapter.render_text(content),
        "link": content.link,
        "length": adapter.measure(content),
        "limit": adapter.limits.text,
        "unit": adapter.limits.unit,
        "problems": adapter.validate(content),
    }


def _pending(session: Session, actor: Actor, publication_id: int) -> tuple[Publication, Post]:
    pub = session.get(Publication, publication_id)
    if pub is None or pub.workspace_id != actor.workspace_id:
        raise NotFound(f"publication {publication_id} not found")
    if pub.status != Status.IN_REVIEW:
        raise Conflict(
            f"publication {publication_id} is {pub.status}, not in_review", current=pub.status
        )
    return pub, session.get(Post, pub.post_id)


def decide(
    session: Session,
    actor: Actor,
    publication_id: int,
    decision: Status,
    *,
    comment: str,
    now: datetime,
) -> Review:
    """Approve (then schedule), request changes or reject; the vote binds to this revision."""
    actor.require(Permission.DECIDE_REVIEWS)
    pub, post = _pending(session, actor, publication_id)
    review = Review(
        workspace_id=actor.workspace_id,
        publication_id=pub.id,
        reviewer_id=actor.key_id,
        decision=decision.value,
        comment=comment,
        revision=post.revision,
        content_hash=post.content_hash,
        created_at=now,
    )
    session.add(review)
    events.move(session, pub, decision, actor=actor.label, now=now, reason=comment or None)
    if decision == Status.APPROVED:
        pub.approved_hash = post.content_hash
        pub.approved_at = now
        pub.approved_by = actor.key_id
        events.move(session, pub, Status.SCHEDULED, actor=actor.label, now=now)
        session.flush()
        if is_paused(session, pub):
            events.move(
                session,
                pub,
                Status.PAUSED,
                actor=actor.label,
                now=now,
                reason="approved under an active pause",
            )
    session.flush()
    return review


def reviews_of(session: Session, actor: Actor, publication_id: int) -> list[Review]:
    query = (
        select(Review)
        .where(Review.workspace_id == actor.workspace_id)
        .where(Review.publication_id == publication_id)
        .order_by(Review.id)
    )
    return list(session.exec(query))
