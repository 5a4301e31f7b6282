"""What a publication sends, and the hash an approval binds to."""

from __future__ import annotations

import hashlib
import json

from adapters.base import Content
from publisher.models import Post


def content_hash(text: str, link: str | None) -> str:
    """A stable hash of everything that would change what readers see."""
    canonical = json.dumps({"text": text, "link": link}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_of(post: Post) -> Content:
    """The content a publication of `post` sends (per-channel overrides come later)."""
    return Content(text=post.text, link=post.link)
