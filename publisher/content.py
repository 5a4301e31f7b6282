"""What a publication sends, and the hash an approval binds to.

A post has one base wording and optional variants, each for a platform ("x") or for one
channel. Field by field, a channel's text and link come from its own variant, else from
its platform's, else from the post.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import Content
from publisher.models import Channel, Post

Variants = Sequence[dict[str, Any]] | None


def content_hash(
    text: str, link: str | None, variants: Variants = None, thread: Sequence[str] | None = None
) -> str:
    """A stable hash of everything that would change what readers see, on any channel."""
    body: dict[str, Any] = {"text": text, "link": link}
    # Posts without variants or a thread keep the hash they always had.
    if variants:
        body["variants"] = sorted((_variant_key(v), v.get("text"), v.get("link")) for v in variants)
    if thread:
        body["thread"] = list(thread)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def post_hash(post: Post) -> str:
    """The hash of the post's current content, computed from the content itself."""
    return content_hash(post.text, post.link, post.variants, post.thread)


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


def resolve(post: Post, channel: Channel) -> Resolved:
    variants = list(enumerate(post.variants or []))
    # Least specific first: each later layer overrides the fields it sets.
    layers = [(i, v) for i, v in variants if v.get("platform") == channel.platform]
    layers += [(i, v) for i, v in variants if v.get("channel_id") == channel.id]
    text, link, source = post.text, post.link, None
    for index, variant in layers:
        if variant.get("text"):
            text, source = variant["text"], index
        if variant.get("link"):
            link = variant["link"]
    return Resolved(Content(text=text, link=link, thread=tuple(post.thread or ())), source)


def content_of(post: Post, channel: Channel) -> Content:
    """The content a publication of `post` on `channel` sends."""
    return resolve(post, channel).content
