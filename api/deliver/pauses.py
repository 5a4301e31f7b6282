"""/v1/pause, /v1/resume, /v1/pauses: the crisis stop."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.workspaces import Permission
from publisher.deliver import pauses
from publisher.deliver.schemas import (
    PauseCreate,
    PauseRead,
    PauseResult,
    ResumeRequest,
    ResumeResult,
)

bp = Blueprint("pauses", __name__)


@bp.post("/pause")
@endpoint(
    "Stop a workspace, campaign or channel; when this returns nothing in it starts",
    body=PauseCreate,
    response=PauseResult,
    status=201,
    also=(200,),  # 200: the scope was already paused (the call is idempotent)
    permission=Permission.PAUSE,
)
def pause():
    outcome = pauses.pause(db(), actor(), g.body, now=runtime().clock())
    commit()
    result = PauseResult(
        pause=PauseRead.model_validate(outcome.pause),
        paused=outcome.paused,
        in_flight=outcome.in_flight,
    )
    return json_response(result, 201 if outcome.created else 200)


@bp.post("/resume")
@endpoint(
    "Lift a pause; missed publications follow its on_resume policy",
    body=ResumeRequest,
    response=ResumeResult,
    permission=Permission.RESUME,
)
def resume():
    rt = runtime()
    outcome = pauses.resume(db(), actor(), g.body, now=rt.clock())
    commit()
    rt.queue.wake()
    return json_response(
        ResumeResult(
            pause=PauseRead.model_validate(outcome.pause),
            rescheduled=outcome.rescheduled,
            to_review=outcome.to_review,
            skipped=outcome.skipped,
        )
    )


@bp.get("/pauses")
@endpoint("Active pauses", query=PageQuery, response=list[PauseRead], permission=Permission.READ)
def index():
    q = g.query
    found = pauses.list_pauses(db(), actor(), limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, PauseRead.model_validate, next_position=lambda p: {"after": p.id})
