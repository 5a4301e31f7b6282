"""/v1/posts: content, its edits, submission for review and cancellation."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.models import Comment, Post
from publisher.core.schemas import Id
from publisher.core.workspaces import Permission, key_names
from publisher.plan import posts
from publisher.plan.post_schemas import PostCreate, PostRead, PostUpdate
from publisher.plan.publications import series_to_read, to_read
from publisher.record import revisions
from publisher.record.schemas import EventRead
from publisher.review import comments as discussion
from publisher.review.schemas import CommentCreate, CommentRead

bp = Blueprint("posts", __name__, url_prefix="/posts")


class PostQuery(PageQuery):
    campaign_id: Id | None = None


def _read(post: Post) -> PostRead:
    pubs = [to_read(p) for p in posts.publications_of(db(), post)]
    series = [series_to_read(s) for s in posts.series_of(db(), post)]
    return PostRead.model_validate(
        {
            **post.model_dump(),
            "variants": post.variants or [],
            "thread": post.thread or [],
            "media": post.media or [],
            "publications": pubs,
            "series": series,
        }
    )


@bp.post("")
@endpoint(
    "Create a post and its draft publications",
    body=PostCreate,
    response=PostRead,
    status=201,
    permission=Permission.WRITE_CONTENT,
)
def create():
    post = posts.create_post(db(), actor(), g.body, now=runtime().clock())
    commit()
    return json_response(_read(post), 201)


@bp.get("")
@endpoint("List posts", query=PostQuery, response=list[PostRead], permission=Permission.READ)
def index():
    q = g.query
    found = posts.list_posts(
        db(), actor(), campaign_id=q.campaign_id, limit=q.limit + 1, after_id=after_id(q)
    )
    return page(found, q, _read, next_position=lambda p: {"after": p.id})


@bp.get("/<int:post_id>")
@endpoint("Get a post with its publications", response=PostRead, permission=Permission.READ)
def show(post_id: int):
    return json_response(_read(posts.get_post(db(), actor(), post_id)))


@bp.patch("/<int:post_id>")
@endpoint(
    "Edit a post (approved publications go back to review)",
    body=PostUpdate,
    response=PostRead,
    permission=Permission.WRITE_CONTENT,
)
def update(post_id: int):
    post = posts.update_post(db(), actor(), post_id, g.body, now=runtime().clock())
    commit()
    return json_response(_read(post))


@bp.post("/<int:post_id>/submit")
@endpoint(
    "Check the post against its platforms and send it to review",
    response=PostRead,
    permission=Permission.WRITE_CONTENT,
    errors=(422,),
)
def submit(post_id: int):
    rt = runtime()
    post = posts.submit_post(
        db(), actor(), post_id, registry=rt.registry, store=rt.media, now=rt.clock()
    )
    commit()
    return json_response(_read(post))


@bp.post("/<int:post_id>/cancel")
@endpoint(
    "Cancel every publication of the post that has not started",
    response=PostRead,
    permission=Permission.WRITE_CONTENT,
)
def cancel(post_id: int):
    post = posts.cancel_post(db(), actor(), post_id, now=runtime().clock())
    commit()
    return json_response(_read(post))


@bp.get("/<int:post_id>/comments")
@endpoint(
    "The post's discussion, as threads (replies under their comment); a page holds `limit` "
    "threads, each whole",
    query=PageQuery,
    response=list[CommentRead],
    permission=Permission.READ,
)
def comments(post_id: int):
    q = g.query
    post = posts.get_post(db(), actor(), post_id)
    after = after_id(q)
    threads = [t for t in _threads(discussion.list_comments(db(), post)) if t.id > after]
    return page(threads[: q.limit + 1], q, lambda t: t, next_position=lambda t: {"after": t.id})


@bp.post("/<int:post_id>/comments")
@endpoint(
    "Comment on a post, or reply to a comment",
    body=CommentCreate,
    response=CommentRead,
    status=201,
    permission=(Permission.WRITE_CONTENT, Permission.DECIDE_REVIEWS),
)
def comment(post_id: int):
    post = posts.get_post(db(), actor(), post_id)
    made = discussion.create_comment(
        db(), actor(), post, body=g.body.body, parent_id=g.body.parent_id, now=runtime().clock()
    )
    commit()
    return json_response(_threads([made])[0], 201)


def _threads(rows: list[Comment]) -> list[CommentRead]:
    names = key_names(db(), actor().workspace_id)
    reads = {
        c.id: CommentRead(
            **c.model_dump(exclude={"workspace_id"}),
            author=names.get(c.author_id, "system"),
        )
        for c in rows
    }
    roots = []
    for c in rows:
        parent = reads.get(c.parent_id) if c.parent_id else None
        (parent.replies if parent else roots).append(reads[c.id])
    return roots


@bp.get("/<int:post_id>/history")
@endpoint(
    "The post's audit trail: every edit (with its diff), vote and state change",
    query=PageQuery,
    response=list[EventRead],
    permission=Permission.READ,
)
def history(post_id: int):
    q = g.query
    post = posts.get_post(db(), actor(), post_id)
    found = revisions.list_history(db(), actor(), post, limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, EventRead.model_validate, next_position=lambda e: {"after": e.id})
