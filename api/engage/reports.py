"""GET /v1/campaigns/{id}/report: a campaign's figures over a window, as JSON or CSV."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, g, request

from api.http.context import actor, db, runtime
from api.http.spec import endpoint, json_response
from publisher.core.errors import ValidationFailed, field_error
from publisher.core.workspaces import Permission
from publisher.engage import community, reports
from publisher.engage import figures as vocabulary
from publisher.engage.figures import BASE_METRICS, Figures, PublicationFigures
from publisher.engage.report_schemas import (
    AdvocateRead,
    AudienceLineRead,
    CampaignLineRead,
    ChannelFiguresRead,
    CohortRead,
    CommunityQuery,
    CommunityRead,
    ComparisonRead,
    DayFiguresRead,
    FiguresRead,
    GoalRead,
    PublicationFiguresRead,
    ReportQuery,
    ReportRead,
)

bp = Blueprint("campaign_reports", __name__, url_prefix="/campaigns")
community_bp = Blueprint("community_report", __name__, url_prefix="/reports")
BEST = 3


@bp.get("/<int:campaign_id>/report")
@endpoint(
    "A campaign's report over a window: publications, what the platforms counted, clicks "
    "through its short links, results against its goals, by channel and by day, best and "
    "worst publications, top advocates (?format=csv: one line per publication; ?format=png: "
    "charts by day and by channel)",
    query=ReportQuery,
    response=ReportRead,
    permission=Permission.READ,
    formats={
        "text/csv": "One line per publication published in the window, with its figures",
        "image/png": "Charts by day and by channel (1000 x 800)",
    },
)
def report(campaign_id: int):
    q: ReportQuery = g.query
    wants_csv = q.format == "csv" or (
        "format" not in request.args
        and request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    )
    wants_png = q.format == "png" or (
        "format" not in request.args
        and request.accept_mimetypes.best_match(["application/json", "image/png"]) == "image/png"
    )
    if q.compare and (wants_csv or wants_png):  # it was dropped without a word
        raise ValidationFailed(
            "compare=previous is in the JSON report only (CSV and PNG show one window)",
            [field_error(["query", "compare"], "only with the JSON report")],
        )
    found = reports.get_campaign_report(
        db(),
        actor(),
        campaign_id,
        start=q.from_,
        end=q.to,
        now=runtime().clock(),
        time_zone=q.time_zone,
        compare_previous=q.compare == "previous",
        weeks=q.weeks,
    )
    if wants_png:
        # matplotlib takes most of a second to load: the API loads it when a chart is asked.
        from publisher.engage import charts

        names = {id_: c.name for id_, c in found.channels.items()}
        return Response(charts.report_png(found, names), mimetype="image/png")
    if wants_csv:
        return _csv(found)
    return json_response(_read(found))


@community_bp.get("/community")
@endpoint(
    "The workspace's community over a window: every campaign's figures and goals, their "
    "sum, new followers, interactions, active members, weekly retention cohorts",
    query=CommunityQuery,
    response=CommunityRead,
    permission=Permission.READ,
)
def community_report():
    q: CommunityQuery = g.query
    start, end = community.window(q.from_, q.to, runtime().clock())
    found = community.get_community_report(db(), actor(), start=start, end=end, weeks=q.weeks)
    return json_response(
        CommunityRead(
            from_=found.start,
            to=found.end,
            totals=FiguresRead(**_figures(found.totals)),
            new_followers=found.follows,
            audience=[
                AudienceLineRead(
                    channel_id=line.channel.id,
                    channel_name=line.channel.name,
                    platform=line.channel.platform,
                    followers_at_start=line.at_start,
                    followers_at_end=line.at_end,
                    since=line.since,
                    growth=line.growth,
                )
                for line in found.audience
            ],
            audience_growth=_added([line.growth for line in found.audience]),
            interactions=dict(sorted(found.interactions.items())),
            active_members=found.active_members,
            members=found.members_total,
            campaigns=[
                CampaignLineRead(
                    campaign_id=line.campaign.id,
                    campaign_name=line.campaign.name,
                    objective=line.campaign.objective,
                    goals=[GoalRead(**g) for g in vocabulary.goals(line.campaign, line.figures)],
                    **_figures(line.figures),
                )
                for line in found.campaigns
            ],
            cohorts=[CohortRead(**cohort) for cohort in found.cohorts],
        )
    )


def _added(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


# What a line by channel, or by day, does not count (null there: in the totals).
CHANNEL_WIDE = ("value_cents", "referrals", "new_members", "returning_members")
DAY_WIDE = ("bot_clicks", "new_members", "returning_members")


def _figures(figures: Figures, *, without: tuple[str, ...] = ()) -> dict:
    said = {
        "publications": figures.publications,
        **{name: _reported(figures, name) for name in BASE_METRICS},
        "engagements": figures.engagements,
        "engagement_rate": figures.engagement_rate,
        "clicks": figures.clicks,
        "bot_clicks": figures.bot_clicks,
        "click_through_rate": figures.click_through_rate,
        "conversions": dict(sorted(figures.conversions.items())),
        "value_cents": dict(sorted(figures.value_cents.items())),
        "referrals": figures.referrals,
        "new_members": figures.new_members,
        "returning_members": figures.returning_members,
    }
    return {name: None if name in without else value for name, value in said.items()}


def _reported(figures: Figures, name: str) -> int | None:
    """A metric's sum; null where there were publications and none was counted by it (X
    reports no reach, Facebook no bookmarks): a 0 would be a figure nobody gave."""
    if name in figures.metrics or not figures.publications:
        return figures.metrics.get(name, 0)
    return None


def _publication(pub: PublicationFigures) -> PublicationFiguresRead:
    impressions = pub.metrics.get("impressions", 0)
    return PublicationFiguresRead(
        publication_id=pub.publication_id,
        channel_id=pub.channel_id,
        platform=pub.platform,
        published_at=pub.published_at,
        metrics=pub.metrics,
        engagements=pub.engagements,
        engagement_rate=round(pub.engagements / impressions, 6) if impressions else None,
        clicks=pub.clicks,
        click_through_rate=round(pub.clicks / impressions, 6) if impressions else None,
        conversions=dict(sorted(pub.conversions.items())),
    )


def _ranked(found: reports.Report) -> tuple[list, list]:
    def key(pub: PublicationFigures):
        return (
            pub.engagements,
            pub.metrics.get("impressions", 0),
            pub.clicks,
            sum(pub.conversions.values()),
            -pub.publication_id,
        )

    ordered = sorted(found.publications, key=key, reverse=True)
    best = ordered[:BEST]
    chosen = {p.publication_id for p in best}
    worst = [p for p in reversed(ordered) if p.publication_id not in chosen][:BEST]
    return best, worst


def _read(found: reports.Report) -> ReportRead:
    campaign = found.campaign
    names = found.channels
    best, worst = _ranked(found)
    compare = None
    if found.previous is not None:
        now_figures, before = _figures(found.totals), _figures(found.previous)
        counts = {k: v for k, v in now_figures.items() if isinstance(v, int)}
        both = {k: v for k, v in counts.items() if isinstance(before[k], int)}
        compare = ComparisonRead(
            from_=found.previous_start,
            to=found.start,
            totals=FiguresRead(**before),
            # A figure not counted in one of the windows has no change to tell.
            change={k: None for k in counts}
            | {k: None for k in BASE_METRICS if now_figures[k] is None}
            | vocabulary.change(both, before),
        )
    return ReportRead(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        objective=campaign.objective,
        from_=found.start,
        to=found.end,
        time_zone=found.time_zone,
        totals=FiguresRead(**_figures(found.totals)),
        goals=[GoalRead(**goal) for goal in vocabulary.goals(campaign, found.totals)],
        by_channel=[
            ChannelFiguresRead(
                channel_id=channel_id,
                channel_name=names[channel_id].name if channel_id in names else "",
                platform=names[channel_id].platform if channel_id in names else "",
                **_figures(figures, without=CHANNEL_WIDE),
            )
            for channel_id, figures in found.by_channel.items()
        ],
        by_day=[
            DayFiguresRead(day=day, **_figures(f, without=DAY_WIDE))
            for day, f in found.by_day.items()
        ],
        best=[_publication(p) for p in best],
        worst=[_publication(p) for p in worst],
        advocates=[
            AdvocateRead(
                member_id=a.member.id,
                external_id=a.member.external_id,
                name=a.member.name,
                results=a.referrals,
                relays=a.relays,
            )
            for a in found.advocates
        ],
        cohorts=[CohortRead(**cohort) for cohort in found.cohorts],
        compare=compare,
    )


def _csv(found: reports.Report) -> Response:
    """One line per publication published in the window, with its figures."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "publication_id",
            "channel_id",
            "platform",
            "published_at",
            *BASE_METRICS,
            "engagements",
            "clicks",
            "conversions",
        ]
    )
    for pub in found.publications:
        writer.writerow(
            [
                pub.publication_id,
                pub.channel_id,
                pub.platform,
                pub.published_at.isoformat().replace("+00:00", "Z"),  # as the JSON says
                *(pub.metrics.get(name, "") for name in BASE_METRICS),  # "": not counted
                pub.engagements,
                pub.clicks,
                sum(pub.conversions.values()),
            ]
        )
    name = f"campaign-{found.campaign.id}-{found.start.date()}-{found.end.date()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
