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

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from adapters.errors import AdapterError, AuthExpired, RateLimited, Rejected
from publisher.core.models import AudienceSnapshot, Channel, MetricPull
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.metrics import (
    BUDGET_RECHECK,
    PULL_LEASE,
    RETRY_AFTER,
    Budgets,
    reads_held_until,
    room,
)
from publisher.plan.channels import ACTIVE, mark_needs_reauth

# How often a channel's audience is read; how many reads one pass hands over at most.
AUDIENCE_EVERY = timedelta(days=1)
PASS_READS = 100


def _due_now(now: datetime) -> ColumnElement[bool]:
    return (Channel.status == ACTIVE) & (
        Channel.audience_due_at.is_(None) | (Channel.audience_due_at <= now)
    )


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a channel's audience is due (a read: no write lock)."""
    return session.execute(select(Channel.id).where(_due_now(now)).limit(1)).first() is not None


def due(session: Session, *, now: datetime, budgets: Budgets) -> list[tuple[int, int]]:
    """Lease the audience reads due now, as (channel id, pull id): one request each,
    counted in the channel's read budget at once (the leader's pass alone leases, as it
    does metrics pulls: no channel row is held, so nothing that holds one, a claim or a
    live read, makes the pass wait). A channel the platform holds waits for it; one
    whose budget is spent is looked at again a minute later."""
    leased = []
    channels = session.scalars(
        select(Channel).where(_due_now(now)).order_by(Channel.id).limit(PASS_READS)
    ).all()
    for channel in channels:
        if (held := reads_held_until(session, channel, now=now)) is not None:
            channel.audience_due_at = held
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
    """The channel to read, while this pull still holds it. A pull handed over again, or
    run twice, finds it taken; one whose lease lapsed made no request: it is closed so
    the budget no longer counts it."""
    pull = session.get(MetricPull, pull_id, populate_existing=True)
    channel = session.get(Channel, channel_id, populate_existing=True)
    if pull is None or pull.finished_at is not None or channel is None:
        return None
    if channel.audience_due_at != pull.lease_until:
        pull.calls, pull.finished_at, pull.error = 0, pull.lease_until, "lease lapsed"
        return None
    return channel


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
    held = {"with_for_update": True, "populate_existing": True}
    pull = session.get(MetricPull, pull_id, **held)
    channel = session.get(Channel, channel_id, **held)
    if pull is None or pull.finished_at is not None or channel is None:
        return None  # recorded by another run of the same job
    error = found if isinstance(found, AdapterError) else None
    pull.calls, pull.finished_at = calls, now
    pull.error = error.reason[:2000] if error else None
    if isinstance(error, RateLimited):
        pull.retry_at = error.retry_at  # the channel's reads wait for it
    if isinstance(error, AuthExpired):  # the token is dead for publishing too: say so now
        mark_needs_reauth(session, channel, reason=error.reason, now=now)
    snapshot = AudienceSnapshot(
        workspace_id=channel.workspace_id,
        channel_id=channel.id,
        pull_id=pull.id,
        taken_at=now,
        followers=None if error else int(found),
        error=pull.error,
    )
    if channel.audience_due_at == pull.lease_until:
        channel.audience_due_at = _next(session, channel.id, error, now=now)
    session.add(snapshot)
    return snapshot


def _next(session: Session, channel_id: int, error: AdapterError | None, *, now: datetime):
    """When to read again: tomorrow after a read (or a refusal that will not pass: a
    refusal, a token, credentials that no longer decrypt); after a passing fault, a
    quarter of an hour, doubled with each failure in a row (at most a day), or the
    platform's reset."""
    if error is None or isinstance(error, Rejected | AuthExpired) or type(error) is AdapterError:
        return now + AUDIENCE_EVERY
    recent = session.scalars(
        select(AudienceSnapshot.followers)
        .where(AudienceSnapshot.channel_id == channel_id)
        .order_by(AudienceSnapshot.taken_at.desc(), AudienceSnapshot.id.desc())
        .limit(7)
    ).all()
    failures = next((n for n, f in enumerate(recent) if f is not None), len(recent))
    wait = min(RETRY_AFTER * 2**failures, AUDIENCE_EVERY)
    retry = error.retry_at if isinstance(error, RateLimited) else None
    return max(retry or now + wait, now + timedelta(seconds=1))


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
    """Every channel of the workspace, its audience over [start, end): three queries,
    whatever the number of channels."""
    at_start = _edge(session, workspace_id, AudienceSnapshot.taken_at <= start, newest=True)
    at_end = _edge(session, workspace_id, AudienceSnapshot.taken_at < end, newest=True)
    inside = (AudienceSnapshot.taken_at >= start) & (AudienceSnapshot.taken_at < end)
    first = _edge(session, workspace_id, inside, newest=False)
    lines = []
    channels = session.scalars(
        select(Channel).where(Channel.workspace_id == workspace_id).order_by(Channel.id)
    ).all()
    for channel in channels:
        base = at_start.get(channel.id) or first.get(channel.id)
        last = at_end.get(channel.id)
        lines.append(
            AudienceLine(
                channel=channel,
                at_start=at_start[channel.id][0] if channel.id in at_start else None,
                at_end=last[0] if last else None,
                since=base[1] if base else None,
                growth=last[0] - base[0] if last and base else None,
            )
        )
    return lines


def _edge(
    session: Session, workspace_id: int, when: ColumnElement[bool], *, newest: bool
) -> dict[int, tuple[int, datetime]]:
    """Per channel, the newest (or oldest) read of a count among the snapshots `when`."""
    taken = AudienceSnapshot.taken_at
    order = (taken.desc(), AudienceSnapshot.id.desc()) if newest else (taken, AudienceSnapshot.id)
    ranked = (
        select(
            AudienceSnapshot.channel_id,
            AudienceSnapshot.followers,
            taken,
            func.row_number()
            .over(partition_by=AudienceSnapshot.channel_id, order_by=order)
            .label("rank"),
        )
        .where(
            AudienceSnapshot.workspace_id == workspace_id,
            AudienceSnapshot.followers.is_not(None),
            when,
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.channel_id, ranked.c.followers, ranked.c.taken_at).where(ranked.c.rank == 1)
    )
    return {channel: (followers, at) for channel, followers, at in rows}


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
