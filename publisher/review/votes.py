"""The committee's decisions: votes bound to a revision, counted against the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from publisher.core.errors import Conflict, Forbidden, PublisherError, StaleRevision
from publisher.core.models import ApiKey, Event, Post, Publication, Review, Series
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission, owned
from publisher.deliver.pauses import is_paused
from publisher.plan.posts import end_series
from publisher.record import events, revisions
from publisher.review import comments, policies
from publisher.review.policies import Policy, Tally


def _pending(session: Session, actor: Actor, publication_id: int) -> tuple[Publication, Post]:
    """The publication, locked until the vote is committed: two votes at once are counted
    one after the other, so neither misses the other (and nothing is approved twice)."""
    pub = owned(
        session, Publication, publication_id, actor, with_for_update=True, populate_existing=True
    )
    if pub.series_id is not None:  # votes on any occurrence count for the series
        session.get(Series, pub.series_id, with_for_update=True, populate_existing=True)
    if pub.status != Status.IN_REVIEW:
        raise Conflict(
            f"publication {publication_id} is {pub.status}, not in_review", current=pub.status
        )
    return pub, session.get(Post, pub.post_id)


@dataclass
class Outcome:
    review: Review
    status: str
    tally: Tally


def votes_on(session: Session, pub: Publication) -> list[Review]:
    """Every vote on the publication, or on any occurrence of its series, oldest first."""
    if pub.series_id is None:
        scope = Review.publication_id == pub.id
    else:
        scope = Review.publication_id.in_(
            select(Publication.id).where(Publication.series_id == pub.series_id)
        )
    return list(session.exec(select(Review).where(scope).order_by(Review.id)))


def counting(session: Session, pub: Publication, post: Post, votes: list[Review]) -> list[Review]:
    """The votes that count now: given on the revision under review, and since the
    publication last came into review (a resume may send approved content back to the
    committee: the earlier approvals were for its old time)."""
    current = [v for v in votes if v.revision == post.revision]
    if pub.series_id is not None:  # occurrences inherit the series' votes
        return current
    since = session.exec(
        select(func.max(Event.at)).where(
            Event.publication_id == pub.id,
            Event.kind == "publication.transition",
            Event.to_status == Status.IN_REVIEW,
        )
    ).one()
    return [v for v in current if since is None or v.created_at >= since]


def current_tally(
    session: Session, policy: Policy, votes: list[Review]
) -> tuple[Tally, dict[int, str]]:
    """The count of distinct approvals among the `votes` that count, and the approvers'
    roles."""
    approvers = {v.reviewer_id for v in votes if v.decision == "approved"}
    roles = {
        key.id: key.role for key in session.exec(select(ApiKey).where(ApiKey.id.in_(approvers)))
    }
    return policies.tally(policy, approvers, roles), roles


def decide(
    session: Session,
    actor: Actor,
    publication_id: int,
    decision: Status,
    *,
    comment: str,
    now: datetime,
    revision: int | None = None,
    via_link: bool = False,
) -> Outcome:
    """Vote on the revision under review (`via_link`: cast from the review page, named in
    the audit). An approval counts for that revision only; once
    the policy's approvals are in, the publication is approved and scheduled. A request for
    changes or a rejection decides at once. Every refusal is raised before anything is
    written, so a batch can go on past it. On an occurrence of a recurring series, the
    decision is the series': it applies to every occurrence waiting for review."""
    actor.require(Permission.DECIDE_REVIEWS)
    pub, post = _pending(session, actor, publication_id)
    if revision is not None and revision != post.revision:
        raise StaleRevision(
            f"you reviewed revision {revision}, but revision {post.revision} is under review "
            "now: look at the changes and vote again",
            current_revision=post.revision,
        )
    policy = policies.effective(session, pub.workspace_id, post.campaign_id)
    if now > policy.expires_at(pub.due_at):
        raise Conflict(
            f"publication {pub.id} was due at {pub.due_at.isoformat()} and was not "
            "approved in time: it will not be published (plan it again with a new post)",
            current=pub.status,
        )
    votes = counting(session, pub, post, votes_on(session, pub))
    if decision == Status.APPROVED:
        _may_approve(session, actor, policy, post, votes)
    review = Review(
        workspace_id=actor.workspace_id,
        publication_id=pub.id,
        reviewer_id=actor.key_id,
        decision=decision.value,
        comment=comment,
        revision=post.revision,
        content_hash=post.content_hash,
        created_at=now,
    )
    session.add(review)
    votes.append(review)
    tally, _ = current_tally(session, policy, votes)
    events.record(
        session,
        workspace_id=pub.workspace_id,
        kind="review.voted",
        actor=actor.label,
        now=now,
        post_id=post.id,
        publication_id=pub.id,
        channel_id=pub.channel_id,
        reason=comment or None,
        data={
            "decision": decision.value,
            "revision": post.revision,
            "comment": comment,
            "approvals": tally.approvals,
            "needed": tally.needed,
            "missing": list(tally.missing),
            **({"via_link": True} if via_link else {}),
        },
    )
    if comment:
        comments.from_vote(session, actor, post, body=comment, now=now)
    if decision != Status.APPROVED or tally.satisfied:
        _settle(session, actor, pub, post, decision, comment=comment, now=now)
    session.flush()
    return Outcome(review, pub.status, tally)


def _may_approve(
    session: Session, actor: Actor, policy: Policy, post: Post, votes: list[Review]
) -> None:
    if not policy.rules.allow_self_approval and actor.key_id in revisions.authors(session, post):
        raise Forbidden(
            "you wrote this post: under the review policy, authors may not approve their own "
            "content"
        )
    mine = [v for v in votes if v.reviewer_id == actor.key_id]
    if any(v.decision == Status.APPROVED for v in mine):
        raise Conflict(f"you already approved revision {post.revision}; it counts once")


def _settle(
    session: Session,
    actor: Actor,
    pub: Publication,
    post: Post,
    decision: Status,
    *,
    comment: str,
    now: datetime,
) -> None:
    """The decision is made: move the publication (and its series' waiting occurrences)."""
    _move_decided(session, actor, pub, post, decision, comment=comment, now=now)
    if pub.series_id is None:
        return
    series = session.get(Series, pub.series_id)
    siblings = session.exec(
        select(Publication)
        .where(Publication.series_id == series.id, Publication.status == Status.IN_REVIEW)
        .order_by(Publication.scheduled_at)
    ).all()
    for sibling in siblings:
        _move_decided(session, actor, sibling, post, decision, comment=comment, now=now)
    if decision == Status.APPROVED:
        series.approved_hash, series.approved_at = post.content_hash, now
        series.approved_by = actor.key_id
    elif decision == Status.CHANGES_REQUESTED:
        series.submitted_hash = None
    elif series.ended_at is None:
        end_series(session, series, actor=actor.label, now=now, reason="rejected")


def _move_decided(
    session: Session,
    actor: Actor,
    pub: Publication,
    post: Post,
    decision: Status,
    *,
    comment: str,
    now: datetime,
) -> None:
    events.move(session, pub, decision, actor=actor.label, now=now, reason=comment or None)
    if decision != Status.APPROVED:
        return
    pub.approved_hash = post.content_hash
    pub.approved_at = now
    pub.approved_by = actor.key_id
    # Never before its time; at once if approved late (a resume's review window).
    pub.due_at = max(pub.scheduled_at, min(pub.due_at, now))
    events.move(session, pub, Status.SCHEDULED, actor=actor.label, now=now)
    session.flush()
    if is_paused(session, pub):
        events.move(
            session,
            pub,
            Status.PAUSED,
            actor=actor.label,
            now=now,
            reason="approved under an active pause",
        )


def decide_batch(
    session: Session,
    actor: Actor,
    items: list[tuple[int, int]],
    decision: Status,
    *,
    comment: str,
    now: datetime,
    via_link: bool = False,
) -> list[tuple[int, Outcome | PublisherError]]:
    """The same decision on several (publication id, revision) pairs; each stands alone,
    and one refused (a stale revision, say) leaves the others decided. A role that may
    not decide is refused as a whole."""
    actor.require(Permission.DECIDE_REVIEWS)
    results: list[tuple[int, Outcome | PublisherError]] = []
    for publication_id, revision in items:
        try:
            outcome = decide(
                session,
                actor,
                publication_id,
                decision,
                comment=comment,
                now=now,
                revision=revision,
                via_link=via_link,
            )
        except PublisherError as refused:
            results.append((publication_id, refused))
        else:
            results.append((publication_id, outcome))
    return results


def reviews_of(session: Session, actor: Actor, publication_id: int) -> list[Review]:
    query = (
        select(Review)
        .where(Review.workspace_id == actor.workspace_id)
        .where(Review.publication_id == publication_id)
        .order_by(Review.id)
    )
    return list(session.exec(query))
