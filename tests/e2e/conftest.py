"""End to end: the API, the dispatcher and a worker as real processes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from publisher.stack import Stack
from tests.client import KeyRing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stack(runtime, settings, tmp_path) -> Iterator[Stack]:
    running = Stack(settings, port=_free_port(), log_dir=tmp_path / "logs").start()
    yield running
    running.stop()


class Http:
    """requests against the running API, as one role."""

    def __init__(self, base: str, keys: KeyRing) -> None:
        self.base, self.keys = base, keys

    def __call__(
        self, method: str, path: str, body=None, *, as_: str = "editor", expect: int | None = None
    ):
        response = requests.request(
            method,
            self.base + path,
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {self.keys[as_]}"},
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json()


@pytest.fixture
def http(stack, keys) -> Http:
    return Http(stack.api_url, keys)
