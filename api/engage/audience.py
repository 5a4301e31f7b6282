"""GET /v1/channels/{id}/audience: how many followed the channel's account each time the
engine read it (daily), to plot its growth."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, db
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint
from publisher.core.workspaces import Permission
from publisher.engage import audience
from publisher.engage.report_schemas import AudienceSnapshotRead

bp = Blueprint("audience", __name__, url_prefix="/channels")


@bp.get("/<int:channel_id>/audience", endpoint="index")
@endpoint(
    "The channel's audience as read from its platform once a day, oldest first: how many "
    "followed the account, or the platform's refusal",
    query=PageQuery,
    response=list[AudienceSnapshotRead],
    permission=Permission.READ,
)
def audience_index(channel_id: int):
    q = g.query
    found = audience.list_snapshots(
        db(), actor(), channel_id, limit=q.limit + 1, after_id=after_id(q)
    )
    return page(
        found, q, AudienceSnapshotRead.model_validate, next_position=lambda s: {"after": s.id}
    )
