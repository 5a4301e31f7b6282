"""One post as a reviewer decides on it: every channel of it waiting for review (each
with its preview, time, tally and votes), who wrote it, its campaign, and where its other
channels stand. The review page shows this, and decides on all waiting channels at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from publisher.core.models import ApiKey, Campaign, Channel, Post, Publication
from publisher.core.workspaces import Actor, owned
from publisher.review.queue import QueueItem, describe, list_waiting


@dataclass
class Standing:
    """A channel of the post that does not wait for review: what became of it."""

    channel: Channel
    publication: Publication


@dataclass
class PostReview:
    post: Post
    author: str | None  # the key that wrote it, by name
    campaign: str
    waiting: list[QueueItem]  # in review, described for the reviewer
    others: list[Standing] = field(default_factory=list)

    @property
    def mine(self) -> list[QueueItem]:
        """The channels this reviewer's vote can still count on."""
        return [i for i in self.waiting if i.details.get("waiting_on_me")]


def open_post(session: Session, actor: Actor, publication_id: int, *, time_zone: str) -> PostReview:
    """The post of `publication_id` (the one a review link was made for) as `actor`
    reviews it; NotFound outside the actor's workspace."""
    pub = owned(session, Publication, publication_id, actor)
    post = session.get(Post, pub.post_id)
    waiting = list_waiting(session, actor, post_id=post.id)
    describe(session, actor, waiting, time_zone=time_zone)
    in_review = {i.publication.id for i in waiting}
    series = {i.publication.series_id for i in waiting if i.publication.series_id}
    rows = session.exec(
        select(Publication, Channel)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Publication.post_id == post.id)
        .order_by(Publication.scheduled_at, Publication.id)
    ).all()
    others, seen = [], set()
    for other, channel in rows:
        # One line per channel: a series' later occurrences say nothing more.
        if other.id in in_review or other.series_id in series or channel.id in seen:
            continue
        seen.add(channel.id)
        others.append(Standing(channel, other))
    author = session.get(ApiKey, post.created_by) if post.created_by else None
    campaign = session.get(Campaign, post.campaign_id)
    return PostReview(
        post=post,
        author=author.name if author else None,
        campaign=campaign.name if campaign else "",
        waiting=waiting,
        others=others,
    )
