from __future__ import annotations

import socket

import pytest

from adapters.base import AdapterConfig, Content, OutcomeUnknown, PublishRequest, Transient
from adapters.x import XAdapter


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_transient():
    adapter = XAdapter(
        {"access_token": "t"},
        account_id="1",
        config=AdapterConfig(base_url=f"http://127.0.0.1:{_closed_port()}"),
    )
    with pytest.raises(Transient, match="refused"):
        adapter.publish(PublishRequest(Content("hi")))


def test_no_answer_after_sending_is_unknown():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers
    try:
        adapter = XAdapter(
            {"access_token": "t"},
            account_id="1",
            config=AdapterConfig(
                base_url=f"http://127.0.0.1:{server.getsockname()[1]}", timeout_s=0.3
            ),
        )
        with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
            adapter.publish(PublishRequest(Content("hi")))
    finally:
        server.close()
