"""The shared clock's readings that never wait on Redis (the link server's event loop
reads the time this way and has the offset measured in a thread)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from publisher.core.clock import SharedClock


def _dead_redis() -> Redis:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    return Redis(port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


def test_a_reading_asks_nothing_and_an_unanswered_sync_keeps_the_offset():
    local = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    clock = SharedClock(_dead_redis(), local=lambda: local, resync_s=60)
    clock.offset = timedelta(milliseconds=250)  # measured earlier
    assert clock.stale()  # never measured in this process
    assert clock.reading() == local + timedelta(milliseconds=250)  # no Redis asked
    clock.try_sync()  # Redis does not answer: the last offset stays
    assert clock.offset == timedelta(milliseconds=250)
    assert not clock.stale()  # and it is not tried again on every reading
    assert clock() == local + timedelta(milliseconds=250)
