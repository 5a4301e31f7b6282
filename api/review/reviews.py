"""/v1/reviews: the committee's queue with per-platform previews, votes and batch decisions."""

from __future__ import annotations

from flask import Blueprint, g, request

from api.http.context import actor, commit, db, runtime
from api.http.errors import problem_body
from api.http.paging import decode_key, page
from api.http.spec import endpoint, json_response
from publisher.core.errors import ValidationFailed, field_error
from publisher.core.states import Status
from publisher.core.workspaces import Permission
from publisher.plan.content import media_files
from publisher.plan.publications import series_to_read, to_read
from publisher.review import links, votes
from publisher.review import queue as review_queue
from publisher.review.queue import QueueItem
from publisher.review.schemas import (
    BatchDecision,
    BatchOutcome,
    CommentRequired,
    Decision,
    ItemQuery,
    QueueQuery,
    ReviewItem,
    ReviewLink,
    ReviewLinkRequest,
    ReviewRead,
)
from publisher.review.votes import Outcome

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

_DECISIONS = {
    "approve": Status.APPROVED,
    "request_changes": Status.CHANGES_REQUESTED,
    "reject": Status.REJECTED,
}


def item_read(item: QueueItem) -> ReviewItem:
    rt = runtime()
    files = media_files(db(), item.post, rt.media, item.channel)
    return ReviewItem(
        publication=to_read(item.publication),
        post_id=item.post.id,
        campaign_id=item.post.campaign_id,
        revision=item.post.revision,
        preview=review_queue.preview(item, rt.registry, files, rt.links),
        series=series_to_read(item.series) if item.series else None,
        occurrences=item.occurrences,
        **item.details,
    )


@bp.get("")
@endpoint(
    "What waits for review, with previews, votes and the changes since your last vote",
    query=QueueQuery,
    response=list[ReviewItem],
    permission=Permission.READ,
)
def queue():
    q, who = g.query, actor()
    items = review_queue.list_waiting(db(), who, campaign_id=q.campaign_id, channel_id=q.channel_id)
    zone = review_queue.reviewer_time_zone(db(), who, q.time_zone)
    after = decode_key(q.cursor)

    def rest(found: list) -> list:
        """The sorted items after the cursor's (a decision meanwhile skips nobody)."""
        ordered = review_queue.sort_items(found, q.sort)
        keyed = [(review_queue.sort_key(i, q.sort), i) for i in ordered]
        try:
            return [i for k, i in keyed if after is None or k > after][: q.limit + 1]
        except TypeError as exc:  # a cursor of another sort
            raise ValidationFailed(
                "the cursor is not one this list gave",
                [field_error(["query", "cursor"], "use the X-Next-Cursor of this sort")],
            ) from exc

    # Only the page is described (a few queries per item), unless choosing the items needs
    # what describing tells: who waits on whom, and deadlines.
    if not q.waiting_on_me and q.sort != "deadline":
        chosen = review_queue.describe(db(), who, rest(items), time_zone=zone)
    else:
        described = review_queue.describe(db(), who, items, time_zone=zone)
        if q.waiting_on_me:
            described = [i for i in described if i.details["waiting_on_me"]]
        chosen = rest(described)
    return page(
        chosen, q, item_read, next_position=lambda i: {"key": review_queue.sort_key(i, q.sort)}
    )


@bp.get("/<int:publication_id>")
@endpoint(
    "One item waiting for review, as the queue shows it (409 once it is decided)",
    query=ItemQuery,
    response=ReviewItem,
    permission=Permission.READ,
    errors=(409,),
)
def item(publication_id: int):
    who = actor()
    found = [review_queue.get_item(db(), who, publication_id)]
    zone = review_queue.reviewer_time_zone(db(), who, g.query.time_zone)
    return json_response(item_read(review_queue.describe(db(), who, found, time_zone=zone)[0]))


def outcome_read(outcome: Outcome) -> ReviewRead:
    review = outcome.review
    return ReviewRead(
        id=review.id,
        publication_id=review.publication_id,
        reviewer_id=review.reviewer_id,
        decision=review.decision,
        comment=review.comment,
        revision=review.revision,
        created_at=review.created_at,
        publication_status=outcome.status,
        tally={
            "approvals": outcome.tally.approvals,
            "needed": outcome.tally.needed,
            "missing": list(outcome.tally.missing),
            "short": max(outcome.tally.short, 0),
            "groups": [list(g) for g in outcome.tally.groups],
        },
    )


def _decide(publication_id: int, decision: Status):
    rt = runtime()
    outcome = votes.decide(
        db(),
        actor(),
        publication_id,
        decision,
        comment=g.body.comment,
        revision=g.body.revision,
        now=rt.clock(),
    )
    commit()
    if outcome.status != Status.IN_REVIEW:
        rt.queue.wake()  # a new scheduled time for the dispatcher
    return json_response(outcome_read(outcome), 201)


@bp.post("/<int:publication_id>/approve")
@endpoint(
    "Approve this revision; once the policy's approvals are in, it is scheduled",
    body=Decision,
    response=ReviewRead,
    status=201,
    permission=Permission.DECIDE_REVIEWS,
)
def approve(publication_id: int):
    return _decide(publication_id, Status.APPROVED)


@bp.post("/<int:publication_id>/request-changes")
@endpoint(
    "Send it back to its author; a comment is required",
    body=CommentRequired,
    response=ReviewRead,
    status=201,
    permission=Permission.DECIDE_REVIEWS,
)
def request_changes(publication_id: int):
    return _decide(publication_id, Status.CHANGES_REQUESTED)


@bp.post("/<int:publication_id>/reject")
@endpoint(
    "Reject it for good; a comment is required",
    body=CommentRequired,
    response=ReviewRead,
    status=201,
    permission=Permission.DECIDE_REVIEWS,
)
def reject(publication_id: int):
    return _decide(publication_id, Status.REJECTED)


@bp.post("/batch")
@endpoint(
    "One decision on many items; each stands alone (a stale one is refused, the rest go on)",
    body=BatchDecision,
    response=list[BatchOutcome],
    permission=Permission.DECIDE_REVIEWS,
)
def batch():
    rt, body = runtime(), g.body
    results = votes.decide_batch(
        db(),
        actor(),
        [(item.publication_id, item.revision) for item in body.items],
        _DECISIONS[body.decision],
        comment=body.comment,
        now=rt.clock(),
    )
    commit()
    rt.queue.wake()
    return json_response(
        [
            BatchOutcome(publication_id=pid, status=201, review=outcome_read(result))
            if isinstance(result, Outcome)
            else BatchOutcome(
                publication_id=pid, status=result.status, problem=problem_body(result)
            )
            for pid, result in results
        ]
    )


@bp.post("/<int:publication_id>/link")
@endpoint(
    "A signed, expiring link to a web page where a reviewer sees the previews and decides",
    body=ReviewLinkRequest,
    response=ReviewLink,
    status=201,
    permission=Permission.DECIDE_REVIEWS,
)
def link(publication_id: int):
    rt = runtime()
    token, expires = links.create_link(
        db(),
        actor(),
        publication_id,
        reviewer_id=g.body.reviewer_id,
        hours=g.body.expires_in_hours,
        keys=rt.box.keys,
        now=rt.clock(),
    )
    commit()  # the link's creation is in the audit: who made it, for whom
    base = rt.settings.public_url.rstrip("/") or request.host_url.rstrip("/")
    return json_response(ReviewLink(url=f"{base}/review/{token}", expires_at=expires), 201)
