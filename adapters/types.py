"""The values an adapter takes and gives: content and its media, limits and budgets, what
a publish answers, accounts, configuration, the OAuth exchange."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class MediaLimits:
    """What a platform takes as attachments to one post."""

    images: int = 0  # how many images one post may carry
    image_bytes: int = 0
    image_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
    gif_bytes: int = 0  # 0: no GIFs; a GIF goes alone
    video_bytes: int = 0  # 0: no video; a video goes alone
    video_s: float = 0.0
    video_types: tuple[str, ...] = ("video/mp4", "video/quicktime")


@dataclass(frozen=True)
class Limits:
    """What a platform accepts: text length (and how it is counted), links."""

    text: int
    counts: Callable[[str], int] = len
    unit: str = "characters"
    links: bool = True
    # Most parts a thread (a chain of replies) may have; 1: the platform has no threads,
    # and a thread's parts go out as one post, a blank line between them.
    thread_parts: int = 1
    media: MediaLimits = MediaLimits()


@dataclass(frozen=True)
class Budget:
    """At most `count` posts per rolling `window` on one account (the platform's own
    write limit): the dispatcher holds what would exceed it, so no 429 is ever earned."""

    count: int
    window: timedelta


@dataclass(frozen=True)
class MediaFile:
    """An attachment as the adapter reads it: a local file and what it is."""

    path: str
    content_type: str
    size_bytes: int
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    # A signed link the platform may fetch the file from (platforms that take URLs only).
    url: str | None = None

    @property
    def kind(self) -> str:
        if self.content_type == "image/gif":
            return "gif"
        return "video" if self.content_type.startswith("video/") else "image"


@dataclass(frozen=True)
class Content:
    """What goes out on one channel."""

    text: str
    link: str | None = None
    # Further parts of a thread, after `text`.
    thread: tuple[str, ...] = ()
    # Attachments of the (first) post, in order.
    media: tuple[MediaFile, ...] = ()
    # An X post the (first) post quotes; platforms without quotes carry its link.
    quote_of: str | None = None

    @property
    def quote_url(self) -> str | None:
        return f"https://x.com/i/web/status/{self.quote_of}" if self.quote_of else None


@dataclass(frozen=True)
class PublishRequest:
    content: Content
    # Our publication id; lets a platform (or the sandbox) trace a call back to us.
    reference: str = ""
    # Ids of the thread's parts already out (in order): publishing resumes after them.
    sent: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishResult:
    external_id: str  # the first (or only) part
    url: str
    # Every part's id, in order, for a thread; from `find`, the parts found so far.
    part_ids: tuple[str, ...] = ()
    # The platform says the account is near its limits: post nothing more on it before.
    hold_until: datetime | None = None


@dataclass(frozen=True)
class Account:
    """Who the credentials post as, in the platform's words."""

    id: str
    name: str
    username: str | None = None


@dataclass(frozen=True)
class AdapterConfig:
    """How to reach the platform: a base URL override (the sandbox), a timeout, options."""

    base_url: str | None = None
    timeout_s: float = 10.0
    options: Mapping[str, str] = field(default_factory=dict)
    # A requests transport adapter to send through instead of the network (tests replay
    # recorded answers with one).
    transport: Any = None


@dataclass(frozen=True)
class OAuthApp:
    """The app registered with the platform that people authorise (OAuth client)."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = ""


@dataclass(frozen=True)
class Authorization:
    """Where to send the person, and the PKCE verifier to keep until they come back."""

    url: str
    verifier: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ConnectedAccount:
    """An account the person authorised: the channel to create (or revive) for it."""

    platform: str
    account: Account
    credentials: Mapping[str, Any] = field(repr=False)


# Why content cannot go out on a platform, in English; `Problem` keeps the key and the
# values, so that a page can say the same in its reader's language.
PROBLEMS = {
    "too_many_parts": "{count} parts; a thread on {platform} has at most {limit}",
    "empty_text": "text is empty",
    "too_long": "{length} of {limit} {unit} on {platform}",
    "no_link": "{platform} posts cannot carry a link",
    "no_video": "{platform} posts cannot carry video (yet)",
    "no_gif": "{platform} posts cannot carry GIFs",
    "no_images": "{platform} posts cannot carry images",
    "needs_image": "an {platform} post needs at least one image",
    "media_alone": "a video or GIF goes alone on {platform}: this post has {count} files",
    "too_many_images": "{count} images; {platform} takes at most {limit}",
    "media_type": "file {file} ({type}): {platform} does not take this type",
    "media_size": "file {file} ({type}): {size_mb:.1f} MB; {platform} takes at most "
    "{limit_mb:.1f} MB",
    "video_length": "file {file} ({type}): {seconds:g} s; {platform} takes at most {limit:g} s",
    "quote_with_media": "a quote post on {platform} cannot carry media: drop the media or the "
    "quote (an X variant may carry no media)",
    "too_many_hashtags": "{count} hashtags; {platform} takes at most {limit}",
    "not_installed": "platform not installed",
}
# How a problem names the part of a thread it is about.
PART_OF = " (part {number} of {total})"


class Problem(str):
    """A reason content cannot go out on a platform. It is the English sentence (logs, the
    API's field errors) and keeps what it was made of: `key` (one of PROBLEMS) and
    `params`, among them `part` and `parts` when it is about one part of a thread."""

    key: str
    params: Mapping[str, Any]

    def __new__(cls, key: str, **params: Any) -> Problem:
        text = PROBLEMS[key].format(**params)
        if params.get("part") is not None:
            text += PART_OF.format(number=params["part"], total=params["parts"])
        self = super().__new__(cls, text)
        self.key, self.params = key, params
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        return (self.key,), dict(self.params)

    @property
    def part(self) -> int | None:
        """The thread part (1 = the first post) it is about, if one."""
        return self.params.get("part")


# The engagement vocabulary adapters map their platform's counters onto.
METRICS = (
    "impressions",  # times shown
    "reach",  # distinct accounts shown to
    "likes",  # likes, reactions
    "shares",  # reposts, shares
    "replies",  # replies, comments
    "quotes",
    "bookmarks",
    "link_clicks",
    "profile_clicks",
    # X also reports organic_<name>: the unpromoted share of each, for the account's own posts
)
