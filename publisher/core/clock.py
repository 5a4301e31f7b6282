"""One clock for every engine process: the Redis server's.

"Due" used to be each process's own clock: a dispatcher and a worker running 30 s ahead
sent every publication up to 30 s early, and a dispatcher ahead of correct workers had its
early hand-overs bounced back thousands of times. Every process now tells time by the same
reference, the Redis server's `TIME` (every engine process already depends on that one
server, on SQLite as on PostgreSQL; SQLite has no server clock of its own): it measures its
offset from it (round trip halved), and its clock is its own plus that offset, measured
again every `resync_s` and right before anything is claimed.

A process whose offset exceeds `max_offset_s` is sick (a clock that jumps, a libfaketime
left in place): it refuses to dispatch or send (`ClockSkewed`) until its offset is back
within the bound, and says so in its log and, through its beat in Redis, in `/readyz`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError

from publisher.core.db import utcnow

log = logging.getLogger(__name__)

BEAT_TTL_S = 30


class ClockSkewed(RuntimeError):
    """This process's clock is further from the shared one than the bound allows."""


class SharedClock:
    def __init__(
        self,
        redis: Redis,
        *,
        local: Callable[[], datetime] = utcnow,
        max_offset_s: float = 1.0,
        resync_s: float = 2.0,
    ) -> None:
        self.redis = redis
        self.local = local
        self.max_offset_s = max_offset_s
        self.resync_s = resync_s
        self.offset = timedelta(0)
        self._synced_at: float | None = None  # monotonic
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        """The shared time: this process's clock corrected by its measured offset. Keeps
        the last offset through a Redis outage (the outage stops the engine anyway)."""
        if self.stale():
            self.try_sync()
        return self.reading()

    def stale(self) -> bool:
        """Whether the offset is due to be measured again."""
        synced = self._synced_at
        return synced is None or time.monotonic() - synced >= self.resync_s

    def try_sync(self) -> None:
        """`sync`, keeping the last offset if Redis does not answer: tried again after
        resync_s, not on every call (an unreachable Redis must not make every reading of
        the time wait for a connect timeout)."""
        try:
            self.sync()
        except RedisError:
            self._synced_at = time.monotonic()

    def reading(self) -> datetime:
        """The shared time by the last offset measured, without measuring (for an event
        loop, which must not wait on Redis: it has `try_sync` run in a thread)."""
        return self.local() + self.offset

    def sync(self) -> timedelta:
        """Measure the offset now: the server's time minus this process's, at mid round
        trip."""
        with self._lock:
            before = self.local()
            seconds, micros = self.redis.time()
            after = self.local()
            server = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)
            offset = server - (before + (after - before) / 2)
            if abs(offset - self.offset) > timedelta(milliseconds=50):
                log.info("clock offset from the shared clock: %+.3f s", offset.total_seconds())
            self.offset, self._synced_at = offset, time.monotonic()
            return offset

    @property
    def offset_s(self) -> float:
        return self.offset.total_seconds()

    def check(self) -> datetime:
        """Measure again; the shared time, or ClockSkewed when beyond the bound."""
        self.sync()
        if abs(self.offset_s) > self.max_offset_s:
            raise ClockSkewed(
                f"this process's clock is {self.offset_s:+.3f} s from the shared clock (Redis "
                f"TIME), more than PUBLISHER_MAX_CLOCK_OFFSET_S={self.max_offset_s:g}: it "
                "neither dispatches nor sends until its clock is set right (NTP)"
            )
        return self.local() + self.offset

    def beat(self, name: str, prefix: str) -> None:
        """Say in Redis how far this process's clock is (for /readyz): one field of one
        hash per process, stamped with the shared time."""
        now = (self.local() + self.offset).timestamp()
        body = json.dumps({"offset_s": round(self.offset_s, 4), "at": now})
        self.redis.hset(f"{prefix}:clocks", process_name(name), body)


def process_name(role: str) -> str:
    """`role` on this host, this process (pids repeat across containers, hosts differ)."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def beats(redis: Redis, prefix: str, *, now: float) -> dict[str, float]:
    """Each process's offset, by name, for those that said so in the last BEAT_TTL_S
    (`now`: the shared time, epoch seconds); older entries are dropped."""
    found, stale = {}, []
    for name, raw in redis.hgetall(f"{prefix}:clocks").items():
        body = json.loads(raw)
        if now - float(body["at"]) > BEAT_TTL_S:
            stale.append(name)
        else:
            found[name.decode()] = float(body["offset_s"])
    if stale:
        redis.hdel(f"{prefix}:clocks", *stale)
    return found
