"""/v1/reviews: the committee's queue with per-platform previews, and its decisions."""

from __future__ import annotations

from flask import Blueprint, g
from pydantic import BaseModel, ConfigDict

from api.context import actor, commit, db, runtime
from api.spec import endpoint, json_response
from publisher import reviews
from publisher.content import media_files
from publisher.publications import series_to_read, to_read
from publisher.schemas import CommentRequired, Decision, Id, ReviewItem, ReviewRead
from publisher.states import Status

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: Id | None = None
    channel_id: Id | None = None


@bp.get("")
@endpoint(
    "What waits for review, soonest due first, with previews",
    query=QueueQuery,
    response=list[ReviewItem],
)
def queue():
    registry = runtime().registry
    items = reviews.review_queue(
        db(), actor(), campaign_id=g.query.campaign_id, channel_id=g.query.channel_id
    )
    return json_response(
        [
            ReviewItem(
                publication=to_read(item.publication),
                post_id=item.post.id,
                revision=item.post.revision,
                preview=reviews.preview(
                    item, registry, media_files(db(), item.post, runtime().media, item.channel)
                ),
                series=series_to_read(item.series) if item.series else None,
                occurrences=item.occurrences,
            )
            for item in items
        ]
    )


def _decide(publication_id: int, decision: Status):
    rt = runtime()
    review = reviews.decide(
        db(), actor(), publication_id, decision, comment=g.body.comment, now=rt.clock()
    )
    commit()
    if decision == Status.APPROVED:
        rt.queue.wake()  # a new scheduled time for the dispatcher
    return json_response(ReviewRead.model_validate(review), 201)


@bp.post("/<int:publication_id>/approve")
@endpoint(
    "Approve this revision (the publication is then scheduled)",
    body=Decision,
    response=ReviewRead,
    status=201,
)
def approve(publication_id: int):
    return _decide(publication_id, Status.APPROVED)


@bp.post("/<int:publication_id>/request-changes")
@endpoint(
    "Send it back to its author; a comment is required",
    body=CommentRequired,
    response=ReviewRead,
    status=201,
)
def request_changes(publication_id: int):
    return _decide(publication_id, Status.CHANGES_REQUESTED)


@bp.post("/<int:publication_id>/reject")
@endpoint(
    "Reject it for good; a comment is required",
    body=CommentRequired,
    response=ReviewRead,
    status=201,
)
def reject(publication_id: int):
    return _decide(publication_id, Status.REJECTED)
