"""/review/<token>: a small HTML page where a reviewer without an API client sees a post
as each network will show it and decides (plain forms, no JavaScript). The token is the
credential: it votes as one key, on the post of the publication it was made for (every
channel of that post waiting for that key's vote)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, send_file

from api.http.context import db, runtime
from api.review.words import (
    finding,
    language,
    link_refusal,
    problem_said,
    refusal,
    shown,
    use_key_language,
    when,
    words,
)
from publisher.core.errors import PublisherError
from publisher.core.states import Status
from publisher.core.workspaces import key_language
from publisher.plan.content import media_files
from publisher.review import comments, links, policies, post_review, queue, votes
from publisher.review.post_review import PostReview

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
    html = render_template(
        "review.html",
        w=words(),
        when=when,
        lang=language(),
        platform_name=_platform_name,
        finding=finding,
        problem_said=problem_said,
        shown=shown,
        **context,
    )
    return Response(html, status=status, mimetype="text/html", headers=_HEADERS)


def _platform_name(platform: str) -> str:
    """The network as people name it (X, Facebook), else its slug."""
    adapter = runtime().registry.get(platform)
    return adapter.display_name if adapter else platform


def _open(token: str):
    rt = runtime()
    who, publication_id = links.open_link(db(), token, keys=rt.box.keys, now=rt.clock())
    use_key_language(key_language(db(), who))
    return who, publication_id


def _review(who, publication_id: int) -> PostReview:
    zone = queue.reviewer_time_zone(db(), who, None)
    return post_review.open_post(db(), who, publication_id, time_zone=zone)


def _show(token: str, *, status: int = 200, error: str = "") -> Response:
    """The post under review: every channel waiting, each previewed as it will go out."""
    rt = runtime()
    try:
        who, publication_id = _open(token)
    except links.LinkInvalid as exc:
        return _page(exc.status, invalid=link_refusal(exc))
    review = _review(who, publication_id)
    channels = []
    for item in review.waiting:
        files = media_files(db(), item.post, rt.media, item.channel)
        channels.append(
            {
                "item": item,
                "preview": queue.preview(item, rt.registry, files, rt.links),
                "missing": policies.missing_words(item.details["tally"], language()),
                "mine": item.details.get("waiting_on_me", False),
            }
        )
    return _page(
        status,
        token=token,
        review=review,
        channels=channels,
        zone=queue.reviewer_time_zone(db(), who, None),
        comments=comments.with_authors(db(), comments.list_comments(db(), review.post)),
        error=error,
    )


@bp.get("/review/<token>")
def show(token: str):
    return _show(token)


@bp.post("/review/<token>")
def decide(token: str):
    # The whole form first: no database lock is taken until the client has sent it all.
    form = request.form.to_dict()
    shown = request.form.getlist("publication")  # the channels the page showed
    rt = runtime()
    try:
        who, publication_id = _open(token)
    except links.LinkInvalid as exc:
        return _page(exc.status, invalid=link_refusal(exc))
    decision = _DECISIONS.get(form.get("decision", ""))
    comment = form.get("comment", "").strip()[:5000]
    revision = form.get("revision", "")
    if decision is None or not (revision.isascii() and revision.isdigit() and len(revision) < 10):
        return _show(token, status=400, error=words()["incomplete"])
    if "\x00" in comment:
        return _show(token, status=422, error=words()["nul"])
    if decision != Status.APPROVED and not comment:
        return _show(token, status=422, error=words()["comment_required"])
    if not all(p.isascii() and p.isdigit() and len(p) < 10 for p in shown):
        return _show(token, status=400, error=words()["incomplete"])
    # What the page showed, still waiting for this vote: a channel that came into review
    # while the page was open is not decided unseen. A form naming none decides the
    # publication the link was made for.
    wanted = {int(p) for p in shown} or {publication_id}
    review = _review(who, publication_id)
    deciding = [item for item in review.mine if item.publication.id in wanted]
    if not deciding:
        return _show(token, status=409, error=words()["nothing_for_you"])
    results = votes.decide_batch(
        db(),
        who,
        [(item.publication.id, int(revision)) for item in deciding],
        decision,
        comment=comment,
        now=rt.clock(),
        via_link=True,
    )
    refused = [r for _, r in results if isinstance(r, PublisherError)]
    if len(refused) == len(results):  # nothing was recorded: the page again, and why
        db().rollback()
        return _show(token, status=refused[0].status, error=refusal(refused[0]))
    db().commit()
    rt.queue.wake()
    return _confirmation(token, review, deciding, dict(results), decision)


def _confirmation(
    token: str, review: PostReview, decided: list, results: dict, decision: Status
) -> Response:
    """What the decision did, channel by channel, in words."""
    w, lang = words(), language()
    zone = review.waiting[0].details["reviewer_time_zone"] if review.waiting else "UTC"
    lines = []
    for item in decided:
        result = results.get(item.publication.id)
        name = f"{item.channel.name} ({_platform_name(item.channel.platform)})"
        if isinstance(result, PublisherError):
            lines.append((name, "outcome-no", w["outcome_refused"].format(reason=refusal(result))))
        elif result.status == Status.IN_REVIEW:
            missing = ", ".join(policies.missing_in(result.tally, lang))
            lines.append((name, "outcome-wait", w["recorded_waiting"].format(missing=missing)))
        elif result.status in (Status.SCHEDULED, Status.QUEUED):
            at = when(item.publication.scheduled_at, zone)
            lines.append((name, "outcome-ok", w["outcome_scheduled"].format(when=at)))
        else:
            status = w.get(str(result.status), str(result.status))
            lines.append((name, "outcome-other", w["recorded"].format(status=status)))
    title = w["confirm_approved" if decision == Status.APPROVED else "confirm_changes"]
    message = lines[0][2] if len(lines) == 1 else w["recorded_for"].format(n=len(lines))
    return _page(200, confirmed=title, message=message, outcomes=lines, token=token, review=review)


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
