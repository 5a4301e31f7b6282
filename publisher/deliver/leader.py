"""One active dispatcher: a Redis lease names the leader, a database token fences it.

The lease (SET NX PX, renewed while leading) decides who runs; the token, higher for every
new leader and written to `dispatcher_lease` in the database, makes a stale leader's
hand-over match no row: a leader that stalled past its lease cannot act after a
successor took over, even before it notices. Redis can be flushed: the token restarts
from the database's value.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from redis import Redis
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.models import DispatcherLease

log = logging.getLogger(__name__)

KEY = "publisher:dispatcher:leader"
EPOCH = "publisher:dispatcher:epoch"

# Raise the epoch to at least ARGV[1]; return the new value.
_RAISE_EPOCH = """
local v = redis.call('INCR', KEYS[1])
if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]); v = tonumber(ARGV[1]) end
return v
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# Replace our placeholder with the tokened value, keeping the lease's expiry.
_SWAP = """
local ttl = redis.call('PTTL', KEYS[1])
if redis.call('GET', KEYS[1]) == ARGV[1] and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leadership:
    """Acquire, renew and release the dispatcher lease; `token` is set while leading."""

    def __init__(self, redis: Redis, *, lease_s: float = 3.0, name: str | None = None) -> None:
        self.redis = redis
        self.lease_ms = int(lease_s * 1000)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.token: int | None = None
        self._raise_epoch = redis.register_script(_RAISE_EPOCH)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._swap = redis.register_script(_SWAP)

    def _value(self) -> str:
        return f"{self.name}:{self.token}"

    def try_acquire(self, session: Session, *, now: datetime) -> bool:
        """Become the leader if nobody holds the lease; the new token is committed.

        The Redis lease is taken before any database work: a standby touches the
        database only once the lease is its own. (A leader frozen inside a transaction
        holds SQLite's writer lock: standbys wait on Redis, not on that lock.)"""
        placeholder = f"{self.name}:acquiring"
        if not self.redis.set(KEY, placeholder, nx=True, px=self.lease_ms):
            return False
        stored = session.get(DispatcherLease, 1)
        floor = (stored.token if stored else 0) + 1
        candidate = int(self._raise_epoch(keys=[EPOCH], args=[floor]))
        if not self._swap(keys=[KEY], args=[placeholder, f"{self.name}:{candidate}"]):
            session.rollback()  # the lease ran out while the database answered
            return False
        self.token = candidate
        if not self._fence(session, now=now):
            self.release()
            return False
        log.info("dispatcher %s leads with token %d", self.name, candidate)
        return True

    def _fence(self, session: Session, *, now: datetime) -> bool:
        """Write our token unless a newer one is there already."""
        moved = session.execute(
            update(DispatcherLease)
            .where(DispatcherLease.id == 1, DispatcherLease.token < self.token)
            .values(token=self.token, holder=self.name, acquired_at=now)
        ).rowcount
        if moved == 0 and session.get(DispatcherLease, 1) is None:
            session.add(DispatcherLease(id=1, token=self.token, holder=self.name, acquired_at=now))
            moved = 1
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return moved == 1

    def renew(self) -> bool:
        """Extend the lease; False (and no token) if it was lost."""
        if self.token is not None and self._renew(keys=[KEY], args=[self._value(), self.lease_ms]):
            return True
        if self.token is not None:
            log.warning("dispatcher %s lost the lease (token %d)", self.name, self.token)
        self.token = None
        return False

    def release(self) -> None:
        if self.token is not None:
            self._release(keys=[KEY], args=[self._value()])
        self.token = None
