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


class Unreadable(ValueError):
    """An event of a signed delivery the reader cannot make sense of: it is left out,
    the rest of the delivery is stored."""


def _s(value: Any) -> str | None:
    """A value the platform sends as a string (or a number): as text, without NULs;
    anything else (null, an object, a list) is none."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).replace("\x00", "") or None


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _epoch(seconds: Any) -> datetime:
    """A time in seconds since 1970, or Unreadable."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float | str):
        raise Unreadable(f"not a time: {seconds!r}")
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise Unreadable(f"not a time: {seconds!r}") from None


def _meta_time(value: Any, fallback: datetime | None) -> datetime:
    """Meta's time (seconds, or ISO 8601 with +0000), else `fallback`, else Unreadable."""
    try:
        if isinstance(value, str) and value.replace(".", "", 1).isdigit():
            value = float(value)
        if isinstance(value, str):
            return _utc(datetime.fromisoformat(value.replace("+0000", "+00:00")))
        if not isinstance(value, bool) and isinstance(value, int | float) and value > 1e11:
            value = value / 1000  # milliseconds (as Messenger's entries carry them)
        return _epoch(value)
    except (Unreadable, ValueError, OverflowError):
        if fallback is None:
            raise Unreadable(f"not a time: {value!r}") from None
        return fallback


def _each(events: list[dict[str, Any]], read) -> list[Incoming]:
    """Each event read, leaving out those that cannot be (and those read as nothing)."""
    found = []
    for event in events:
        try:
            incoming = read(event)
        except Unreadable:
            continue
        if incoming is not None and incoming.external_id:
            found.append(incoming)
    return found


def read_meta(payload: dict[str, Any]) -> list[Incoming]:
    """A Page's feed changes (comments, reactions) and mentions, and an Instagram
    account's comments and mentions; anything else in the delivery is left out, and so
    is an event that cannot be read."""
    found: list[Incoming] = []
    kind_of = payload.get("object")
    for entry in _l(payload.get("entry")):
        account = _s(entry.get("id")) or ""
        try:
            at = _meta_time(entry.get("time"), None)
        except Unreadable:
            at = None

        def read(change: dict[str, Any], account: str = account, at: datetime | None = at):
            value, field = _d(change.get("value")), change.get("field")
            if kind_of == "page" and field == "feed":
                return _page_feed(account, value, at)
            if kind_of == "page" and field == "mention":
                return _page_mention(account, value, at)
            if kind_of == "instagram" and field in ("comments", "mentions"):
                return _instagram(account, field, value, at)
            return None

        found += _each(_l(entry.get("changes")), read)
    return found


def _page_feed(account: str, value: dict[str, Any], at: datetime | None) -> Incoming | None:
    """A comment on or a reaction to a post of the Page's feed."""
    item, verb = value.get("item"), value.get("verb")
    if verb != "add" or item not in ("comment", "reaction"):
        return None
    author = _d(value.get("from"))
    author_id = _s(author.get("id"))
    if author_id == account:
        return None  # the Page's own comment or reaction: not someone engaging
    post, comment = _s(value.get("post_id")), _s(value.get("comment_id"))
    # A reaction is one person's on a post, or on a comment (its comment_id): theirs.
    reaction = f"{comment or post}:{author_id}:{_s(value.get('reaction_type'))}"
    return Incoming(
        platform="facebook",
        account_id=account,
        kind="comment" if item == "comment" else "reaction",
        external_id=(comment or "") if item == "comment" else reaction,
        post_id=post,
        author_id=author_id,
        author_handle=None,
        author_name=_s(author.get("name")),
        text=_s(value.get("message")),
        occurred_at=_meta_time(value.get("created_time"), at),
    )


def _page_mention(account: str, value: dict[str, Any], at: datetime | None) -> Incoming | None:
    """Someone named the Page in a post or a comment (the Page `mention` field: post_id,
    comment_id, item, verb, message, created_time; its author as sender_id and
    sender_name, or as `from` for Workplace, per Graph API v2.12's changelog). A comment
    on one of the Page's own posts (a post id is `<owner>_<post>`) is a comment on it, as
    the `feed` field also reports it: one interaction, whichever comes first."""
    if value.get("verb") != "add":
        return None
    author = _d(value.get("from"))
    author_id = _s(value.get("sender_id")) or _s(author.get("id"))
    if author_id == account:
        return None  # the Page naming itself
    post = _s(value.get("post_id"))
    comment = _s(value.get("comment_id")) if value.get("item") == "comment" else None
    on_our_feed = post is not None and post.startswith(f"{account}_")
    return Incoming(
        platform="facebook",
        account_id=account,
        kind="comment" if comment and on_our_feed else "mention",
        external_id=comment or post or "",
        post_id=post,
        author_id=author_id,
        author_handle=None,
        author_name=_s(value.get("sender_name")) or _s(author.get("name")),
        text=_s(value.get("message")),
        occurred_at=_meta_time(value.get("created_time"), at),
    )


def _instagram(
    account: str, field: str, value: dict[str, Any], at: datetime | None
) -> Incoming | None:
    author = _d(value.get("from"))
    # The account's own comment: its `from.id` is the account (Meta's "Self comment
    # webhook", Instagram Self Messaging page).
    if _s(author.get("id")) == account:
        return None
    if at is None:
        raise Unreadable("no time")
    media = _s(_d(value.get("media")).get("id")) or _s(value.get("media_id"))
    said = _s(value.get("id")) or _s(value.get("comment_id"))
    if said is None and field == "mentions" and media:
        said = f"media:{media}"  # named in a caption: the media is the mention (no comment)
    return Incoming(
        platform="instagram",
        account_id=account,
        kind="comment" if field == "comments" else "mention",
        external_id=said or "",
        post_id=media,
        author_id=_s(author.get("id")),
        author_handle=_s(author.get("username")),
        author_name=None,
        text=_s(value.get("text")),
        occurred_at=at,
    )


def _x_time(event: dict[str, Any]) -> datetime:
    """An event's time: `timestamp_ms`, else `created_at`, else Unreadable."""
    if "timestamp_ms" in event:
        try:
            return _epoch(float(event["timestamp_ms"]) / 1000)
        except (TypeError, ValueError, OverflowError, Unreadable):
            pass
    created = event.get("created_at")
    try:
        if not isinstance(created, str):
            raise ValueError(created)
        return _utc(parsedate_to_datetime(created))
    except (TypeError, ValueError, IndexError, OverflowError):
        raise Unreadable("no time") from None


def _utc(moment: datetime) -> datetime:
    """An instant in UTC (a time without its zone is UTC's); OverflowError past year 1 or
    9999 once there."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _x_user(user: Any) -> tuple[str | None, str | None, str | None]:
    """Who: a v1.1 user (`id_str`, its `id` a number) or the user of a follow event, whose
    `id` is the string itself (no `id_str`)."""
    user = _d(user)
    who = _s(user.get("id_str")) or _s(user.get("id"))
    return who, _s(user.get("screen_name")), _s(user.get("name"))


def read_x(payload: dict[str, Any]) -> list[Incoming]:
    """Replies to, mentions of, retweets and quotes of the account's posts (reposts),
    likes and follows; an event that cannot be read is left out."""
    account = _s(payload.get("for_user_id")) or ""
    return (
        _each(_l(payload.get("tweet_create_events")), lambda t: _x_post(account, t))
        + _each(_l(payload.get("favorite_events")), lambda e: _x_like(account, e))
        + _each(_l(payload.get("follow_events")), lambda e: _x_follow(account, e))
    )


def _x_post(account: str, tweet: dict[str, Any]) -> Incoming | None:
    author_id, handle, name = _x_user(tweet.get("user"))
    if author_id == account:
        return None  # the account's own posts are ours, not an interaction
    # A retweet carries the post it relays whole (`retweeted_status`); what else it
    # carries at the top level (a retweeted quote's quoted_status_id_str) is that post's,
    # not the retweet's, and its own text is "RT @...: ...".
    relayed = _d(tweet.get("retweeted_status"))
    retweeted = _s(relayed.get("id_str"))
    # A reply to the account's post; a reply to someone else's that names the account is
    # a mention (the post it answers is not ours).
    to_us = _s(tweet.get("in_reply_to_user_id_str")) == account
    replied = None if retweeted or not to_us else _s(tweet.get("in_reply_to_status_id_str"))
    quoted = None if retweeted else _s(tweet.get("quoted_status_id_str"))
    # A relay of someone else's post that names the account is a mention.
    whose = _d(_d(relayed if retweeted else tweet.get("quoted_status")).get("user"))
    if (retweeted or quoted) and (_s(whose.get("id_str")) or account) != account:
        retweeted = quoted = None
    return Incoming(
        platform="x",
        account_id=account,
        kind="reply" if replied else "repost" if quoted or retweeted else "mention",
        external_id=_s(tweet.get("id_str")) or "",
        post_id=retweeted or replied or quoted,
        author_id=author_id,
        author_handle=handle,
        author_name=name,
        # Over 140 characters, `text` is cut and the whole is in extended_tweet.full_text.
        text=None
        if retweeted
        else _s(_d(tweet.get("extended_tweet")).get("full_text")) or _s(tweet.get("text")),
        occurred_at=_x_time(tweet),
    )


def _x_like(account: str, like: dict[str, Any]) -> Incoming | None:
    author_id, handle, name = _x_user(like.get("user"))
    if author_id == account:
        return None  # the account liked someone's post: not an interaction with it
    post = _s(_d(like.get("favorited_status")).get("id_str"))
    return Incoming(
        platform="x",
        account_id=account,
        kind="like",
        external_id=_s(like.get("id")) or f"{post}:{author_id}",
        post_id=post,
        author_id=author_id,
        author_handle=handle,
        author_name=name,
        text=None,
        occurred_at=_x_time(like),
    )


def _x_follow(account: str, follow: dict[str, Any]) -> Incoming | None:
    if follow.get("type") != "follow":
        return None
    author_id, handle, name = _x_user(follow.get("source"))
    if author_id == account:
        return None  # the account followed someone
    created = _s(follow.get("created_timestamp"))
    return Incoming(
        platform="x",
        account_id=account,
        kind="follow",
        external_id=f"follow:{author_id}:{created or ''}",
        post_id=None,
        author_id=author_id,
        author_handle=handle,
        author_name=name,
        text=None,
        occurred_at=_x_time({"timestamp_ms": created}),
    )
