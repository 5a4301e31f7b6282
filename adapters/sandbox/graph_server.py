"""The Graph API subset the Facebook and Instagram adapters use: Page feed posts
(`{"id": "<page>_<post>"}`), unpublished photos, Instagram containers and media_publish,
object and batched reads, deletes; errors as `{"error": {message, type, code,
error_subcode, fbtrace_id}}`."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request

from adapters.sandbox.control import control_blueprint
from adapters.sandbox.graph_instagram import container_state, ig_media, instagram_blueprint
from adapters.sandbox.graph_oauth import graph_oauth_blueprint
from adapters.sandbox.ledger import Fault, Ledger, sniff

_VERSION = re.compile(r"v(\d+)\.\d+")
LATEST_MAJOR = 26  # v26.0, 2026-07-29
# Page post fields removed in v3.3 (graph-api/reference/post): asking fails the whole read.
DEPRECATED_POST_FIELDS = {"caption", "description", "link", "name", "object_id", "source", "type"}
# Page post insights that answer in 2026 (pages-api/changelog: post_impressions* gone
# 2025-11-15, post_impressions_unique* 2026-06-15); any other fails the request with #100.
POST_INSIGHTS = {
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_clicks_by_type",
    "post_reactions_by_type_total",
}
# Business use case throttling messages (graph-api/overview/rate-limiting).
BUC_MESSAGES = {
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    80002: "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
    "try again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
PHOTO_ID_BASE = 880_000_000_000_000


def graph_app(ledger: Ledger) -> Flask:
    """Graph API: create and read Page feed posts, on any version path."""
    app = Flask("sandbox_graph")
    app.register_blueprint(control_blueprint(ledger))

    @app.before_request
    def known_version():
        """Graph answers 2500 "Unknown path components" for a version that never existed
        (expired ones are served by the oldest live version: graph-api/guides/versioning)."""
        version = (request.path.split("/") + ["", ""])[1]
        if version == "_sandbox":
            return None
        match = _VERSION.fullmatch(version)
        if match is None or int(match.group(1)) > LATEST_MAJOR:
            rest = request.path.split("/", 2)[-1]
            return error(400, 2500, f"Unknown path components: /{rest}")
        return None

    @app.after_request
    def usage_headers(response):
        for name, value in ledger.graph_headers.items():
            response.headers[name] = value
        return response

    def error(
        status: int,
        code: int,
        message: str,
        kind: str = "OAuthException",
        subcode: int | None = None,
    ):
        message = BUC_MESSAGES.get(code, message)
        body: dict[str, Any] = {
            "error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AsandboxTrace"}
        }
        if subcode is not None:
            body["error"]["error_subcode"] = subcode
        response = jsonify(body)
        response.status_code = status
        return response

    app.register_blueprint(graph_oauth_blueprint(ledger, error))

    def token() -> str:
        return (request.values.get("access_token") or "").strip()

    def deprecated_fields():
        """(#12) for Page post fields removed in v3.3, the message Graph gives today."""
        asked = {f.split("{")[0].split(".")[0] for f in request.args.get("fields", "").split(",")}
        if asked & DEPRECATED_POST_FIELDS:
            return error(
                400,
                12,
                "(#12) deprecate_post_aggregated_fields_for_attachement is deprecated for "
                "versions v3.3 and higher",
            )
        return None

    def invalid_insights():
        """(#100) when any metric asked for is not a valid (current) insights metric."""
        asked = re.findall(r"insights\.metric\(([^)]*)\)", request.args.get("fields", ""))
        metrics = {m for group in asked for m in group.split(",") if m}
        if metrics - POST_INSIGHTS:
            return error(400, 100, "(#100) The value must be a valid insights metric")
        return None

    def failure_after_accept(fault: Fault | None):
        """For a fault that lets the post be created: hold, then answer the error."""
        if fault and fault.accept:
            time.sleep(fault.hold_s)
            if fault.status is not None:
                return error(fault.status, fault.code or 1, "An unknown error occurred")
        return None

    def refused_token():
        """Graph's answer to a missing or expired token, or None to go on."""
        if not token() or ledger.token_expired(token()):
            return error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        return None

    def engagement_refused():
        """A token without pages_read_engagement reading what people did with a post
        (Graph answers code 10, as recorded in the wild), or None to go on."""
        fields = request.args.get("fields", "")
        asked = re.search(r"\b(reactions|comments|shares|like_count|comments_count)\b", fields)
        if ledger.engagement_denied and asked:
            return error(
                400,
                10,
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
                "'Page Public Content Access' feature.",
                kind="OAuthException",
            )
        return None

    @app.post("/<version>/<page_id>/photos")
    def upload_photo(version: str, page_id: str):
        """A Page photo; `published=false` keeps it hidden until a feed post attaches it."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fault = ledger.take_fault("facebook", on="media", account=page_id)
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        source = request.files.get("source")
        if source is None:
            return error(400, 324, "(#324) Requires upload file")
        data = source.read()
        kind = sniff(data)
        if kind not in ("image/jpeg", "image/png", "image/webp"):
            return error(400, 324, "(#324) Missing or invalid image file")
        photo_id = str(PHOTO_ID_BASE + ledger.next_id())
        published = request.form.get("published", "true").lower() != "false"
        ledger.uploads[photo_id] = {
            "media_id": photo_id,
            "account": page_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": kind,
            "size": len(data),
            "alt_text": request.form.get("alt_text_custom"),
            "published": published,
            "state": "succeeded",
        }
        return jsonify({"id": photo_id})

    @app.post("/<version>/<page_id>/feed")
    def create_post(version: str, page_id: str):
        arrived = datetime.now(UTC)
        ledger.delay("facebook", page_id)
        if (refused := refused_token()) is not None:
            return refused
        message = request.form.get("message", "")
        link = request.form.get("link")
        try:
            wanted = json.loads(request.form.get("attached_media") or "[]")
            photo_ids = [str(item["media_fbid"]) for item in wanted]
        except (ValueError, TypeError, KeyError):
            return error(400, 100, "(#100) attached_media must be a list of {media_fbid}")
        attached = []
        for photo_id in photo_ids:
            photo = ledger.uploads.get(photo_id)
            if photo is None or photo["account"] != page_id or photo.get("published"):
                return error(400, 100, f"(#100) Invalid media_fbid {photo_id}")
            attached.append(
                {k: photo[k] for k in ("media_id", "sha256", "content_type", "alt_text", "size")}
            )
        fault = ledger.take_fault("facebook", account=page_id)
        if fault and not fault.accept and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        if ledger.duplicates_refused and ledger.find("facebook", page_id, message):
            return error(400, 506, "Duplicate status message", subcode=1455006)
        post_id = f"{page_id}_{ledger.next_id()}"
        for photo_id in photo_ids:
            ledger.uploads[photo_id]["published"] = True
        ledger.accept(
            "facebook", page_id, post_id, message, link, received_at=arrived, media=attached
        )
        if (failed := failure_after_accept(fault)) is not None:
            return failed
        return jsonify({"id": post_id})

    @app.get("/<version>/<page_id>/feed")
    def page_feed(version: str, page_id: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        if (refused := deprecated_fields()) is not None:
            return refused
        since = request.args.get("since")
        limit = min(int(request.args.get("limit", 25)), 100)
        posts = [
            a
            for a in reversed(ledger.accepted("facebook"))
            if a.account == page_id
            and a.deleted_at is None
            and (since is None or datetime.fromisoformat(a.received_at).timestamp() >= int(since))
        ][:limit]
        return jsonify(
            {
                "data": [
                    {
                        "id": a.external_id,
                        "message": a.text,
                        "created_time": a.received_at,
                    }
                    for a in posts
                ],
                "paging": {"cursors": {"before": "b", "after": "a"}},
            }
        )

    def edges(object_id: str, m: dict[str, int], fields: str) -> dict[str, Any]:
        """A post's reactions and comments summaries, shares and insights, as `fields`
        ask (the same on a one-object read and a multiple-id read)."""
        item: dict[str, Any] = {}
        if "reactions" in fields:
            item["reactions"] = {"data": [], "summary": {"total_count": m.get("reactions", 0)}}
        if "comments" in fields:
            item["comments"] = {"data": [], "summary": {"total_count": m.get("comments", 0)}}
        if "shares" in fields and m.get("shares"):
            item["shares"] = {"count": m["shares"]}  # Graph leaves it out at 0
        if "insights" in fields:
            item["insights"] = {
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": m.get(name, 0)}],
                        "id": f"{object_id}/insights/{name}/lifetime",
                    }
                    for group in re.findall(r"insights\.metric\(([^)]*)\)", fields)
                    for name in group.split(",")
                ]
            }
        return item

    @app.get("/<version>/")
    def get_objects(version: str):
        """Several objects at once (`ids`), with reactions/comments summaries, shares and
        insights as the `fields` ask."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fields = request.args.get("fields", "")
        if (refused := deprecated_fields() or invalid_insights()) is not None:
            return refused
        if (refused := engagement_refused()) is not None:
            return refused
        if "insights" in fields and ledger.insights_denied:
            return error(
                400,
                10,
                "(#10) Application does not have permission for this action",
                kind="OAuthException",
            )
        body: dict[str, Any] = {}
        for object_id in [i for i in request.args.get("ids", "").split(",") if i]:
            found = ledger.get("facebook", object_id)
            if found is None:
                return error(400, 100, f"(#100) Object {object_id} does not exist")
            body[object_id] = {"id": object_id, **edges(object_id, found.metrics, fields)}
        return jsonify(body)

    @app.delete("/<version>/<object_id>")
    def delete_object(version: str, object_id: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fault = ledger.take_fault("facebook", on="delete")
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        if not ledger.delete("facebook", object_id):
            return error(
                400,
                100,
                f"Unsupported delete request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
                subcode=33,
            )
        return jsonify({"success": True})

    app.register_blueprint(instagram_blueprint(ledger, error, refused_token, failure_after_accept))

    @app.get("/<version>/<object_id>")
    def get_object(version: str, object_id: str):
        ledger.delay("facebook")
        if token() and ledger.token_expired(token()):
            return error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        container = ledger.uploads.get(object_id)
        if container is not None and container.get("kind") == "ig_container":
            return jsonify({"id": object_id, "status_code": container_state(container)})
        posted = ledger.get("instagram", object_id)
        if posted is not None:
            return engagement_refused() or jsonify(ig_media(posted))
        if object_id.isdigit():  # a Page (or an Instagram account): any other numeric id
            if not token():
                return error(400, 104, "An access token is required to request this resource.")
            fault = ledger.take_fault("facebook", on="account")
            if fault is not None and fault.status is not None:
                return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
            body = {
                "id": object_id,
                "name": f"Sandbox Page {object_id}",
                "username": f"sandbox_{object_id}",
            }
            if "followers_count" in request.args.get("fields", "").split(","):
                # Page reference `followers_count`; an IG User's field of the same name.
                known = ledger.followers
                body["followers_count"] = known.get(
                    ("facebook", object_id), known.get(("instagram", object_id), 0)
                )
            page = ledger.page_accounts.get(token())
            if page is not None and page["id"] == object_id:
                body["name"] = page["name"]
                linked = page.get("instagram")
                if "instagram_business_account" in request.args.get("fields", "") and linked:
                    body["instagram_business_account"] = {
                        "id": linked["id"],
                        "username": linked["username"],
                        "name": linked.get("name", linked["username"]),
                    }
            return jsonify(body)
        found = ledger.get("facebook", object_id)
        if found is None:
            return error(
                400,
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
                subcode=33,
            )
        if (refused := deprecated_fields() or engagement_refused()) is not None:
            return refused
        if "insights" in request.args.get("fields", "") and ledger.insights_denied:
            return error(
                400,
                10,
                "(#10) Application does not have permission for this action",
                kind="OAuthException",
            )
        page, post = found.external_id.split("_", 1)
        return jsonify(
            {
                "id": found.external_id,
                "message": found.text,
                "created_time": found.received_at,
                "permalink_url": f"https://www.facebook.com/{page}/posts/{post}/",
                **edges(found.external_id, found.metrics, request.args.get("fields", "")),
            }
        )

    return app
