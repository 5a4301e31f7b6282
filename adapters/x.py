"""X (Twitter) through tweepy.Client, API v2.

Docs: https://docs.x.com/x-api/posts/create-post (POST /2/tweets),
https://docs.x.com/x-api/posts/get-post-by-post-id (GET /2/tweets/:id),
https://docs.x.com/resources/fundamentals/rate-limits (x-rate-limit-reset).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from adapters.base import (
    Account,
    Adapter,
    AdapterConfig,
    AdapterError,
    AuthExpired,
    Budget,
    Content,
    Limits,
    MediaFile,
    MediaLimits,
    OutcomeUnknown,
    PartlyPublished,
    PublishRequest,
    PublishResult,
    RateLimited,
    Rejected,
    Transient,
    comparable,
)
from adapters.http import PlatformSession, translate_transport
from adapters.x_text import MAX_WEIGHTED_LENGTH, weighted_length

API_HOST = "https://api.twitter.com"
DUPLICATE = "duplicate content"
FIND_PAGES = 5  # 500 most recent posts since the attempt: far more than a burst leaves
THREAD_PARTS = 25  # X's own composer allows 25 posts in a thread
# Media upload (docs.x.com/x-api/media/quickstart/media-upload-chunked): INIT, APPEND in
# segments of at most 5 MB, FINALIZE, then STATUS until processing is done.
MEDIA_ROUTE = "/2/media/upload"
CHUNK_BYTES = 4 * 1024 * 1024
MEDIA_WAIT_S = 60.0  # longer than this processing, and the publication is retried later
CATEGORY = {"image": "tweet_image", "gif": "tweet_gif", "video": "tweet_video"}


class XCredentials(BaseModel):
    """An OAuth 2.0 user access token, or the four OAuth 1.0a user-context values."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(min_length=1)
    access_token_secret: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _complete_oauth1(self) -> XCredentials:
        oauth1 = (self.access_token_secret, self.consumer_key, self.consumer_secret)
        if any(oauth1) and not all(oauth1):
            raise ValueError(
                "OAuth 1.0a needs access_token, access_token_secret, consumer_key and "
                "consumer_secret; for OAuth 2.0 give access_token alone"
            )
        return self


class XAdapter(Adapter):
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
        self._client.session = PlatformSession(API_HOST, config.base_url, config.timeout_s)

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

    def _upload(self, item: MediaFile) -> str:
        """Chunked upload on tweepy's own session and credentials (tweepy's v2 Client has
        no media upload); then alt text. Returns the media id."""
        try:
            with translate_errors():
                init = self._media_call(
                    "POST",
                    data={
                        "command": "INIT",
                        "media_type": item.content_type,
                        "total_bytes": str(item.size_bytes),
                        "media_category": CATEGORY[item.kind],
                    },
                )
                media_id = str(init["data"]["id"])
                with open(item.path, "rb") as fh:
                    segment = 0
                    while chunk := fh.read(CHUNK_BYTES):
                        self._media_call(
                            "POST",
                            data={
                                "command": "APPEND",
                                "media_id": media_id,
                                "segment_index": str(segment),
                            },
                            files={"media": ("chunk", chunk, "application/octet-stream")},
                        )
                        segment += 1
                done = self._media_call("POST", data={"command": "FINALIZE", "media_id": media_id})
                self._wait_for_processing(media_id, done["data"].get("processing_info"))
                if item.alt_text and item.kind != "video":
                    self._media_call(
                        "POST",
                        route="/2/media/metadata",
                        json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
                    )
        except (OutcomeUnknown, Transient) as exc:
            raise Transient(f"media upload: {exc.reason}") from exc
        return media_id

    def _wait_for_processing(self, media_id: str, info: dict | None) -> None:
        """Poll STATUS as X says (check_after_secs) until the media is ready."""
        waited = 0.0
        while info and info.get("state") in ("pending", "in_progress"):
            pause = min(float(info.get("check_after_secs", 1)), 5.0)
            if waited + pause > MEDIA_WAIT_S:
                raise Transient(f"media {media_id} still processing after {waited:.0f} s")
            time.sleep(pause)
            waited += pause
            status = self._media_call("GET", params={"command": "STATUS", "media_id": media_id})
            info = status["data"].get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error", {})
            raise Rejected(f"X could not process media {media_id}: {error.get('message', error)}")

    def _media_call(self, method: str, *, route: str = MEDIA_ROUTE, **kwargs: Any) -> dict:
        """One media request, authenticated exactly as tweepy authenticates its own."""
        client = self._client
        headers = {"User-Agent": client.user_agent}
        auth = None
        if self._oauth1:
            auth = tweepy.OAuth1UserHandler(
                client.consumer_key,
                client.consumer_secret,
                client.access_token,
                client.access_token_secret,
            ).apply_auth()
        else:
            headers["Authorization"] = f"Bearer {client.bearer_token}"
        response = client.session.request(
            method, API_HOST + route, headers=headers, auth=auth, **kwargs
        )
        _raise_like_tweepy(response)
        return response.json() if response.content else {}

    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        """Search the account's timeline since `since` for the post; for a thread, for
        its parts after `after` in order, each a reply to the one before."""
        wanted = [comparable(part) for part in self.parts(content)]
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
                    if comparable(t.text) == text and _replied_to(t) == (ids[-1] if ids else None)
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
        for its own posts of the last 30 days. If X refuses those, the public ones still
        come back."""
        found: dict[str, dict[str, int]] = {}
        for start in range(0, len(external_ids), 100):
            batch = list(external_ids[start : start + 100])
            try:
                with translate_errors():
                    response = self._client.get_tweets(
                        batch,
                        tweet_fields=["public_metrics", "non_public_metrics", "organic_metrics"],
                        user_auth=self._oauth1,
                    )
            except Rejected:
                with translate_errors():
                    response = self._client.get_tweets(
                        batch, tweet_fields=["public_metrics"], user_auth=self._oauth1
                    )
            for tweet in response.data or []:
                found[str(tweet.id)] = _x_metrics(tweet)
        return found

    def get(self, external_id: str) -> dict[str, Any] | None:
        with translate_errors():
            response = self._client.get_tweet(
                external_id, tweet_fields=["created_at", "author_id"], user_auth=self._oauth1
            )
        # X answers 200 with an `errors` list and no `data` for a post that does not exist.
        return dict(response.data.data) if response.data else None


_PUBLIC = {
    "impression_count": "impressions",
    "like_count": "likes",
    "retweet_count": "shares",
    "reply_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "bookmarks",
}
_NON_PUBLIC = {"url_link_clicks": "link_clicks", "user_profile_clicks": "profile_clicks"}


def _x_metrics(tweet: tweepy.Tweet) -> dict[str, int]:
    metrics = {
        ours: int(value)
        for theirs, ours in _PUBLIC.items()
        if (value := (tweet.public_metrics or {}).get(theirs)) is not None
    }
    metrics.update(
        (ours, int(value))
        for theirs, ours in _NON_PUBLIC.items()
        if (value := (tweet.non_public_metrics or {}).get(theirs)) is not None
    )
    # Organic (unpromoted) figures, where X gives them, are what a community team earned.
    organic = tweet.organic_metrics or {}
    metrics.update(
        (f"organic_{ours}", int(value))
        for theirs, ours in {**_PUBLIC, **_NON_PUBLIC}.items()
        if (value := organic.get(theirs)) is not None
    )
    return metrics


def _raise_like_tweepy(response: requests.Response) -> None:
    """tweepy's own status mapping (BaseClient.request), for requests made beside it."""
    if response.status_code == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
    errors = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
    }
    if response.status_code in errors:
        raise errors[response.status_code](response)
    if response.status_code >= 500:
        raise tweepy.TwitterServerError(response)
    if not 200 <= response.status_code < 300:
        raise tweepy.HTTPException(response)


def _replied_to(tweet: tweepy.Tweet) -> str | None:
    for ref in tweet.referenced_tweets or []:
        if ref.type == "replied_to":
            return str(ref.id)
    return None


@contextmanager
def translate_errors() -> Iterator[None]:
    """tweepy's exceptions as our taxonomy."""
    try:
        yield
    except tweepy.TooManyRequests as exc:
        reset = exc.reset_time
        retry_at = datetime.fromtimestamp(reset, UTC) if reset else None
        raise RateLimited(_reason(exc), retry_at=retry_at) from exc
    except tweepy.Unauthorized as exc:
        raise AuthExpired(_reason(exc)) from exc
    except tweepy.Forbidden as exc:
        reason = _reason(exc)
        raise Rejected(reason, duplicate=DUPLICATE in reason.lower()) from exc
    except (tweepy.BadRequest, tweepy.NotFound) as exc:
        raise Rejected(_reason(exc)) from exc
    except tweepy.TwitterServerError as exc:
        if exc.response.status_code == 503:
            raise Transient(_reason(exc)) from exc
        raise OutcomeUnknown(_reason(exc)) from exc
    except tweepy.HTTPException as exc:
        raise OutcomeUnknown(_reason(exc)) from exc
    except requests.RequestException as exc:
        raise translate_transport(exc) from exc


def _reason(exc: tweepy.HTTPException) -> str:
    detail = "; ".join(exc.api_messages) or exc.response.reason or ""
    return f"X {exc.response.status_code}: {detail}"
