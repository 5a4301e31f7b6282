"""X's engagement counters in the engine's vocabulary, and which posts X refused to say
its non-public counters for (200 with `errors` entries: docs.x.com/x-api/fundamentals/
metrics, 30-day limit)."""

from __future__ import annotations

from typing import Any

import tweepy

PRIVATE_METRICS = ("non_public_metrics", "organic_metrics")
FIELD_REFUSED = "not-authorized-for-field"


def field_refused(errors: list[dict[str, Any]]) -> set[str]:
    """Ids of the posts whose non-public fields X refused (200 with `errors` entries)."""
    return {
        str(e.get("resource_id") or e.get("value"))
        for e in errors or []
        if FIELD_REFUSED in str(e.get("type", ""))
    }


_PUBLIC = {
    "impression_count": "impressions",
    "like_count": "likes",
    "retweet_count": "shares",
    "repost_count": "shares",  # the name X's 2.167 description gives it
    "reply_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "bookmarks",
}
_NON_PUBLIC = {"url_link_clicks": "link_clicks", "user_profile_clicks": "profile_clicks"}


def x_metrics(tweet: tweepy.Tweet) -> dict[str, int]:
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
