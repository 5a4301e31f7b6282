"""The one interface every platform implements and its value types; the error taxonomy
(adapters.errors) and redaction (adapters.redaction) are re-exported here."""

from __future__ import annotations

import logging
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel

# Re-exported: adapters and the engine import the taxonomy and redaction from here.
from adapters.errors import AdapterError as AdapterError
from adapters.errors import AuthExpired, Rejected
from adapters.errors import LeaseLapsed as LeaseLapsed
from adapters.errors import OutcomeUnknown as OutcomeUnknown
from adapters.errors import PartlyPublished as PartlyPublished
from adapters.errors import RateLimited as RateLimited
from adapters.errors import Transient as Transient
from adapters.redaction import NOT_SECRET, remember_secrets
from adapters.redaction import redact as redact

log = logging.getLogger(__name__)


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


# How a problem names the part of a thread it is about; `part_of` reads it back.
PART_OF = " (part {number} of {total})"
_PART_OF = re.compile(r" \(part (\d+) of (\d+)\)")


def part_of(problem: str) -> int | None:
    """The thread part (1 = the first post) a problem is about, if it names one."""
    match = _PART_OF.search(problem)
    return int(match.group(1)) if match else None


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


class Adapter(ABC):
    """A platform. Translates; never retries, sleeps or touches the database."""

    platform: ClassVar[str]
    display_name: ClassVar[str]
    limits: ClassVar[Limits]
    credentials_model: ClassVar[type[BaseModel]]
    budgets: ClassVar[tuple[Budget, ...]] = ()

    def __init__(
        self, credentials: Mapping[str, Any], *, account_id: str, config: AdapterConfig
    ) -> None:
        self.account_id = account_id
        self.config = config
        remember_secrets(
            *(v for k, v in credentials.items() if k not in NOT_SECRET),
            holder=f"{self.platform}:{account_id}",
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account_id={self.account_id!r})"

    @classmethod
    def configuration_warnings(cls, config: AdapterConfig, *, today: date) -> list[str]:
        """What an operator should change before it breaks (logged at start)."""
        return []

    @classmethod
    def render_text(cls, content: Content) -> str:
        """The first (or only) post's text exactly as it will be sent (a platform may fold
        the link into it; one without threads gets every part, a blank line apart)."""
        text = content.text
        if content.thread and cls.limits.thread_parts == 1:
            text = "\n\n".join((text, *content.thread))
        if content.quote_url:  # no quote posts here: the quoted post's link goes along
            text = f"{text}\n\n{content.quote_url}"
        return text

    @classmethod
    def parts(cls, content: Content) -> list[str]:
        """Every post this content makes here, in order, as sent."""
        first = cls.render_text(content)
        return [first, *content.thread] if cls.limits.thread_parts > 1 else [first]

    @classmethod
    def measure(cls, content: Content) -> int:
        """The length of the first post's text, counted the platform's way."""
        return cls.limits.counts(cls.render_text(content))

    @classmethod
    def validate(cls, content: Content) -> list[str]:
        """Problems that stop this content from going out here, in words a person reads."""
        return cls.validate_text(content) + cls.validate_media(content.media)

    @classmethod
    def validate_text(cls, content: Content) -> list[str]:
        """The problems of the words (parts, lengths, link), media aside."""
        problems = []
        parts = cls.parts(content)
        if len(parts) > cls.limits.thread_parts:
            problems.append(
                f"{len(parts)} parts; a thread on {cls.display_name} has at most "
                f"{cls.limits.thread_parts}"
            )
        for number, part in enumerate(parts, 1):
            where = PART_OF.format(number=number, total=len(parts)) if len(parts) > 1 else ""
            if not part.strip():
                problems.append(f"text is empty{where}")
            length = cls.limits.counts(part)
            if length > cls.limits.text:
                problems.append(
                    f"{length} of {cls.limits.text} {cls.limits.unit} on {cls.display_name}{where}"
                )
        if content.link and not cls.limits.links:
            problems.append(f"{cls.display_name} posts cannot carry a link")
        return problems

    @classmethod
    def validate_media(cls, media: tuple[MediaFile, ...]) -> list[str]:
        if not media:
            return []
        limits, name = cls.limits.media, cls.display_name
        kinds = [m.kind for m in media]
        problems = []
        if "video" in kinds and not limits.video_bytes:
            return [f"{name} posts cannot carry video (yet)"]
        if "gif" in kinds and not limits.gif_bytes:
            return [f"{name} posts cannot carry GIFs"]
        if not limits.images and "image" in kinds:
            return [f"{name} posts cannot carry images"]
        if len(media) > 1 and ("video" in kinds or "gif" in kinds):
            problems.append(
                f"a video or GIF goes alone on {name}: this post has {len(media)} files"
            )
        elif kinds.count("image") > limits.images:
            problems.append(f"{kinds.count('image')} images; {name} takes at most {limits.images}")
        for number, item in enumerate(media, 1):
            where = f"file {number} ({item.content_type})"
            cap, allowed = {
                "image": (limits.image_bytes, limits.image_types),
                "gif": (limits.gif_bytes, ("image/gif",)),
                "video": (limits.video_bytes, limits.video_types),
            }[item.kind]
            if item.content_type not in allowed:
                problems.append(f"{where}: {name} does not take this type")
            if item.size_bytes > cap:
                problems.append(f"{where}: {_mb(item.size_bytes)}; {name} takes at most {_mb(cap)}")
            if item.kind == "video" and (item.duration_s or 0) > limits.video_s:
                problems.append(
                    f"{where}: {item.duration_s:g} s; {name} takes at most {limits.video_s:g} s"
                )
        return problems

    @abstractmethod
    def publish(self, request: PublishRequest) -> PublishResult:
        """Create the post. Raises one of the AdapterError subclasses on failure."""

    @abstractmethod
    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        """The account's post with this content created since `since`, if there is one.
        Reconciliation asks this before anything is sent again. For a thread whose parts
        `after` are known to be out, look for the parts that follow them; `part_ids` of
        the answer lists every part known or found, in order."""

    @abstractmethod
    def get(self, external_id: str) -> dict[str, Any] | None:
        """Read a published post back (text and platform fields); None if it does not exist."""

    def delete(self, external_id: str) -> None:
        """Take a post down. A post the platform no longer has counts as deleted."""
        raise Rejected(f"{self.display_name} adapter cannot delete posts")

    def fetch_metrics(self, external_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Engagement per post id, in the words of METRICS (only what the platform
        reports); a post the platform no longer has is left out. Read-only."""
        raise Rejected(f"{self.display_name} adapter cannot read metrics")

    # Connecting accounts (OAuth). A platform that supports it overrides all three.
    @classmethod
    def authorization(cls, app: OAuthApp, *, state: str, config: AdapterConfig) -> Authorization:
        """The platform's consent page for `app`, carrying `state` back to the redirect."""
        raise Rejected(f"{cls.display_name} accounts cannot be connected by OAuth here")

    @classmethod
    def complete_authorization(
        cls, app: OAuthApp, *, code: str, verifier: str | None, config: AdapterConfig
    ) -> list[ConnectedAccount]:
        """Exchange the code the platform sent back for the accounts it authorised."""
        raise Rejected(f"{cls.display_name} accounts cannot be connected by OAuth here")

    @classmethod
    def expires_at(cls, credentials: Mapping[str, Any]) -> datetime | None:
        """When these credentials stop working (None: not known to expire)."""
        return None

    @classmethod
    def refresh(
        cls, app: OAuthApp, credentials: Mapping[str, Any], *, config: AdapterConfig
    ) -> dict[str, Any]:
        """New credentials for ones about to expire. AuthExpired if the platform refuses."""
        raise AuthExpired(f"{cls.display_name} credentials cannot be refreshed")

    @abstractmethod
    def check(self) -> Account:
        """Verify the credentials with the platform (read-only): the account they act as.
        Raises AuthExpired when the platform refuses them."""


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


AdapterRegistry = dict[str, type[Adapter]]

_URL = re.compile(r"https?://\S+")


def comparable(text: str) -> str:
    """Text as platforms hand it back: links may be rewritten (t.co), spacing trimmed."""
    return " ".join(_URL.sub("<link>", unicodedata.normalize("NFC", text)).split())


def load_adapters() -> AdapterRegistry:
    """Every adapter installed under the `publisher.adapters` entry point group."""
    registry: AdapterRegistry = {}
    for ep in entry_points(group="publisher.adapters"):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            log.warning("entry point %s is not an Adapter subclass; ignored", ep.name)
            continue
        registry[cls.platform] = cls
    return registry
