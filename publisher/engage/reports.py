"""A campaign's report over a window: what went out, what the platforms counted, the clicks
through its short links, the results its systems reported, against its goals.

Every figure is a sum of stored facts, computed in the database (a campaign with a
million clicks is grouped there, not read): publications published in the window; each
one's metrics as its last pull before the window's end found them (pulls are running
totals); clicks by people (bots apart) and conversions that happened in the window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, true
from sqlmodel import Session

from publisher.core.engagement_models import MetricSnapshot
from publisher.core.errors import ValidationFailed, field_error
from publisher.core.models import (
    Campaign,
    Channel,
    Conversion,
    Post,
    Publication,
)
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage import activity
from publisher.engage.advocates import Advocate, campaign_advocates
from publisher.engage.click_counts import ClickCounts, click_counts, five_minutes
from publisher.engage.figures import BASE_METRICS, Figures, PublicationFigures, label

MAX_WINDOW = timedelta(days=400)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Report:
    campaign: Campaign
    start: datetime
    end: datetime
    time_zone: str
    totals: Figures
    publications: list[PublicationFigures]
    by_channel: dict[int, Figures]
    by_day: dict[date, Figures]
    advocates: list[Advocate]
    channels: dict[int, Channel]  # the channels by_channel names, by id
    cohorts: list[dict] = field(default_factory=list)
    previous: Figures | None = None
    previous_start: datetime | None = None


def get_campaign_report(
    session: Session,
    actor: Actor,
    campaign_id: int,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    time_zone: str = "UTC",
    compare_previous: bool = False,
    weeks: int = 8,
) -> Report:
    """The campaign's report over [start, end): by default from its start (else its
    creation; at most 400 days before the end) to its end, or now if it has not ended.
    A window asked for is reported as asked, never moved."""
    actor.require(Permission.READ)
    campaign = owned(session, Campaign, campaign_id, actor)
    start, end = _window(campaign, start, end, now)
    within_limit(start, end)
    if compare_previous and start - EPOCH < end - start:
        raise ValidationFailed(
            "the window before this one would start before 1970",
            [field_error(["query", "compare"], "no window before this one to compare with")],
        )
    clicks = click_counts(session, campaign.id, start, end)
    pubs = publication_figures(session, campaign.id, start, end, clicks)
    figures = window_figures(session, campaign.id, pubs, start, end, clicks)
    by_channel = _by_channel(session, pubs, clicks)
    report = Report(
        campaign=campaign,
        start=start,
        end=end,
        time_zone=time_zone,
        totals=figures,
        publications=pubs,
        by_channel=by_channel,
        by_day=_by_day(session, campaign.id, pubs, start, end, ZoneInfo(time_zone), clicks),
        advocates=campaign_advocates(session, campaign.id, start, end),
        channels={
            c.id: c
            for c in session.scalars(select(Channel).where(Channel.id.in_(list(by_channel))))
        },
    )
    first = activity.first_touches(campaign.workspace_id, campaign.id, end)
    report.cohorts = activity.cohorts(
        session, campaign.workspace_id, first, start, end, weeks, campaign_id=campaign.id
    )
    if compare_previous:
        span = end - start
        report.previous_start = start - span
        before = click_counts(session, campaign.id, start - span, start)
        earlier = publication_figures(session, campaign.id, start - span, start, before)
        report.previous = window_figures(session, campaign.id, earlier, start - span, start, before)
    return report


def within_limit(start: datetime, end: datetime) -> None:
    """A report covers MAX_WINDOW at most (the 422 names `from`)."""
    if end - start > MAX_WINDOW:
        raise ValidationFailed(
            "a report covers 400 days at most",
            [field_error(["query", "from"], "more than 400 days before the window's end")],
        )


def _window(
    campaign: Campaign, start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The window: what was asked, the rest from the campaign. One end asked and the other
    from the campaign on the wrong side of it is refused (it was silently moved); nothing
    asked of a campaign not begun is an empty window at its start."""
    begins = campaign.starts_at or campaign.created_at
    last = min(campaign.ends_at or now, now)
    if start is None and end is not None and end <= begins:
        raise ValidationFailed(
            f"to is before the campaign began ({begins.isoformat()}): give from as well",
            [field_error(["query", "to"], "before the campaign's start")],
        )
    if end is None and start is not None and start >= last:
        raise ValidationFailed(
            f"from is after the campaign's last moment ({last.isoformat()}: its end, or now)"
            ": give to as well",
            [field_error(["query", "from"], "after the campaign's end, or now")],
        )
    end = end or last
    start = start or max(begins, end - MAX_WINDOW)  # a long campaign: its last 400 days
    return start, max(start, end)


def publication_figures(
    session: Session,
    campaign_id: int,
    start: datetime,
    end: datetime,
    clicks: ClickCounts | None = None,
) -> list[PublicationFigures]:
    """Each publication published in the window, with its last pull's metrics before the
    window's end and the clicks through its links in the window."""
    published = session.execute(
        select(Publication.id, Publication.channel_id, Channel.platform, Publication.published_at)
        .join(Post, Post.id == Publication.post_id)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Post.campaign_id == campaign_id)
        .where(Publication.published_at >= start, Publication.published_at < end)
        .order_by(Publication.published_at, Publication.id)
    ).all()
    ids = [row.id for row in published]
    metrics = last_metrics(session, ids, end)
    clicks = clicks or click_counts(session, campaign_id, start, end)
    return [
        PublicationFigures(
            publication_id=row.id,
            channel_id=row.channel_id,
            platform=row.platform,
            published_at=row.published_at,
            metrics=metrics.get(row.id, {}),
            clicks=clicks.people.get(row.id, 0),
            conversions=clicks.results.get(row.id, {}),
        )
        for row in published
    ]


def last_metrics(
    session: Session, ids: list[int], end: datetime | None = None
) -> dict[int, dict[str, int]]:
    """Each publication's metrics as its last successful pull (before `end`) found them."""
    found: dict[int, dict[str, int]] = {}
    for chunk in _chunks(ids, 500):
        last = (
            select(
                MetricSnapshot.publication_id.label("pid"),
                func.max(MetricSnapshot.taken_at).label("taken_at"),
            )
            .where(MetricSnapshot.publication_id.in_(chunk))
            .where(MetricSnapshot.error.is_(None))  # a refusal found nothing
            .where(MetricSnapshot.taken_at < end if end is not None else true())
            .group_by(MetricSnapshot.publication_id)
            .subquery()
        )
        rows = session.execute(
            select(MetricSnapshot.publication_id, MetricSnapshot.metrics, MetricSnapshot.id)
            .join(
                last,
                and_(
                    MetricSnapshot.publication_id == last.c.pid,
                    MetricSnapshot.taken_at == last.c.taken_at,
                ),
            )
            .where(MetricSnapshot.error.is_(None))
            .order_by(MetricSnapshot.id)
        ).all()
        for pid, counts, _ in rows:  # two pulls at the same instant: the later row
            found[pid] = {k: int(v) for k, v in (counts or {}).items() if k in BASE_METRICS}
    return found


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _sum_metrics(pubs: Iterable[PublicationFigures]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for pub in pubs:
        total.update(pub.metrics)
    return {name: total[name] for name in BASE_METRICS if name in total}  # as reported


def window_figures(
    session: Session,
    campaign_id: int,
    pubs: list[PublicationFigures],
    start: datetime,
    end: datetime,
    clicks: ClickCounts | None = None,
) -> Figures:
    figures = Figures(publications=len(pubs), metrics=_sum_metrics(pubs))
    clicks = clicks or click_counts(session, campaign_id, start, end)
    figures.clicks = sum(clicks.people.values())
    figures.bot_clicks = sum(clicks.bots.values())
    figures.clicks_on_these = sum(pub.clicks for pub in pubs)
    in_window = and_(
        Conversion.campaign_id == campaign_id,
        Conversion.occurred_at >= start,
        Conversion.occurred_at < end,
    )
    for kind, name, count, cents, currency in session.execute(
        select(
            Conversion.kind,
            Conversion.name,
            func.count(),
            func.sum(Conversion.value_cents),
            Conversion.currency,
        )
        .where(in_window)
        .group_by(Conversion.kind, Conversion.name, Conversion.currency)
    ).all():
        key = label(kind, name)
        figures.conversions[key] = figures.conversions.get(key, 0) + count
        if cents is not None and currency:
            figures.value_cents[currency] = figures.value_cents.get(currency, 0) + int(cents)
    figures.referrals = session.execute(
        select(func.count()).where(
            in_window,
            (Conversion.kind == "referral")
            | ((Conversion.kind == "signup") & Conversion.referrer_id.is_not(None)),
        )
    ).scalar_one()
    workspace = session.scalar(select(Campaign.workspace_id).where(Campaign.id == campaign_id))
    figures.new_members, figures.returning_members = activity.new_and_returning(
        session, workspace, start, end, campaign_id=campaign_id
    )
    return figures


def _channels(session: Session, ids: Iterable[int]) -> dict[int, Channel]:
    found = session.scalars(select(Channel).where(Channel.id.in_(list(ids))))
    return {channel.id: channel for channel in found}


def _by_channel(
    session: Session, pubs: list[PublicationFigures], clicks: ClickCounts
) -> dict[int, Figures]:
    """Publications, metrics, clicks (people's and bots') and the results that came
    through the short links per channel (a result that named no link is the campaign's
    alone: in the totals)."""
    grouped: dict[int, list[PublicationFigures]] = defaultdict(list)
    for pub in pubs:
        grouped[pub.channel_id].append(pub)
    reached = set(clicks.people) | set(clicks.bots) | set(clicks.results)
    channel_of = dict(
        session.execute(
            select(Publication.id, Publication.channel_id).where(Publication.id.in_(list(reached)))
        ).all()
    )
    by_channel: Counter[int] = Counter()
    for publication_id, count in clicks.people.items():
        by_channel[channel_of[publication_id]] += count
    bots: Counter[int] = Counter()
    for publication_id, count in clicks.bots.items():
        bots[channel_of[publication_id]] += count
    results: dict[int, Counter[str]] = defaultdict(Counter)
    for publication_id, kinds in clicks.results.items():
        results[channel_of[publication_id]].update(kinds)
    channels = set(grouped) | set(by_channel) | set(bots) | set(results)
    return {
        channel_id: Figures(
            publications=len(grouped.get(channel_id, [])),
            metrics=_sum_metrics(grouped.get(channel_id, [])),
            clicks=by_channel.get(channel_id, 0),
            bot_clicks=bots.get(channel_id, 0),
            clicks_on_these=sum(p.clicks for p in grouped.get(channel_id, [])),
            conversions=dict(sorted(results.get(channel_id, Counter()).items())),
        )
        for channel_id in sorted(channels)
    }


def _by_day(
    session: Session,
    campaign_id: int,
    pubs: list[PublicationFigures],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    clicks: ClickCounts,
) -> dict[date, Figures]:
    """Publications, clicks, conversions, their value and the recruits per day in `zone`
    (what happened that day; a publication's metrics stay with the day it went out)."""
    days: dict[date, Figures] = defaultdict(Figures)

    for pub in pubs:
        figures = days[pub.published_at.astimezone(zone).date()]
        figures.publications += 1
        figures.clicks_on_these += pub.clicks
        for name, value in pub.metrics.items():
            figures.metrics[name] = figures.metrics.get(name, 0) + value
    for moment, count in clicks.by_bucket.items():
        days[moment.astimezone(zone).date()].clicks += count
    bucket, instant = five_minutes(session, Conversion.occurred_at)
    recruit = (Conversion.kind == "referral") | (
        (Conversion.kind == "signup") & Conversion.referrer_id.is_not(None)
    )
    for moment, kind, name, recruits, currency, count, cents in session.execute(
        select(
            bucket,
            Conversion.kind,
            Conversion.name,
            recruit,
            Conversion.currency,
            func.count(),
            func.sum(Conversion.value_cents),
        )
        .where(Conversion.campaign_id == campaign_id)
        .where(Conversion.occurred_at >= start, Conversion.occurred_at < end)
        .group_by(bucket, Conversion.kind, Conversion.name, recruit, Conversion.currency)
    ).all():
        key, figures = label(kind, name), days[instant(moment).astimezone(zone).date()]
        figures.conversions[key] = figures.conversions.get(key, 0) + count
        if cents is not None and currency:
            figures.value_cents[currency] = figures.value_cents.get(currency, 0) + int(cents)
        if recruits:
            figures.referrals += count
    return dict(sorted(days.items()))
