"""The engine's short links: `GET /l/{code}` sends a reader on to the campaign-tagged link
and counts the click; `GET /v1/publications/{id}/links` lists a publication's links with
their clicks."""

from __future__ import annotations

from flask import Blueprint, g, redirect, request
from werkzeug.exceptions import NotFound

from api.http.context import actor, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint
from publisher.core.workspaces import Permission
from publisher.engage import clicks
from publisher.engage.schemas import TrackedLinkRead

bp = Blueprint("tracked_links", __name__, url_prefix="/publications")
redirects = Blueprint("short_links", __name__)
_CODE = "<string(length=10):code>"


@redirects.route(f"/l/{_CODE}", methods=["GET", "HEAD"])
def follow(code: str):
    """302 to where the link leads. No key: readers on the networks open these. A HEAD
    (a link preview checking the address) is answered and not counted. The click waits
    in Redis for its batch write (publisher/engage/clicks.py)."""
    target = runtime().clicks.follow(
        db(),
        code.lower(),
        referrer=request.referrer,
        user_agent=request.user_agent.string,
        now=runtime().clock(),
        count=request.method == "GET",
    )
    if target is None:
        raise NotFound("no such short link")
    answer = redirect(target, 302)
    # Each click must reach us: no cache may answer it (and tell nobody where it came from).
    answer.headers["Cache-Control"] = "private, no-store"
    answer.headers["Referrer-Policy"] = "no-referrer"
    return answer


@bp.get("/<int:publication_id>/links")
@endpoint(
    "The short links a publication sent, each with the clicks through it (bots apart)",
    query=PageQuery,
    response=list[TrackedLinkRead],
    permission=Permission.READ,
)
def listing(publication_id: int):
    q, maker = g.query, runtime().links
    counted = clicks.publication_links(
        db(), actor(), publication_id, limit=q.limit + 1, after_id=after_id(q)
    )
    agents = clicks.clicks_by_agent(db(), [c.link.id for c in counted])

    def read(c: clicks.LinkCount) -> TrackedLinkRead:
        return TrackedLinkRead(
            code=c.link.code,
            url=maker.url(c.link.code) if maker else f"/l/{c.link.code}",
            target=c.link.target,
            clicks=c.clicks,
            bots=c.bots,
            agents=agents.get(c.link.id, {}),
            created_at=c.link.created_at,
        )

    return page(counted, q, read, next_position=lambda c: {"after": c.link.id})
