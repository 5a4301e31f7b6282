"""The audience: how many follow each channel's account, read once a day by the
dispatcher's pass (not a second scheduler), inside the channel's read budget: `due`
leases a pull (a `metric_pull` row of one request, which the budget counts) and a
worker's `run_pull_audience` asks the platform with no transaction open, then `record`s
a snapshot, or the platform's refusal (a passing one tried again a quarter of an hour
later, or at the platform's reset; one that will not pass, the next day): never a hole
read as zero. The community report's audience growth is read from the snapshots
(`growth`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from adapters.errors import AdapterError, AuthExpired, RateLimited, Rejected
from publisher.core.models import AudienceSnapshot, Channel, MetricPull
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.metrics import BUDGET_RECHECK, PULL_LEASE, RETRY_AFTER, Budgets, room

# How often a channel's audience is read.
AUDIENCE_EVERY = timedelta(days=1)


def _due_now(now: datetime):
    return (Channel.status == "active") & (
        Channel.audience_due_at.is_(None) | (Channel.audience_due_at <= now)
    )


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a channel's audience is due (a read: no write lock)."""
    return session.execute(select(Channel.id).where(_due_now(now)).limit(1)).first() is not None


def due(session: Session, *, now: datetime, budgets: Budgets) -> list[tuple[int, int]]:
    """Lease the audience reads due now, as (channel id, pull id): one request each,
    counted in the channel's read budget at once. A channel the platform holds waits for
    it; one whose budget is spent is looked at again a minute later."""
    leased = []
    channels = session.scalars(select(Channel).where(_due_now(now)).with_for_update()).all()
    for channel in channels:
        if channel.held_until is not None and channel.held_until > now:
            channel.audience_due_at = channel.held_until
            continue
        left = room(session, channel.id, budgets.get(channel.platform, ((), 1))[0], now=now)
        if left is not None and left < 1:
            channel.audience_due_at = now + BUDGET_RECHECK
            continue
        pull = MetricPull(
            workspace_id=channel.workspace_id,
            channel_id=channel.id,
            at=now,
            publications=0,
            calls=1,  # planned; the job writes what it made
            lease_until=now + PULL_LEASE,
        )
        session.add(pull)
        session.flush()
        channel.audience_due_at = pull.lease_until
        leased.append((channel.id, pull.id))
    return leased


def prepare(session: Session, channel_id: int, pull_id: int) -> Channel | None:
    """The channel to read, while this pull still holds it (a pull handed over again, or
    run twice, finds it taken)."""
    pull = session.get(MetricPull, pull_id)
    channel = session.get(Channel, channel_id)
    if pull is None or pull.finished_at is not None or channel is None:
        return None
    return channel if channel.audience_due_at == pull.lease_until else None


def record(
    session: Session,
    channel_id: int,
    pull_id: int,
    found: int | AdapterError,
    *,
    calls: int,
    now: datetime,
) -> AudienceSnapshot | None:
    """Store what the read found (or the refusal) and when the next read is due."""
    pull = session.get(MetricPull, pull_id, with_for_update=True)
    channel = session.get(Channel, channel_id, with_for_update=True)
    if pull is None or pull.finished_at is not None or channel is None:
        return None  # recorded by another run of the same job
    error = found if isinstance(found, AdapterError) else None
    pull.calls, pull.finished_at = calls, now
    pull.error = error.reason[:2000] if error else None
    snapshot = AudienceSnapshot(
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        pull_id=pull.id,
        taken_at=now,
        followers=None if error else int(found),
        error=pull.error,
    )
    session.add(snapshot)
    if channel.audience_due_at == pull.lease_until:
        # Read, or refused for a reason that will not pass (a refusal, a token): tomorrow.
        if error is None or isinstance(error, Rejected | AuthExpired):
            channel.audience_due_at = now + AUDIENCE_EVERY
        else:
            retry = error.retry_at if isinstance(error, RateLimited) else None
            channel.audience_due_at = max(retry or now + RETRY_AFTER, now + timedelta(seconds=1))
    return snapshot


@dataclass(frozen=True)
class AudienceLine:
    """A channel's followers at the window's start and end, as last read by then; the
    growth from the start (or, for a channel first read inside the window, from that
    first read: `since`)."""

    channel: Channel
    at_start: int | None
    at_end: int | None
    since: datetime | None
    growth: int | None


def growth(
    session: Session, workspace_id: int, start: datetime, end: datetime
) -> list[AudienceLine]:
    """Every channel of the workspace, its audience over [start, end)."""
    lines = []
    channels = session.scalars(
        select(Channel).where(Channel.workspace_id == workspace_id).order_by(Channel.id)
    ).all()
    for channel in channels:
        read = (AudienceSnapshot.channel_id == channel.id) & AudienceSnapshot.followers.is_not(None)
        last = (
            select(AudienceSnapshot.followers, AudienceSnapshot.taken_at)
            .where(read)
            .order_by(AudienceSnapshot.taken_at.desc(), AudienceSnapshot.id.desc())
            .limit(1)
        )
        at_start = session.execute(last.where(AudienceSnapshot.taken_at <= start)).first()
        at_end = session.execute(last.where(AudienceSnapshot.taken_at < end)).first()
        base = at_start
        if base is None:  # first read inside the window: growth since then
            base = session.execute(
                select(AudienceSnapshot.followers, AudienceSnapshot.taken_at)
                .where(read, AudienceSnapshot.taken_at >= start, AudienceSnapshot.taken_at < end)
                .order_by(AudienceSnapshot.taken_at, AudienceSnapshot.id)
                .limit(1)
            ).first()
        lines.append(
            AudienceLine(
                channel=channel,
                at_start=at_start.followers if at_start else None,
                at_end=at_end.followers if at_end else None,
                since=base.taken_at if base else None,
                growth=at_end.followers - base.followers if at_end and base else None,
            )
        )
    return lines


def list_snapshots(
    session: Session, actor: Actor, channel_id: int, *, limit: int = 100, after_id: int = 0
) -> list[AudienceSnapshot]:
    """The channel's audience reads in the order they were made, from after `after_id`."""
    actor.require(Permission.READ)
    channel = owned(session, Channel, channel_id, actor)
    query = select(AudienceSnapshot).where(
        AudienceSnapshot.channel_id == channel.id, AudienceSnapshot.id > after_id
    )
    return list(session.scalars(query.order_by(AudienceSnapshot.id).limit(limit)))
