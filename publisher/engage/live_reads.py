"""A publication's metrics asked of its platform now (GET /v1/publications/{id}/metrics),
inside the channel's read budget as the scheduled pulls are: counted before it is made,
refused (503, with when it may be asked again) when the channel is held by its platform
or the live reads' share of the budget is spent (the scheduled pulls keep the last tenth
of each window: polling clients cannot starve them), and kept as a snapshot of the
history (what it found, or the platform's refusal)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from adapters.base import Adapter
from adapters.types import Budget
from publisher.core.errors import PlatformUnavailable, PublisherError
from publisher.core.models import Channel, MetricPull, MetricSnapshot, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, owned
from publisher.engage.metrics import Budgets, reads_held_until, room
from publisher.plan import publications
from publisher.plan.post_schemas import MetricsRead

# The share of each read window live reads leave to the scheduled pulls.
SCHEDULE_SHARE = 0.1


def read_live(
    session: Session,
    actor: Actor,
    publication_id: int,
    *,
    adapter_for: Callable[[Channel], Adapter],
    clock: Callable[[], datetime],
    budgets: Budgets,
    store: Callable[[], Session],
) -> MetricsRead:
    """The publication's metrics from its platform now: the read reserved in the budget
    first (a short write in a session of `store`'s: the request's own only reads), then
    made with no transaction open, then kept."""
    pub = owned(session, Publication, publication_id, actor)
    if pub.status != Status.PUBLISHED or pub.external_id is None:  # the 409, as it says
        return publications.get_live_metrics(
            session, actor, publication_id, adapter_for=adapter_for, clock=clock
        )
    channel = session.get(Channel, pub.channel_id)
    limits, per_request = budgets.get(channel.platform, ((), 1))
    calls = math.ceil(len(pub.part_ids or [pub.external_id]) / max(per_request, 1))
    now = clock()
    pull_id = _reserve(store, pub, channel.id, limits, calls, now=now)
    try:
        read = publications.get_live_metrics(
            session, actor, publication_id, adapter_for=adapter_for, clock=clock
        )
    except Exception as exc:  # the request counts all the same
        detail = exc.detail if isinstance(exc, PublisherError) else f"the read failed: {exc!r}"
        retry = exc.extra.get("retry_at") if isinstance(exc, PlatformUnavailable) else None
        _keep(store, pub, pull_id, now=now, error=detail, retry_at=retry)
        raise
    _keep(store, pub, pull_id, now=read.fetched_at or now, metrics=read.metrics)  # one instant
    return read


def _reserve(
    store: Callable[[], Session],
    pub: Publication,
    channel_id: int,
    limits: Sequence[Budget],
    calls: int,
    *,
    now: datetime,
) -> int:
    """Count the read against the channel's read budget before it is made, or refuse it:
    the channel is held by its platform, or the live reads' share of a window is spent
    (the last SCHEDULE_SHARE of each is the scheduled pulls'). The channel's row is held
    meanwhile, so two reads cannot both take the last room."""
    with store() as writes:
        channel = writes.scalar(select(Channel).where(Channel.id == channel_id).with_for_update())
        if (held := reads_held_until(writes, channel, now=now)) is not None:
            raise PlatformUnavailable(
                f"channel {channel.id} is held by its platform until {held.isoformat()}: "
                "ask again then",
                retry_at=held.isoformat(),
            )
        shares = [Budget(b.count - math.floor(b.count * SCHEDULE_SHARE), b.window) for b in limits]
        left = room(writes, channel.id, shares, now=now)
        if left is not None and calls > left:
            again = room_again(writes, channel.id, shares, calls, now=now)
            raise PlatformUnavailable(
                f"channel {channel.id}'s read budget has no room for a live read (the "
                f"scheduled pulls keep their share): ask again at {again.isoformat()}",
                retry_at=again.isoformat(),
            )
        pull = MetricPull(
            workspace_id=pub.workspace_id,
            channel_id=channel.id,
            at=now,
            publications=1,
            calls=calls,
            lease_until=now,  # leases nothing: the schedule goes on as it was
        )
        writes.add(pull)
        writes.commit()
        return pull.id


def room_again(
    session: Session, channel_id: int, limits: Sequence[Budget], calls: int, *, now: datetime
) -> datetime:
    """When the channel's read budgets have room for `calls` requests again: as the
    earliest requests in each window leave it."""
    latest = now
    for budget in limits:
        pulls = session.execute(
            select(MetricPull.at, MetricPull.calls)
            .where(MetricPull.channel_id == channel_id, MetricPull.at > now - budget.window)
            .order_by(MetricPull.at)
        ).all()
        used = sum(n for _, n in pulls)
        for at, n in pulls:
            if used + calls <= budget.count:
                break
            used -= n
            latest = max(latest, at + budget.window)
    return latest


def _keep(
    store: Callable[[], Session],
    pub: Publication,
    pull_id: int,
    *,
    now: datetime,
    metrics: dict[str, int] | None = None,
    error: str | None = None,
    retry_at: str | None = None,
) -> None:
    with store() as writes:
        pull = writes.get(MetricPull, pull_id)
        pull.finished_at, pull.error = now, error and error[:2000]
        if retry_at:  # a rate limit's reset: the channel's reads wait for it
            pull.retry_at = datetime.fromisoformat(retry_at)
        writes.add(
            MetricSnapshot(
                workspace_id=pub.workspace_id,
                publication_id=pub.id,
                pull_id=pull_id,
                taken_at=now,
                metrics=metrics if error is None else None,
                error=error and error[:2000],
            )
        )
        writes.commit()
