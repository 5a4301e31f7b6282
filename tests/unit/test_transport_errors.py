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


def test_a_refused_graph_call_keeps_the_page_token_out_of_its_reason():
    # facebook-sdk sends the token in a GET's query string, and urllib3's error message
    # quotes the URL: the reason is stored and shown by the API, so it must not carry it.
    from adapters.facebook import FacebookAdapter

    adapter = FacebookAdapter(
        {"page_access_token": "page-token-123"},
        account_id="2002",
        config=AdapterConfig(base_url=f"http://127.0.0.1:{_closed_port()}"),
    )
    with pytest.raises(Transient) as caught:
        adapter.check()
    assert "access_token=[redacted]" in caught.value.reason
    assert "page-token-123" not in caught.value.reason + str(caught.value)


@pytest.mark.parametrize(
    "text,secret",
    [
        ("GET /v21.0/1/feed?fields=id&access_token=tok-1&limit=5", "tok-1"),
        ("headers {'Authorization': 'Bearer tok-2'}", "tok-2"),
        ('{"access_token": "tok-3", "access_token_secret": "tok-4"}', "tok-4"),
        ('OAuth oauth_consumer_key="ck-5", oauth_token="tok-5", oauth_signature="s%3D"', "ck-5"),
        ("page_access_token=tok-6", "tok-6"),
        ("consumer_secret: tok-7", "tok-7"),
    ],
)
def test_redact_removes_every_credential_shape(text, secret):
    from adapters.base import redact

    cleaned = redact(text)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_redact_leaves_ordinary_words_alone():
    from adapters.base import redact

    text = "access denied: this access token expired; see /docs?page=2&consumer=web"
    assert redact(text) == text
