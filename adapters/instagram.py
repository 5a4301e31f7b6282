"""Instagram business accounts through facebook-sdk's GraphAPI: the container flow.

Docs: https://developers.facebook.com/docs/instagram-platform/content-publishing
(POST /{ig-user-id}/media makes a container from an image URL, GET /{container}?fields=
status_code until FINISHED, POST /{ig-user-id}/media_publish; carousels: one container
per image with is_carousel_item, then a CAROUSEL container naming them as children).
Instagram fetches each image itself, so media need a public link (PUBLISHER_PUBLIC_URL).
Containers are invisible until published: a failure before media_publish is safe to retry.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.base import comparable, count_of
from adapters.errors import AdapterError, OutcomeUnknown, RateLimited, Rejected, Transient
from adapters.facebook import GraphAdapter
from adapters.types import (
    Account,
    Budget,
    Content,
    Limits,
    MediaFile,
    MediaLimits,
    Problem,
    PublishRequest,
    PublishResult,
)

CAPTION = 2200
HASHTAGS = 30
CONTAINER_WAIT_S = 60.0
ALLOWANCE_WINDOW = timedelta(hours=24)
_HASHTAG = re.compile(r"(?<!\w)#\w+")


class InstagramCredentials(BaseModel):
    """A token allowed to publish for the Instagram business account (the channel's
    external_account_id is that account's Instagram user id)."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(min_length=1)


class InstagramAdapter(GraphAdapter):
    platform = "instagram"
    display_name = "Instagram"
    # Instagram Platform: 200 calls an hour per account at the least (Business Use Case
    # limits grow with impressions); one media read per post.
    read_budgets = (Budget(200, timedelta(hours=1)),)
    metrics_per_request = 1
    limits = Limits(
        text=CAPTION,
        links=False,  # links in captions are not clickable: put them in the bio
        media=MediaLimits(images=10, image_bytes=8 * 1024 * 1024, image_types=("image/jpeg",)),
    )
    # No fixed budget: the content publishing limit is read from the account itself
    # (GET /{ig-user-id}/content_publishing_limit, 50 per 24-hour moving window in 2026)
    # before each post, and a spent allowance (code 9, subcode 2207042) is a wait.
    credentials_model = InstagramCredentials

    @staticmethod
    def _token(credentials: Mapping[str, Any]) -> str:
        return InstagramCredentials.model_validate(credentials).access_token.get_secret_value()

    @classmethod
    def validate_text(cls, content: Content) -> list[Problem]:
        problems = super().validate_text(content)
        hashtags = len(_HASHTAG.findall(cls.render_text(content)))
        if hashtags > HASHTAGS:
            problems.append(
                Problem(
                    "too_many_hashtags", count=hashtags, limit=HASHTAGS, platform=cls.display_name
                )
            )
        return problems

    @classmethod
    def validate_media(cls, media: tuple[MediaFile, ...]) -> list[Problem]:
        if not media:
            return [Problem("needs_image", platform=cls.display_name)]
        return super().validate_media(media)

    def publish(self, request: PublishRequest) -> PublishResult:
        content = request.content
        caption = self.render_text(content)
        try:
            self._check_allowance()
            if len(content.media) == 1:
                container = self._container(content.media[0], caption=caption)
            else:
                children = [self._container(m, carousel_item=True) for m in content.media]
                with self._translate_errors():
                    container = self._graph.put_object(
                        self.account_id,
                        "media",
                        media_type="CAROUSEL",
                        children=",".join(children),
                        caption=caption,
                    )["id"]
            self._wait_until_ready(container)
        except (OutcomeUnknown, Transient) as exc:
            raise Transient(f"media container: {exc.reason}") from exc
        with self._translate_errors():
            media_id = str(
                self._graph.put_object(self.account_id, "media_publish", creation_id=container)[
                    "id"
                ]
            )
        hold = self._usage_hold()  # read before the permalink call replaces the answer
        return PublishResult(media_id, self._permalink(media_id), hold_until=hold)

    def _check_allowance(self) -> None:
        """Refuse early (a wait, not a failure) when the account's publishing allowance
        is spent (instagram-api/reference/ig-user/content_publishing_limit)."""
        with self._translate_errors():
            answer = self._graph.get_connections(
                self.account_id, "content_publishing_limit", fields="config,quota_usage"
            )
        entries = answer.get("data") if isinstance(answer, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries else {}
        config = entry.get("config") if isinstance(entry, dict) else None
        total = config.get("quota_total") if isinstance(config, dict) else None
        usage = entry.get("quota_usage") if isinstance(entry, dict) else None
        if isinstance(total, int) and isinstance(usage, int) and usage >= total:
            raise RateLimited(
                f"Instagram publishing allowance spent: {usage} of {total} posts in 24 h",
                retry_at=self._allowance_back(),
            )

    def _allowance_back(self) -> datetime | None:
        """The allowance is a 24-hour moving window: a post comes back 24 h after the
        oldest of the account's posts of the last day (an hour from now if none shows)."""
        now = datetime.now(UTC)
        try:
            with self._translate_errors():
                page = self._graph.get_connections(
                    self.account_id, "media", fields="timestamp", limit=100
                )
        except AdapterError:
            return now + timedelta(hours=1)
        stamps = []
        for media in page.get("data", []) if isinstance(page, dict) else []:
            try:
                stamps.append(datetime.fromisoformat(media["timestamp"].replace("+0000", "+00:00")))
            except (KeyError, TypeError, AttributeError, ValueError):
                continue  # a timestamp we cannot read says nothing about the window
        recent = [t for t in stamps if t > now - ALLOWANCE_WINDOW]
        return min(recent) + ALLOWANCE_WINDOW if recent else now + timedelta(hours=1)

    def _container(
        self, item: MediaFile, *, caption: str | None = None, carousel_item: bool = False
    ) -> str:
        if not item.url:
            raise Rejected(
                "Instagram fetches images by URL: set PUBLISHER_PUBLIC_URL to where it can "
                "reach this API"
            )
        fields: dict[str, str] = {"image_url": item.url}
        if carousel_item:
            fields["is_carousel_item"] = "true"
        if caption is not None:
            fields["caption"] = caption
        if item.alt_text:
            fields["alt_text"] = item.alt_text
        with self._translate_errors():
            return str(self._graph.put_object(self.account_id, "media", **fields)["id"])

    def _wait_until_ready(self, container: str) -> None:
        """Poll the container's status_code (Instagram processes it before publishing)."""
        waited = 0.0
        while True:
            with self._translate_errors():
                status = self._graph.get_object(container, fields="status_code")
            code = status.get("status_code")
            if code in (None, "FINISHED", "PUBLISHED"):
                return
            if code in ("ERROR", "EXPIRED"):
                raise Rejected(f"Instagram could not process container {container}: {code}")
            if waited >= CONTAINER_WAIT_S:
                raise Transient(f"container {container} still {code} after {waited:.0f} s")
            time.sleep(1.0)
            waited += 1.0

    def _permalink(self, media_id: str) -> str:
        try:
            with self._translate_errors():
                return self._graph.get_object(media_id, fields="permalink").get("permalink") or ""
        except Exception:  # the post is out; a missing link is not worth failing it for
            return f"https://www.instagram.com/ (media {media_id})"

    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        """The account's recent media with this caption, posted since `since`."""
        wanted = comparable(self.render_text(content))
        with self._translate_errors():
            page = self._graph.get_connections(
                self.account_id, "media", fields="id,caption,timestamp,permalink", limit=50
            )
        for media in page.get("data", []):
            stamp = media.get("timestamp", "").replace("+0000", "+00:00")
            recent = not stamp or datetime.fromisoformat(stamp) >= since
            if recent and comparable(media.get("caption", "")) == wanted:
                return PublishResult(str(media["id"]), media.get("permalink", ""))
        return None

    def get(self, external_id: str) -> dict[str, Any] | None:
        try:
            with self._translate_errors():
                return self._graph.get_object(external_id, fields="id,caption,timestamp,permalink")
        except Rejected as exc:
            if "code 100:" in exc.reason:
                return None
            raise

    def fetch_metrics(self, external_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for external_id in external_ids:
            try:
                with self._translate_errors():
                    media = self._graph.get_object(external_id, fields="like_count,comments_count")
            except Rejected as exc:
                if "code 100:" not in exc.reason:
                    raise  # a permission lost: the pull records the refusal, asks again
                continue  # gone (deleted in the app): left out, the others go on
            found[external_id] = {
                "likes": int(media.get("like_count", 0)),
                "replies": int(media.get("comments_count", 0)),
            }
        return found

    def audience(self) -> int:
        """The account's `followers_count` (IG User reference)."""
        with self._translate_errors():
            me = self._graph.get_object(self.account_id, fields="followers_count")
        return count_of(me.get("followers_count"), "followers_count")

    def check(self) -> Account:
        with self._translate_errors():
            me = self._graph.get_object(self.account_id, fields="id,username,name")
        return Account(id=str(me["id"]), name=me.get("name", ""), username=me.get("username"))
