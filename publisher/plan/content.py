"""What a publication sends, and the hash an approval binds to.

A post has one base wording and optional variants, each for a platform ("x") or for one
channel. Field by field, a channel's text and link come from its own variant, else from
its platform's, else from the post.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from adapters.types import Content, MediaFile
from adapters.x_text import urls_in
from publisher.core.models import Campaign, Channel, Media, Post
from publisher.plan.links import LinkMaker, Shortener
from publisher.plan.media import MediaStore

Variants = Sequence[dict[str, Any]] | None


def content_hash(
    text: str,
    link: str | None,
    variants: Variants = None,
    thread: Sequence[str] | None = None,
    media: Sequence[dict[str, Any]] | None = None,
    quote_of: str | None = None,
) -> str:
    """A stable hash of everything that would change what readers see, on any channel."""
    body: dict[str, Any] = {"text": text, "link": link}
    # Posts without variants or a thread keep the hash they always had.
    if variants:
        body["variants"] = sorted(
            (_variant_key(v), v.get("text"), v.get("link"))
            + ((json.dumps(v["media"]),) if v.get("media") is not None else ())
            + (("no_link",) if v.get("no_link") else ())
            for v in variants
        )
    if thread:
        body["thread"] = list(thread)
    if media:  # media rows never change their bytes: the id names the content
        body["media"] = [(m["media_id"], m.get("alt_text")) for m in media]
    if quote_of:
        body["quote_of"] = quote_of
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def post_hash(post: Post) -> str:
    """The hash of the post's current content, computed from the content itself."""
    return content_hash(post.text, post.link, post.variants, post.thread, post.media, post.quote_of)


def media_refs(post: Post, channel: Channel) -> list[dict[str, Any]]:
    """The attachments for `channel`: its own variant's, else its platform's, else the
    post's (a variant's [] means none there)."""
    refs = post.media or []
    for variant in _layers(post, channel):
        if variant.get("media") is not None:
            refs = variant["media"]
    return refs


def media_files(
    session: Session, post: Post, store: MediaStore | None, channel: Channel
) -> tuple[MediaFile, ...]:
    """The attachments for `channel` as files an adapter reads, in order."""
    items = media_refs(post, channel)
    if not items:
        return ()
    if store is None:
        raise ValueError(f"post {post.id} has media but no media store was given")
    ids = [int(i["media_id"]) for i in items]
    rows = {m.id: m for m in session.exec(select(Media).where(Media.id.in_(ids)))}
    return tuple(
        MediaFile(
            path=str(store.path(row.sha256)),
            content_type=row.content_type,
            size_bytes=row.size_bytes,
            alt_text=item.get("alt_text"),
            width=row.width,
            height=row.height,
            duration_s=row.duration_s,
            url=store.public_link(row.id, now=datetime.now(UTC)),
        )
        for item in items
        if (row := rows.get(int(item["media_id"]))) is not None
    )


def _variant_key(variant: dict[str, Any]) -> str:
    if variant.get("channel_id") is not None:
        return f"channel:{variant['channel_id']}"
    return f"platform:{variant['platform']}"


@dataclass(frozen=True)
class Resolved:
    """The content for one channel, and the variant (index in post.variants) its text
    came from (None: the post's own)."""

    content: Content
    variant: int | None
    # The short links it sends (code -> target), when links are shortened.
    links: dict[str, str] = field(default_factory=dict)


def _indexed_layers(post: Post, channel: Channel) -> list[tuple[int, dict[str, Any]]]:
    """The variants that apply to `channel`, least specific first (platform, then the
    channel's own): each later layer overrides the fields it sets."""
    variants = list(enumerate(post.variants or []))
    layers = [(i, v) for i, v in variants if v.get("platform") == channel.platform]
    return layers + [(i, v) for i, v in variants if v.get("channel_id") == channel.id]


def wording(post: Post, channel: Channel) -> tuple[str, str | None, list[str], int | None]:
    """What `post` says on `channel` before any link is tagged: (text, link, thread, the
    index of the variant whose text it is, or None for the post's own). Each applicable
    variant, least specific first, overrides what it sets; `no_link` drops the link. Pure."""
    text, link, thread, source = post.text, post.link, post.thread or [], None
    for index, variant in _indexed_layers(post, channel):
        if variant.get("text"):
            text, source = variant["text"], index
        if variant.get("thread") is not None:
            thread = variant["thread"]
        if variant.get("no_link"):
            link = None
        elif variant.get("link"):
            link = variant["link"]
    return text, link, thread, source


def _layers(post: Post, channel: Channel) -> list[dict[str, Any]]:
    return [v for _, v in _indexed_layers(post, channel)]


def tagged(link: str, campaign: Campaign | None, channel: Channel) -> str:
    """`link` with the campaign's tracking parameters added (those it already carries
    are left as they are)."""
    if campaign is None or not campaign.tracking:
        return link
    parts = urlsplit(link)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    fill = {"platform": channel.platform, "channel_id": channel.id, "campaign_id": campaign.id}
    for name, value in sorted(campaign.tracking.items()):  # one order, whatever the store
        if name not in present:
            query.append((name, value.format_map(fill)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def tag_links(
    text: str,
    campaign: Campaign | None,
    channel: Channel,
    short: Callable[[str], str] | None = None,
) -> str:
    """`text` with the campaign's tracking added to every web link in it (found by X's own
    URL rules, trailing punctuation apart), so a link written in the text is tracked like
    the link field, and the same link is the same string in both; each then made `short`
    when given (publisher/plan/links.py)."""
    if (campaign is None or not campaign.tracking) and short is None:
        return text
    out, cursor = [], 0
    for found in urls_in(text):
        # A bare domain ("lumiere.paris") is a link too (X and Facebook make it one):
        # tracked without a scheme added, "lumiere.paris?utm_source=x".
        start, end = found["indices"]
        link = tagged(found["url"], campaign, channel)
        out += [text[cursor:start], short(link) if short else link]
        cursor = end
    return "".join(out) + text[cursor:]


def _campaign(post: Post) -> Campaign | None:
    """The post's campaign, read through the post's own session (cached there)."""
    session = object_session(post)
    if session is None:
        raise ValueError(f"post {post.id} is detached: its campaign's tracking is unknown")
    return session.get(Campaign, post.campaign_id)


def resolve(
    post: Post,
    channel: Channel,
    media: tuple[MediaFile, ...] = (),
    *,
    publication_id: int | None = None,
    links: LinkMaker | None = None,
) -> Resolved:
    """What `post` sends on `channel`: the most specific wording, the link as sent, the
    thread, the media; every link (the link field's and those in the text) with the
    campaign's tracking, and, given the publication and a `LinkMaker`, as its short link
    (unless the campaign opted out)."""
    text, link, thread, source = wording(post, channel)
    campaign = _campaign(post)
    short = None
    if (
        links is not None
        and publication_id is not None
        and (campaign is None or campaign.short_links)
    ):
        short = Shortener(links, publication_id)
    tagged_link = tagged(link, campaign, channel) if link else None
    content = Content(
        text=tag_links(text, campaign, channel, short),
        link=short(tagged_link) if short and tagged_link else tagged_link,
        thread=tuple(tag_links(part, campaign, channel, short) for part in thread),
        media=media,
        quote_of=post.quote_of,
    )
    return Resolved(content, source, short.links if short else {})


def content_of(
    post: Post,
    channel: Channel,
    media: tuple[MediaFile, ...] = (),
    *,
    publication_id: int | None = None,
    links: LinkMaker | None = None,
) -> Content:
    """The content a publication of `post` on `channel` sends (`media`: its files; with
    `publication_id` and `links`, its links as short links)."""
    return resolve(post, channel, media, publication_id=publication_id, links=links).content
