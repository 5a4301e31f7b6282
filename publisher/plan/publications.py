"""Reading publications, and cancelling one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select

from adapters.base import Adapter
from adapters.errors import AdapterError, RateLimited, Rejected
from publisher.core.errors import Conflict, PlatformUnavailable
from publisher.core.localtime import show_in
from publisher.core.models import Channel, Event, Post, Publication, Series
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission, owned
from publisher.plan import series as occurrences
from publisher.plan.post_schemas import MetricsRead, PostMetrics, PublicationRead, SeriesRead
from publisher.record import events


def get_publication(session: Session, actor: Actor, publication_id: int) -> Publication:
    """The actor's publication, or NotFound (also for another workspace's)."""
    return owned(session, Publication, publication_id, actor)


def _out_there(
    session: Session, actor: Actor, publication_id: int, what: str
) -> tuple[Publication, Channel, list[str]]:
    """A published publication, its channel and its posts' ids (a thread's parts), with
    the transaction ended: nothing is held while the platform is asked about them."""
    pub = get_publication(session, actor, publication_id)
    if pub.status != Status.PUBLISHED or not pub.external_id:
        raise Conflict(
            f"publication {publication_id} is {pub.status}: only a published one {what}",
            current_status=pub.status,
        )
    channel = session.get(Channel, pub.channel_id)
    ids = list(pub.part_ids or [pub.external_id])
    session.commit()
    return pub, channel, ids


def get_live_metrics(
    session: Session,
    actor: Actor,
    publication_id: int,
    *,
    adapter_for: Callable[[Channel], Adapter],
    clock: Callable[[], datetime],
) -> MetricsRead:
    """Engagement of a published publication, asked of its platform now (read-only; no
    transaction is open while the platform answers)."""
    pub, channel, ids = _out_there(session, actor, publication_id, "have metrics")
    try:
        per_post = adapter_for(channel).fetch_metrics(ids)
    except RateLimited as exc:
        retry = exc.retry_at.isoformat() if exc.retry_at else None
        raise PlatformUnavailable(exc.reason, retry_at=retry) from exc
    except Rejected as exc:
        raise Conflict(f"the platform refuses: {exc.reason}") from exc
    except AdapterError as exc:
        raise PlatformUnavailable(exc.reason) from exc
    except ValueError as exc:
        raise PlatformUnavailable(f"stored credentials unusable: {exc}") from exc
    totals: dict[str, int] = {}
    for counts in per_post.values():
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) + value
    return MetricsRead(
        publication_id=pub.id,
        platform=channel.platform,
        fetched_at=clock(),
        metrics=totals,
        posts=[PostMetrics(external_id=i, metrics=per_post[i]) for i in ids if i in per_post],
        missing=[i for i in ids if i not in per_post],
    )


def list_publications(
    session: Session,
    actor: Actor,
    *,
    status: Status | None = None,
    campaign_id: int | None = None,
    channel_id: int | None = None,
    limit: int = 100,
    after_id: int = 0,
) -> list[Publication]:
    """The workspace's publications, filtered, in id order, one page at a time."""
    query = select(Publication).where(Publication.workspace_id == actor.workspace_id)
    if status is not None:
        query = query.where(Publication.status == status)
    if channel_id is not None:
        query = query.where(Publication.channel_id == channel_id)
    if campaign_id is not None:
        query = query.join(Post, Post.id == Publication.post_id).where(
            Post.campaign_id == campaign_id
        )
    query = query.where(Publication.id > after_id).order_by(Publication.id).limit(limit)
    return list(session.exec(query))


def cancel_publication(
    session: Session, actor: Actor, publication_id: int, *, now: datetime
) -> Publication:
    """Cancel one publication that has not started going out (409 otherwise)."""
    actor.require(Permission.WRITE_CONTENT)
    pub = get_publication(session, actor, publication_id)
    events.move(session, pub, Status.CANCELLED, actor=actor.label, now=now)
    return pub


def take_down(
    session: Session,
    actor: Actor,
    publication_id: int,
    *,
    reason: str,
    adapter_for: Callable[[Channel], Adapter],
    clock: Callable[[], datetime],
) -> Publication:
    """Delete a published publication from its platform (every part of a thread, last
    first), then record it `deleted` with the reason. If the platform does not answer,
    nothing is recorded (503) and the call can be repeated: a part already gone counts
    as deleted."""
    actor.require(Permission.WRITE_CONTENT)
    pub, channel, ids = _out_there(
        session, actor, publication_id, "can be taken down (cancel one not yet out)"
    )
    try:
        adapter = adapter_for(channel)
        for external_id in reversed(ids):
            adapter.delete(external_id)
    except Rejected as exc:
        # A refusal that asking again will not change (the platform allows no deletion
        # through its API, or not of this post): say so, not "try later".
        raise Conflict(f"not taken down, and asking again will not help: {exc.reason}") from exc
    except AdapterError as exc:
        raise PlatformUnavailable(f"not taken down: {exc.reason}") from exc
    except ValueError as exc:
        raise PlatformUnavailable(f"not taken down: stored credentials unusable: {exc}") from exc
    pub = get_publication(session, actor, publication_id)
    session.refresh(pub)
    if pub.status == Status.PUBLISHED:  # a concurrent take-down may have recorded it
        events.move(session, pub, Status.DELETED, actor=actor.label, now=clock(), reason=reason)
    return pub


def list_history(
    session: Session,
    actor: Actor,
    publication_id: int,
    *,
    limit: int | None = None,
    after_id: int = 0,
) -> list[Event]:
    """Every recorded change of one publication, oldest first, from after `after_id`."""
    get_publication(session, actor, publication_id)
    query = select(Event).where(Event.publication_id == publication_id, Event.id > after_id)
    return list(session.exec(query.order_by(Event.id).limit(limit)))


def to_read(pub: Publication) -> PublicationRead:
    """The API view: times in UTC, plus the scheduled time in the planned time zone."""
    local = show_in(pub.scheduled_at, pub.time_zone)
    return PublicationRead.model_validate(
        {
            **pub.model_dump(),
            "status": pub.status,
            "scheduled_local": local,
            "part_ids": pub.part_ids or [],
        }
    )


def series_to_read(series: Series) -> SeriesRead:
    """The API view of a recurring series, with its next occurrences."""
    return SeriesRead.model_validate(
        {
            **series.model_dump(),
            "approved": series.approved_hash is not None,
            "upcoming": occurrences.upcoming(series),
        }
    )
