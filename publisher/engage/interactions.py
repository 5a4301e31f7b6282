"""Interactions: what people did with a channel's account and its posts, from the
platforms' signed webhooks (publisher/engage/hooks.py reads them). Each is stored once
per channel (the platform's id), tied to the publication whose post it is on and to the
member its author is (publisher/engage/authors.py; anonymous when its author is someone
whose data was erased: publisher/engage/forgotten.py), in every workspace that has a
channel for that account. A delivery is taken once: its digest is
kept, and the same body again is a replay."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.errors import Unauthenticated
from publisher.core.models import Channel, InboundDelivery, Interaction, Post, Publication
from publisher.core.workspaces import Actor
from publisher.engage import authors, forgotten
from publisher.engage.hooks import MAX_AGE_S, Incoming


class Replayed(Unauthenticated):
    code, title = "replayed_delivery", "Delivery replayed"


def take_delivery(
    session: Session, platform: str, body: bytes, incoming: Sequence[Incoming], *, now: datetime
) -> None:
    """Record the delivery, or Replayed (nothing stored) when this body was taken before
    or every event in it is older than MAX_AGE_S."""
    stale = now - timedelta(seconds=MAX_AGE_S)
    if incoming and all(i.occurred_at < stale for i in incoming):
        hours = MAX_AGE_S // 3600
        raise Replayed(f"every event in this delivery is more than {hours} hours old: a replay")
    digest = hashlib.sha256(platform.encode() + b"\n" + body).hexdigest()
    try:
        with session.begin_nested():
            session.add(
                InboundDelivery(
                    platform=platform, digest=digest, received_at=now, events=len(incoming)
                )
            )
    except IntegrityError:
        raise Replayed("this delivery was received before: a replay") from None


def record(session: Session, incoming: Sequence[Incoming], *, now: datetime) -> int:
    """Store each interaction for every channel of its account; returns how many were new."""
    stored = 0
    # In one order of authors (two deliveries making or touching the same members take
    # their rows in the same order: no deadlock between them).
    for event in sorted(incoming, key=lambda e: (e.author_id or "", e.author_handle or "")):
        if event.occurred_at > now:  # a platform's clock ahead of ours: it happened by now
            event = replace(event, occurred_at=now)
        channels = session.scalars(
            select(Channel).where(
                Channel.platform == event.platform,
                Channel.external_account_id == event.account_id,
            )
        ).all()
        for channel in channels:
            known = (event.external_id[:200], forgotten.opaque(event.external_id))
            exists = session.scalar(
                select(Interaction.id).where(
                    Interaction.channel_id == channel.id,
                    Interaction.kind == event.kind,
                    Interaction.external_id.in_(known),
                )
            )
            if exists is not None:
                continue  # the platform said it again: once is enough
            said = _as_told(session, channel.workspace_id, event)
            author = None
            if said is event:  # (unnamed: no one's)
                author = authors.author_member(
                    session,
                    channel.workspace_id,
                    event.platform,
                    said.author_id,
                    said.author_handle,
                    said.author_name,
                    at=event.occurred_at,
                    now=now,
                )
            if author is not None and authors.erased(session, author):
                # Erased while this delivery was stored (its row, held, said so once the
                # erasure ended): what they do is forgotten too.
                said, author = _unnamed(event), None
            publication_id, campaign_id = _publication_of(session, channel, event.post_id)
            if said is not event:  # forgotten: where it was, only when on one of ours
                said = replace(said, post_id=said.post_id if publication_id else None)
            row = insert(Interaction).values(
                workspace_id=channel.workspace_id,
                channel_id=channel.id,
                publication_id=publication_id,
                campaign_id=campaign_id,
                platform=event.platform,
                kind=event.kind,
                external_id=said.external_id[:200],
                post_id=said.post_id[:200] if said.post_id else None,
                author_id=said.author_id[:200] if said.author_id else None,
                author_handle=(said.author_handle or None) and said.author_handle[:200],
                author_name=(said.author_name or None) and said.author_name[:200],
                text=said.text[:10000] if said.text else None,
                occurred_at=event.occurred_at,
                received_at=now,
                member_id=author,
            )
            try:
                with session.begin_nested():  # another delivery may store it meanwhile
                    session.execute(row)
            except IntegrityError:
                continue
            if author is not None:
                authors.seen(session, author, event.occurred_at)
            stored += 1
    return stored


def _as_told(session: Session, workspace_id: int, event: Incoming) -> Incoming:
    """The event as the workspace keeps it: unnamed (publisher/engage/forgotten.py) when
    its author is someone whose data was erased and no member now (by their account id,
    when that is what names them)."""
    platform, author_id, handle = event.platform, event.author_id, event.author_handle
    named_by = forgotten.names(session, workspace_id, platform, author_id, handle)
    if named_by is None:
        return event
    by = (author_id, None) if named_by == "account" else (author_id, handle)
    if authors.member_of(session, workspace_id, platform, *by) is not None:
        return event
    return _unnamed(event)


def _unnamed(event: Incoming) -> Incoming:
    """Without who wrote it and what; its platform id kept only to know it again."""
    return replace(
        event,
        external_id=forgotten.opaque(event.external_id),
        author_id=None,
        author_handle=None,
        author_name=None,
        text=None,
    )


def forget_deliveries(session: Session, *, now: datetime) -> int:
    """Drop the digests of deliveries older than any replay still refused by age."""
    result = session.execute(
        delete(InboundDelivery).where(
            InboundDelivery.received_at < now - timedelta(seconds=MAX_AGE_S)
        )
    )
    return result.rowcount or 0


def _publication_of(
    session: Session, channel: Channel, post_id: str | None
) -> tuple[int | None, int | None]:
    """The channel's publication whose post (or one of a thread's parts) this is, and the
    campaign it served."""
    if not post_id:
        return None, None
    found = session.execute(
        select(Publication.id, Post.campaign_id)
        .join(Post, Post.id == Publication.post_id)
        .where(Publication.channel_id == channel.id, Publication.external_id == post_id)
    ).first()
    if found is not None:
        return found.id, found.campaign_id
    # The threads whose parts' text holds the id quoted (as the JSON column writes it):
    # the few candidates are read, not every thread of the channel, then checked.
    quoted = json.dumps(post_id).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    threads = session.execute(
        select(Publication.id, Publication.part_ids, Post.campaign_id)
        .join(Post, Post.id == Publication.post_id)
        .where(
            Publication.channel_id == channel.id,
            Publication.part_ids.is_not(None),
            cast(Publication.part_ids, String).like(f"%{quoted}%", escape="\\"),
        )
    ).all()
    return next(
        ((pid, campaign) for pid, parts, campaign in threads if post_id in (parts or [])),
        (None, None),
    )


def list_interactions(
    session: Session,
    actor: Actor,
    *,
    publication_id: int | None = None,
    channel_id: int | None = None,
    kind: str | None = None,
    limit: int = 100,
    after_id: int = 0,
) -> list[Interaction]:
    """The workspace's interactions in id order, filtered, from after `after_id`."""
    query = select(Interaction).where(
        Interaction.workspace_id == actor.workspace_id, Interaction.id > after_id
    )
    if publication_id is not None:
        query = query.where(Interaction.publication_id == publication_id)
    if channel_id is not None:
        query = query.where(Interaction.channel_id == channel_id)
    if kind is not None:
        query = query.where(Interaction.kind == kind)
    return list(session.scalars(query.order_by(Interaction.id).limit(limit)))
