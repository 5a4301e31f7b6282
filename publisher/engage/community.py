"""The workspace's community over a window: every campaign's figures and their sum, the
audience's growth and interactions, the members active, and weekly retention cohorts
(loyalty: of the members first seen in a week, the share active in each week after)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, select
from sqlmodel import Session

from publisher.core.models import Campaign, Conversion, Interaction, Member, MemberIdentity
from publisher.core.workspaces import Actor, Permission
from publisher.engage.figures import Figures
from publisher.engage.reports import publication_figures, window_figures


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


def get_community_report(
    session: Session, actor: Actor, *, start: datetime, end: datetime, weeks: int = 8
) -> CommunityReport:
    """The workspace over [start, end): every campaign's figures and their sum, the
    audience's growth (new followers) and interactions, the members active (a result or an
    interaction through their identities), and weekly retention cohorts."""
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
    activity = _member_activity(session, actor.workspace_id, end)
    active = {m for m, at in activity if start <= at < end}
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
        active_members=len(active),
        members_total=members_total,
        campaigns=lines,
        cohorts=_cohorts(session, actor.workspace_id, activity, start, end, weeks),
    )


def _member_activity(
    session: Session, workspace_id: int, end: datetime
) -> list[tuple[int, datetime]]:
    """(member, when) for every result of theirs and every interaction by one of their
    identities, before `end`."""
    found = [
        (member, at)
        for member, at in session.execute(
            select(Conversion.member_id, Conversion.occurred_at)
            .where(Conversion.workspace_id == workspace_id, Conversion.member_id.is_not(None))
            .where(Conversion.occurred_at < end)
        ).all()
    ]
    by_id = and_(
        MemberIdentity.platform == Interaction.platform,
        MemberIdentity.key == literal("id:") + Interaction.author_id,
    )
    by_handle = and_(
        MemberIdentity.platform == Interaction.platform,
        MemberIdentity.key == literal("@") + func.lower(func.ltrim(Interaction.author_handle, "@")),
    )
    for condition in (by_id, by_handle):
        found += session.execute(
            select(MemberIdentity.member_id, Interaction.occurred_at)
            .join(Interaction, condition)
            .where(MemberIdentity.workspace_id == workspace_id)
            .where(Interaction.workspace_id == workspace_id, Interaction.occurred_at < end)
        ).all()
    return found


def _cohorts(
    session: Session,
    workspace_id: int,
    activity: list[tuple[int, datetime]],
    start: datetime,
    end: datetime,
    weeks: int,
) -> list[dict]:
    """Members by the week they were first seen (weeks starting at `start`), and for each
    following week the share of them active in it: week-over-week retention."""
    span = timedelta(weeks=1)
    first_seen = dict(
        session.execute(
            select(Member.id, Member.first_seen_at)
            .where(Member.workspace_id == workspace_id, Member.merged_into.is_(None))
            .where(Member.first_seen_at >= start, Member.first_seen_at < end)
        ).all()
    )
    active_weeks: dict[int, set[int]] = defaultdict(set)
    for member, at in activity:
        if member in first_seen and start <= at < end:
            active_weeks[member].add(int((at - start) / span))
    cohorts = []
    count = min(weeks, max(0, -(-int((end - start).total_seconds()) // int(span.total_seconds()))))
    for week in range(count):
        members = [m for m, at in first_seen.items() if int((at - start) / span) == week]
        if not members:
            cohorts.append(
                {"week": week, "starts_at": start + week * span, "members": 0, "retention": []}
            )
            continue
        retention = []
        for later in range(week + 1, count):
            kept = sum(1 for m in members if later in active_weeks[m])
            retention.append(round(kept / len(members), 6))
        cohorts.append(
            {
                "week": week,
                "starts_at": start + week * span,
                "members": len(members),
                "retention": retention,
            }
        )
    return cohorts
