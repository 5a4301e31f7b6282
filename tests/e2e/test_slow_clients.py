"""A slow or stalled client costs the API a thread, never the database's write lock: while
it dawdles, other workspaces are answered and due publications go out (issue 11 item 3:
a reviewer sending 1 byte of a 100-byte body held the SQLite write lock, stalling another
workspace's reads and making a due publication 13 s late)."""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy.engine import make_url

from publisher.stack import Stack
from tests.e2e.conftest import Http, _free_port
from tests.helpers import wait_until

PROBES = 20  # the stall is watched this many times, 0.15 s apart (about 3 s)
WRITE_TRIES = 100  # a write may wait 100 x 10 ms for the dispatcher's or a worker's own


def _can_write(database_url: str) -> bool:
    """Whether another process gets to write within about a second (on SQLite: the writer
    queue's flock, then SQLite's own write lock). The engine's processes write too, for
    milliseconds at a time; a request that held the lock through its stall would make
    every attempt wait it out."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return True  # PostgreSQL readers never lock writers out; judged by the ledger below
    fd = os.open(f"{url.database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for _ in range(WRITE_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.01)
        else:
            return False
        try:
            conn = sqlite3.connect(url.database, timeout=1.0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                conn.close()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _never_locked_while(database_url: str, still_stalled) -> None:
    for _ in range(PROBES):
        assert still_stalled(), "the stalled request ended before the observation did"
        assert _can_write(database_url), "a stalled request holds the write lock"
        time.sleep(0.15)


@pytest.fixture
def slow_stack(runtime, settings, tmp_path):
    running = Stack(
        settings.with_(allow_private_urls=True), port=_free_port(), log_dir=tmp_path / "logs"
    ).start()
    yield running
    running.stop()


def _due_post(http: Http, when: datetime) -> int:
    x = http(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "X",
            "external_account_id": "1",
            "credentials": {"access_token": "slow-clients-token"},
        },
        expect=201,
    )
    campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, expect=201)
    target = {"channel_id": x["id"], "scheduled_at": when.isoformat(), "time_zone": "UTC"}
    post = http(
        "POST",
        "/v1/posts",
        {"campaign_id": campaign["id"], "text": "on time anyway", "targets": [target]},
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    pub = post["publications"][0]["id"]
    http("POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
    return pub


def test_a_stalled_request_body_holds_no_lock(slow_stack, keys, sandbox, settings):
    http = Http(slow_stack.api_url, keys)
    pub = _due_post(http, datetime.now(UTC) + timedelta(seconds=1))
    host = urlsplit(slow_stack.api_url)
    stalled = socket.create_connection((host.hostname, host.port))
    stalled.sendall(
        (
            f"POST /v1/posts HTTP/1.1\r\nHost: {host.netloc}\r\n"
            f"Authorization: Bearer {keys['reviewer']}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n{"
        ).encode()
    )
    try:
        _never_locked_while(settings.effective_database_url, lambda: stalled.fileno() != -1)
        other = requests.get(
            slow_stack.api_url + "/v1/channels",
            headers={"Authorization": f"Bearer {keys['other']}"},
            timeout=10,
        )
        assert other.status_code == 200
        wait_until(
            lambda: http("GET", f"/v1/publications/{pub}")["status"] == "published",
            timeout_s=20,
            what="the due publication to go out while the client stalls",
        )
        assert [a.text for a in sandbox.ledger.accepted("x")] == ["on time anyway"]
    finally:
        stalled.close()


class _SlowImageServer:
    """Answers headers and a few bytes of an image, then holds the rest back."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.release, self.serving = threading.Event(), threading.Event()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow.png"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"
            + b"\x89PNG\r\n\x1a\n"
        )
        self.serving.set()
        self.release.wait(30)
        conn.close()
        self.sock.close()


def test_a_slow_media_import_holds_no_lock(slow_stack, keys, settings):
    slow = _SlowImageServer()
    answers: list[requests.Response] = []

    def import_it() -> None:
        response = requests.post(
            slow_stack.api_url + "/v1/media",
            json={"url": slow.url},
            headers={"Authorization": f"Bearer {keys['editor']}"},
            timeout=60,
        )
        answers.append(response)

    importer = threading.Thread(target=import_it)
    importer.start()
    try:
        wait_until(slow.serving.is_set, what="the import to reach the slow server")
        _never_locked_while(settings.effective_database_url, lambda: not answers)
    finally:
        slow.release.set()
        importer.join(60)
    [answer] = answers  # the truncated file is refused, cleanly: the url field says why
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["errors"]] == [["url"]]


@pytest.fixture
def strict_stack(runtime, settings, tmp_path):
    """Clients get 1 s for their headers; their body, a 1 s head start, then 1 KB/s."""
    running = Stack(
        settings.with_(api_header_timeout_s=1.0, api_body_min_bytes_per_s=1024.0),
        port=_free_port(),
        log_dir=tmp_path / "logs",
    ).start()
    yield running
    running.stop()


def _dribble(api_url: str, head: bytes, drip: bytes, *, for_s: float = 20.0) -> bytes:
    """Send `head`, then `drip` a byte at a time every 0.2 s for up to `for_s`; what the
    server answered (b"" when it closed without a word)."""
    host = urlsplit(api_url)
    with socket.create_connection((host.hostname, host.port), timeout=for_s) as conn:
        conn.sendall(head)
        for byte in drip[: int(for_s / 0.2)]:
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            conn.setblocking(False)
            try:
                answer = conn.recv(65536)
                return answer  # the server spoke (or closed: b"") before the drip ended
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
        raise AssertionError("the server waited for the whole drip")


@pytest.mark.any_database  # the HTTP server's reads
def test_headers_that_dribble_get_a_408(strict_stack):
    """A socket timeout bounds each read, not the request: one byte of headers every 0.2 s
    kept a thread for as long as the client liked."""
    answer = _dribble(
        strict_stack.api_url,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: " + b"a" * 200,
    )
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer


def test_a_body_that_dribbles_gets_a_408_and_changes_nothing(strict_stack, keys, runtime):
    body = b'{"name": "' + b"a" * 150 + b'", "objective": "loyalty"}'
    answer = _dribble(
        strict_stack.api_url,
        (
            f"POST /v1/campaigns HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {keys['editor']}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode(),
        body,
    )
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer
    assert (
        requests.get(
            strict_stack.api_url + "/v1/campaigns",
            headers={"Authorization": f"Bearer {keys['editor']}"},
            timeout=10,
        ).json()
        == []
    )


def test_a_stalled_review_page_form_holds_no_lock(slow_stack, keys, settings):
    """The review page read the reviewer's link (a write transaction on SQLite) before
    the form: a link holder sending the form slowly held the write lock."""
    http = Http(slow_stack.api_url, keys)
    channel = http(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "X",
            "external_account_id": "1",
            "credentials": {"access_token": "slow-clients-token"},
        },
        expect=201,
    )
    campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, expect=201)
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    post = http(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": "read slowly",
            "targets": [{"channel_id": channel["id"], "scheduled_at": when, "time_zone": "UTC"}],
        },
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    pub = post["publications"][0]["id"]
    link = http("POST", f"/v1/reviews/{pub}/link", {}, as_="reviewer", expect=201)
    host = urlsplit(slow_stack.api_url)
    stalled = socket.create_connection((host.hostname, host.port))
    stalled.sendall(
        (
            f"POST {urlsplit(link['url']).path} HTTP/1.1\r\nHost: {host.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 100\r\n\r\ndecision=appr"
        ).encode()
    )
    try:
        _never_locked_while(settings.effective_database_url, lambda: stalled.fileno() != -1)
    finally:
        stalled.close()
