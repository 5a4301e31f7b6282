"""The committee's side: what waits for review, with previews, and the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from adapters.base import AdapterRegistry, MediaFile
from publisher import events
from publisher.content import content_of, media_refs
from publisher.errors import Conflict, NotFound
from publisher.models import Channel, Post, Publication, Review, Series
from publisher.pauses import is_paused
from publisher.posts import end_series
from publisher.states import Status
from publisher.workspaces import Actor, Permission


@dataclass
class QueueItem:
    publication: Publication
    post: Post
    channel: Channel
    series: Series | None = None
    occurrences: int = 1


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
    items: list[QueueItem] = []
    by_series: dict[int, QueueItem] = {}
    for pub, post, channel in session.exec(query):
        if pub.series_id is None:
            items.append(QueueItem(pub, post, channel))
        elif (first := by_series.get(pub.series_id)) is not None:
            first.occurrences += 1  # one decision covers the series
        else:
            series = session.get(Series, pub.series_id)
            by_series[pub.series_id] = item = QueueItem(pub, post, channel, series)
            items.append(item)
    return items


def preview(
    item: QueueItem,
    registry: AdapterRegistry,
    media: tuple[MediaFile, ...] = (),
) -> dict:
    """The content exactly as it would go out on the item's channel, measured and checked."""
    content = content_of(item.post, item.channel, media)
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
            "parts": [content.text, *content.thread],
            "media": media_refs(item.post, item.channel),
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
        "parts": adapter.parts(content),
        "media": media_refs(item.post, item.channel),
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
    """Approve (then schedule), request changes or reject; the vote binds to this revision.
    On an occurrence of a recurring series, the decision is the series': it applies to
    every occurrence waiting for review and to those materialised later."""
    actor.require(Permission.DECIDE_REVIEWS)
    pub, post = _pending(session, actor, publication_id)
    review = _decide_one(session, actor, pub, post, decision, comment=comment, now=now)
    if pub.series_id is None:
        return review
    series = session.get(Series, pub.series_id)
    siblings = session.exec(
        select(Publication)
        .where(Publication.series_id == series.id, Publication.status == Status.IN_REVIEW)
        .order_by(Publication.scheduled_at)
    ).all()
    for sibling in siblings:
        _decide_one(session, actor, sibling, post, decision, comment=comment, now=now)
    if decision == Status.APPROVED:
        series.approved_hash, series.approved_at = post.content_hash, now
        series.approved_by = actor.key_id
    elif decision == Status.CHANGES_REQUESTED:
        series.submitted_hash = None
    elif series.ended_at is None:
        end_series(session, series, actor=actor.label, now=now, reason="rejected")
    session.flush()
    return review


def _decide_one(
    session: Session,
    actor: Actor,
    pub: Publication,
    post: Post,
    decision: Status,
    *,
    comment: str,
    now: datetime,
) -> Review:
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
