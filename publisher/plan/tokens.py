"""Keeping a channel's OAuth tokens fresh. X's access tokens live two hours and its refresh
tokens are single-use: one refresh per channel at a time (a Redis lock), the credentials
read again under the lock (another process may have refreshed them), and the new pair
stored before anything uses it. A refresh the platform refuses makes the caller's send
fail with AuthExpired, which holds the channel as `needs_reauth`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlmodel import Session

from adapters.base import Adapter
from adapters.errors import AuthExpired, Transient
from adapters.types import AdapterConfig, OAuthApp
from publisher.core.models import Channel
from publisher.core.security import CredentialBox

log = logging.getLogger(__name__)

# Refresh this long before the expiry: a send started just before it still has a token.
REFRESH_MARGIN = timedelta(minutes=5)
LOCK_S = 60


def due_for_refresh(cls: type[Adapter], credentials: dict[str, Any], now: datetime) -> bool:
    expires = cls.expires_at(credentials)
    return expires is not None and expires - REFRESH_MARGIN <= now


def fresh_credentials(
    channel: Channel,
    cls: type[Adapter],
    credentials: dict[str, Any],
    *,
    app: OAuthApp | None,
    config: AdapterConfig,
    session_factory: Callable[[], Session],
    read_session: Callable[[], Session],
    box: CredentialBox,
    redis: Redis,
    lock_name: str,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    """`credentials`, refreshed first if they expire within REFRESH_MARGIN."""
    if app is None or not due_for_refresh(cls, credentials, now()):
        return credentials
    try:
        with redis.lock(lock_name, timeout=LOCK_S, blocking_timeout=LOCK_S):
            return _refresh_locked(
                channel, cls, app, config, session_factory, read_session, box, now
            )
    except RedisError as exc:
        raise Transient(f"token refresh of channel {channel.id} waits for Redis: {exc}") from exc


def _stored(read_session: Callable[[], Session], box: CredentialBox, channel_id: int) -> dict:
    with read_session() as session:
        row = session.get(Channel, channel_id)
        return box.open(row.credentials) if row is not None else {}


def _refresh_locked(
    channel: Channel,
    cls: type[Adapter],
    app: OAuthApp,
    config: AdapterConfig,
    session_factory: Callable[[], Session],
    read_session: Callable[[], Session],
    box: CredentialBox,
    now: Callable[[], datetime],
) -> dict[str, Any]:
    current = _stored(read_session, box, channel.id)
    if not due_for_refresh(cls, current, now()):
        return current  # another process refreshed them while we waited
    try:
        fresh = {**current, **cls.refresh(app, current, config=config)}
    except AuthExpired:
        latest = _stored(read_session, box, channel.id)
        if latest.get("refresh_token") != current.get("refresh_token"):
            return latest  # a refresh we did not see (a lost lock) stored the new pair
        raise
    with session_factory() as session:  # stored before it is used: the old one is spent
        row = session.get(Channel, channel.id)
        if row is not None:
            row.credentials = box.seal(fresh)
            row.updated_at = now()
            session.commit()
    log.info("channel %s: %s tokens refreshed", channel.id, cls.platform)
    return fresh
