"""X (Twitter) through tweepy.Client, API v2.

Docs: https://docs.x.com/x-api/posts/create-post (POST /2/tweets),
https://docs.x.com/x-api/posts/get-post-by-post-id (GET /2/tweets/:id),
https://docs.x.com/resources/fundamentals/rate-limits (x-rate-limit-reset).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
        for text in parts[len(ids) :]:
            try:
                with translate_errors():
                    response = self._client.create_tweet(
                        text=text,
                        in_reply_to_tweet_id=ids[-1] if ids else None,
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

    def get(self, external_id: str) -> dict[str, Any] | None:
        with translate_errors():
            response = self._client.get_tweet(
                external_id, tweet_fields=["created_at", "author_id"], user_auth=self._oauth1
            )
        # X answers 200 with an `errors` list and no `data` for a post that does not exist.
        return dict(response.data.data) if response.data else None


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
