"""The committee's queue: what waits for a decision, and everything a reviewer needs to
make it (the content as each channel will get it, who voted, what changed, the deadline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session, select

from adapters.base import AdapterRegistry
from adapters.types import MediaFile, Problem
from publisher.core.errors import Conflict
from publisher.core.localtime import show_in
from publisher.core.models import ApiKey, Channel, Post, Publication, Review, Series
from publisher.core.states import Status
from publisher.core.workspaces import ROLE_PERMISSIONS, Actor, Permission, key_time_zone, owned
from publisher.plan.content import content_of, media_refs, resolve
from publisher.plan.links import LinkMaker
from publisher.record import revisions
from publisher.review import policies
from publisher.review.policies import Policy
from publisher.review.votes import counting, current_tally, votes_on

Sort = Literal["scheduled", "deadline", "created", "campaign", "channel"]


@dataclass
class QueueItem:
    publication: Publication
    post: Post
    channel: Channel
    series: Series | None = None
    occurrences: int = 1
    details: dict[str, Any] = field(default_factory=dict)
    policy: Policy | None = None


def list_waiting(
    session: Session,
    actor: Actor,
    *,
    campaign_id: int | None = None,
    channel_id: int | None = None,
    publication_id: int | None = None,
    post_id: int | None = None,
) -> list[QueueItem]:
    """Publications waiting for a decision, soonest due first; a series is one item."""
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
    if publication_id is not None:
        query = query.where(Publication.id == publication_id)
    if post_id is not None:
        query = query.where(Publication.post_id == post_id)
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


def get_item(session: Session, actor: Actor, publication_id: int) -> QueueItem:
    """The queue's item for one publication: NotFound, or Conflict once it is decided."""
    found = list_waiting(session, actor, publication_id=publication_id)
    if found:
        return found[0]
    pub = owned(session, Publication, publication_id, actor)
    raise Conflict(
        f"publication {publication_id} is {pub.status}, not in_review", current=pub.status
    )


def describe(
    session: Session, actor: Actor, items: list[QueueItem], *, time_zone: str
) -> list[QueueItem]:
    """Fill each item's `details`: deadline, local time, votes, tally, diff, waiting on me."""
    keys: dict[int, ApiKey] = {}
    by_campaign: dict[int, Policy] = {}
    for item in items:
        post, pub = item.post, item.publication
        policy = by_campaign.get(post.campaign_id)
        if policy is None:
            policy = by_campaign[post.campaign_id] = policies.effective(
                session, actor.workspace_id, post.campaign_id
            )
        votes = votes_on(session, pub)
        for vote in votes:
            if vote.reviewer_id not in keys:
                keys[vote.reviewer_id] = session.get(ApiKey, vote.reviewer_id)
        counted = counting(session, pub, post, votes)
        tally, roles = current_tally(session, policy, counted)
        item.policy = policy
        item.details = {
            "scheduled_local": show_in(pub.scheduled_at, time_zone),
            "reviewer_time_zone": time_zone,
            "review_deadline": policy.deadline(pub.scheduled_at),
            "votes": [_vote(v, keys, v in counted) for v in votes],
            "tally": {
                "approvals": tally.approvals,
                "needed": tally.needed,
                "missing": list(tally.missing),
                "short": max(tally.short, 0),
                "groups": [list(g) for g in tally.groups],
            },
            "waiting_on_me": _waiting_on_me(session, actor, policy, post, counted, roles),
            "diff": _diff(session, actor, post, votes),
        }
    return items


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def sort_key(item: QueueItem, sort: Sort) -> list[Any]:
    """Where an item stands in `sort`: a total order (ending with the publication id), in
    values a page cursor can carry."""
    pub = item.publication
    at = _micros(pub.scheduled_at)
    if sort == "deadline":  # those without a deadline last, by their scheduled time
        deadline = item.details["review_deadline"]
        return [deadline is None, _micros(deadline) if deadline else at, pub.id]
    if sort == "created":
        return [pub.id]
    if sort == "campaign":  # grouped, soonest first within each
        return [item.post.campaign_id, at, pub.id]
    if sort == "channel":
        return [item.channel.name.casefold(), item.channel.id, at, pub.id]
    return [at, pub.id]


def sort_items(items: list[QueueItem], sort: Sort) -> list[QueueItem]:
    return sorted(items, key=lambda i: sort_key(i, sort))


def _vote(vote: Review, keys: dict[int, ApiKey], counts: bool) -> dict[str, Any]:
    key = keys.get(vote.reviewer_id)
    return {
        "reviewer_id": vote.reviewer_id,
        "reviewer": key.name if key else f"key {vote.reviewer_id}",
        "decision": vote.decision,
        "comment": vote.comment,
        "revision": vote.revision,
        "current": counts,
        "created_at": vote.created_at,
    }


def _waiting_on_me(
    session: Session,
    actor: Actor,
    policy: Policy,
    post: Post,
    votes: list[Review],
    roles: dict[int, str],
) -> bool:
    if actor.key_id is None or Permission.DECIDE_REVIEWS not in ROLE_PERMISSIONS[actor.role]:
        return False
    if any(v.reviewer_id == actor.key_id for v in votes):  # the votes that count
        return False
    if not policy.rules.allow_self_approval and actor.key_id in revisions.authors(session, post):
        return False
    return policies.could_count(policy, actor.key_id, actor.role, roles)


def _diff(session: Session, actor: Actor, post: Post, votes: list[Review]) -> dict[str, Any]:
    """What changed since the revision this reviewer last voted on (else anyone did)."""
    earlier = [v for v in votes if v.revision < post.revision]
    mine = [v for v in earlier if v.reviewer_id == actor.key_id]
    basis = (mine or earlier)[-1].revision if (mine or earlier) else None
    if basis is None:
        return {"since_revision": None, "changes": [], "text_diff": []}
    before = revisions.revision_of(session, post.id, basis)
    return {
        "since_revision": basis,
        **revisions.diff(before.content if before else None, revisions.content_of_post(post)),
    }


def preview(
    item: QueueItem,
    registry: AdapterRegistry,
    media: tuple[MediaFile, ...] = (),
    links: LinkMaker | None = None,
) -> dict:
    """The content exactly as it would go out on the item's channel, measured and checked
    (`links`: the engine's LinkMaker, links then shown as the short links that go out, each
    with where it leads). The house rules read the links as written."""
    written = content_of(item.post, item.channel, media)
    sent = resolve(item.post, item.channel, media, publication_id=item.publication.id, links=links)
    content = sent.content
    adapter = registry.get(item.channel.platform)
    refs = media_refs(item.post, item.channel)
    channel = item.channel
    base = {
        "platform": channel.platform,
        "platform_name": adapter.display_name if adapter else channel.platform,
        "channel_name": channel.name,
        "account_name": channel.account_name or channel.name,
        "account_handle": f"@{channel.account_handle}" if channel.account_handle else None,
        "link": content.link,
        "short_links": [
            {"url": links.url(code), "target": target} for code, target in sent.links.items()
        ]
        if links is not None
        else [],
        "media": refs,
    }
    if adapter is None:
        parts = [content.text, *content.thread]
        return {
            **base,
            "text": content.text,
            "length": len(content.text),
            "limit": 0,
            "unit": "characters",
            "problems": [Problem("not_installed")],
            "parts": parts,
            "posts": _posts(parts, len, 0, refs, 0),
        }
    parts = adapter.parts(content)
    limits = adapter.limits
    return {
        **base,
        "text": adapter.render_text(content),
        "length": adapter.measure(content),
        "limit": limits.text,
        "unit": limits.unit,
        "problems": adapter.validate(content),
        "parts": parts,
        "posts": _posts(parts, limits.counts, limits.text, refs, adapter.media_part(content)),
        "findings": policies.findings(item.policy, adapter.parts(written)) if item.policy else [],
    }


def _posts(parts: list[str], counts, limit: int, refs: list, media_part: int) -> list[dict]:
    """Each post the content makes, numbered, measured the platform's way, with the media
    on the part the platform attaches them to."""
    return [
        {
            "number": number,
            "of": len(parts),
            "text": part,
            "length": counts(part),
            "limit": limit,
            "media": refs if number - 1 == media_part else [],
        }
        for number, part in enumerate(parts, 1)
    ]


def reviewer_time_zone(session: Session, actor: Actor, asked: str | None) -> str:
    """Times in the queue: the zone asked for, else the key's own, else UTC."""
    return asked or key_time_zone(session, actor) or "UTC"
