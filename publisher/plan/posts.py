"""Posts: create, edit (which sends approved publications back to review), submit, cancel."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from adapters.base import AdapterRegistry
from publisher.core.errors import Conflict, ValidationFailed, field_error
from publisher.core.localtime import format_local, intended_local
from publisher.core.models import Channel, Post, Publication, Series
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission, key_time_zone, owned
from publisher.plan import campaigns, post_checks, slots
from publisher.plan import series as occurrences
from publisher.plan.campaigns import get_campaign
from publisher.plan.content import content_hash, media_files, resolve
from publisher.plan.media import MediaStore
from publisher.plan.post_schemas import PostCreate, PostUpdate, TargetIn
from publisher.record import events, revisions

# An edit takes these back to review: their approval was for other content.
_BACK_TO_REVIEW = frozenset(
    {Status.APPROVED, Status.SCHEDULED, Status.QUEUED, Status.PAUSED, Status.IN_REVIEW}
)
_SUBMITTABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
_CANCELLABLE = frozenset(
    {
        Status.DRAFT,
        Status.IN_REVIEW,
        Status.CHANGES_REQUESTED,
        Status.APPROVED,
        Status.SCHEDULED,
        Status.QUEUED,
        Status.PAUSED,
    }
)


def create_post(session: Session, actor: Actor, data: PostCreate, *, now: datetime) -> Post:
    """A post and one draft publication per target channel."""
    actor.require(Permission.WRITE_CONTENT)
    post_checks.check_references(session, actor, data, now)
    link = str(data.link) if data.link else None
    variants = [v.stored() for v in data.variants] or None
    thread = list(data.thread) or None
    media = post_checks.stored_media(data.media)
    campaign_id = data.campaign_id or campaigns.default_campaign(session, actor, now=now).id
    post = Post(
        workspace_id=actor.workspace_id,
        campaign_id=campaign_id,
        text=data.text,
        link=link,
        variants=variants,
        thread=thread,
        media=media,
        quote_of=data.quote_of,
        content_hash=content_hash(data.text, link, variants, thread, media, data.quote_of),
        created_by=actor.key_id,
        created_at=now,
        updated_at=now,
    )
    session.add(post)
    session.flush()
    revisions.snapshot(session, post, author_id=actor.key_id, now=now)
    events.record(
        session,
        workspace_id=post.workspace_id,
        kind="post.created",
        actor=actor.label,
        now=now,
        post_id=post.id,
        data={"revision": 1, "content": revisions.content_of_post(post)},
    )
    for target in data.targets:
        if target.recurrence is not None:
            _start_series(session, post, target, now=now)
            continue
        if target.queue:
            at, zone = slots.take_next_slot(session, target.channel_id, now=now)
        else:
            at = target.scheduled_at
            zone = target.time_zone or shown_zone(session, target.channel_id, actor)
        session.add(
            Publication(
                workspace_id=actor.workspace_id,
                post_id=post.id,
                channel_id=target.channel_id,
                scheduled_at=at,
                due_at=at,
                time_zone=zone,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()  # the next queued target sees this slot taken
    return post


def shown_zone(session: Session, channel_id: int, actor: Actor) -> str:
    """The zone a time given without one is shown in: the channel's (its posting slots'),
    else the author's key's, else UTC."""
    channel = session.get(Channel, channel_id)
    if channel is not None and channel.slots and channel.slots.get("time_zone"):
        return channel.slots["time_zone"]
    return key_time_zone(session, actor) or "UTC"


def _start_series(session: Session, post: Post, target: TargetIn, *, now: datetime) -> Series:
    starts = intended_local(target.scheduled_at, target.time_zone)
    series = Series(
        workspace_id=post.workspace_id,
        post_id=post.id,
        channel_id=target.channel_id,
        rule=target.recurrence,
        time_zone=target.time_zone,
        starts_local=format_local(starts),
        next_at=target.scheduled_at,
        created_at=now,
    )
    session.add(series)
    session.flush()
    occurrences.start(session, series, now=now)
    return series


def end_series(session: Session, series: Series, *, actor: str, now: datetime, reason: str) -> None:
    """No further occurrences (those already made are the caller's business)."""
    series.ended_at, series.next_at = now, None
    events.record(
        session,
        workspace_id=series.workspace_id,
        kind="series.ended",
        actor=actor,
        now=now,
        post_id=series.post_id,
        channel_id=series.channel_id,
        reason=f"series {series.id}: {reason}",
    )


def series_of(session: Session, post: Post) -> list[Series]:
    return list(session.exec(select(Series).where(Series.post_id == post.id).order_by(Series.id)))


def get_post(session: Session, actor: Actor, post_id: int) -> Post:
    """The actor's post, or NotFound (also for another workspace's post)."""
    return owned(session, Post, post_id, actor)


def list_posts(
    session: Session,
    actor: Actor,
    *,
    campaign_id: int | None = None,
    limit: int | None = None,
    after_id: int = 0,
) -> list[Post]:
    """The workspace's posts in id order, from after `after_id`, `limit` at most."""
    query = select(Post).where(Post.workspace_id == actor.workspace_id, Post.id > after_id)
    if campaign_id is not None:
        get_campaign(session, actor, campaign_id)
        query = query.where(Post.campaign_id == campaign_id)
    return list(session.exec(query.order_by(Post.id).limit(limit)))


def publications_of(session: Session, post: Post) -> list[Publication]:
    query = select(Publication).where(Publication.post_id == post.id).order_by(Publication.id)
    return list(session.exec(query))


def update_post(
    session: Session, actor: Actor, post_id: int, data: PostUpdate, *, now: datetime
) -> Post:
    """New content is a new revision; publications approved for the old one go back to review."""
    actor.require(Permission.WRITE_CONTENT)
    post = get_post(session, actor, post_id)
    pubs = publications_of(session, post)
    going_out = [p.id for p in pubs if p.status in (Status.PUBLISHING, Status.UNKNOWN)]
    if going_out:
        # Reconciliation looks for the text that was sent: keep it until they are settled.
        raise Conflict(f"publications {going_out} are going out; edit once they are settled")
    partly_out = [p.id for p in pubs if p.part_ids and p.status in _BACK_TO_REVIEW]
    if partly_out:
        # Their threads resume after the parts already out: the rest must stay as approved.
        raise Conflict(
            f"publications {partly_out} have part of their thread out; cancel them or let "
            "them finish before editing"
        )
    running = [s for s in series_of(session, post) if s.ended_at is None]
    if not running and not any(p.status in _BACK_TO_REVIEW | _SUBMITTABLE for p in pubs):
        raise Conflict("nothing of this post can change any more: every publication is settled")
    text = data.text or post.text
    link = (str(data.link) if data.link else None) if "link" in data.model_fields_set else post.link
    variants = post.variants
    if data.variants is not None:
        targets = {p.channel_id for p in pubs} | {s.channel_id for s in series_of(session, post)}
        channels = [session.get(Channel, channel_id) for channel_id in sorted(targets)]
        errors = post_checks.variant_errors(data.variants, [c for c in channels if c is not None])
        errors += post_checks.media_errors(session, actor, [], data.variants)
        if errors:
            raise ValidationFailed("a variant does not fit this post", errors)
        variants = [v.stored() for v in data.variants] or None
    thread = (list(data.thread) or None) if data.thread is not None else post.thread
    media = post.media
    if data.media is not None:
        if errors := post_checks.media_errors(session, actor, data.media):
            raise ValidationFailed("the post refers to media that do not exist", errors)
        media = post_checks.stored_media(data.media)
    quote = data.quote_of if "quote_of" in data.model_fields_set else post.quote_of
    new_hash = content_hash(text, link, variants, thread, media, quote)
    if new_hash == post.content_hash:
        return post
    before = revisions.content_of_post(post)
    post.text, post.link, post.variants, post.thread = text, link, variants, thread
    post.media, post.quote_of = media, quote
    post.content_hash = new_hash
    post.revision += 1
    post.updated_at = now
    revisions.snapshot(session, post, author_id=actor.key_id, now=now)
    events.record(
        session,
        workspace_id=post.workspace_id,
        kind="post.edited",
        actor=actor.label,
        now=now,
        post_id=post.id,
        reason=f"revision {post.revision}",
        data={"revision": post.revision, **revisions.diff(before, revisions.content_of_post(post))},
    )
    for series in running:
        # Later occurrences need a decision on the new revision; a submitted or approved
        # series goes back to review, as its publications do.
        if series.submitted_hash or series.approved_hash:
            series.submitted_hash = new_hash
        series.approved_hash = series.approved_at = series.approved_by = None
    for pub in pubs:
        if pub.status not in _BACK_TO_REVIEW:
            continue
        pub.approved_hash = pub.approved_at = pub.approved_by = None
        reason = f"edited to revision {post.revision}"
        if pub.status == Status.IN_REVIEW:
            events.record(
                session,
                workspace_id=pub.workspace_id,
                kind="publication.edited",
                actor=actor.label,
                now=now,
                post_id=post.id,
                publication_id=pub.id,
                reason=reason,
            )
            pub.updated_at = now
        else:
            events.move(session, pub, Status.IN_REVIEW, actor=actor.label, now=now, reason=reason)
    return post


def submit_post(
    session: Session,
    actor: Actor,
    post_id: int,
    *,
    registry: AdapterRegistry,
    store: MediaStore | None = None,
    now: datetime,
) -> Post:
    """Check the content against every target platform, then send it to review."""
    actor.require(Permission.WRITE_CONTENT)
    post = get_post(session, actor, post_id)
    pubs = [p for p in publications_of(session, post) if p.status in _SUBMITTABLE]
    # A series not yet sent to review is submittable before its first occurrence exists.
    waiting = [
        s
        for s in series_of(session, post)
        if s.ended_at is None and post.content_hash not in (s.submitted_hash, s.approved_hash)
    ]
    if not pubs and not waiting:
        raise Conflict("nothing to submit: no publication of this post is a draft")
    errors = [
        field_error(["publications", p.id, "scheduled_at"], post_checks.past_message(now))
        for p in pubs
        if p.series_id is None and post_checks.is_past(p.scheduled_at, now)
    ]
    for channel_id in sorted({p.channel_id for p in pubs} | {s.channel_id for s in waiting}):
        channel = session.get(Channel, channel_id)
        adapter = registry.get(channel.platform) if channel else None
        if adapter is None:
            errors.append(field_error(["channels", channel_id], "platform not installed"))
            continue
        files = media_files(session, post, store, channel)
        resolved = resolve(post, channel, files)
        # Point at what to fix: a thread's part, the variant that gave this channel its
        # wording, or the post.
        where = ["text"] if resolved.variant is None else ["variants", resolved.variant, "text"]
        for problem in adapter.validate_text(resolved.content):
            part = problem.part
            loc = ["thread", part - 2] if part is not None and part > 1 else where
            errors.append(field_error(loc, f"{problem} (channel {channel.name!r})"))
        for problem in adapter.validate_media(files):
            errors.append(field_error(["media"], f"{problem} (channel {channel.name!r})"))
    if errors:
        raise ValidationFailed("the content does not fit its channels", errors)
    for series in waiting:
        series.submitted_hash = post.content_hash
    events.record(
        session,
        workspace_id=post.workspace_id,
        kind="post.submitted",
        actor=actor.label,
        now=now,
        post_id=post.id,
        reason=f"revision {post.revision}",
        data={"revision": post.revision, "publications": [p.id for p in pubs]},
    )
    for pub in pubs:
        events.move(
            session,
            pub,
            Status.IN_REVIEW,
            actor=actor.label,
            now=now,
            reason=f"submitted revision {post.revision}",
        )
    return post


def cancel_post(session: Session, actor: Actor, post_id: int, *, now: datetime) -> Post:
    """Cancel every publication of the post that has not started going out."""
    actor.require(Permission.WRITE_CONTENT)
    post = get_post(session, actor, post_id)
    pubs = [p for p in publications_of(session, post) if p.status in _CANCELLABLE]
    running = [s for s in series_of(session, post) if s.ended_at is None]
    if not pubs and not running:
        raise Conflict("nothing to cancel: every publication has started or settled")
    for series in running:
        end_series(session, series, actor=actor.label, now=now, reason="post cancelled")
    for pub in pubs:
        events.move(session, pub, Status.CANCELLED, actor=actor.label, now=now)
    return post
