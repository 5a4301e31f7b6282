"""The baseline job: what a plain RQ `enqueue_at` scheduler runs at the due time."""

from __future__ import annotations

import tweepy

from adapters.http import PlatformSession
from adapters.types import AdapterConfig
from adapters.x import API_HOST


def post_tweet(text: str, sandbox_url: str, token: str) -> str:
    """Create the post through tweepy, as the engine's X adapter does, without the engine."""
    client = tweepy.Client(bearer_token=token)
    client.session = PlatformSession(API_HOST, AdapterConfig(base_url=sandbox_url, timeout_s=10.0))
    return str(client.create_tweet(text=text, user_auth=False).data["id"])
