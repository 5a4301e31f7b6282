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
    AuthExpired,
    Budget,
    Content,
    Limits,
    OutcomeUnknown,
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
    limits = Limits(text=MAX_WEIGHTED_LENGTH, counts=weighted_length, unit="weighted characters")
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
        with translate_errors():
            response = self._client.create_tweet(
                text=self.render_text(request.content), user_auth=self._oauth1
            )
        return self._result(str(response.data["id"]))

    def find(self, content: Content, *, since: datetime) -> PublishResult | None:
        """Search the account's timeline (newest first) for this text."""
        wanted = comparable(self.render_text(content))
        with translate_errors():
            me = self._client.get_me(user_auth=self._oauth1)
            token = None
            for _page in range(FIND_PAGES):
                page = self._client.get_users_tweets(
                    me.data.id,
                    start_time=since,
                    max_results=100,
                    pagination_token=token,
                    tweet_fields=["created_at"],
                    user_auth=self._oauth1,
                )
                for tweet in page.data or []:
                    if comparable(tweet.text) == wanted:
                        return self._result(str(tweet.id))
                token = page.meta.get("next_token")
                if not token:
                    break
        return None

    @staticmethod
    def _result(tweet_id: str) -> PublishResult:
        return PublishResult(external_id=tweet_id, url=f"https://x.com/i/web/status/{tweet_id}")

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
