"""Per-channel posting budgets: stay within each platform's write limits, so steady state
sees no 429. A claim (`claimed_at`: a worker is about to send) counts as one request in
every rolling window, and so does a publication handed over and not claimed yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlmodel import Session

from adapters.types import Budget
from publisher.core.models import Channel, Publication
from publisher.core.states import Status
from publisher.record import events

Budgets = Mapping[str, Sequence[Budget]]
# A platform counts a request when it arrives, a little after our claim: windows are
# widened by this much so that a slot we see free is free on the platform's clock too.
MARGIN = timedelta(seconds=1)


def within_budgets(
    session: Session,
    due: Sequence[tuple[int, int, str]],
    budgets: Budgets,
    *,
    now: datetime,
    look: Session | None = None,
) -> list[int]:
    """The due (id, channel, platform) rows that fit their channel's budgets, in order.
    A channel with no room left is held until its next slot frees. What each channel has
    used is read through `look` when given (a read-only session: no write lock while
    reading), for every channel in two queries."""
    reader = look or session
    by_channel: dict[int, list[int]] = {}
    limits: dict[int, Sequence[Budget]] = {}
    for pub_id, channel_id, slug in due:
        by_channel.setdefault(channel_id, []).append(pub_id)
        limits[channel_id] = budgets.get(slug, ())
    used = _used(reader, {c: b for c, b in limits.items() if b}, now=now)
    keep: list[int] = []
    for channel_id, ids in by_channel.items():
        room = min(
            [len(ids), *(max(b.count - used[channel_id, b.window], 0) for b in limits[channel_id])]
        )
        frees_at = None
        if room < len(ids):  # rare: read the window's times to know when a slot frees
            room, frees_at = _room(reader, channel_id, limits[channel_id], now=now, wanted=len(ids))
        keep.extend(ids[:room])
        if room < len(ids) and frees_at is not None:
            _hold(session, channel_id, ids[room:], until=frees_at, now=now)
    return keep


def _used(
    reader: Session, limits: Mapping[int, Sequence[Budget]], *, now: datetime
) -> dict[tuple[int, timedelta], int]:
    """(channel, window) -> requests counted in that window: claimed within it (widened by
    MARGIN), plus handed over and not claimed yet. Reading them channel by channel and
    window by window was most of a dispatcher pass when a burst fell due."""
    if not limits:
        return {}
    windows = sorted({b.window for budgets in limits.values() for b in budgets})
    channels = list(limits)
    waiting = dict(
        reader.execute(
            select(Publication.channel_id, func.count())
            .where(Publication.status == Status.QUEUED, Publication.channel_id.in_(channels))
            .group_by(Publication.channel_id)
        ).all()
    )
    counts = [
        func.sum(case((Publication.claimed_at > now - window - MARGIN, 1), else_=0))
        for window in windows
    ]
    claimed = {
        channel_id: row
        for channel_id, *row in reader.execute(
            select(Publication.channel_id, *counts)
            .where(Publication.channel_id.in_(channels))
            .where(Publication.claimed_at > now - windows[-1] - MARGIN)
            .group_by(Publication.channel_id)
        )
    }
    used = {}
    for channel_id in channels:
        sent = claimed.get(channel_id) or [0] * len(windows)
        for window, count in zip(windows, sent, strict=True):
            used[channel_id, window] = waiting.get(channel_id, 0) + int(count or 0)
    return used


def _hold(
    session: Session, channel_id: int, ids: Sequence[int], *, until: datetime, now: datetime
) -> None:
    """Move the excess publications' due time to when the budget has room again (their
    scheduled time stays what the user asked for)."""
    session.execute(
        update(Publication)
        .where(Publication.id.in_(ids), Publication.status == Status.SCHEDULED)
        .values(due_at=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    channel = session.get(Channel, channel_id)
    events.record(
        session,
        workspace_id=channel.workspace_id,
        kind="channel.budget_reached",
        actor="system:dispatcher",
        now=now,
        channel_id=channel_id,
        reason=f"{len(ids)} publication(s) held until {until.isoformat()}",
    )


def _room(
    session: Session, channel_id: int, budgets: Sequence[Budget], *, now: datetime, wanted: int
) -> tuple[int, datetime | None]:
    """How many of `wanted` may go out now, and, if not all, when the tightest window
    (counting the ones handed over now) frees its next slot."""
    if not budgets:
        return wanted, None
    # Sent: claimed within the window. About to be sent: handed over, not claimed yet.
    waiting = session.execute(
        select(func.count()).where(
            Publication.channel_id == channel_id, Publication.status == Status.QUEUED
        )
    ).scalar_one()
    recents = {}
    for budget in budgets:
        claimed = (
            session.execute(
                select(Publication.claimed_at)
                .where(Publication.channel_id == channel_id)
                .where(Publication.claimed_at > now - budget.window - MARGIN)
                .order_by(Publication.claimed_at)
            )
            .scalars()
            .all()
        )
        recents[budget] = [*claimed, *([now] * waiting)]
    room = min([wanted, *(max(b.count - len(r), 0) for b, r in recents.items())])
    if room == wanted:
        return room, None
    frees_at = None
    for budget, recent in recents.items():
        sent = [*recent, *([now] * room)]
        if len(sent) >= budget.count:
            slot = sent[len(sent) - budget.count] + budget.window + MARGIN
            frees_at = slot if frees_at is None else max(frees_at, slot)
    return room, frees_at
