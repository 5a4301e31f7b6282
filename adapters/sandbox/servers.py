"""Loopback servers speaking the subset of X API v2 and the Graph API the adapters use.

Response shapes follow the platforms' documentation: X's POST /2/tweets answers 201 with
`{"data": {"id", "text", "edit_history_tweet_ids"}}` and errors as problem documents; the
Graph API answers `{"id": "<page>_<post>"}` and errors as `{"error": {message, type, code,
error_subcode, fbtrace_id}}`. Each server also carries the control API under /_sandbox.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from adapters.sandbox.ledger import Fault, Ledger

_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]+)"')
TWEET_ID_BASE = 1_860_000_000_000_000_000
MEDIA_ID_BASE = 1_870_000_000_000_000_000
PHOTO_ID_BASE = 880_000_000_000_000
CONTAINER_ID_BASE = 17_890_000_000_000_000
IG_MEDIA_ID_BASE = 17_900_000_000_000_000


def control_blueprint(ledger: Ledger) -> Blueprint:
    """GET ledger, POST faults / latency / expired tokens / reset."""
    bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

    @bp.get("/ledger")
    def ledger_view():
        platform = request.args.get("platform")
        return jsonify([a.as_dict() for a in ledger.accepted(platform)])

    @bp.post("/faults")
    def inject():
        body = request.get_json(force=True)
        platform = body.pop("platform")
        ledger.inject(platform, Fault(**body))
        return jsonify({"ok": True})

    @bp.post("/latency")
    def latency():
        """{"platform", "seconds"}, and "account" to slow one account only."""
        body = request.get_json(force=True)
        key = body["platform"] + (f":{body['account']}" if body.get("account") else "")
        ledger.latency_s[key] = float(body["seconds"])
        return jsonify({"ok": True})

    @bp.post("/media-processing")
    def media_processing():
        """{"seconds"}: how long uploaded videos and Instagram containers stay in process."""
        ledger.media_processing_s = float(request.get_json(force=True)["seconds"])
        return jsonify({"ok": True})

    @bp.post("/metrics")
    def metrics():
        """{"platform", "external_id", "counts": {...}} in the platform's own names."""
        body = request.get_json(force=True)
        ledger.set_metrics(body["platform"], body["external_id"], **body["counts"])
        return jsonify({"ok": True})

    @bp.post("/expire-token")
    def expire():
        ledger.expire_token(request.get_json(force=True)["token"])
        return jsonify({"ok": True})

    @bp.post("/reset")
    def reset():
        ledger.reset()
        return jsonify({"ok": True})

    return bp


def _serve_fault(fault: Fault | None, error_body: Any, headers: dict | None = None):
    """The injected answer for `fault`, or None to serve normally."""
    if fault is None or fault.status is None:
        return None
    response = jsonify(error_body)
    response.status_code = fault.status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _container_state(container: dict[str, Any]) -> str:
    if container["published"]:
        return "PUBLISHED"
    return "FINISHED" if time.monotonic() >= container["ready_at"] else "IN_PROGRESS"


def _ig_media(posted: Any) -> dict[str, Any]:
    return {
        "id": posted.external_id,
        "caption": posted.text,
        "timestamp": posted.received_at,
        "permalink": f"https://www.instagram.com/p/{posted.external_id}/",
        "like_count": posted.metrics.get("like_count", 0),
        "comments_count": posted.metrics.get("comments_count", 0),
    }


def _media_status(upload: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "id": upload["media_id"],
        "media_key": f"3_{upload['media_id']}",
        "size": upload.get("size"),
        "expires_after_secs": 86400,
    }
    if upload["state"] != "succeeded" or upload["content_type"].startswith("video/"):
        status["processing_info"] = {"state": upload["state"], "progress_percent": 0}
        if upload["state"] in ("pending", "in_progress"):
            status["processing_info"]["check_after_secs"] = 1
    return status


def x_app(ledger: Ledger) -> Flask:
    """X API v2: create and read posts, the authenticated user."""
    app = Flask("sandbox_x")
    app.register_blueprint(control_blueprint(ledger))

    def account() -> tuple[str, str]:
        auth = request.headers.get("Authorization", "")
        match = _OAUTH_TOKEN.search(auth)
        token = match.group(1) if match else auth.removeprefix("Bearer ").strip()
        return token, str(int(hashlib.sha256(token.encode()).hexdigest()[:12], 16))

    def problem(status: int, title: str, detail: str):
        body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
        response = jsonify(body)
        response.status_code = status
        return response

    @app.post("/2/tweets")
    def create_tweet():
        arrived = datetime.now(UTC)  # the ledger's time: latency delays only the answer
        token, user_id = account()
        ledger.delay("x", user_id)
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        body = request.get_json(silent=True) or {}
        text = body.get("text") or ""
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and ledger.get("x", str(reply_to)) is None:
            return problem(
                400, "Invalid Request", "One or more parameters to your request was invalid."
            )
        quote = body.get("quote_tweet_id")
        if quote is not None and ledger.get("x", str(quote)) is None:
            return problem(400, "Invalid Request", f"quote_tweet_id {quote} does not exist")
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids") or []]
        attached = []
        for media_id in media_ids:
            upload = ledger.uploads.get(media_id)
            if upload is None or upload["state"] != "succeeded" or upload["account"] != user_id:
                return problem(400, "Invalid Request", f"Your media IDs are invalid: {media_id}")
            attached.append(
                {k: upload[k] for k in ("media_id", "sha256", "content_type", "alt_text", "size")}
            )
        fault = ledger.take_fault("x", account=user_id)
        if fault and not fault.accept:
            reset = str(int(time.time()) + fault.reset_in_s)
            injected = _serve_fault(
                fault,
                {
                    "title": "Injected",
                    "detail": "Injected fault",
                    "type": "about:blank",
                    "status": fault.status,
                },
                {"x-rate-limit-reset": reset} if fault.status == 429 else None,
            )
            if injected is not None:
                return injected
        wait_s = ledger.over_limit("x", user_id, arrived)
        if wait_s is not None:
            response = problem(429, "Too Many Requests", "Too Many Requests")
            response.headers["x-rate-limit-reset"] = str(int(time.time() + wait_s) + 1)
            return response
        if ledger.find("x", user_id, text):
            return problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        tweet_id = str(TWEET_ID_BASE + ledger.next_id())
        ledger.accept(
            "x",
            user_id,
            tweet_id,
            text,
            None,
            received_at=arrived,
            in_reply_to=str(reply_to) if reply_to is not None else None,
            media=attached,
            quote_of=str(quote) if quote is not None else None,
        )
        if fault and fault.accept:
            time.sleep(fault.hold_s)
            injected = _serve_fault(fault, {"title": "Internal Server Error", "status": 500})
            if injected is not None:
                return injected
        response = jsonify(
            {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        )
        response.status_code = 201
        return response

    @app.route("/2/media/upload", methods=["GET", "POST"])
    def media_upload():
        """INIT, APPEND, FINALIZE (multipart form) and STATUS (query), as docs.x.com's
        chunked upload guide shows them."""
        ledger.delay("x")
        token, user_id = account()
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        fault = ledger.take_fault("x", on="media", account=user_id)
        if fault is not None and fault.status is not None:
            return problem(fault.status, "Injected", "Injected fault")
        fields = request.form if request.method == "POST" else request.args
        command = fields.get("command")
        if command == "INIT":
            total = fields.get("total_bytes", "")
            if not total.isdigit() or not fields.get("media_type"):
                return problem(400, "Invalid Request", "total_bytes and media_type are required")
            media_id = str(MEDIA_ID_BASE + ledger.next_id())
            ledger.uploads[media_id] = {
                "media_id": media_id,
                "account": user_id,
                "content_type": fields["media_type"],
                "category": fields.get("media_category"),
                "total": int(total),
                "segments": {},
                "state": "uploading",
                "alt_text": None,
            }
            return jsonify(
                {
                    "data": {
                        "id": media_id,
                        "media_key": f"3_{media_id}",
                        "expires_after_secs": 86400,
                    }
                }
            )
        upload = ledger.uploads.get(fields.get("media_id", ""))
        if upload is None or upload["account"] != user_id:
            return problem(400, "Invalid Request", "media_id is not a known upload")
        if command == "APPEND":
            chunk = request.files.get("media")
            index = fields.get("segment_index", "")
            if chunk is None or not index.isdigit() or upload["state"] != "uploading":
                return problem(400, "Invalid Request", "APPEND needs media and segment_index")
            data = chunk.read()
            if len(data) > 5 * 1024 * 1024:
                return problem(400, "Invalid Request", "segments are at most 5 MB")
            upload["segments"][int(index)] = data
            return "", 204
        if command == "FINALIZE":
            data = b"".join(upload["segments"][i] for i in sorted(upload["segments"]))
            if len(data) != upload["total"]:
                return problem(
                    400, "Invalid Request", f"got {len(data)} bytes, INIT said {upload['total']}"
                )
            upload.update(
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                segment_count=len(upload["segments"]),
                segments={},
            )
            video = upload["content_type"].startswith("video/")
            if video and ledger.media_processing_s > 0:
                upload["state"] = "pending"
                upload["ready_at"] = time.monotonic() + ledger.media_processing_s
            else:
                upload["state"] = "succeeded"
            return jsonify({"data": _media_status(upload)})
        if command == "STATUS":
            if upload["state"] in ("pending", "in_progress") and time.monotonic() >= upload.get(
                "ready_at", 0
            ):
                upload["state"] = "succeeded"
            elif upload["state"] == "pending":
                upload["state"] = "in_progress"
            return jsonify({"data": _media_status(upload)})
        return problem(400, "Invalid Request", f"unknown command {command!r}")

    @app.post("/2/media/metadata")
    def media_metadata():
        token, user_id = account()
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        body = request.get_json(silent=True) or {}
        upload = ledger.uploads.get(str(body.get("id", "")))
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if upload is None or upload["account"] != user_id or not isinstance(alt, str):
            return problem(400, "Invalid Request", "id and metadata.alt_text.text are required")
        if len(alt) > 1000:
            return problem(400, "Invalid Request", "alt text is at most 1000 characters")
        upload["alt_text"] = alt
        return jsonify({"data": {"id": upload["media_id"], "associated_metadata": True}})

    @app.get("/2/tweets")
    def get_tweets():
        """Posts by id with public metrics; non-public ones only for the token's own."""
        ledger.delay("x")
        token, user_id = account()
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return problem(400, "Invalid Request", "ids: 1 to 100 post ids")
        fields = set(request.args.get("tweet.fields", "").split(","))
        found = [a for i in ids if (a := ledger.get("x", i)) is not None]
        private = {"non_public_metrics", "organic_metrics"} & fields
        if private and any(a.account != user_id for a in found):
            return problem(
                403, "Forbidden", f"Sorry, you are not authorized to see {sorted(private)[0]}."
            )
        public = ("retweet_count", "reply_count", "like_count", "quote_count")
        extra = ("bookmark_count", "impression_count")
        data = []
        for a in found:
            item: dict[str, Any] = {
                "id": a.external_id,
                "text": a.text,
                "edit_history_tweet_ids": [a.external_id],
            }
            if "public_metrics" in fields:
                item["public_metrics"] = {k: a.metrics.get(k, 0) for k in (*public, *extra)}
            own = ("impression_count", "url_link_clicks", "user_profile_clicks")
            if "non_public_metrics" in fields:
                item["non_public_metrics"] = {k: a.metrics.get(k, 0) for k in own}
            if "organic_metrics" in fields:
                item["organic_metrics"] = {
                    k: a.metrics.get(f"organic_{k}", 0)
                    for k in ("impression_count", "like_count", "reply_count", "retweet_count")
                    + own[1:]
                }
            data.append(item)
        return jsonify({"data": data} if data else {"errors": [{"title": "Not Found Error"}]})

    @app.delete("/2/tweets/<tweet_id>")
    def delete_tweet(tweet_id: str):
        ledger.delay("x")
        token, user_id = account()
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        fault = ledger.take_fault("x", on="delete")
        if fault is not None and fault.status is not None:
            return problem(fault.status, "Injected", "Injected fault")
        found = ledger.get("x", tweet_id)
        if found is None:
            return problem(404, "Not Found Error", f"Could not find tweet with id: [{tweet_id}].")
        if found.account != user_id:
            return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        ledger.delete("x", tweet_id)
        return jsonify({"data": {"deleted": True}})

    @app.get("/2/tweets/<tweet_id>")
    def get_tweet(tweet_id: str):
        ledger.delay("x")
        found = ledger.get("x", tweet_id)
        if found is None:
            return jsonify(
                {
                    "errors": [
                        {
                            "value": tweet_id,
                            "detail": f"Could not find tweet with id: [{tweet_id}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "id",
                            "resource_id": tweet_id,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                }
            )
        return jsonify(
            {
                "data": {
                    "id": found.external_id,
                    "text": found.text,
                    "author_id": found.account,
                    "created_at": found.received_at,
                    "edit_history_tweet_ids": [found.external_id],
                }
            }
        )

    @app.get("/2/users/<user_id>/tweets")
    def user_tweets(user_id: str):
        ledger.delay("x")
        start = request.args.get("start_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        limit = min(int(request.args.get("max_results", 10)), 100)
        offset = int(request.args.get("pagination_token") or 0)
        mine = [
            a
            for a in reversed(ledger.accepted("x"))
            if a.account == user_id
            and a.deleted_at is None
            and (since is None or datetime.fromisoformat(a.received_at) >= since)
        ]
        page = mine[offset : offset + limit]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].external_id, oldest_id=page[-1].external_id)
        if offset + limit < len(mine):
            meta["next_token"] = str(offset + limit)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [
                {
                    "id": a.external_id,
                    "text": a.text,
                    "created_at": a.received_at,
                    "edit_history_tweet_ids": [a.external_id],
                    **(
                        {"referenced_tweets": [{"type": "replied_to", "id": a.in_reply_to}]}
                        if a.in_reply_to
                        else {}
                    ),
                }
                for a in page
            ]
        return jsonify(body)

    @app.get("/2/users/me")
    def me():
        token, user_id = account()
        if not token or ledger.token_expired(token):
            return problem(401, "Unauthorized", "Unauthorized")
        fault = ledger.take_fault("x", on="account")
        if fault is not None:
            time.sleep(fault.hold_s)
            reset = {"x-rate-limit-reset": str(int(time.time()) + fault.reset_in_s)}
            injected = _serve_fault(
                fault,
                {"title": "Injected", "detail": "Injected fault", "status": fault.status},
                reset if fault.status == 429 else None,
            )
            if injected is not None:
                return injected
        return jsonify({"data": {"id": user_id, "name": "Sandbox", "username": f"u{user_id}"}})

    return app


def graph_app(ledger: Ledger) -> Flask:
    """Graph API: create and read Page feed posts, on any version path."""
    app = Flask("sandbox_graph")
    app.register_blueprint(control_blueprint(ledger))

    def error(
        status: int,
        code: int,
        message: str,
        kind: str = "OAuthException",
        subcode: int | None = None,
    ):
        body: dict[str, Any] = {
            "error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AsandboxTrace"}
        }
        if subcode is not None:
            body["error"]["error_subcode"] = subcode
        response = jsonify(body)
        response.status_code = status
        return response

    def token() -> str:
        return (request.values.get("access_token") or "").strip()

    def refused_token():
        """Graph's answer to a missing or expired token, or None to go on."""
        if not token() or ledger.token_expired(token()):
            return error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
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
            return error(fault.status, fault.code or 2, "Injected fault")
        source = request.files.get("source")
        if source is None:
            return error(400, 324, "(#324) Requires upload file")
        data = source.read()
        kind = _image_type(data)
        if kind is None:
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
            return error(fault.status, fault.code or 2, "Injected fault")
        if ledger.find("facebook", page_id, message):
            return error(400, 506, "Duplicate status message", subcode=1455006)
        post_id = f"{page_id}_{ledger.next_id()}"
        for photo_id in photo_ids:
            ledger.uploads[photo_id]["published"] = True
        ledger.accept(
            "facebook", page_id, post_id, message, link, received_at=arrived, media=attached
        )
        if fault and fault.accept:
            time.sleep(fault.hold_s)
            if fault.status is not None:
                return error(fault.status, fault.code or 1, "An unknown error occurred")
        return jsonify({"id": post_id})

    @app.get("/<version>/<page_id>/feed")
    def page_feed(version: str, page_id: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
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
                        **({"link": a.link} if a.link else {}),
                    }
                    for a in posts
                ],
                "paging": {"cursors": {"before": "b", "after": "a"}},
            }
        )

    @app.get("/<version>/")
    def get_objects(version: str):
        """Several objects at once (`ids`), with reactions/comments summaries, shares and
        insights as the `fields` ask."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fields = request.args.get("fields", "")
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
            m = found.metrics
            item: dict[str, Any] = {"id": object_id}
            if "reactions" in fields:
                item["reactions"] = {"data": [], "summary": {"total_count": m.get("reactions", 0)}}
            if "comments" in fields:
                item["comments"] = {"data": [], "summary": {"total_count": m.get("comments", 0)}}
            if "shares" in fields and m.get("shares"):
                item["shares"] = {"count": m["shares"]}  # Graph leaves it out at 0
            if "insights" in fields:
                item["insights"] = {
                    "data": [
                        {"name": name, "period": "lifetime", "values": [{"value": m.get(name, 0)}]}
                        for name in ("post_impressions", "post_impressions_unique", "post_clicks")
                    ]
                }
            body[object_id] = item
        return jsonify(body)

    @app.delete("/<version>/<object_id>")
    def delete_object(version: str, object_id: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fault = ledger.take_fault("facebook", on="delete")
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault")
        if not ledger.delete("facebook", object_id):
            return error(
                400,
                100,
                f"Unsupported delete request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
                subcode=33,
            )
        return jsonify({"success": True})

    @app.post("/<version>/<ig_user>/media")
    def ig_container(version: str, ig_user: str):
        """An Instagram media container from an image URL (or a carousel of them)."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fault = ledger.take_fault("instagram", on="media", account=ig_user)
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault")
        form = request.form
        container_id = str(CONTAINER_ID_BASE + ledger.next_id())
        record: dict[str, Any] = {
            "media_id": container_id,
            "kind": "ig_container",
            "account": ig_user,
            "caption": form.get("caption", ""),
            "carousel_item": form.get("is_carousel_item") == "true",
            "ready_at": time.monotonic() + ledger.media_processing_s,
            "published": False,
        }
        if form.get("media_type") == "CAROUSEL":
            children = [c for c in form.get("children", "").split(",") if c]
            items = [ledger.uploads.get(c) for c in children]
            if not 2 <= len(children) <= 10 or any(
                i is None or not i.get("carousel_item") or i["account"] != ig_user for i in items
            ):
                return error(400, 100, "(#100) children: 2 to 10 carousel item containers")
            record["items"] = [
                {"image_url": i["image_url"], "alt_text": i.get("alt_text")} for i in items
            ]
        else:
            url = form.get("image_url", "")
            if not url.startswith(("http://", "https://")):
                return error(400, 9004, "(#9004) The media could not be fetched from this URI")
            record.update(image_url=url, alt_text=form.get("alt_text"))
            record["items"] = [{"image_url": url, "alt_text": form.get("alt_text")}]
        ledger.uploads[container_id] = record
        return jsonify({"id": container_id})

    @app.post("/<version>/<ig_user>/media_publish")
    def ig_publish(version: str, ig_user: str):
        arrived = datetime.now(UTC)
        ledger.delay("instagram", ig_user)
        if (refused := refused_token()) is not None:
            return refused
        container = ledger.uploads.get(request.form.get("creation_id", ""))
        if (
            container is None
            or container.get("kind") != "ig_container"
            or (container["account"] != ig_user or container["carousel_item"])
        ):
            return error(400, 100, "(#100) creation_id is not a container of this account")
        if container["published"]:
            return error(400, 9007, "(#9007) The media has already been published")
        if _container_state(container) != "FINISHED":
            return error(400, 9007, "(#9007) Media ID is not available", subcode=2207027)
        fault = ledger.take_fault("instagram", account=ig_user)
        if fault and not fault.accept and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault")
        media_id = str(IG_MEDIA_ID_BASE + ledger.next_id())
        container["published"] = True
        ledger.accept(
            "instagram",
            ig_user,
            media_id,
            container["caption"],
            None,
            received_at=arrived,
            media=container["items"],
        )
        if fault and fault.accept:
            time.sleep(fault.hold_s)
            if fault.status is not None:
                return error(fault.status, fault.code or 1, "An unknown error occurred")
        return jsonify({"id": media_id})

    @app.get("/<version>/<ig_user>/media")
    def ig_media_list(version: str, ig_user: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        mine = [
            _ig_media(a)
            for a in reversed(ledger.accepted("instagram"))
            if a.account == ig_user and a.deleted_at is None
        ]
        limit = min(int(request.args.get("limit", 25)), 100)
        return jsonify({"data": mine[:limit], "paging": {"cursors": {"before": "b", "after": "a"}}})

    @app.get("/<version>/<object_id>")
    def get_object(version: str, object_id: str):
        ledger.delay("facebook")
        if token() and ledger.token_expired(token()):
            return error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        container = ledger.uploads.get(object_id)
        if container is not None and container.get("kind") == "ig_container":
            return jsonify({"id": object_id, "status_code": _container_state(container)})
        posted = ledger.get("instagram", object_id)
        if posted is not None:
            return jsonify(_ig_media(posted))
        if object_id.isdigit():  # a Page (or an Instagram account): any other numeric id
            if not token():
                return error(400, 104, "An access token is required to request this resource.")
            fault = ledger.take_fault("facebook", on="account")
            if fault is not None and fault.status is not None:
                return error(fault.status, fault.code or 2, "Injected fault")
            return jsonify(
                {
                    "id": object_id,
                    "name": f"Sandbox Page {object_id}",
                    "username": f"sandbox_{object_id}",
                }
            )
        found = ledger.get("facebook", object_id)
        if found is None:
            return error(
                400,
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                kind="GraphMethodException",
                subcode=33,
            )
        body = {"id": found.external_id, "message": found.text, "created_time": found.received_at}
        if found.link:
            body["link"] = found.link
        return jsonify(body)

    return app
