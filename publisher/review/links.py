"""Signed, expiring links that let one reviewer decide one item from a plain web page.

A link is a capability: whoever holds it votes as the reviewer who made it (nobody makes
one for someone else, so a committee counts people, not links), on that publication only,
until it expires or the reviewer's key is revoked. It is signed with the secret keys
(itsdangerous, which Flask already ships): a link made with a key that a rotation has since
retired stops working, and a new one must be made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session

from publisher.core.errors import Conflict, Forbidden, ValidationFailed, field_error
from publisher.core.models import ApiKey, Media, Post, Publication
from publisher.core.states import Status
from publisher.core.workspaces import Actor, Permission, owned, reviewer_problem
from publisher.record import events

SALT = "publisher-review-page"


class LinkInvalid(Forbidden):
    code, title = "link_invalid", "Link not valid"


def _serializer(keys: tuple[str, ...]) -> URLSafeSerializer:
    # itsdangerous signs with the last key and accepts any: ours lists the current first.
    return URLSafeSerializer(list(reversed(keys)), salt=SALT)


def create_link(
    session: Session,
    actor: Actor,
    publication_id: int,
    *,
    reviewer_id: int | None,
    hours: int,
    keys: tuple[str, ...],
    now: datetime,
) -> tuple[str, datetime]:
    """A token for the caller's own vote on one publication in review.

    A link votes as the person whose key made it. Whoever holds a link someone else's vote
    rides on could count as two people in a committee, so nobody (an admin neither) makes
    a link for another key: `reviewer_id`, when given, must be the caller's own.
    """
    actor.require(Permission.DECIDE_REVIEWS)
    reviewer_id = reviewer_id or actor.key_id
    if reviewer_id != actor.key_id:
        raise Forbidden(
            f"a review link votes as the key that makes it: key {reviewer_id} makes its own "
            f"link (POST /v1/reviews/{publication_id}/link with that key), so that the review "
            "policy counts each person once"
        )
    pub = owned(session, Publication, publication_id, actor)
    if pub.status != Status.IN_REVIEW:
        raise Conflict(f"publication {publication_id} is {pub.status}, not in_review")
    if problem := reviewer_problem(session, actor.workspace_id, reviewer_id):
        raise ValidationFailed("that key cannot vote", [field_error("reviewer_id", problem)])
    expires = now + timedelta(hours=hours)
    token = _serializer(keys).dumps(
        {"p": publication_id, "k": reviewer_id, "m": actor.key_id, "x": int(expires.timestamp())}
    )
    events.record(
        session,
        workspace_id=pub.workspace_id,
        kind="review.link_created",
        actor=actor.label,
        now=now,
        post_id=pub.post_id,
        publication_id=pub.id,
        reason=f"review link for key {reviewer_id}, made by key {actor.key_id}",
        data={
            "reviewer_id": reviewer_id,
            "made_by": actor.key_id,
            "expires_at": expires.isoformat(),
        },
    )
    return token, expires


def open_link(
    session: Session, token: str, *, keys: tuple[str, ...], now: datetime
) -> tuple[Actor, int]:
    """The reviewer and the publication a token stands for, or LinkInvalid."""
    try:
        claims = _serializer(keys).loads(token)
        publication_id, key_id, expires = int(claims["p"]), int(claims["k"]), int(claims["x"])
        made_by = int(claims.get("m", key_id))
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("this review link is not valid", reason="invalid") from exc
    if made_by != key_id:  # made for someone else before such links were refused
        raise LinkInvalid(
            "this review link was made by another key: make your own", reason="other_key"
        )
    if now.timestamp() > expires:
        when = datetime.fromtimestamp(expires, UTC)
        raise LinkInvalid(
            f"this review link expired at {when.isoformat()}: ask for a new one",
            reason="expired",
            expired_at=when,
        )
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise LinkInvalid("the reviewer's access was revoked", reason="revoked")
    return Actor(workspace_id=key.workspace_id, key_id=key.id, role=key.role), publication_id


def status_of(session: Session, publication_id: int) -> Status | None:
    """Where the publication a link is for stands (the page says what became of it)."""
    pub = session.get(Publication, publication_id)
    return None if pub is None else Status(pub.status)


def attachment(session: Session, publication_id: int, media_id: int) -> Media | None:
    """Media `media_id` if the post under review attaches it (itself or in a variant):
    a link shows what it is for, nothing else of the workspace."""
    pub = session.get(Publication, publication_id)
    post = None if pub is None else session.get(Post, pub.post_id)
    if post is None:
        return None
    attached = {ref["media_id"] for ref in post.media or []} | {
        ref["media_id"] for v in post.variants or [] for ref in v.get("media") or []
    }
    return session.get(Media, media_id) if media_id in attached else None
