"""GET /v1/channels/{id}/best-times, and the posting slots filled from them."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.spec import endpoint, json_response
from publisher.core.errors import Conflict
from publisher.core.workspaces import Permission
from publisher.engage import best_times
from publisher.engage.best_times import Hour
from publisher.engage.report_schemas import (
    BestHourRead,
    BestTimesQuery,
    BestTimesRead,
    HourRead,
    SlotsFromBestTimes,
)
from publisher.plan import slots
from publisher.plan.schemas import Slot, SlotsIn, SlotsRead

bp = Blueprint("best_times", __name__, url_prefix="/channels")


def _hour(hour: Hour) -> dict:
    return {
        **hour.slot,
        "publications": hour.publications,
        "impressions": hour.impressions,
        "engagements": hour.engagements,
        "engagements_per_publication": hour.per_publication,
        "engagement_rate": hour.rate,
        "interactions": hour.interactions,
    }


@bp.get("/<int:channel_id>/best-times")
@endpoint(
    "When to post on this channel: its last 90 days by hour of the week (posts' engagements "
    "and the audience's interactions), and the best hours",
    query=BestTimesQuery,
    response=BestTimesRead,
    permission=Permission.READ,
)
def show(channel_id: int):
    q = g.query
    found = best_times.get_best_times(
        db(),
        actor(),
        channel_id,
        now=runtime().clock(),
        time_zone=q.time_zone,
        count=q.count,
        min_posts=q.min_posts,
    )
    return json_response(
        BestTimesRead(
            channel_id=found.channel.id,
            time_zone=found.time_zone,
            from_=found.start,
            to=found.end,
            best=[BestHourRead(**_hour(h), basis=basis) for h, basis in found.best],
            hours=[HourRead(**_hour(h)) for h in found.hours],
        )
    )


@bp.post("/<int:channel_id>/best-times/slots")
@endpoint(
    "Set the channel's weekly posting slots to its best hours ('add to queue' fills them); "
    "an empty history leaves no slot",
    body=SlotsFromBestTimes,
    response=SlotsRead,
    permission=Permission.MANAGE_CHANNELS,
)
def fill_slots(channel_id: int):
    body, who, rt = g.body, actor(), runtime()
    who.require(Permission.MANAGE_CHANNELS)
    found = best_times.get_best_times(
        db(),
        who,
        channel_id,
        now=rt.clock(),
        time_zone=body.time_zone,
        count=body.count,
        min_posts=body.min_posts,
    )
    if not found.best:  # nothing to go by: the slots the channel has stay
        raise Conflict(
            "no history to fill the slots from (no post old enough to judge, no interaction "
            "in 90 days): the channel's slots are unchanged"
        )
    timetable = SlotsIn(
        time_zone=found.time_zone,
        slots=[Slot(**hour.slot) for hour, _ in found.best],
    )
    channel = slots.update_slots(db(), who, channel_id, timetable, now=rt.clock())
    commit()
    free = slots.free_slots(db(), channel, after=rt.clock(), count=5)
    return json_response(
        SlotsRead(
            channel_id=channel.id,
            time_zone=found.time_zone,
            slots=channel.slots["slots"],
            next_free=free,
        )
    )
