"""The X API v2 operations the X adapter calls, checked against X's published description
(x_spec.json: X API v2 2.167) and answering in X's shapes: `POST /2/tweets` (201
`{"data": {"id", "text", "edit_history_tweet_ids"}}`; media and `quote_tweet_id` are
mutually exclusive), reads of posts (`GET /2/tweets`, `/2/tweets/{id}`, `/2/users/{id}/
tweets`) with text as X shows it (escaped, t.co links, a media link: x_common.shown),
non-public metrics only for the token's own posts of the last 30 days (else 200 with only
`errors`), `DELETE /2/tweets/{id}`, `GET /2/users/me` (with `user.fields=public_metrics`,
X's UserPublicMetrics: its four required counts); media in x_media, OAuth in x_oauth."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from adapters.sandbox.control import control_blueprint, serve_fault
from adapters.sandbox.ledger import Accepted, Fault, Ledger
from adapters.sandbox.x_common import (
    admit,
    asked_fields,
    invalid,
    json_body,
    named,
    post_object,
    problem,
)
from adapters.sandbox.x_media import x_media_blueprint
from adapters.sandbox.x_oauth import x_oauth_blueprint

TWEET_ID_BASE = 1_860_000_000_000_000_000
# X keeps non-public and organic metrics for 30 days (docs.x.com/x-api/fundamentals/metrics).
PRIVATE_METRICS_DAYS = 30
PRIVATE_FIELDS = ("non_public_metrics", "organic_metrics")
EXCLUSIVE = ("media", "quote_tweet_id", "poll", "card_uri")


def _rate_limit_headers(fault: Fault) -> dict[str, str]:
    """A 429's headers: the 15-minute window's reset, and for a 24-hour cap (fault.cap
    "user24h" or "app24h") the `x-user-limit-24hour-*` / `x-app-limit-24hour-*` ones,
    whose reset is when posting comes back (docs.x.com/x-api/fundamentals/rate-limits)."""
    now = int(time.time())
    headers = {"x-rate-limit-reset": str(now + min(fault.reset_in_s, 900))}
    if fault.cap in ("user24h", "app24h"):
        prefix = "x-user-limit-24hour" if fault.cap == "user24h" else "x-app-limit-24hour"
        headers.update(
            {
                f"{prefix}-limit": "17",
                f"{prefix}-remaining": "0",
                f"{prefix}-reset": str(now + fault.reset_in_s),
            }
        )
    return headers


def _metrics(post: Accepted, fields: set[str]) -> dict[str, Any]:
    m, item = post.metrics, {}
    if "public_metrics" in fields:
        names = ("retweet_count", "reply_count", "like_count", "quote_count")
        item["public_metrics"] = {
            named(k) if k == "retweet_count" else k: m.get(k, 0)
            for k in (*names, "bookmark_count", "impression_count")
        }
    own = ("impression_count", "url_link_clicks", "user_profile_clicks")
    if "non_public_metrics" in fields:
        item["non_public_metrics"] = {k: m.get(k, 0) for k in own}
    if "organic_metrics" in fields:
        names = ("impression_count", "like_count", "reply_count", "retweet_count")
        item["organic_metrics"] = {k: m.get(f"organic_{k}", 0) for k in names + own[1:]}
    return item


def _field_refused(post_id: str, field: str) -> list[dict[str, str]]:
    """X's refusal of a non-public field: one entry per sub-field (recorded responses:
    apihandyman.io's tweets lookup errors, 2022), `data` left out."""
    subfields = {
        "non_public_metrics": ("impression_count", "url_link_clicks", "user_profile_clicks"),
        "organic_metrics": (
            "impression_count",
            "like_count",
            "reply_count",
            "retweet_count",
            "url_link_clicks",
            "user_profile_clicks",
        ),
    }[field]
    return [
        {
            "resource_type": "tweet",
            "field": f"{field}.{sub}",
            "parameter": "id",
            "resource_id": post_id,
            "title": "Field Authorization Error",
            "section": "data",
            "detail": f"Sorry, you are not authorized to access '{field}.{sub}' on the Tweet "
            f"with id : [{post_id}].",
            "value": post_id,
            "type": "https://api.x.com/2/problems/not-authorized-for-field",
        }
        for sub in subfields
    ]


def _not_found(post_id: str) -> dict[str, str]:
    return {
        "value": post_id,
        "detail": f"Could not find tweet with id: [{post_id}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "id",
        "resource_id": post_id,
        "type": "https://api.x.com/2/problems/resource-not-found",
    }


def x_app(ledger: Ledger) -> Flask:
    """X API v2: create, read and delete posts, the authenticated user, media, OAuth 2.0."""
    app = Flask("sandbox_x")
    app.register_blueprint(control_blueprint(ledger))
    app.register_blueprint(x_media_blueprint(ledger))
    app.register_blueprint(x_oauth_blueprint(ledger))

    @app.after_request
    def record_exchange(response: Response) -> Response:
        if ledger.exchanges is not None and response.is_json:
            ledger.exchanges.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "body": response.get_json(),
                }
            )
        return response

    def posts_as_shown(ids: list[str], user_id: str) -> Response:
        """Posts by id, as GET /2/tweets answers them: a post whose private metrics the
        token may not read (not its own, or older than 30 days) is an `errors` entry."""
        fields = asked_fields()
        private = [f for f in PRIVATE_FIELDS if f in fields]
        horizon = datetime.now(UTC) - timedelta(days=PRIVATE_METRICS_DAYS)
        data, errors = [], []
        for post_id in ids:
            post = ledger.get("x", post_id)
            if post is None:
                errors.append(_not_found(post_id))
                continue
            old = datetime.fromisoformat(post.received_at) < horizon
            if private and (post.account != user_id or old):
                errors += [e for f in private for e in _field_refused(post_id, f)]
                continue
            data.append({**post_object(post, fields), **_metrics(post, fields)})
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return jsonify(body)

    @app.post("/2/tweets")
    def create_tweet():
        arrived = datetime.now(UTC)  # the ledger's time: latency delays only the answer
        user_id, refused = admit(ledger, "post", "/2/tweets")
        ledger.delay("x", user_id)
        if refused is not None:
            return refused
        body, refused = json_body("post", "/2/tweets")
        if refused is not None:
            return refused
        present = [k for k in EXCLUSIVE if k in body]
        if len(present) > 1:
            return invalid(
                [
                    (k, f"Your request can only include one of {', '.join(EXCLUSIVE)}")
                    for k in present
                ]
            )
        text = body.get("text") or ""
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and ledger.get("x", reply_to) is None:
            return invalid([("reply.in_reply_to_tweet_id", f"{reply_to} does not exist")])
        quote = body.get("quote_tweet_id")
        if quote is not None and ledger.get("x", quote) is None:
            return invalid([("quote_tweet_id", f"quote_tweet_id {quote} does not exist")])
        attached = []
        for media_id in (body.get("media") or {}).get("media_ids") or []:
            upload = ledger.uploads.get(media_id)
            if upload is None or upload["state"] != "succeeded" or upload["account"] != user_id:
                return invalid([("media.media_ids", f"Your media IDs are invalid: {media_id}")])
            attached.append(
                {k: upload[k] for k in ("media_id", "sha256", "content_type", "alt_text", "size")}
            )
        if not text and not attached:
            return invalid([("text", "text is required unless media is provided")])
        fault = ledger.take_fault("x", account=user_id)
        if fault and not fault.accept:
            injected = serve_fault(
                fault,
                {
                    "title": "Injected",
                    "detail": "Injected fault",
                    "type": "about:blank",
                    "status": fault.status,
                },
                _rate_limit_headers(fault) if fault.status == 429 else None,
            )
            if injected is not None:
                return injected
        wait_s = ledger.over_limit("x", user_id, arrived)
        if wait_s is not None:
            response = problem(429, "Too Many Requests", "Too Many Requests")
            response.headers["x-rate-limit-reset"] = str(int(time.time() + wait_s) + 1)
            return response
        if ledger.duplicates_refused and ledger.find("x", user_id, text):
            return problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        tweet_id = str(TWEET_ID_BASE + ledger.next_id())
        posted = ledger.accept(
            "x",
            user_id,
            tweet_id,
            text,
            None,
            received_at=arrived,
            in_reply_to=reply_to,
            media=attached,
            quote_of=quote,
        )
        if fault and fault.accept:
            time.sleep(fault.hold_s)
            injected = serve_fault(fault, {"title": "Internal Server Error", "status": 500})
            if injected is not None:
                return injected
        shown = post_object(posted, set())
        response = jsonify({"data": shown})
        response.status_code = 201
        return response

    @app.get("/2/tweets")
    def get_tweets():
        ledger.delay("x")
        user_id, refused = admit(ledger, "get", "/2/tweets")
        if refused is not None:
            return refused
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return invalid([("ids", "ids: 1 to 100 post ids")])
        fault = ledger.take_fault("x", on="lookup", account=user_id)
        if fault is not None:
            body = {"title": "Too Many Requests", "detail": "Too Many Requests"}
            headers = _rate_limit_headers(fault) if fault.status == 429 else None
            injected = serve_fault(
                fault, {**body, "type": "about:blank", "status": fault.status}, headers
            )
            if injected is not None:
                return injected
        return posts_as_shown(ids, user_id)

    @app.get("/2/tweets/<tweet_id>")
    def get_tweet(tweet_id: str):
        ledger.delay("x")
        user_id, refused = admit(ledger, "get", "/2/tweets/{id}")
        if refused is not None:
            return refused
        answer = posts_as_shown([tweet_id], user_id).get_json()
        if "data" in answer:
            answer["data"] = answer["data"][0]
        return jsonify(answer)

    @app.delete("/2/tweets/<tweet_id>")
    def delete_tweet(tweet_id: str):
        ledger.delay("x")
        user_id, refused = admit(ledger, "delete", "/2/tweets/{id}")
        if refused is not None:
            return refused
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

    @app.get("/2/users/<user_id>/tweets")
    def user_tweets(user_id: str):
        ledger.delay("x")
        _, refused = admit(ledger, "get", "/2/users/{id}/tweets")
        if refused is not None:
            return refused
        start = request.args.get("start_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        limit = int(request.args.get("max_results", 10))
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
            body["data"] = [post_object(a, asked_fields()) for a in page]
        return jsonify(body)

    @app.get("/2/users/me")
    def me():
        user_id, refused = admit(ledger, "get", "/2/users/me")
        if refused is not None:
            return refused
        fault = ledger.take_fault("x", on="account")
        if fault is not None:
            time.sleep(fault.hold_s)
            injected = serve_fault(
                fault,
                {"title": "Injected", "detail": "Injected fault", "status": fault.status},
                _rate_limit_headers(fault) if fault.status == 429 else None,
            )
            if injected is not None:
                return injected
        user = {"id": user_id, "name": "Sandbox", "username": f"u{user_id}"}
        if "public_metrics" in request.args.get("user.fields", "").split(","):
            # UserPublicMetrics (X's OpenAPI): these four are required.
            user["public_metrics"] = {
                "followers_count": ledger.followers.get(("x", user_id), 0),
                "following_count": 0,
                "post_count": len([a for a in ledger.accepted("x") if a.account == user_id]),
                "listed_count": 0,
            }
        return jsonify({"data": user})

    return app
