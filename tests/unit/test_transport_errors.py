from __future__ import annotations

import socket

import pytest

from adapters.errors import OutcomeUnknown, Transient
from adapters.types import AdapterConfig, Content, PublishRequest
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
        # The OAuth 1.0a signature: each of its three fields (issue 13's redaction case).
        ('OAuth oauth_consumer_key="ck-8", oauth_token="tok-8"', "tok-8"),
        ('OAuth oauth_signature="sig-9%3D", oauth_nonce="n"', "sig-9"),
        # Access log lines (issue 11 item 11): a review link's token, capabilities in queries.
        ('127.0.0.1 - - "GET /review/eyJwdWIiOjF9.Zx1.abc HTTP/1.1" 200 -', "eyJwdWIiOjF9"),
        ('"POST /review/eyJwdWIiOjF9.Zx1.abc HTTP/1.1" 303 -', "Zx1.abc"),
        ('"GET /v1/posts?api_key=k-10&limit=5 HTTP/1.1" 401 -', "k-10"),
        ('"GET /v1/channels?token=k-11 HTTP/1.1" 401 -', "k-11"),
        ('"GET /v1/oauth/callback/x?state=st-12&code=co-12 HTTP/1.1" 200 -', "st-12"),
        ('"GET /v1/oauth/callback/x?state=st-12&code=co-12 HTTP/1.1" 200 -', "co-12"),
        ('"GET /public/media/3?expires=9&sig=sg-13 HTTP/1.1" 200 -', "sg-13"),
        ("grant_type=refresh_token&refresh_token=rt-14&client_id=c", "rt-14"),
        # Any parameter named like a credential, not only the ones listed before.
        ('"GET /v1/posts?secret=s-15 HTTP/1.1" 401 -', "s-15"),
        ('"GET /v1/posts?auth=a-16&limit=1 HTTP/1.1" 401 -', "a-16"),
        ('"GET /v1/posts?access_key=k-17 HTTP/1.1" 401 -', "k-17"),
        ('"GET /v1/posts?jwt=j-18 HTTP/1.1" 401 -', "j-18"),
        ('"GET /v1/posts?X-Amz-Signature=sg-19 HTTP/1.1" 200 -', "sg-19"),
        ('"GET /v1/posts?session_id=ss-20 HTTP/1.1" 200 -', "ss-20"),
    ],
)
def test_redact_removes_every_credential_shape(text, secret):
    from adapters.redaction import redact

    cleaned = redact(text)
    assert secret not in cleaned and "[redacted]" in cleaned


def test_redact_leaves_ordinary_words_alone():
    from adapters.redaction import redact

    for text in (
        "access denied: this access token expired; see /docs?page=2&consumer=web",
        "the key: value",
        "GET /v1/oauth/callback/x?error=access_denied&error_code=200 HTTP/1.1",
        "a token was refused",
    ):
        assert redact(text) == text


def test_registered_credential_values_are_hidden_however_a_library_writes_them():
    """oauthlib at DEBUG: parameters as Python tuples, a percent-encoded base string."""
    from adapters.redaction import redact, remember_secrets

    remember_secrets("ck/secret+value=1", "short")
    logged = (
        "Collected params: [('oauth_consumer_key', 'ck/secret+value=1')] "
        "Base signing string: POST&https%3A%2F%2Fx%26oauth_consumer_key%3Dck%252Fsecret%252B"
        "value%253D1"
    )
    cleaned = redact(logged)
    assert "ck/secret" not in cleaned and "ck%252Fsecret" not in cleaned
    assert redact("short answer") == "short answer"  # too short to be told from words
