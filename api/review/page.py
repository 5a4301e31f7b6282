"""/review/<token>: a small HTML page where a reviewer without an API client sees what
will go out and decides (plain forms, no JavaScript). The token is the credential."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, send_file

from api.http.context import db, runtime
from api.review.words import language, when, words
from publisher.core.errors import PublisherError
from publisher.core.states import Status
from publisher.plan.content import media_files
from publisher.review import links, policies, queue, votes
from publisher.review.comments import comments_of

bp = Blueprint("review_page", __name__)

_DECISIONS = {
    "approve": Status.APPROVED,
    "request_changes": Status.CHANGES_REQUESTED,
}
# The page loads nothing from elsewhere and posts only to itself.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _page(status: int = 200, **context) -> Response:
    html = render_template("review.html", w=words(), when=when, lang=language(), **context)
    return Response(html, status=status, mimetype="text/html", headers=_HEADERS)


def _open(token: str):
    rt = runtime()
    return links.open_link(db(), token, keys=rt.box.keys, now=rt.clock())


def _show(token: str, *, status: int = 200, message: str = "", error: str = "") -> Response:
    rt = runtime()
    try:
        who, publication_id = _open(token)
    except links.LinkInvalid as exc:
        return _page(exc.status, invalid=exc.detail)
    items = queue.review_queue(db(), who, publication_id=publication_id)
    if not items:
        done = links.status_of(db(), publication_id)
        return _page(status, done=done, message=message, error=error, token=token)
    zone = queue.reviewer_time_zone(db(), who, None)
    [item] = queue.describe(db(), who, items, time_zone=zone)
    files = media_files(db(), item.post, rt.media, item.channel)
    return _page(
        status,
        token=token,
        item=item,
        preview=queue.preview(item, rt.registry, files),
        missing=policies.missing_words(item.details["tally"], language()),
        comments=comments_of(db(), item.post),
        message=message,
        error=error,
    )


@bp.get("/review/<token>")
def show(token: str):
    return _show(token)


@bp.post("/review/<token>")
def decide(token: str):
    # The whole form first: no database lock is taken until the client has sent it all.
    form = request.form.to_dict()
    rt = runtime()
    try:
        who, publication_id = links.open_link(db(), token, keys=rt.box.keys, now=rt.clock())
    except links.LinkInvalid as exc:
        return _page(exc.status, invalid=exc.detail)
    decision = _DECISIONS.get(form.get("decision", ""))
    comment = form.get("comment", "").strip()[:5000]
    revision = form.get("revision", "")
    if decision is None or not (revision.isascii() and revision.isdigit() and len(revision) < 10):
        return _show(token, status=400, error=words()["incomplete"])
    if "\x00" in comment:
        return _show(token, status=422, error=words()["nul"])
    if decision != Status.APPROVED and not comment:
        return _show(token, status=422, error=words()["comment_required"])
    try:
        outcome = votes.decide(
            db(),
            who,
            publication_id,
            decision,
            comment=comment,
            revision=int(revision),
            now=rt.clock(),
            via_link=True,
        )
    except PublisherError as refused:
        db().rollback()
        return _show(token, status=refused.status, error=refused.detail)
    db().commit()
    rt.queue.wake()
    w = words()
    if outcome.status == Status.IN_REVIEW:
        missing = policies.missing_in(outcome.tally, language())
        message = w["recorded_waiting"].format(missing=", ".join(missing))
    else:
        message = w["recorded"].format(status=w.get(str(outcome.status), outcome.status))
    return _show(token, message=message)


@bp.get("/review/<token>/media/<int:media_id>")
def media(token: str, media_id: int):
    """An attachment of the item under review, for the preview."""
    try:
        _, publication_id = _open(token)
    except links.LinkInvalid:
        abort(403)
    row = links.attachment(db(), publication_id, media_id)
    if row is None:
        abort(404)
    path = runtime().media.path(row.sha256)
    return send_file(path, mimetype=row.content_type, max_age=0)
