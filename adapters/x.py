"""X (Twitter) through tweepy.Client, API v2.

Docs: https://docs.x.com/x-api/posts/create-post (POST /2/tweets),
https://docs.x.com/x-api/posts/get-post-by-post-id (GET /2/tweets/:id),
https://docs.x.com/resources/fundamentals/rate-limits (x-rate-limit-reset).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import tweepy
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from adapters.base import Adapter, count_of
from adapters.errors import AdapterError, AuthExpired, PartlyPublished, Rejected
from adapters.http import PlatformSession
from adapters.types import (
    Account,
    AdapterConfig,
    Authorization,
    Budget,
    ConnectedAccount,
    Content,
    Limits,
    MediaLimits,
    OAuthApp,
    Problem,
    PublishRequest,
    PublishResult,
)
from adapters.x_auth import token_request
from adapters.x_errors import translate_errors
from adapters.x_metrics import PRIVATE_METRICS, field_refused, x_metrics
from adapters.x_text import (
    MAX_WEIGHTED_LENGTH,
    comparable_returned,
    comparable_sent,
    weighted_length,
)
from adapters.x_upload import XMediaUpload

API_HOST = "https://api.twitter.com"
# OAuth 2.0 (docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code):
# the consent page on x.com, the token endpoint on the API host; scopes the engine needs
# (media.write for uploads, offline.access for a refresh token: access tokens live 2 h).
AUTHORIZE = "https://x.com/i/oauth2/authorize"
AUTHORIZE_PATH = "/i/oauth2/authorize"
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
FIND_PAGES = 5  # 500 most recent posts since the attempt: far more than a burst leaves
THREAD_PARTS = 25  # X's own composer allows 25 posts in a thread


class XCredentials(BaseModel):
    """An OAuth 2.0 user access token (with the refresh token and the expiry `offline.access`
    gives), or the four OAuth 1.0a user-context values."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(min_length=1)
    access_token_secret: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    expires_at: str | None = Field(default=None, description="ISO 8601, with its offset")

    @model_validator(mode="after")
    def _complete_oauth1(self) -> XCredentials:
        oauth1 = (self.access_token_secret, self.consumer_key, self.consumer_secret)
        if any(oauth1) and not all(oauth1):
            raise ValueError(
                "OAuth 1.0a needs access_token, access_token_secret, consumer_key and "
                "consumer_secret; for OAuth 2.0 give access_token alone"
            )
        if any(oauth1) and (self.refresh_token or self.expires_at):
            raise ValueError("refresh_token and expires_at belong to OAuth 2.0 tokens")
        if self.expires_at is not None:
            try:
                stamp = datetime.fromisoformat(self.expires_at)
            except ValueError as exc:
                raise ValueError("expires_at: an ISO 8601 date-time") from exc
            if stamp.tzinfo is None:
                raise ValueError("expires_at: give its UTC offset")
        return self


class XAdapter(XMediaUpload, Adapter):
    """Posts as the account whose tokens the channel holds."""

    platform = "x"
    display_name = "X"
    limits = Limits(
        text=MAX_WEIGHTED_LENGTH,
        counts=weighted_length,
        unit="weighted characters",
        thread_parts=THREAD_PARTS,
        # docs.x.com media best practices: 4 images (5 MB each), or one GIF (15 MB), or
        # one video (512 MB, up to 140 s for most accounts).
        media=MediaLimits(
            images=4,
            image_bytes=5 * 1024 * 1024,
            gif_bytes=15 * 1024 * 1024,
            video_bytes=512 * 1024 * 1024,
            video_s=140.0,
            video_types=("video/mp4", "video/quicktime"),
        ),
    )
    # POST /2/tweets: 200 per 15 min per user, and 300 per 3 h per user shared with
    # reposts (docs.x.com/x-api/posts/manage-tweets/migrate/overview). Lower tiers allow
    # less; a channel on one of them can still earn a 429, which holds it until the reset.
    budgets = (Budget(200, timedelta(minutes=15)), Budget(300, timedelta(hours=3)))
    # GET /2/tweets: up to 100 ids a request, 900 requests per 15 min per user
    # (docs.x.com/x-api/fundamentals/rate-limits; lower tiers allow less: a 429 then
    # holds the pulls until its reset).
    read_budgets = (Budget(900, timedelta(minutes=15)),)
    metrics_per_request = 100
    credentials_model = XCredentials

    def __init__(
        self, credentials: Mapping[str, Any], *, account_id: str, config: AdapterConfig
    ) -> None:
        super().__init__(credentials, account_id=account_id, config=config)
        creds = XCredentials.model_validate(credentials)
        self._oauth1 = creds.consumer_key is not None

        def secret(s):
            return s.get_secret_value() if s else None

        if self._oauth1:
            self._client = tweepy.Client(
                consumer_key=secret(creds.consumer_key),
                consumer_secret=secret(creds.consumer_secret),
                access_token=secret(creds.access_token),
                access_token_secret=secret(creds.access_token_secret),
            )
        else:
            # An OAuth 2.0 user token is sent as a bearer token with user_auth=False.
            self._client = tweepy.Client(bearer_token=secret(creds.access_token))
        # Never wait_on_rate_limit in a worker: a 429 without reset retries without end.
        self._client.session = PlatformSession(API_HOST, config)

    @classmethod
    def authorization(cls, app: OAuthApp, *, state: str, config: AdapterConfig) -> Authorization:
        """X's consent page: OAuth 2.0 authorization code with PKCE (S256). tweepy's
        OAuth2UserHandler hard-codes twitter.com and (through oauthlib) refuses plain-HTTP
        hosts such as the sandbox, so the two requests of the flow are made here."""
        verifier = secrets.token_urlsafe(96)[:128]
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        base = f"{config.base_url.rstrip('/')}{AUTHORIZE_PATH}" if config.base_url else AUTHORIZE
        query = urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": app.redirect_uri,
                "scope": " ".join(SCOPES),
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            quote_via=quote,
        )
        return Authorization(url=f"{base}?{query}", verifier=verifier)

    @classmethod
    def complete_authorization(
        cls, app: OAuthApp, *, code: str, verifier: str | None, config: AdapterConfig
    ) -> list[ConnectedAccount]:
        tokens = token_request(
            app,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": app.redirect_uri,
                "code_verifier": verifier or "",
            },
            config,
        )
        me = cls(tokens, account_id="", config=config).check()
        return [ConnectedAccount(platform=cls.platform, account=me, credentials=tokens)]

    @classmethod
    def expires_at(cls, credentials: Mapping[str, Any]) -> datetime | None:
        stamp = credentials.get("expires_at")
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None

    @classmethod
    def refresh(
        cls, app: OAuthApp, credentials: Mapping[str, Any], *, config: AdapterConfig
    ) -> dict[str, Any]:
        """A new access token and a new refresh token (X's refresh tokens are single-use)."""
        token = credentials.get("refresh_token")
        if not token:
            raise AuthExpired("X token expired and no refresh token is stored: reconnect")
        return token_request(app, {"grant_type": "refresh_token", "refresh_token": token}, config)

    @classmethod
    def validate_text(cls, content: Content) -> list[Problem]:
        problems = super().validate_text(content)
        # POST /2/tweets (X API v2 OpenAPI, createPosts): media, quote_tweet_id, poll and
        # card_uri are mutually exclusive.
        if content.quote_of and content.media:
            problems.append(Problem("quote_with_media", platform=cls.display_name))
        return problems

    @classmethod
    def render_text(cls, content: Content) -> str:
        """X has no separate link field: the link goes at the end of the text."""
        if content.link and content.link not in content.text:
            return f"{content.text} {content.link}"
        return content.text

    def publish(self, request: PublishRequest) -> PublishResult:
        """One post, or a thread as a chain of replies, each part replying to the one
        before. A thread resumes after the parts in `request.sent`; if a part fails once
        others are out, PartlyPublished says which are, so none is ever sent twice."""
        parts = self.parts(request.content)
        ids = list(request.sent)
        # Media go with the first part; uploads are invisible until a post uses them, so
        # a failure there is safe to retry whatever it was.
        media_ids = [self._upload(m) for m in request.content.media] if not ids else []
        for text in parts[len(ids) :]:
            try:
                with translate_errors():
                    response = self._client.create_tweet(
                        text=text,
                        in_reply_to_tweet_id=ids[-1] if ids else None,
                        media_ids=(media_ids or None) if not ids else None,
                        quote_tweet_id=request.content.quote_of if not ids else None,
                        user_auth=self._oauth1,
                    )
            except AdapterError as exc:
                if ids:
                    raise PartlyPublished(tuple(ids), exc, total=len(parts)) from exc
                raise
            ids.append(str(response.data["id"]))
        return self._result(ids)

    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        """Search the account's timeline since `since` for the post; for a thread, for
        its parts after `after` in order, each a reply to the one before. X hands text
        back changed (entities escaped, every link a t.co link, a t.co link for media):
        both sides are compared with their links taken out (x_text.comparable_*)."""
        wanted = [comparable_sent(part) for part in self.parts(content)]
        with translate_errors():
            me = self._client.get_me(user_auth=self._oauth1)
            timeline: list[tweepy.Tweet] = []
            token = None
            for _page in range(FIND_PAGES):
                page = self._client.get_users_tweets(
                    me.data.id,
                    start_time=since,
                    max_results=100,
                    pagination_token=token,
                    tweet_fields=["created_at", "referenced_tweets"],
                    user_auth=self._oauth1,
                )
                timeline += page.data or []
                token = page.meta.get("next_token")
                if not token:
                    break
        ids = list(after)
        for text in wanted[len(ids) :]:
            found = next(
                (
                    t
                    for t in reversed(timeline)  # oldest first: the thread's own order
                    if comparable_returned(t.text) == text
                    and _replied_to(t) == (ids[-1] if ids else None)
                ),
                None,
            )
            if found is None:
                break
            ids.append(str(found.id))
        return self._result(ids) if ids else None

    @staticmethod
    def _result(ids: list[str]) -> PublishResult:
        first = ids[0]
        return PublishResult(
            external_id=first, url=f"https://x.com/i/web/status/{first}", part_ids=tuple(ids)
        )

    def check(self) -> Account:
        with translate_errors():
            me = self._client.get_me(user_auth=self._oauth1).data
        return Account(id=str(me.id), name=me.name, username=me.username)

    def audience(self) -> int:
        """The account's `public_metrics.followers_count` (GET /2/users/me, user.fields)."""
        with translate_errors():
            me = self._client.get_me(user_fields=["public_metrics"], user_auth=self._oauth1).data
        if self.account_id and str(me.id) != self.account_id:
            raise Rejected(f"the token acts as account {me.id}, not {self.account_id}")
        return count_of((me.public_metrics or {}).get("followers_count"), "followers_count")

    def delete(self, external_id: str) -> None:
        try:
            with translate_errors():
                self._client.delete_tweet(external_id, user_auth=self._oauth1)
        except Rejected as exc:
            if "404" not in exc.reason:  # already gone is what we wanted
                raise

    def fetch_metrics(self, external_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Public metrics of any post; with the account's own user-context tokens, also the
        non-public ones (link and profile clicks) and the organic ones (`organic_*`) X keeps
        for its own posts of the last 30 days. X refuses those per post, answering 200 with
        an `errors` entry instead of the post (or 403 for the whole request): such posts
        are asked again for their public metrics alone."""
        found: dict[str, dict[str, int]] = {}
        for start in range(0, len(external_ids), 100):
            batch = list(external_ids[start : start + 100])
            try:
                with translate_errors():
                    response = self._client.get_tweets(
                        batch,
                        tweet_fields=["public_metrics", *PRIVATE_METRICS],
                        user_auth=self._oauth1,
                    )
                refused = field_refused(response.errors)
            except Rejected:
                refused = set(batch)
                response = None
            for tweet in (response.data if response else None) or []:
                found[str(tweet.id)] = x_metrics(tweet)
            again = [i for i in batch if i in refused and i not in found]
            if again:
                with translate_errors():
                    public = self._client.get_tweets(
                        again, tweet_fields=["public_metrics"], user_auth=self._oauth1
                    )
                for tweet in public.data or []:
                    found[str(tweet.id)] = x_metrics(tweet)
        return found

    def get(self, external_id: str) -> dict[str, Any] | None:
        with translate_errors():
            response = self._client.get_tweet(
                external_id, tweet_fields=["created_at", "author_id"], user_auth=self._oauth1
            )
        # X answers 200 with an `errors` list and no `data` for a post that does not exist.
        return dict(response.data.data) if response.data else None


def _replied_to(tweet: tweepy.Tweet) -> str | None:
    # `referenced_posts` is the name X's 2.167 description gives `referenced_tweets`.
    refs = tweet.data.get("referenced_tweets") or tweet.data.get("referenced_posts") or []
    for ref in refs:
        if ref.get("type") == "replied_to":
            return str(ref["id"])
    return None
