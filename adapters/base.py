"""The one interface every platform implements, and the loader of the installed ones.
Its values are in adapters.types, its errors in adapters.errors, redaction in
adapters.redaction."""

from __future__ import annotations

import logging
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel

from adapters.errors import AuthExpired, Rejected
from adapters.redaction import NOT_SECRET, remember_secrets
from adapters.types import (
    Account,
    AdapterConfig,
    Authorization,
    Budget,
    ConnectedAccount,
    Content,
    Limits,
    MediaFile,
    OAuthApp,
    Problem,
    PublishRequest,
    PublishResult,
)

log = logging.getLogger(__name__)


class Adapter(ABC):
    """A platform. Translates; never retries, sleeps or touches the database."""

    platform: ClassVar[str]
    display_name: ClassVar[str]
    limits: ClassVar[Limits]
    credentials_model: ClassVar[type[BaseModel]]
    budgets: ClassVar[tuple[Budget, ...]] = ()
    # Reads (metrics pulls): at most this many requests per window per account, and at
    # most `metrics_per_request` posts asked for in one request.
    read_budgets: ClassVar[tuple[Budget, ...]] = ()
    metrics_per_request: ClassVar[int] = 1

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
    def media_part(cls, content: Content) -> int:
        """Which part (from 0) carries the media: the first, on every platform here (on X
        the thread's opening post; a platform without threads has one part)."""
        return 0

    @classmethod
    def measure(cls, content: Content) -> int:
        """The length of the first post's text, counted the platform's way."""
        return cls.limits.counts(cls.render_text(content))

    @classmethod
    def validate(cls, content: Content) -> list[Problem]:
        """Problems that stop this content from going out here (each an English sentence
        that keeps its key and values, for a page in another language)."""
        return cls.validate_text(content) + cls.validate_media(content.media)

    @classmethod
    def validate_text(cls, content: Content) -> list[Problem]:
        """The problems of the words (parts, lengths, link), media aside."""
        problems = []
        parts = cls.parts(content)
        platform = cls.display_name
        if len(parts) > cls.limits.thread_parts:
            problems.append(
                Problem(
                    "too_many_parts",
                    count=len(parts),
                    limit=cls.limits.thread_parts,
                    platform=platform,
                )
            )
        for number, part in enumerate(parts, 1):
            where = {"part": number, "parts": len(parts)} if len(parts) > 1 else {}
            if not part.strip():
                problems.append(Problem("empty_text", **where))
            length = cls.limits.counts(part)
            if length > cls.limits.text:
                problems.append(
                    Problem(
                        "too_long",
                        length=length,
                        limit=cls.limits.text,
                        unit=cls.limits.unit,
                        platform=platform,
                        **where,
                    )
                )
        if content.link and not cls.limits.links:
            problems.append(Problem("no_link", platform=platform))
        return problems

    @classmethod
    def validate_media(cls, media: tuple[MediaFile, ...]) -> list[Problem]:
        if not media:
            return []
        limits, platform = cls.limits.media, cls.display_name
        kinds = [m.kind for m in media]
        problems = []
        if "video" in kinds and not limits.video_bytes:
            return [Problem("no_video", platform=platform)]
        if "gif" in kinds and not limits.gif_bytes:
            return [Problem("no_gif", platform=platform)]
        if not limits.images and "image" in kinds:
            return [Problem("no_images", platform=platform)]
        if len(media) > 1 and ("video" in kinds or "gif" in kinds):
            problems.append(Problem("media_alone", platform=platform, count=len(media)))
        elif kinds.count("image") > limits.images:
            problems.append(
                Problem(
                    "too_many_images",
                    count=kinds.count("image"),
                    limit=limits.images,
                    platform=platform,
                )
            )
        for number, item in enumerate(media, 1):
            which = {"file": number, "type": item.content_type, "platform": platform}
            cap, allowed = {
                "image": (limits.image_bytes, limits.image_types),
                "gif": (limits.gif_bytes, ("image/gif",)),
                "video": (limits.video_bytes, limits.video_types),
            }[item.kind]
            if item.content_type not in allowed:
                problems.append(Problem("media_type", **which))
            if item.size_bytes > cap:
                problems.append(
                    Problem(
                        "media_size",
                        size_mb=item.size_bytes / 1_000_000,
                        limit_mb=cap / 1_000_000,
                        **which,
                    )
                )
            if item.kind == "video" and (item.duration_s or 0) > limits.video_s:
                problems.append(
                    Problem("video_length", seconds=item.duration_s, limit=limits.video_s, **which)
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

    def audience(self) -> int:
        """How many follow the account now (read-only): its audience."""
        raise Rejected(f"{self.display_name} adapter cannot read the account's audience")

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


AdapterRegistry = dict[str, type[Adapter]]


def count_of(value: Any, name: str) -> int:
    """A count the platform answered, or Rejected when it said none (never a zero)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Rejected(f"the platform answered no {name}")
    return value


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
