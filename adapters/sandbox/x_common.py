"""What every X route of the sandbox shares: who the token acts as, its scopes, X's error
documents, the checks against the published description (x_spec), and posts as X shows
them on reads (docs.x.com/x-api/fundamentals/data-dictionary: `text` HTML-escaped, every
URL as a t.co link with its `entities.urls` entry, a trailing t.co link for attached media)."""

from __future__ import annotations

import hashlib
import html
import re
import string
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request

from adapters.sandbox.ledger import Accepted, Ledger
from adapters.sandbox.x_spec import spec
from adapters.x_text import urls_in

_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]+)"')
_B62 = string.digits + string.ascii_letters
INVALID_REQUEST = "https://api.x.com/2/problems/invalid-request"


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    """X's problem document (`type`, `title`, `detail`, `status`)."""
    response = jsonify({"title": title, "detail": detail, "type": kind, "status": status})
    response.status_code = status
    return response


def invalid(errors: list[tuple[str, str]]) -> Response:
    """X's 400 for parameters it refuses: one entry per parameter, then the summary."""
    values = request.args.to_dict() if request.args else {}
    response = jsonify(
        {
            "errors": [
                {"parameters": {name: [values.get(name, "")]}, "message": message}
                for name, message in errors
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST,
        }
    )
    response.status_code = 400
    return response


def token_and_user(ledger: Ledger) -> tuple[str, str, bool]:
    """The request's token, the X user id it acts as (the account that authorised a
    token the sandbox issued; else one derived from the token), whether it is OAuth 1.0a."""
    auth = request.headers.get("Authorization", "")
    match = _OAUTH_TOKEN.search(auth)
    token = match.group(1) if match else auth.removeprefix("Bearer ").strip()
    return token, ledger.token_users.get(token) or user_id_of(token), match is not None


def user_id_of(token: str) -> str:
    return str(int(hashlib.sha256(token.encode()).hexdigest()[:12], 16))


def admit(ledger: Ledger, method: str, path: str) -> tuple[str, Response | None]:
    """The user a request acts as, or X's refusal: no or expired token (401), an OAuth 2.0
    token without the operation's scopes (403), query parameters the description does
    not allow (400)."""
    token, user_id, oauth1 = token_and_user(ledger)
    if not token or ledger.token_expired(token):
        return user_id, problem(401, "Unauthorized", "Unauthorized")
    granted = None if oauth1 else ledger.token_scopes.get(token)
    if granted is not None:  # a token the sandbox issued (OAuth 2.0): its scopes count
        missing = spec().scopes(method, path) - granted
        if missing:
            return user_id, problem(
                403, "Forbidden", f"Missing the OAuth 2.0 scopes {sorted(missing)}"
            )
    errors = spec().query_problems(method, path, request.args)
    return user_id, invalid(errors) if errors else None


def json_body(method: str, path: str) -> tuple[Any, Response | None]:
    """The request's JSON body, or X's 400 when it breaks the operation's schema."""
    body = request.get_json(silent=True)
    problems = spec().body_problems(method, path, body, request.content_type or "")
    if problems:
        return body, invalid([("body", p) for p in problems])
    return body, None


def x_time(stamp: str) -> str:
    """X's date-time format: UTC with milliseconds and a Z."""
    moment = datetime.fromisoformat(stamp).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _tco(seed: str) -> str:
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    code = "".join(_B62[(number >> (6 * i)) % 62] for i in range(10))
    return f"https://t.co/{code}"


def shown(post: Accepted) -> tuple[str, list[dict[str, Any]]]:
    """The post's text as X hands it back, and its `entities.urls`: every URL (as X's own
    twitter-text finds them) replaced by a t.co link, media as one more t.co link at the
    end, then `&`, `<`, `>` escaped."""
    text, urls, cursor, out = post.text, [], 0, []
    for found in urls_in(text):
        start, end = found["indices"]
        out.append(text[cursor:start])
        tco = _tco(f"{post.external_id}:{start}")
        position = sum(len(p) for p in out)
        out.append(tco)
        expanded = found["url"] if "://" in found["url"] else f"http://{found['url']}"
        urls.append(
            {
                "start": position,
                "end": position + len(tco),
                "url": tco,
                "expanded_url": expanded,
                "display_url": found["url"].split("://", 1)[-1][:26],
            }
        )
        cursor = end
    out.append(text[cursor:])
    rewritten = "".join(out)
    if post.media:
        tco = _tco(f"{post.external_id}:media")
        rewritten = f"{rewritten} {tco}"
        key = f"3_{post.media[0]['media_id']}"
        urls.append(
            {
                "start": len(rewritten) - len(tco),
                "end": len(rewritten),
                "url": tco,
                "expanded_url": f"https://x.com/u/status/{post.external_id}/photo/1",
                "display_url": f"pic.x.com/{tco.rsplit('/', 1)[1]}",
                "media_key": key,
            }
        )
    return html.escape(rewritten, quote=False), urls


def post_object(post: Accepted, fields: set[str]) -> dict[str, Any]:
    """A post as X's reads answer it, with the `tweet.fields` asked for."""
    text, urls = shown(post)
    item: dict[str, Any] = {
        "id": post.external_id,
        "text": text,
        named("edit_history_tweet_ids"): [post.external_id],
    }
    if "created_at" in fields:
        item["created_at"] = x_time(post.received_at)
    if "author_id" in fields:
        item["author_id"] = post.account
    if "entities" in fields and urls:
        item["entities"] = {"urls": urls}
    if "attachments" in fields and post.media:
        item["attachments"] = {"media_keys": [f"3_{m['media_id']}" for m in post.media]}
    references = [("replied_to", post.in_reply_to), ("quoted", post.quote_of)]
    if "referenced_tweets" in fields and any(ref for _, ref in references):
        item[named("referenced_tweets")] = [{"type": t, "id": ref} for t, ref in references if ref]
    return item


# Asked with `post.fields`, X's 2.167 description names these fields anew; asked with
# `tweet.fields` (tweepy, recorded answers) they keep their old names.
NEW_NAMES = {
    "retweet_count": "repost_count",
    "referenced_tweets": "referenced_posts",
    "edit_history_tweet_ids": "edit_history_post_ids",
}


def named(legacy: str) -> str:
    """A field's name in the family the request asked in."""
    return NEW_NAMES[legacy] if "post.fields" in request.args else legacy


def asked_fields() -> set[str]:
    return set(
        (request.args.get("tweet.fields") or request.args.get("post.fields") or "").split(",")
    )
