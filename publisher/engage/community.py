"""The workspace's community over a window: every campaign's figures and their sum, the
audience's growth and interactions, the members active, and weekly retention cohorts
(loyalty: of the members first seen in a week, the share active in each week after)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.core.errors import ValidationFailed, field_error
from publisher.core.models import Campaign, Interaction, Member
from publisher.core.workspaces import Actor, Permission
from publisher.engage import activity, audience
from publisher.engage.figures import Figures
from publisher.engage.reports import publication_figures, window_figures, within_limit


@dataclass
class CampaignLine:
    campaign: Campaign
    figures: Figures


@dataclass
class CommunityReport:
    start: datetime
    end: datetime
    totals: Figures
    follows: int
    interactions: dict[str, int]
    active_members: int
    members_total: int
    campaigns: list[CampaignLine]
    cohorts: list[dict]
    audience: list[audience.AudienceLine]


DEFAULT_WINDOW = timedelta(days=30)


def window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The window asked for; what is not asked: the 30 days up to now (or up to `to`)."""
    if end is None and start is not None and start >= now:
        raise ValidationFailed(
            "from is in the future: give to as well",
            [field_error(["query", "from"], "after now")],
        )
    end = end or now
    start = start or end - DEFAULT_WINDOW
    within_limit(start, end)  # `from` alone, years back: as if both were given
    return start, end


def get_community_report(
    session: Session, actor: Actor, *, start: datetime, end: datetime, weeks: int = 8
) -> CommunityReport:
    """The workspace over [start, end): every campaign's figures and their sum, the
    audience's growth (each channel's followers as read, and the follows X told of) and
    interactions, the members active (a result or an
    interaction of theirs), and weekly retention cohorts of the members first seen in it."""
    actor.require(Permission.READ)
    campaigns = session.execute(
        select(Campaign).where(Campaign.workspace_id == actor.workspace_id).order_by(Campaign.id)
    ).scalars()
    lines = []
    for campaign in campaigns:
        pubs = publication_figures(session, campaign.id, start, end)
        lines.append(CampaignLine(campaign, window_figures(session, campaign.id, pubs, start, end)))
    totals = Figures()
    for line in lines:
        totals.add(line.figures)
    interactions = dict(
        session.execute(
            select(Interaction.kind, func.count())
            .where(Interaction.workspace_id == actor.workspace_id)
            .where(Interaction.occurred_at >= start, Interaction.occurred_at < end)
            .group_by(Interaction.kind)
        ).all()
    )
    # Each member once, however many campaigns they were active in (the lines' counts
    # are each campaign's own).
    totals.new_members, totals.returning_members = activity.new_and_returning(
        session, actor.workspace_id, start, end, any_campaign=True
    )
    members_total = session.execute(
        select(func.count())
        .select_from(Member)
        .where(Member.workspace_id == actor.workspace_id, Member.merged_into.is_(None))
        .where(Member.first_seen_at < end)
    ).scalar_one()
    return CommunityReport(
        start=start,
        end=end,
        totals=totals,
        follows=interactions.get("follow", 0),
        interactions=interactions,
        active_members=activity.active_members(session, actor.workspace_id, start, end),
        members_total=members_total,
        campaigns=lines,
        cohorts=activity.cohorts(
            session, actor.workspace_id, activity.first_seen(actor.workspace_id), start, end, weeks
        ),
        audience=audience.growth(session, actor.workspace_id, start, end),
    )
