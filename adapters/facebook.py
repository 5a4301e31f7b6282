"""Facebook Pages through facebook-sdk's GraphAPI on a current Graph API version.

Docs: https://developers.facebook.com/docs/graph-api/reference/page/feed/ (POST /{page-id}/feed),
https://developers.facebook.com/docs/graph-api/guides/error-handling (codes 4/17/32/613, 190,
368, 506), https://developers.facebook.com/docs/graph-api/overview/rate-limiting.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from adapters.base import Adapter, comparable, count_of
from adapters.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from adapters.facebook_metrics import read_posts
from adapters.http import PlatformSession, translate_transport
from adapters.types import (
    Account,
    AdapterConfig,
    Authorization,
    Budget,
    ConnectedAccount,
    Content,
    Limits,
    MediaFile,
    MediaLimits,
    OAuthApp,
    PublishRequest,
    PublishResult,
)

with warnings.catch_warnings():
    # facebook-sdk 3.1.0 (2018) has invalid escapes that warn at import on Python 3.12.
    warnings.simplefilter("ignore", SyntaxWarning)
    import facebook

GRAPH_HOST = "https://graph.facebook.com"
LOGIN_HOST = "https://www.facebook.com"
# Permissions posting needs (pages-api/posts, instagram-platform/content-publishing,
# pages insights): Pages, their posts and insights, the Instagram accounts behind them.
LOGIN_SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
)
DEFAULT_VERSION = "v26.0"  # released 2026-07-29 (graph-api/changelog)
# When each version stops working (developers.facebook.com/docs/graph-api/changelog/versions);
# v26.0's end is not announced yet. A warning is logged from 90 days before.
VERSION_ENDS = {
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}
VERSION_WARNING = timedelta(days=90)
# Platform throttling (4 app, 17 user, 32 Pages with a user token, 613 custom) and business
# use case throttling with Page and Instagram tokens (80001 Pages, 80002 Instagram):
# graph-api/overview/rate-limiting.
THROTTLED = {4, 17, 32, 613, 80001, 80002}
# Instagram's content publishing limit reached (code 9, subcode 2207042): a wait.
IG_PUBLISH_LIMIT = (9, 2207042)
# Usage headers are percentages of the rolling hour's allowance (graph-api/overview/
# rate-limiting): at this much, rest the channel before Graph starts refusing.
USAGE_CEILING = 95
USAGE_HOLD = timedelta(minutes=10)
AUTH_EXPIRED = {102, 190}
DUPLICATE_POST = 506
NO_SUCH_OBJECT = 100


def _gone(exc: Rejected) -> bool:
    """Graph's "does not exist" (code 100): the object is gone (or was never there)."""
    return f"code {NO_SUCH_OBJECT}:" in exc.reason


class FacebookCredentials(BaseModel):
    """A Page access token for the Page the channel posts to."""

    model_config = ConfigDict(extra="forbid")

    page_access_token: SecretStr = Field(min_length=1)


def _json_header(response: requests.Response, name: str) -> dict | None:
    try:
        value = json.loads(response.headers.get(name) or "null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class GraphAdapter(Adapter):
    """What Facebook Pages and Instagram share: facebook-sdk on a current Graph API
    version, a session that keeps the HTTP status facebook-sdk drops, and the error codes."""

    def __init__(
        self, credentials: Mapping[str, Any], *, account_id: str, config: AdapterConfig
    ) -> None:
        super().__init__(credentials, account_id=account_id, config=config)
        self._session = PlatformSession(GRAPH_HOST, config)
        self._graph = facebook.GraphAPI(
            access_token=self._token(credentials), session=self._session
        )
        # facebook-sdk validates versions only up to 3.1; set the current one afterwards.
        self._graph.version = config.options.get("graph_version", DEFAULT_VERSION)

    @staticmethod
    def _token(credentials: Mapping[str, Any]) -> str:
        raise NotImplementedError

    @classmethod
    def authorization(cls, app: OAuthApp, *, state: str, config: AdapterConfig) -> Authorization:
        """Facebook Login's dialog (facebook-login/guides/advanced/manual-flow), asking for
        what posting to Pages and to the Instagram accounts behind them needs."""
        version = config.options.get("graph_version", DEFAULT_VERSION)
        base = (config.base_url or LOGIN_HOST).rstrip("/")
        query = urlencode(
            {
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(LOGIN_SCOPES),
            }
        )
        return Authorization(url=f"{base}/{version}/dialog/oauth?{query}")

    @classmethod
    def complete_authorization(
        cls, app: OAuthApp, *, code: str, verifier: str | None, config: AdapterConfig
    ) -> list[ConnectedAccount]:
        """The code for a user token, that for a long-lived one (60 days; the Page tokens
        it gives do not expire), then every Page the person granted, and the Instagram
        business account behind each (facebook-sdk's own calls)."""
        login = FacebookAdapter({"page_access_token": "-"}, account_id="me", config=config)
        graph = login._graph
        with login._translate_errors():
            graph.access_token = None
            short = graph.get_access_token_from_code(
                code, app.redirect_uri, app.client_id, app.client_secret
            )
            graph.access_token = short["access_token"]
            graph.access_token = graph.extend_access_token(app.client_id, app.client_secret)[
                "access_token"
            ]
            pages = graph.get_connections("me", "accounts", fields="id,name,access_token")
        accounts = []
        for page in pages.get("data", []):
            if not page.get("access_token") or not page.get("id"):
                continue  # a Page granted without the task that gives a token
            token = {"page_access_token": page["access_token"]}
            accounts.append(
                ConnectedAccount(
                    "facebook", Account(id=str(page["id"]), name=page.get("name", "")), token
                )
            )
            graph.access_token = page["access_token"]
            with login._translate_errors():
                linked = graph.get_object(
                    page["id"], fields="instagram_business_account{id,username,name}"
                ).get("instagram_business_account")
            if linked:
                account = Account(
                    id=str(linked["id"]),
                    name=linked.get("name") or linked.get("username", ""),
                    username=linked.get("username"),
                )
                accounts.append(
                    ConnectedAccount("instagram", account, {"access_token": page["access_token"]})
                )
        return accounts

    @classmethod
    def configuration_warnings(cls, config: AdapterConfig, *, today: date) -> list[str]:
        version = config.options.get("graph_version", DEFAULT_VERSION)
        ends = VERSION_ENDS.get(version)
        if ends is not None and today >= ends - VERSION_WARNING:
            return [
                f"Graph API {version} stops working on {ends.isoformat()}: set "
                f"PUBLISHER_GRAPH_API_VERSION to {DEFAULT_VERSION}"
            ]
        return []

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except facebook.GraphAPIError as exc:
            raise self._graph_error(exc) from exc
        except requests.RequestException as exc:
            raise translate_transport(exc) from exc

    def _usage_hold(self) -> datetime | None:
        """What facebook-sdk drops: the usage headers of the last answer. Business use case
        usage says when access comes back; app and Page usage only how full the rolling
        hour is, so near the top the channel rests USAGE_HOLD."""
        last = self._session.last_response
        if last is None:
            return None
        now, hold = datetime.now(UTC), None
        buc = _json_header(last, "X-Business-Use-Case-Usage")
        for entries in (buc or {}).values():
            for entry in entries if isinstance(entries, list) else []:
                minutes = entry.get("estimated_time_to_regain_access") or 0
                if minutes > 0:
                    hold = max(hold or now, now + timedelta(minutes=minutes))
        for header in ("X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage"):
            usage = _json_header(last, header) or {}
            peak = max((v for v in usage.values() if isinstance(v, int | float)), default=0)
            if peak >= USAGE_CEILING:
                hold = max(hold or now, now + USAGE_HOLD)
        return hold

    def _allowance_back(self) -> datetime | None:
        """When a spent publishing allowance frees up (Instagram says how)."""
        return None

    def _graph_error(self, exc: facebook.GraphAPIError) -> Exception:
        error = exc.result.get("error", {}) if isinstance(exc.result, dict) else {}
        last = self._session.last_response  # a Response is falsy for 4xx: compare with None
        status = last.status_code if last is not None else 0
        code = error.get("code") if isinstance(error, dict) else None
        subcode = error.get("error_subcode") if isinstance(error, dict) else None
        reason = f"Graph {status} code {code}: {exc.message}"
        if code in THROTTLED:
            return RateLimited(reason, retry_at=self._usage_hold())
        if (code, subcode) == IG_PUBLISH_LIMIT:
            return RateLimited(reason, retry_at=self._allowance_back())
        if code in AUTH_EXPIRED:
            return AuthExpired(reason)
        if code == DUPLICATE_POST:
            return Rejected(reason, duplicate=True)
        if status == 503 or (
            400 <= status < 500 and isinstance(error, dict) and error.get("is_transient")
        ):
            return Transient(reason)
        if not 400 <= status < 500 or code is None:
            # A 5xx, or an answer Graph does not give (an error with a 2xx or 3xx): the
            # request may have been taken. Asked about later, never resent blindly.
            return OutcomeUnknown(reason)
        return Rejected(reason)


class FacebookAdapter(GraphAdapter):
    """Posts to a Page's feed."""

    platform = "facebook"
    display_name = "Facebook"
    # Page tokens: Business Use Case limits, 4,800 calls a day times the Page's engaged
    # users (developers.facebook.com/docs/graph-api/overview/rate-limiting): the floor.
    # Up to 50 ids a request (the Graph API's multiple-id read).
    read_budgets = (Budget(4800, timedelta(hours=24)),)
    metrics_per_request = 50
    # Photos: several unpublished photos attached to one feed post (Graph API "Publish a
    # multi-photo post"); video posts are not built yet.
    limits = Limits(
        text=63206,
        media=MediaLimits(
            images=10,
            image_bytes=10 * 1024 * 1024,
            image_types=("image/jpeg", "image/png", "image/webp"),
        ),
    )
    credentials_model = FacebookCredentials

    @staticmethod
    def _token(credentials: Mapping[str, Any]) -> str:
        return FacebookCredentials.model_validate(credentials).page_access_token.get_secret_value()

    @classmethod
    def render_text(cls, content: Content) -> str:
        """A post with photos shows no link preview: its link goes in the message."""
        text = super().render_text(content)
        if content.media and content.link and content.link not in text:
            return f"{text}\n\n{content.link}"
        return text

    def publish(self, request: PublishRequest) -> PublishResult:
        content = request.content
        fields: dict[str, str] = {"message": self.render_text(content)}
        if content.media:
            photos = [self._unpublished_photo(item) for item in content.media]
            fields["attached_media"] = json.dumps([{"media_fbid": p} for p in photos])
        elif content.link:
            fields["link"] = content.link
        with self._translate_errors():
            result = self._graph.put_object(self.account_id, "feed", **fields)
        return replace(self._result(str(result["id"])), hold_until=self._usage_hold())

    def _unpublished_photo(self, item: MediaFile) -> str:
        """Upload a photo that stays invisible until a post attaches it: any failure
        here is safe to retry."""
        extra = {"alt_text_custom": item.alt_text} if item.alt_text else {}
        try:
            with self._translate_errors(), open(item.path, "rb") as image:
                photo = self._graph.put_photo(
                    image, album_path=f"{self.account_id}/photos", published="false", **extra
                )
        except (OutcomeUnknown, Transient) as exc:
            raise Transient(f"photo upload: {exc.reason}") from exc
        return str(photo["id"])

    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        """Search the Page's feed since `since` for this message. Page posts have had no
        `link` field since v3.3 (asking for it fails the whole read with #12): the message
        is what identifies the post."""
        wanted = comparable(self.render_text(content))
        with self._translate_errors():
            page = self._graph.get_connections(
                self.account_id,
                "feed",
                fields="id,message,created_time",
                since=int(since.timestamp()),
                limit=100,
            )
        for post in page.get("data", []):
            if comparable(post.get("message", "")) == wanted:
                return self._result(str(post["id"]))
        return None

    @staticmethod
    def _result(post_id: str) -> PublishResult:
        return PublishResult(external_id=post_id, url=f"https://www.facebook.com/{post_id}")

    def get(self, external_id: str) -> dict[str, Any] | None:
        try:
            with self._translate_errors():
                return self._graph.get_object(
                    external_id, fields="id,message,created_time,permalink_url"
                )
        except Rejected as exc:
            if _gone(exc):
                return None
            raise

    def delete(self, external_id: str) -> None:
        try:
            with self._translate_errors():
                self._graph.delete_object(external_id)
        except Rejected as exc:
            if not _gone(exc):  # already gone: done
                raise

    def fetch_metrics(self, external_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Reactions, comments and shares summaries, and the post's insights (impressions,
        reach, clicks) where the Page token may read them; in batches of 50 ids."""
        return read_posts(external_ids, self._read_posts, _gone)

    def _read_posts(self, post_ids: list[str], fields: str) -> dict[str, dict[str, Any]]:
        with self._translate_errors():
            if len(post_ids) == 1:
                return {post_ids[0]: self._graph.get_object(post_ids[0], fields=fields)}
            return self._graph.get_objects(post_ids, fields=fields)

    def audience(self) -> int:
        """The Page's `followers_count` (Graph API Page reference: the number of people
        who follow the Page)."""
        with self._translate_errors():
            page = self._graph.get_object(self.account_id, fields="followers_count")
        return count_of(page.get("followers_count"), "followers_count")

    def check(self) -> Account:
        """Whose token this is: `/me` with a Page token is that Page (graph-api/overview,
        "/me"), so a token for another Page says so (the engine then holds the channel as
        `wrong_account`), where reading the Page by its id would answer any public Page."""
        with self._translate_errors():
            page = self._graph.get_object("me", fields="id,name")
        return Account(id=str(page["id"]), name=page.get("name", ""))
