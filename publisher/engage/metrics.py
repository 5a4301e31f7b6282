"""Metrics over time. Once published, a publication's metrics are pulled on a decaying
schedule (publisher/engage/schedule.py) by the dispatcher's pass, not a second scheduler:
`due` picks the publications whose next pull has come, groups them per channel into
batches of as many posts as one platform request takes (X: 100), inside each channel's
read budget, and leases them; a worker's `run_pull_metrics` asks the platform with no
transaction open and `record`s one snapshot per publication. A refusal is stored as a
snapshot with its error and retried later: never a hole that reads as zero.

`metrics_due_at` set to the moment of publication (by the worker or the reconciler)
starts a publication's schedule; `metrics_step` is the schedule's next point.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from adapters.errors import AdapterError, AuthExpired, RateLimited
from adapters.types import Budget
from publisher.core.models import Channel, MetricPull, MetricSnapshot, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, owned
from publisher.engage.schedule import next_pull
from publisher.plan.channels import mark_needs_reauth

# A handed-over batch is not due again before this, unless its job wrote back.
PULL_LEASE = timedelta(minutes=5)
# A channel whose read budget is spent is looked at again after this.
BUDGET_RECHECK = timedelta(minutes=1)
# A pull the platform refused (or failed) is tried again after this (doubled each time),
# or at the platform's reset; after MAX_FAILURES in a row its point is skipped.
RETRY_AFTER = timedelta(minutes=15)
MAX_FAILURES = 4
# A channel out of service (needs reauth, wrong account) is looked at again after this.
CHANNEL_RECHECK = timedelta(hours=1)
# Posts a job asks about, at the least (one request each where a platform takes one).
JOB_POSTS = 25
# Publications one pass reads.
SCAN = 5000
# Refused pulls older than this are not looked at for a hold (the index's range: a rate
# limit's reset is minutes, an hour at most, away).
READ_HOLD_MAX = timedelta(days=1)
# A request going out anyway takes along the channel's pulls due soon, up to what it holds:
# each at most this share of its point's age early (the one-hour point six minutes, the
# one-day point 2.4 hours), so posts published one after the other share requests.
EARLY_SHARE = 10

Budgets = Mapping[str, tuple[Sequence[Budget], int]]  # platform -> (read budgets, ids/request)


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a pull is due (a read: no write lock)."""
    found = session.execute(
        select(Publication.id).where(Publication.metrics_due_at <= now).limit(1)
    ).first()
    return found is not None


def due(
    session: Session, *, now: datetime, budgets: Budgets, schedule: tuple[timedelta, ...]
) -> list[tuple[int, int, list[int]]]:
    """Lease the pulls due now, as (channel id, pull id, publication ids) batches a job
    each; the pull row counts its planned requests against the read budget at once.

    A publication just published gets its first pull's time instead; one no longer
    published leaves the schedule; one whose channel is held or out of service waits for
    it; a channel's batches beyond its read budget wait."""
    rows = session.execute(
        select(
            Publication.id,
            Publication.channel_id,
            Publication.status,
            Publication.published_at,
            Publication.metrics_step,
            Publication.part_ids,
            Publication.metrics_due_at,
            Channel.platform,
            Channel.workspace_id,
            Channel.status,
            Channel.held_until,
        )
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Publication.metrics_due_at <= now)
        .order_by(Publication.metrics_due_at, Publication.id)
        .limit(SCAN)
    ).all()
    later: dict[int, datetime | None] = {}
    by_channel: dict[int, tuple[str, int, list[int]]] = {}
    posts: dict[int, int] = {}  # each publication's posts: a thread's parts are each one
    was: dict[int, datetime] = {}  # each one's due time as read: changed only from that
    for (
        pub_id, channel_id, status, out_at, step, parts, due_at, platform, workspace, state, held
    ) in rows:  # fmt: skip
        posts[pub_id], was[pub_id] = len(parts or ()) or 1, due_at
        first = next_pull(out_at, step, schedule) if out_at else None
        if status != Status.PUBLISHED or first is None:
            later[pub_id] = None  # taken down, or the schedule is done
        elif step == 0 and first > now:
            later[pub_id] = first  # just published: its first pull comes later
        elif state != "active":
            later[pub_id] = now + CHANNEL_RECHECK  # needs reauth, wrong account: wait
        elif held is not None and held > now:
            later[pub_id] = held  # throttled by the platform: not before it says
        else:
            by_channel.setdefault(channel_id, (platform, workspace, []))[2].append(pub_id)
    batches: list[tuple[int, int, list[int]]] = []
    for channel_id, (platform, workspace, ids) in by_channel.items():
        if (hold := read_hold(session, channel_id, now=now)) is not None:
            later.update(dict.fromkeys(ids, hold))  # its platform said when: not before
            continue
        limits, per_request = budgets.get(platform, ((), 1))
        soon: dict[int, tuple[int, datetime]] = {}
        if space := -sum(posts[i] for i in ids) % per_request:  # the last request has room
            soon = _due_soon(session, channel_id, space, now=now, schedule=schedule)
            posts.update({pub_id: count for pub_id, (count, _) in soon.items()})
            was.update({pub_id: due_at for pub_id, (_, due_at) in soon.items()})
            ids += list(soon)
        left = room(session, channel_id, limits, now=now)
        chunks = list(_chunks(ids, posts, max(per_request, JOB_POSTS)))
        for n, chunk in enumerate(chunks):
            calls = math.ceil(sum(posts[i] for i in chunk) / per_request)
            if left is not None and calls > left:
                waiting = [i for c in chunks[n:] for i in c if i not in soon]  # soon: as it was
                later.update(dict.fromkeys(waiting, now + BUDGET_RECHECK))
                break
            left = None if left is None else left - calls
            pull = MetricPull(
                workspace_id=workspace,
                channel_id=channel_id,
                at=now,
                publications=len(chunk),
                calls=calls,  # planned; the job writes what it made
                lease_until=now + PULL_LEASE,
            )
            session.add(pull)
            session.flush()
            batches.append((channel_id, pull.id, chunk))
            later.update(dict.fromkeys(chunk, pull.lease_until))
    _set_due(session, later, was)
    return batches


def _chunks(ids: list[int], posts: Mapping[int, int], size: int) -> Iterator[list[int]]:
    """The publications in jobs of at most `size` posts each (a thread larger alone)."""
    chunk, held = [], 0
    for pub_id in ids:
        if chunk and held + posts[pub_id] > size:
            yield chunk
            chunk, held = [], 0
        chunk.append(pub_id)
        held += posts[pub_id]
    if chunk:
        yield chunk


def _due_soon(
    session: Session, channel_id: int, space: int, *, now: datetime, schedule: tuple[timedelta, ...]
) -> dict[int, tuple[int, datetime]]:
    """The channel's publications waiting for their next point, due soon enough to take
    now (within a tenth of the point's age), up to `space` posts: their posts and due
    time by id. Not one leased to a pull (its due time is the lease's), nor one whose pull
    failed (it keeps its own time), nor one waiting on a budget."""
    rows = session.execute(
        select(
            Publication.id,
            Publication.published_at,
            Publication.metrics_step,
            Publication.part_ids,
            Publication.metrics_due_at,
        )
        .where(Publication.channel_id == channel_id, Publication.status == Status.PUBLISHED)
        .where(Publication.metrics_due_at > now)
        .where(Publication.metrics_due_at <= now + schedule[-1] / EARLY_SHARE)
        .where(Publication.metrics_failures == 0)
        .order_by(Publication.metrics_due_at, Publication.id)
        .limit(SCAN)
    ).all()
    taken: dict[int, tuple[int, datetime]] = {}
    for pub_id, out_at, step, parts, due_at in rows:
        point = next_pull(out_at, step, schedule) if out_at else None
        count = len(parts or ()) or 1
        if point is None or due_at != point or count > space:
            continue  # leased, or waiting on something else than its point; or too large
        if point - now <= schedule[step] / EARLY_SHARE:
            taken[pub_id] = (count, due_at)
            space -= count
            if space == 0:
                break
    return taken


def read_hold(session: Session, channel_id: int, *, now: datetime) -> datetime | None:
    """Until when the channel's platform refused its reads (a rate limit's reset, kept on
    the refused pull), if that is still ahead."""
    return session.scalar(
        select(func.max(MetricPull.retry_at)).where(
            MetricPull.channel_id == channel_id,
            MetricPull.at > now - READ_HOLD_MAX,  # the index's range: resets are minutes
            MetricPull.retry_at > now,
        )
    )


def reads_held_until(session: Session, channel: Channel, *, now: datetime) -> datetime | None:
    """Until when the channel's reads wait: its platform's hold on the channel, or on its
    reads (`read_hold`), whichever is later, if still ahead."""
    holds = [t for t in (channel.held_until, read_hold(session, channel.id, now=now)) if t]
    latest = max(holds, default=None)
    return latest if latest is not None and latest > now else None


def room(session: Session, channel_id: int, limits: Sequence[Budget], *, now: datetime):
    """Requests the channel may still make in its tightest read window (None: no limit):
    pulls done, pulls handed over (their planned requests) and live reads all count."""
    rooms = []
    for budget in limits:
        used = session.scalar(
            select(func.coalesce(func.sum(MetricPull.calls), 0)).where(
                MetricPull.channel_id == channel_id, MetricPull.at > now - budget.window
            )
        )
        rooms.append(max(budget.count - int(used or 0), 0))
    return min(rooms) if rooms else None


def _set_due(
    session: Session, due_at: Mapping[int, datetime | None], was: Mapping[int, datetime]
) -> None:
    """Each publication's next pull time, in one statement; only where it is still what
    the pass read (a pull recording meanwhile moved it on: that stands, and this pass's
    job finds the publication no longer leased to it)."""
    if due_at:
        table = Publication.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("pid"), table.c.metrics_due_at == bindparam("was"))
            .values(metrics_due_at=bindparam("at")),
            [{"pid": pid, "at": at, "was": was[pid]} for pid, at in due_at.items()],
        )


@dataclass(frozen=True)
class PullBatch:
    """What one pull job asks the platform: each publication's posts (a thread's parts)."""

    channel: Channel
    pull: MetricPull
    posts: dict[int, list[str]]

    def post_ids(self) -> list[str]:
        return [i for ids in self.posts.values() for i in ids]


def prepare(
    session: Session, channel_id: int, pull_id: int, publication_ids: Sequence[int]
) -> PullBatch | None:
    """The batch to ask about: the publications still published and still leased to this
    pull (a pull handed over again, or run twice, finds none of them). A pull left with
    none makes no request: it is closed, so the read budget no longer counts it."""
    pull = session.get(MetricPull, pull_id)
    channel = session.get(Channel, channel_id)
    if pull is None or pull.finished_at is not None or channel is None:
        return None
    rows = session.scalars(
        select(Publication).where(
            Publication.id.in_(publication_ids),
            Publication.channel_id == channel_id,
            Publication.status == Status.PUBLISHED,
            Publication.metrics_due_at == pull.lease_until,
        )
    ).all()
    posts = {p.id: list(p.part_ids or [p.external_id]) for p in rows if p.external_id}
    if not posts:
        pull.calls, pull.finished_at, pull.error = 0, pull.lease_until, "nothing left to ask"
        return None
    return PullBatch(channel, pull, posts)


def record(
    session: Session,
    batch: PullBatch,
    found: Mapping[str, Mapping[str, int]] | AdapterError,
    *,
    calls: int,
    now: datetime,
    schedule: tuple[timedelta, ...],
) -> MetricPull:
    """Store what one pull found: a snapshot per publication still leased to it, the
    next pull's time, and the requests it made (the read budget counts them). A pull
    that fails is tried again later, less and less often; after MAX_FAILURES in a row
    that point of the schedule is skipped."""
    error = found if isinstance(found, AdapterError) else None
    pull = session.get(MetricPull, batch.pull.id, with_for_update=True)
    if pull is None or pull.finished_at is not None:
        return batch.pull  # recorded by another run of the same job
    pull.calls, pull.finished_at = calls, now
    pull.error = error.reason[:2000] if error else None
    if isinstance(error, RateLimited):
        pull.retry_at = error.retry_at  # the channel's reads wait for it
    if isinstance(error, AuthExpired):  # the token is dead for publishing too: say so now
        mark_needs_reauth(session, batch.channel, reason=error.reason, now=now)
    rows = session.scalars(
        select(Publication)
        .where(
            Publication.id.in_(list(batch.posts)),
            Publication.metrics_due_at == pull.lease_until,
        )
        .with_for_update()
    ).all()
    snapshots = []
    for pub in rows:
        snapshot = {"workspace_id": pub.workspace_id, "publication_id": pub.id}
        snapshot |= {"pull_id": pull.id, "taken_at": now, "metrics": None, "error": None}
        if error is not None:
            snapshot["error"] = pull.error
            _retry(pub, error, now=now, schedule=schedule)
        else:
            counts = [found[i] for i in batch.posts[pub.id] if i in found]
            if counts:
                snapshot["metrics"] = _totals(counts)
            else:
                snapshot["error"] = "the platform no longer has this post"
            pub.metrics_failures = 0
            _advance(pub, now=now, schedule=schedule)
        snapshots.append(snapshot)
    if snapshots:
        session.execute(insert(MetricSnapshot), snapshots)
    return pull


def _retry(
    pub: Publication, error: AdapterError, *, now: datetime, schedule: tuple[timedelta, ...]
) -> None:
    pub.metrics_failures += 1
    if pub.metrics_failures >= MAX_FAILURES:
        pub.metrics_failures = 0
        _advance(pub, now=now, schedule=schedule)  # this point is lost; the next one stands
        return
    wait = RETRY_AFTER * 2 ** (pub.metrics_failures - 1)
    retry = error.retry_at if isinstance(error, RateLimited) else None
    pub.metrics_due_at = max(retry or now + wait, now + timedelta(seconds=1))


def _totals(counts: list[Mapping[str, int]]) -> dict[str, int]:
    """A thread's parts add up."""
    totals: dict[str, int] = {}
    for one in counts:
        for name, value in one.items():
            totals[name] = totals.get(name, 0) + int(value)
    return totals


def _advance(pub: Publication, *, now: datetime, schedule: tuple[timedelta, ...]) -> None:
    """On to the next point of the schedule still ahead (points missed while nothing
    pulled are skipped: one pull covers them)."""
    step = pub.metrics_step + 1
    while (at := next_pull(pub.published_at, step, schedule)) is not None and at <= now:
        step += 1
    pub.metrics_step, pub.metrics_due_at = step, at


def next_pull_at(pub: Publication, schedule: tuple[timedelta, ...]) -> datetime | None:
    """When the publication's metrics are next pulled (None: not published, or done)."""
    if pub.metrics_due_at is None or pub.status != Status.PUBLISHED or pub.published_at is None:
        return None
    planned = next_pull(pub.published_at, pub.metrics_step, schedule)
    return max(pub.metrics_due_at, planned) if planned else pub.metrics_due_at


def list_snapshots(
    session: Session, actor: Actor, publication_id: int
) -> tuple[Publication, list[MetricSnapshot]]:
    """The publication and every pull stored of it, oldest first."""
    pub = owned(session, Publication, publication_id, actor)
    snapshots = session.scalars(
        select(MetricSnapshot)
        .where(MetricSnapshot.publication_id == pub.id)
        .order_by(MetricSnapshot.taken_at, MetricSnapshot.id)
    ).all()
    return pub, list(snapshots)
