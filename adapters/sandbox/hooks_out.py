"""The sandbox's outgoing webhooks, shaped and signed as the platforms send them, so that
the engine's /v1/hooks/{platform} is exercised as it will be in production.

Meta (Webhooks for Pages, `feed` and `mention` fields; Instagram `comments` and `mentions` fields):
`{"object": "page" | "instagram", "entry": [{"id", "time", "changes": [{"field",
"value"}]}]}`, signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
X (Account Activity API): `{"for_user_id", "tweet_create_events" | "favorite_events" |
"follow_events": [...]}` with v1.1 objects, signed `x-twitter-webhooks-signature:
sha256=<base64 HMAC-SHA256(consumer secret, body)>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import requests


def _x_time(at: datetime) -> str:
    return at.strftime("%a %b %d %H:%M:%S +0000 %Y")


def _x_user(user_id: str, handle: str, name: str) -> dict[str, Any]:
    return {"id": int(user_id), "id_str": user_id, "screen_name": handle, "name": name}


def _x_text(text: str, tweet_id: str) -> dict[str, Any]:
    """A post's text as v1.1 deliveries carry it: over 140 characters, `text` is cut (with
    "…" and a link to the post) and `truncated`, the whole in `extended_tweet.full_text`
    (X's "Extended Tweets" compatibility mode, the form Account Activity deliveries use)."""
    if len(text) <= 140:
        return {"text": text, "truncated": False}
    link = f"https://t.co/{hashlib.md5(tweet_id.encode()).hexdigest()[:10]}"  # noqa: S324
    return {
        "text": f"{text[:116]}… {link}",
        "truncated": True,
        "extended_tweet": {"full_text": text, "display_text_range": [0, len(text)]},
    }


def meta_comment(
    page_id: str, post_id: str, comment_id: str, author: tuple[str, str], text: str, at: datetime
) -> dict[str, Any]:
    """Someone commented on a Page's post (`feed`, item comment, verb add)."""
    value = {
        "from": {"id": author[0], "name": author[1]},
        "post_id": post_id,
        "comment_id": comment_id,
        "parent_id": post_id,
        "message": text,
        "created_time": int(at.timestamp()),
        "item": "comment",
        "verb": "add",
    }
    return _meta("page", page_id, "feed", value, at)


def meta_reaction(
    page_id: str, post_id: str, author: tuple[str, str], reaction: str, at: datetime
) -> dict[str, Any]:
    value = {
        "from": {"id": author[0], "name": author[1]},
        "post_id": post_id,
        "created_time": int(at.timestamp()),
        "item": "reaction",
        "reaction_type": reaction,
        "verb": "add",
    }
    return _meta("page", page_id, "feed", value, at)


def meta_mention(
    page_id: str,
    post_id: str,
    author: tuple[str, str],
    text: str,
    at: datetime,
    *,
    comment_id: str | None = None,
) -> dict[str, Any]:
    """Someone named the Page (`@Page`) in a post, or with `comment_id` in a comment on
    the post `post_id` (the Page's own, or anyone's). Source: Meta's Page webhooks
    reference, `mention` field ("new mentions of a page, including mentions in comments,
    posts, etc."; value: post_id, comment_id, item, verb, message, created_time), and the
    Graph API v2.12 changelog: `sender_name` and `sender_id` were replaced by a single
    `from` in mentions for Workplace only, so a Page's mention names its author with
    `sender_id` and `sender_name`."""
    value: dict[str, Any] = {
        "post_id": post_id,
        "sender_id": author[0],
        "sender_name": author[1],
        "message": text,
        "created_time": int(at.timestamp()),
        "item": "comment" if comment_id else "post",
        "verb": "add",
    }
    if comment_id:
        value["comment_id"] = comment_id
    return _meta("page", page_id, "mention", value, at)


def instagram_comment(
    ig_user: str,
    media_id: str,
    comment_id: str,
    username: str,
    text: str,
    at: datetime,
    *,
    own: bool = False,
) -> dict[str, Any]:
    """A comment on one of the account's media; its `from` is the commenter (their
    Instagram-scoped id and username). With `own`, the account's own comment: Meta's
    Self Messaging page ("Self comment webhook": when the professional account comments
    on its own post, a comments webhook is generated with `self_ig_scoped_id`, the IGSID
    of the account) shows `from.id` as the account's own id (the entry's) beside it."""
    author: dict[str, str] = {"id": f"17841{abs(hash(username)) % 10**10:010d}"}
    if own:
        author = {"id": ig_user, "self_ig_scoped_id": f"21057{abs(hash(ig_user)) % 10**10:010d}"}
    value = {
        "id": comment_id,
        "from": {**author, "username": username},
        "media": {"id": media_id, "media_product_type": "FEED"},
        "text": text,
    }
    return _meta("instagram", ig_user, "comments", value, at)


def instagram_mention(
    ig_user: str, media_id: str, at: datetime, *, comment_id: str | None = None
) -> dict[str, Any]:
    """The account @mentioned in someone's media: in its caption (`media_id` alone) or in
    a comment on it (`comment_id` too). Instagram's `mentions` field names only the ids:
    who and what is read from the Graph API."""
    value = {"media_id": media_id, **({"comment_id": comment_id} if comment_id else {})}
    return _meta("instagram", ig_user, "mentions", value, at)


def _meta(kind: str, account: str, field: str, value: dict, at: datetime) -> dict[str, Any]:
    entry = {
        "id": account,
        "time": int(at.timestamp()),
        "changes": [{"field": field, "value": value}],
    }
    return {"object": kind, "entry": [entry]}


def x_reply(
    for_user: str,
    reply_id: str,
    in_reply_to: str,
    author: tuple[str, str, str],
    text: str,
    at: datetime,
) -> dict[str, Any]:
    """A post replying to one of the account's posts."""
    tweet = {
        "created_at": _x_time(at),
        "id": int(reply_id),
        "id_str": reply_id,
        **_x_text(text, reply_id),
        "in_reply_to_status_id_str": in_reply_to,
        "in_reply_to_user_id_str": for_user,
        "user": _x_user(*author),
        "timestamp_ms": str(int(at.timestamp() * 1000)),
    }
    return {"for_user_id": for_user, "tweet_create_events": [tweet]}


def x_mention(
    for_user: str,
    for_handle: str,
    tweet_id: str,
    author: tuple[str, str, str],
    text: str,
    at: datetime,
    *,
    in_reply_to: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A post naming the account (`@handle` in its text, the account in its
    `entities.user_mentions`), alone or as a reply to someone else's post (`in_reply_to`:
    that post's id and its author's id). Source: the Account Activity API's activity
    types ("@mentions (of user)", delivered as `tweet_create_events`; docs.x.com, Account
    Activity fundamentals) and X's v1.1 Tweet object (`entities.user_mentions`: `id_str`,
    `screen_name`, `indices`)."""
    at_name = f"@{for_handle}"
    start = text.find(at_name)
    tweet: dict[str, Any] = {
        "created_at": _x_time(at),
        "id": int(tweet_id),
        "id_str": tweet_id,
        **_x_text(text, tweet_id),
        "user": _x_user(*author),
        "entities": {
            "user_mentions": [
                {
                    "id": int(for_user),
                    "id_str": for_user,
                    "screen_name": for_handle,
                    "indices": [start, start + len(at_name)],
                }
            ]
            if start >= 0
            else []
        },
        "timestamp_ms": str(int(at.timestamp() * 1000)),
    }
    if in_reply_to is not None:
        tweet["in_reply_to_status_id_str"], tweet["in_reply_to_user_id_str"] = in_reply_to
    return {"for_user_id": for_user, "tweet_create_events": [tweet]}


def x_repost(
    for_user: str,
    repost_id: str,
    of_post: str,
    author: tuple[str, str, str],
    at: datetime,
    *,
    quote: str | None = None,
) -> dict[str, Any]:
    """Someone relays one of the account's posts: a retweet (v1.1: a tweet carrying the
    original as `retweeted_status`, its text "RT @handle: ..."), or with `quote`, a quote
    tweet (`is_quote_status`, `quoted_status_id_str`, `quoted_status`). Source: X's v1.1
    Tweet object data dictionary (developer.x.com, "Tweet object": retweeted_status,
    quoted_status and their ids) and the Account Activity API's `tweet_create_events`,
    which carry retweets and quote tweets of the subscribed user's posts."""
    original = {"id": int(of_post), "id_str": of_post, "user": {"id_str": for_user}}
    tweet: dict[str, Any] = {
        "created_at": _x_time(at),
        "id": int(repost_id),
        "id_str": repost_id,
        "user": _x_user(*author),
        "timestamp_ms": str(int(at.timestamp() * 1000)),
    }
    if quote is None:
        tweet.update(text=f"RT @{for_user}: ...", retweeted_status=original)
    else:
        tweet.update(
            _x_text(quote, repost_id),
            is_quote_status=True,
            quoted_status_id_str=of_post,
            quoted_status=original,
        )
    return {"for_user_id": for_user, "tweet_create_events": [tweet]}


def x_like(
    for_user: str, post_id: str, author: tuple[str, str, str], at: datetime
) -> dict[str, Any]:
    like = {
        "id": hashlib.md5(f"{post_id}{author[0]}".encode()).hexdigest(),  # noqa: S324 - an id
        "created_at": _x_time(at),
        "timestamp_ms": int(at.timestamp() * 1000),
        "favorited_status": {"id_str": post_id, "user": {"id_str": for_user}},
        "user": _x_user(*author),
    }
    return {"for_user_id": for_user, "favorite_events": [like]}


def x_follow(for_user: str, author: tuple[str, str, str], at: datetime) -> dict[str, Any]:
    follow = {
        "type": "follow",
        "created_timestamp": str(int(at.timestamp() * 1000)),
        # X's follow events carry users of their own form: `id` is the string, no id_str.
        "target": {"id": for_user},
        "source": {"id": author[0], "screen_name": author[1], "name": author[2]},
    }
    return {"for_user_id": for_user, "follow_events": [follow]}


def signed(platform: str, payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body as sent and its signature header, the platform's way."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    if platform == "x":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        header = {"x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode()}
    else:
        digest_hex = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        header = {"X-Hub-Signature-256": f"sha256={digest_hex}"}
    return body, {"Content-Type": "application/json", **header}


def send(url: str, platform: str, payload: dict[str, Any], secret: str) -> requests.Response:
    """POST a delivery to the engine's /v1/hooks/{platform}, signed."""
    body, headers = signed(platform, payload, secret)
    return requests.post(url, data=body, headers=headers, timeout=10)
