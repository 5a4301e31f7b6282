"""A post's discussion: threaded comments that authors and reviewers both see."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from publisher.core.errors import Forbidden, ValidationFailed, field_error
from publisher.core.models import ApiKey, Comment, Post
from publisher.core.workspaces import ROLE_PERMISSIONS, Actor, Permission
from publisher.record import events


def create_comment(
    session: Session,
    actor: Actor,
    post: Post,
    *,
    body: str,
    parent_id: int | None,
    now: datetime,
) -> Comment:
    """A comment on the post, or a reply to one of its comments; audited."""
    allowed = ROLE_PERMISSIONS.get(actor.role, frozenset())
    if not allowed & {Permission.WRITE_CONTENT, Permission.DECIDE_REVIEWS}:
        raise Forbidden(f"role {actor.role!r} may not take part in the discussion")
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.post_id != post.id:
            raise ValidationFailed(
                "a reply answers a comment of the same post",
                [field_error("parent_id", f"no comment {parent_id} on post {post.id}")],
            )
    comment = Comment(
        workspace_id=post.workspace_id,
        post_id=post.id,
        parent_id=parent_id,
        author_id=actor.key_id,
        body=body,
        revision=post.revision,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    events.record(
        session,
        workspace_id=post.workspace_id,
        kind="comment.added",
        actor=actor.label,
        now=now,
        post_id=post.id,
        data={"comment_id": comment.id, "parent_id": parent_id, "revision": post.revision},
    )
    return comment


def from_vote(session: Session, actor: Actor, post: Post, *, body: str, now: datetime) -> None:
    """A vote's comment joins the post's discussion, where the author answers it: once,
    however many of the post's publications (channels) the vote was cast on."""
    said = session.exec(
        select(Comment.id).where(
            Comment.post_id == post.id,
            Comment.author_id == actor.key_id,
            Comment.revision == post.revision,
            Comment.body == body,
        )
    ).first()
    if said is None:
        create_comment(session, actor, post, body=body, parent_id=None, now=now)


def list_comments(session: Session, post: Post) -> list[Comment]:
    """The post's comments, oldest first (replies follow their parents in time)."""
    query = select(Comment).where(Comment.post_id == post.id).order_by(Comment.id)
    return list(session.exec(query))


def with_authors(session: Session, comments: list[Comment]) -> list[tuple[Comment, str | None]]:
    """Each comment with its author's key name (None: written by the engine or a deleted key)."""
    ids = {c.author_id for c in comments if c.author_id is not None}
    names = (
        dict(session.exec(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(ids))).all())
        if ids
        else {}
    )
    return [(c, names.get(c.author_id)) for c in comments]
