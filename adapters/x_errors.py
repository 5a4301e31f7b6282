"""tweepy's answers as the engine's error taxonomy (and tweepy's own status mapping for the
requests made beside it: media upload, OAuth tokens)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import requests
import tweepy

from adapters.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from adapters.http import translate_transport

DUPLICATE = "duplicate content"


def raise_like_tweepy(response: requests.Response) -> None:
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


@contextmanager
def translate_errors() -> Iterator[None]:
    """tweepy's exceptions as our taxonomy."""
    try:
        yield
    except tweepy.TooManyRequests as exc:
        raise RateLimited(_reason(exc), retry_at=_rate_limit_reset(exc)) from exc
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


def _rate_limit_reset(exc: tweepy.TooManyRequests) -> datetime | None:
    """When posting comes back: the 15-minute window's reset, or, when a 24-hour cap is
    spent (`x-user-limit-24hour-*`, `x-app-limit-24hour-*`: docs.x.com/x-api/fundamentals/
    rate-limits), that cap's reset, whichever is later."""
    headers = exc.response.headers
    resets = [exc.reset_time] if exc.reset_time else []
    for cap in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{cap}-remaining") == "0" and headers.get(f"{cap}-reset", "").isdigit():
            resets.append(int(headers[f"{cap}-reset"]))
    return datetime.fromtimestamp(max(resets), UTC) if resets else None


def _reason(exc: tweepy.HTTPException) -> str:
    detail = "; ".join(exc.api_messages) or exc.response.reason or ""
    return f"X {exc.response.status_code}: {detail}"
