"""The audit trail of a post: its revisions as they were, what changed between two, and
every event about it. Events are append-only (the database refuses to change them)."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from publisher.core.models import Event, Post, PostRevision, Publication
from publisher.core.workspaces import Actor, Permission

FIELDS = ("text", "link", "variants", "thread", "media", "quote_of")
EXPORT_PAGE = 1000


def content_of_post(post: Post) -> dict[str, Any]:
    return {name: getattr(post, name) for name in FIELDS}


def snapshot(session: Session, post: Post, *, author_id: int | None, now: datetime) -> None:
    """Keep the post's current revision as it is now."""
    session.add(
        PostRevision(
            post_id=post.id,
            revision=post.revision,
            content=content_of_post(post),
            content_hash=post.content_hash,
            author_id=author_id,
            created_at=now,
        )
    )


def revision_of(session: Session, post_id: int, revision: int) -> PostRevision | None:
    return session.exec(
        select(PostRevision).where(
            PostRevision.post_id == post_id, PostRevision.revision == revision
        )
    ).first()


def authors(session: Session, post: Post) -> set[int]:
    """Everyone who wrote a revision of the post (the creator included)."""
    ids = set(
        session.exec(
            select(PostRevision.author_id).where(
                PostRevision.post_id == post.id, PostRevision.author_id.is_not(None)
            )
        )
    )
    return ids | ({post.created_by} if post.created_by else set())


def word_diff(before: Any, after: Any) -> list[dict[str, str]]:
    """What changed word by word between two texts (a thread's parts one per line), as
    runs of `equal`, `delete` and `insert`; [] when either is not text."""
    texts = []
    for value in (before, after):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if value is not None and not isinstance(value, str):
            return []
        texts.append(re.findall(r"\s+|[^\s]+", value or ""))
    old, new = texts
    runs: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op in ("equal", "delete", "replace"):
            runs.append({"op": "equal" if op == "equal" else "delete", "text": "".join(old[i1:i2])})
        if op in ("insert", "replace"):
            runs.append({"op": "insert", "text": "".join(new[j1:j2])})
    return [run for run in runs if run["text"]]


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """Field changes from `before` to `after`, and a line diff of the text."""
    if before is None:
        return {"changes": [], "text_diff": []}
    changes = [
        {
            "field": name,
            "before": before.get(name),
            "after": after.get(name),
            "words": word_diff(before.get(name), after.get(name)),
        }
        for name in FIELDS
        if before.get(name) != after.get(name)
    ]
    text_diff = list(
        difflib.unified_diff(
            (before.get("text") or "").splitlines(),
            (after.get("text") or "").splitlines(),
            "before",
            "after",
            lineterm="",
        )
    )
    return {"changes": changes, "text_diff": text_diff}


def list_history(
    session: Session, actor: Actor, post: Post, *, limit: int | None = None, after_id: int = 0
) -> list[Event]:
    """Every event about the post and its publications, oldest first, from after
    `after_id`, `limit` at most."""
    actor.require(Permission.READ)
    pub_ids = select(Publication.id).where(Publication.post_id == post.id)
    query = (
        select(Event)
        .where(Event.workspace_id == post.workspace_id, Event.id > after_id)
        .where(or_(Event.post_id == post.id, Event.publication_id.in_(pub_ids)))
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.exec(query))


def list_export(
    session: Session,
    actor: Actor,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int = 0,
) -> list[Event]:
    """The workspace's audit log after `after_id`, in order, one page (EXPORT_PAGE) long;
    a shorter page is the last."""
    actor.require(Permission.READ_AUDIT)
    query = select(Event).where(Event.workspace_id == actor.workspace_id, Event.id > after_id)
    if since is not None:
        query = query.where(Event.at >= since)
    if until is not None:
        query = query.where(Event.at < until)
    return list(session.exec(query.order_by(Event.id).limit(EXPORT_PAGE)))
