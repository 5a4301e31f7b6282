"""A publication's metrics asked of its platform now (GET /v1/publications/{id}/metrics),
inside the channel's read budget as the scheduled pulls are: a read the budget has no
room for is refused (503, with when it has room again) before the platform is asked,
and a read made counts against the budget the pulls share and is kept as a snapshot of
the history (what it found, or the platform's refusal)."""

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
from publisher.engage.metrics import Budgets, room
from publisher.plan import publications
from publisher.plan.post_schemas import MetricsRead


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
    """The publication's metrics from its platform now, the read counted and kept (in a
    session of `store`'s: the request's own only reads)."""
    pub = owned(session, Publication, publication_id, actor)
    channel = session.get(Channel, pub.channel_id)
    limits, per_request = budgets.get(channel.platform, ((), 1))
    calls = math.ceil(len(pub.part_ids or [pub.external_id]) / max(per_request, 1))
    asks = pub.status == Status.PUBLISHED and pub.external_id is not None
    now = clock()
    if asks:
        left = room(session, channel.id, limits, now=now)
        if left is not None and calls > left:
            again = room_again(session, channel.id, limits, calls, now=now)
            raise PlatformUnavailable(
                f"channel {channel.id}'s read budget is spent (the scheduled pulls share it): "
                f"ask again at {again.isoformat()}",
                retry_at=again.isoformat(),
            )
    try:
        read = publications.get_live_metrics(
            session, actor, publication_id, adapter_for=adapter_for, clock=clock
        )
    except PublisherError as exc:
        if asks:  # the platform was asked (or tried): the request counts all the same
            _keep(store, pub, channel, calls, now=now, error=exc.detail)
        raise
    _keep(store, pub, channel, calls, now=now, metrics=read.metrics)
    return read


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
    channel: Channel,
    calls: int,
    *,
    now: datetime,
    metrics: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    with store() as writes:
        pull = MetricPull(
            workspace_id=pub.workspace_id,
            channel_id=channel.id,
            at=now,
            publications=1,
            calls=calls,
            lease_until=now,  # leases nothing: the schedule goes on as it was
            finished_at=now,
            error=error and error[:2000],
        )
        writes.add(pull)
        writes.flush()
        writes.add(
            MetricSnapshot(
                workspace_id=pub.workspace_id,
                publication_id=pub.id,
                pull_id=pull.id,
                taken_at=now,
                metrics=metrics if error is None else None,
                error=error and error[:2000],
            )
        )
        writes.commit()
