"""/v1/publications: each (post, channel) pair and where it stands."""

from __future__ import annotations

from flask import Blueprint, g
from pydantic import Field

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.schemas import Id
from publisher.core.states import Status
from publisher.core.workspaces import Permission
from publisher.engage import live_reads
from publisher.engage import metrics as engagement
from publisher.plan import channels, publications
from publisher.plan.post_schemas import (
    MetricsQuery,
    MetricsRead,
    PublicationRead,
    SnapshotRead,
    TakeDown,
)
from publisher.record.schemas import EventRead

bp = Blueprint("publications", __name__, url_prefix="/publications")


class PublicationQuery(PageQuery):
    status: Status | None = None
    campaign_id: Id | None = None
    channel_id: Id | None = None
    after_id: int = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Page on after this id (the cursor does the same; either may be given)",
    )


@bp.get("")
@endpoint(
    "List publications",
    query=PublicationQuery,
    response=list[PublicationRead],
    permission=Permission.READ,
)
def index():
    q = g.query
    found = publications.list_publications(
        db(),
        actor(),
        status=q.status,
        campaign_id=q.campaign_id,
        channel_id=q.channel_id,
        limit=q.limit + 1,
        after_id=max(q.after_id, after_id(q)),
    )
    return page(found, q, publications.to_read, next_position=lambda p: {"after": p.id})


@bp.get("/<int:publication_id>/metrics")
@endpoint(
    "Engagement of a published publication: asked of its platform now (inside the "
    "channel's read budget, which the scheduled pulls share; the read is kept in the "
    "history), or (?history=1) every pull stored",
    query=MetricsQuery,
    response=MetricsRead,
    permission=Permission.READ,
    errors=(409, 503),
)
def metrics(publication_id: int):
    rt = runtime()
    if g.query.history:
        pub, snapshots = engagement.list_snapshots(db(), actor(), publication_id)
        return json_response(_history_read(pub, snapshots))
    return json_response(
        live_reads.read_live(
            db(),
            actor(),
            publication_id,
            adapter_for=rt.adapter_for,
            clock=rt.clock,
            budgets=rt.read_budgets,
            store=rt.session,
        )
    )


def _history_read(pub, snapshots) -> MetricsRead:
    counted = [s for s in snapshots if s.metrics is not None]
    last = counted[-1] if counted else None
    return MetricsRead(
        publication_id=pub.id,
        platform=channels.get_channel(db(), actor(), pub.channel_id).platform,
        fetched_at=last.taken_at if last else None,  # never read: no time to invent
        metrics=dict(last.metrics) if last else {},
        posts=[],
        missing=[],
        history=[SnapshotRead.model_validate(s, from_attributes=True) for s in snapshots],
        next_pull_at=engagement.next_pull_at(pub, runtime().metrics_schedule),
    )


@bp.get("/<int:publication_id>")
@endpoint("Get a publication", response=PublicationRead, permission=Permission.READ)
def show(publication_id: int):
    return json_response(
        publications.to_read(publications.get_publication(db(), actor(), publication_id))
    )


@bp.get("/<int:publication_id>/history")
@endpoint(
    "Every recorded change of a publication",
    query=PageQuery,
    response=list[EventRead],
    permission=Permission.READ,
)
def history(publication_id: int):
    q = g.query
    found = publications.list_history(
        db(), actor(), publication_id, limit=q.limit + 1, after_id=after_id(q)
    )
    return page(found, q, EventRead.model_validate, next_position=lambda e: {"after": e.id})


@bp.post("/<int:publication_id>/cancel")
@endpoint(
    "Cancel a publication that has not started going out",
    response=PublicationRead,
    permission=Permission.WRITE_CONTENT,
)
def cancel(publication_id: int):
    pub = publications.cancel_publication(db(), actor(), publication_id, now=runtime().clock())
    commit()
    return json_response(publications.to_read(pub))


@bp.post("/<int:publication_id>/delete")
@endpoint(
    "Take a published publication down from its platform",
    body=TakeDown,
    response=PublicationRead,
    permission=Permission.WRITE_CONTENT,
    errors=(503,),
)
def delete(publication_id: int):
    """Every part of a thread, last first; then `deleted`, with the reason, in the audit."""
    rt = runtime()
    pub = publications.take_down(
        db(),
        actor(),
        publication_id,
        reason=g.body.reason,
        adapter_for=rt.adapter_for,
        clock=rt.clock,
    )
    commit()
    return json_response(publications.to_read(pub))
