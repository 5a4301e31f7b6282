"""Inbound platform webhooks, pure: the handshakes, the signatures, and the payloads read
into interactions. No database, no clock (the caller passes `now`).

Meta (developers.facebook.com/docs/graph-api/webhooks/getting-started): a GET with
`hub.mode=subscribe`, `hub.verify_token` and `hub.challenge` is answered with the
challenge when the token is ours; every POST carries `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>`. Page changes come
as `{"object": "page", "entry": [{"id", "time", "changes": [{"field": "feed" |
"mention", "value": {...}}]}]}`, Instagram's as `{"object": "instagram", ...}` with
`comments` and `mentions`.

X's Account Activity API (docs.x.com/x-api/enterprise-gnip-2.0/fundamentals/account-
activity): a GET with `crc_token` is answered `{"response_token": "sha256=<base64
HMAC-SHA256 of the token, keyed with the app's consumer secret>"}`; every POST carries
`x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the raw body>`, and says
`for_user_id` with `tweet_create_events`, `favorite_events` and `follow_events`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

# A delivery whose events are all older than this is refused as a replay (Meta retries a
# failed delivery for up to 36 hours); a digest of each body taken is kept as long.
MAX_AGE_S = 48 * 3600
# What X sends as a CRC token: a short random string. Anything else is not answered, so
# the endpoint cannot be made to sign a body of someone's choosing (X signs deliveries
# with the same key and the same form as the CRC answer).
_CRC_TOKEN = re.compile(r"^[A-Za-z0-9_\-=+/.]{1,200}$")


@dataclass(frozen=True)
class Incoming:
    """One interaction as the platform reported it, before it is tied to a publication."""

    platform: str
    account_id: str  # the channel's account the event concerns (Page, IG user, X user)
    kind: str  # comment, reply, mention, reaction, like, repost, follow
    external_id: str  # the platform's id of the interaction (idempotency)
    post_id: str | None  # the post it is on (ours, when it is a publication's)
    author_id: str | None
    author_handle: str | None
    author_name: str | None
    text: str | None
    occurred_at: datetime


def meta_challenge(args: dict[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the handshake names our verify token, else None."""
    if not verify_token or args.get("hub.mode") != "subscribe":
        return None
    if not _same(args.get("hub.verify_token", ""), verify_token):
        return None
    return args.get("hub.challenge") or None


def meta_signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _same(header.removeprefix("sha256="), expected)


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two strings, whatever characters `given` holds."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def x_sign(data: bytes, consumer_secret: str) -> str:
    """`sha256=` and the base64 HMAC-SHA256 of `data`: X's CRC answer and its signature."""
    digest = hmac.new(consumer_secret.encode(), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def x_signature_ok(body: bytes, header: str | None, consumer_secret: str) -> bool:
    if not consumer_secret or not header or not header.startswith("sha256="):
        return False
    return _same(header, x_sign(body, consumer_secret))


def x_crc_answer(crc_token: str, consumer_secret: str) -> str | None:
    """The CRC answer for a token shaped as X's are, else None (never a signature of an
    arbitrary string, which a forged delivery could carry)."""
    if not consumer_secret or not _CRC_TOKEN.match(crc_token):
        return None
    return x_sign(crc_token.encode(), consumer_secret)


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _meta_time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, int | float):
        return _epoch(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("+0000", "+00:00"))
        except ValueError:
            return fallback
    return fallback


def read_meta(payload: dict[str, Any]) -> list[Incoming]:
    """A Page's feed changes (comments, reactions) and mentions, and an Instagram
    account's comments and mentions; anything else in the delivery is left out."""
    found: list[Incoming | None] = []
    kind_of = payload.get("object")
    for entry in payload.get("entry") or []:
        account = str(entry.get("id", ""))
        at = _meta_time(entry.get("time"), _epoch(0))
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            field = change.get("field")
            if kind_of == "page" and field == "feed":
                found.append(_page_feed(account, value, at))
            elif kind_of == "page" and field == "mention":
                found.append(_page_mention(account, value, at))
            elif kind_of == "instagram" and field in ("comments", "mentions"):
                found.append(_instagram(account, field, value, at))
    return [i for i in found if i is not None and i.external_id]


def _page_feed(account: str, value: dict[str, Any], at: datetime) -> Incoming | None:
    """A comment on or a reaction to a post of the Page's feed."""
    item, verb = value.get("item"), value.get("verb")
    if verb != "add" or item not in ("comment", "reaction"):
        return None
    author = value.get("from") or {}
    if str(author.get("id", "")) == account:
        return None  # the Page's own comment or reaction: not someone engaging
    post = str(value.get("post_id", "")) or None
    return Incoming(
        platform="facebook",
        account_id=account,
        kind="comment" if item == "comment" else "reaction",
        external_id=str(
            value.get("comment_id") or f"{post}:{author.get('id')}:{value.get('reaction_type')}"
        ),
        post_id=post,
        author_id=str(author.get("id")) if author.get("id") else None,
        author_handle=None,
        author_name=author.get("name"),
        text=value.get("message"),
        occurred_at=_meta_time(value.get("created_time"), at),
    )


def _page_mention(account: str, value: dict[str, Any], at: datetime) -> Incoming | None:
    """Someone named the Page in a post or a comment (the Page `mention` field: post_id,
    comment_id, item, verb, message, created_time; its author as sender_id and
    sender_name, or as `from` for Workplace, per Graph API v2.12's changelog). A comment
    on one of the Page's own posts (a post id is `<owner>_<post>`) is a comment on it, as
    the `feed` field also reports it: one interaction, whichever comes first."""
    if value.get("verb") != "add":
        return None
    author = value.get("from") or {}
    author_id = str(value.get("sender_id") or author.get("id") or "") or None
    if author_id == account:
        return None  # the Page naming itself
    post = str(value.get("post_id", "")) or None
    comment = str(value.get("comment_id") or "") if value.get("item") == "comment" else ""
    on_our_feed = post is not None and post.startswith(f"{account}_")
    return Incoming(
        platform="facebook",
        account_id=account,
        kind="comment" if comment and on_our_feed else "mention",
        external_id=comment or post or "",
        post_id=post,
        author_id=author_id,
        author_handle=None,
        author_name=value.get("sender_name") or author.get("name"),
        text=value.get("message"),
        occurred_at=_meta_time(value.get("created_time"), at),
    )


def _instagram(account: str, field: str, value: dict[str, Any], at: datetime) -> Incoming | None:
    author = value.get("from") or {}
    # The account's own comment: its `from.id` is the account (Meta's "Self comment
    # webhook", Instagram Self Messaging page).
    if str(author.get("id", "")) == account:
        return None
    media = value.get("media") or {}
    return Incoming(
        platform="instagram",
        account_id=account,
        kind="comment" if field == "comments" else "mention",
        external_id=str(value.get("id") or value.get("comment_id") or ""),
        post_id=str(media.get("id") or value.get("media_id") or "") or None,
        author_id=str(author.get("id")) if author.get("id") else None,
        author_handle=author.get("username"),
        author_name=None,
        text=value.get("text"),
        occurred_at=at,
    )


def _x_time(event: dict[str, Any]) -> datetime:
    if "timestamp_ms" in event:
        return _epoch(int(event["timestamp_ms"]) / 1000)
    if "created_at" in event:
        try:
            return parsedate_to_datetime(event["created_at"])
        except (TypeError, ValueError):
            pass
    return _epoch(0)


def _x_user(user: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return user.get("id_str") or None, user.get("screen_name"), user.get("name")


def read_x(payload: dict[str, Any]) -> list[Incoming]:
    """Replies to, mentions of, retweets and quotes of the account's posts (reposts),
    likes and follows."""
    account = str(payload.get("for_user_id", ""))
    found: list[Incoming] = []
    for tweet in payload.get("tweet_create_events") or []:
        author_id, handle, name = _x_user(tweet.get("user") or {})
        if author_id == account:
            continue  # the account's own posts are ours, not an interaction
        # A retweet carries the post it relays whole (`retweeted_status`); what else it
        # carries at the top level (a retweeted quote's quoted_status_id_str) is that
        # post's, not the retweet's, and its own text is "RT @...: ...".
        relayed = tweet.get("retweeted_status") or {}
        retweeted = str(relayed.get("id_str", "")) or None
        # A reply to the account's post; a reply to someone else's that names the account
        # is a mention (the post it answers is not ours).
        to_us = str(tweet.get("in_reply_to_user_id_str") or "") == account
        replied = None if retweeted or not to_us else tweet.get("in_reply_to_status_id_str")
        quoted = None if retweeted else tweet.get("quoted_status_id_str")
        # A relay of someone else's post that names the account is a mention.
        whose = (relayed if retweeted else tweet.get("quoted_status") or {}).get("user") or {}
        if (retweeted or quoted) and str(whose.get("id_str") or account) != account:
            retweeted = quoted = None
        found.append(
            Incoming(
                platform="x",
                account_id=account,
                kind="reply" if replied else "repost" if quoted or retweeted else "mention",
                external_id=str(tweet.get("id_str", "")),
                post_id=retweeted or replied or quoted,
                author_id=author_id,
                author_handle=handle,
                author_name=name,
                text=None if retweeted else tweet.get("text"),
                occurred_at=_x_time(tweet),
            )
        )
    for like in payload.get("favorite_events") or []:
        author_id, handle, name = _x_user(like.get("user") or {})
        if author_id == account:
            continue  # the account liked someone's post: not an interaction with it
        post = str((like.get("favorited_status") or {}).get("id_str", "")) or None
        found.append(
            Incoming(
                platform="x",
                account_id=account,
                kind="like",
                external_id=str(like.get("id") or f"{post}:{author_id}"),
                post_id=post,
                author_id=author_id,
                author_handle=handle,
                author_name=name,
                text=None,
                occurred_at=_x_time(like),
            )
        )
    for follow in payload.get("follow_events") or []:
        if follow.get("type") != "follow":
            continue
        author_id, handle, name = _x_user(follow.get("source") or {})
        if author_id == account:
            continue  # the account followed someone
        found.append(
            Incoming(
                platform="x",
                account_id=account,
                kind="follow",
                external_id=f"follow:{author_id}:{follow.get('created_timestamp', '')}",
                post_id=None,
                author_id=author_id,
                author_handle=handle,
                author_name=name,
                text=None,
                occurred_at=_epoch(int(follow.get("created_timestamp", 0)) / 1000),
            )
        )
    return [i for i in found if i.external_id]
