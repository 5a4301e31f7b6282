"""Pause means stop: a workspace, campaign or channel stops publishing until resumed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlmodel import Session

from publisher.core.errors import NotFound, ValidationFailed, field_error
from publisher.core.models import Pause, Post, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission
from publisher.deliver.schemas import PauseCreate, ResumeRequest
from publisher.plan.campaigns import get_campaign
from publisher.plan.channels import get_channel
from publisher.record import events

# On resume, a publication more than this late goes back to review under the `auto` policy.
LATE_FOR_REVIEW = timedelta(minutes=15)
# A publication a resume sends back to review may be approved this long after the resume
# (it then goes out at once); after that it expires like any unapproved publication.
REVIEW_AFTER_RESUME = timedelta(hours=24)
_PAUSABLE = (Status.SCHEDULED, Status.QUEUED)


def under_active_pause() -> ColumnElement[bool]:
    """SQL: the Publication row is covered by a pause that has not been resumed."""
    active = Pause.resumed_at.is_(None)

    def scoped(scope: str, column) -> ColumnElement[bool]:
        return exists(
            select(Pause.id).where(active, Pause.scope == scope, Pause.scope_id == column)
        ).correlate(Publication)

    # Campaigns as an uncorrelated IN: a correlated scalar subquery nested inside EXISTS
    # does not correlate to the outer row (PostgreSQL then sees many rows, SQLite one).
    paused_campaign_posts = select(Post.id).join(
        Pause, and_(active, Pause.scope == "campaign", Pause.scope_id == Post.campaign_id)
    )
    return or_(
        scoped("workspace", Publication.workspace_id),
        scoped("channel", Publication.channel_id),
        Publication.post_id.in_(paused_campaign_posts),
    )


def _in_scope(scope: str, scope_id: int) -> ColumnElement[bool]:
    if scope == "workspace":
        return Publication.workspace_id == scope_id
    if scope == "channel":
        return Publication.channel_id == scope_id
    campaign_posts = select(Post.id).where(Post.campaign_id == scope_id)
    return Publication.post_id.in_(campaign_posts)


def _scope_id(session: Session, actor: Actor, scope: str, given: int | None) -> int:
    """The id the scope names, checked to be the actor's own (404 otherwise)."""
    if scope == "workspace":
        if given not in (None, actor.workspace_id):
            raise NotFound(f"workspace {given} not found")
        return actor.workspace_id
    if given is None:
        raise ValidationFailed(f"a {scope} pause needs its id", [field_error("id", "required")])
    if scope == "campaign":
        return get_campaign(session, actor, given).id
    return get_channel(session, actor, given).id


def _active(session: Session, workspace_id: int, scope: str, scope_id: int) -> Pause | None:
    query = (
        select(Pause)
        .where(Pause.workspace_id == workspace_id, Pause.scope == scope)
        .where(Pause.scope_id == scope_id, Pause.resumed_at.is_(None))
    )
    return session.execute(query).scalars().first()


@dataclass
class PauseOutcome:
    pause: Pause
    created: bool
    paused: list[int] = field(default_factory=list)
    in_flight: list[int] = field(default_factory=list)


def pause(session: Session, actor: Actor, data: PauseCreate, *, now: datetime) -> PauseOutcome:
    """Stop the scope. When this commits, no publication in it can start."""
    actor.require(Permission.PAUSE)
    scope_id = _scope_id(session, actor, data.scope, data.id)
    existing = _active(session, actor.workspace_id, data.scope, scope_id)
    record = existing or Pause(
        workspace_id=actor.workspace_id,
        scope=data.scope,
        scope_id=scope_id,
        reason=data.reason,
        on_resume=data.on_resume,
        created_by=actor.label,
        created_at=now,
    )
    if existing is None:
        session.add(record)
        session.flush()
    paused: list[int] = []
    for previous in _PAUSABLE:
        moved = session.execute(
            update(Publication)
            .where(_in_scope(data.scope, scope_id), Publication.status == previous)
            .values(status=Status.PAUSED, updated_at=now)
            .returning(Publication.id, Publication.workspace_id, Publication.post_id)
            .execution_options(synchronize_session=False)
        ).all()
        events.record_bulk_transition(
            session,
            moved,
            from_status=previous,
            to_status=Status.PAUSED,
            actor=actor.label,
            now=now,
            reason=f"{data.scope} paused: {data.reason}",
        )
        paused.extend(pub_id for pub_id, *_ in moved)
    in_flight = (
        session.execute(
            select(Publication.id).where(
                _in_scope(data.scope, scope_id), Publication.status == Status.PUBLISHING
            )
        )
        .scalars()
        .all()
    )
    events.record(
        session,
        workspace_id=actor.workspace_id,
        kind=f"{data.scope}.paused",
        actor=actor.label,
        now=now,
        reason=data.reason,
    )
    return PauseOutcome(record, existing is None, paused, list(in_flight))


def pause_stragglers(session: Session, *, now: datetime) -> int:
    """Scheduled rows that slipped under a pause (approved while it was being made): paused."""
    moved = session.execute(
        update(Publication)
        .where(Publication.status == Status.SCHEDULED, under_active_pause())
        .values(status=Status.PAUSED, updated_at=now)
        .returning(Publication.id, Publication.workspace_id, Publication.post_id)
        .execution_options(synchronize_session=False)
    ).all()
    events.record_bulk_transition(
        session,
        moved,
        from_status=Status.SCHEDULED,
        to_status=Status.PAUSED,
        actor="system:dispatcher",
        now=now,
        reason="under an active pause",
    )
    return len(moved)


def is_paused(session: Session, publication: Publication) -> bool:
    query = select(Publication.id).where(Publication.id == publication.id, under_active_pause())
    return session.execute(query).first() is not None


@dataclass
class ResumeOutcome:
    pause: Pause
    rescheduled: list[int] = field(default_factory=list)
    to_review: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def resume(session: Session, actor: Actor, data: ResumeRequest, *, now: datetime) -> ResumeOutcome:
    """Lift the pause; what missed its time follows the pause's `on_resume` policy."""
    actor.require(Permission.RESUME)
    scope_id = _scope_id(session, actor, data.scope, data.id)
    record = _active(session, actor.workspace_id, data.scope, scope_id)
    if record is None:
        raise NotFound(f"no active pause on {data.scope} {scope_id}")
    record.resumed_at, record.resumed_by = now, actor.label
    session.flush()
    outcome = ResumeOutcome(record)
    candidates = (
        session.execute(
            select(Publication)
            .where(_in_scope(data.scope, scope_id), Publication.status == Status.PAUSED)
            .where(~under_active_pause())  # still stopped by another pause: stays paused
        )
        .scalars()
        .all()
    )
    for pub in candidates:
        _apply_policy(session, pub, record.on_resume, outcome, actor=actor.label, now=now)
    events.record(
        session,
        workspace_id=actor.workspace_id,
        kind=f"{data.scope}.resumed",
        actor=actor.label,
        now=now,
        reason=f"pause {record.id}",
    )
    return outcome


def _apply_policy(
    session: Session,
    pub: Publication,
    policy: str,
    outcome: ResumeOutcome,
    *,
    actor: str,
    now: datetime,
) -> None:
    late = now - pub.due_at
    if late <= timedelta(0):
        events.move(session, pub, Status.SCHEDULED, actor=actor, now=now, reason="resumed")
        outcome.rescheduled.append(pub.id)
        return
    if policy == "auto":
        policy = "review" if late > LATE_FOR_REVIEW else "publish"
    reason = f"resumed {late.total_seconds():.0f}s after its time; policy {policy}"
    if policy == "publish":
        pub.due_at = now
        events.move(session, pub, Status.SCHEDULED, actor=actor, now=now, reason=reason)
        outcome.rescheduled.append(pub.id)
    elif policy == "skip":
        events.move(session, pub, Status.CANCELLED, actor=actor, now=now, reason=reason)
        outcome.skipped.append(pub.id)
    else:
        pub.approved_hash = pub.approved_at = pub.approved_by = None
        pub.due_at = now + REVIEW_AFTER_RESUME  # in review, due_at is when approval expires
        events.move(session, pub, Status.IN_REVIEW, actor=actor, now=now, reason=reason)
        outcome.to_review.append(pub.id)


def list_pauses(
    session: Session, actor: Actor, *, limit: int | None = None, after_id: int = 0
) -> list[Pause]:
    """The workspace's active pauses in id order, from after `after_id`, `limit` at most."""
    query = (
        select(Pause)
        .where(Pause.workspace_id == actor.workspace_id, Pause.resumed_at.is_(None))
        .where(Pause.id > after_id)
        .order_by(Pause.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())
