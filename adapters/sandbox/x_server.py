"""The X API v2 subset the X adapter uses: posts (POST /2/tweets answers 201 with
`{"data": {"id", "text", "edit_history_tweet_ids"}}`, errors as problem documents), the
timeline and lookups, the authenticated user, media upload (INIT, APPEND, FINALIZE, STATUS)
and media metadata."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, jsonify, request

from adapters.sandbox.control import control_blueprint, serve_fault
from adapters.sandbox.ledger import Ledger

_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]+)"')
TWEET_ID_BASE = 1_860_000_000_000_000_000
MEDIA_ID_BASE = 1_870_000_000_000_000_000


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
            injected = serve_fault(
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
            injected = serve_fault(fault, {"title": "Internal Server Error", "status": 500})
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
            injected = serve_fault(
                fault,
                {"title": "Injected", "detail": "Injected fault", "status": fault.status},
                reset if fault.status == 429 else None,
            )
            if injected is not None:
                return injected
        return jsonify({"data": {"id": user_id, "name": "Sandbox", "username": f"u{user_id}"}})

    return app
