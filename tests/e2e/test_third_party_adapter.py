"""A new platform needs no edit of the core: a third-party adapter package, built into a
wheel and pip-installed here, is found through the `publisher.adapters` entry point by
the API, the dispatcher and the worker processes, and a post goes out through it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from base64 import urlsafe_b64encode
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from publisher.stack import Stack
from tests.e2e.conftest import Http, _free_port
from tests.helpers import soon, wait_until

PACKAGE = Path(__file__).parent / "thirdparty" / "publisher_echo"
DIST = "publisher_echo-1.0.0"


def _build_wheel(out: Path) -> Path:
    """A wheel exactly as a build backend would write one (PEP 427), by hand: no build
    tools or network needed."""
    files = {
        "publisher_echo/__init__.py": (PACKAGE / "__init__.py").read_bytes(),
        f"{DIST}.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: publisher-echo\nVersion: 1.0.0\n"
            b"Requires-Dist: publisher\n"
        ),
        f"{DIST}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{DIST}.dist-info/entry_points.txt": (
            b"[publisher.adapters]\necho = publisher_echo:EchoAdapter\n"
        ),
    }

    def record_line(name: str, data: bytes) -> str:
        digest = urlsafe_b64encode(sha256(data).digest()).rstrip(b"=").decode()
        return f"{name},sha256={digest},{len(data)}"

    record = "\n".join(record_line(n, d) for n, d in files.items())
    record += f"\n{DIST}.dist-info/RECORD,,\n"
    wheel = out / f"{DIST}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{DIST}.dist-info/RECORD", record)
    return wheel


class _EchoPlatform(BaseHTTPRequestHandler):
    """The Echo network: keeps what it was sent; its own record is what the test reads."""

    posts: list[dict] = []
    key = "echo-key-1"

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self.headers.get("X-Api-Key") != self.key:
            return self._reply(401, {"error": "bad key"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        post = {"id": f"e{len(self.posts) + 1}", "text": body["text"]}
        self.posts.append(post)
        self._reply(201, post)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/me":
            return self._reply(200, {"id": "echo-account", "name": "Echo account"})
        self._reply(200, self.posts)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def echo_platform():
    _EchoPlatform.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoPlatform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _EchoPlatform.posts
    server.shutdown()


@pytest.mark.any_database  # how an adapter is found and loaded
def test_a_pip_installed_adapter_publishes_with_no_edit_of_the_core(
    runtime, settings, keys, echo_platform, tmp_path, monkeypatch
):
    base_url, received = echo_platform
    target = tmp_path / "site"
    wheel = _build_wheel(tmp_path)
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    installed = subprocess.run(
        [*pip, "--target", str(target), str(wheel)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / f"{DIST}.dist-info" / "entry_points.txt").exists()

    monkeypatch.setenv("PYTHONPATH", str(target))  # the engine's processes see the install
    echo_settings = settings.with_(api_base_urls={**settings.api_base_urls, "echo": base_url})
    stack = Stack(echo_settings, port=_free_port(), log_dir=tmp_path / "logs").start()
    try:
        http = Http(stack.api_url, keys)
        channel = http(
            "POST",
            "/v1/channels",
            {
                "platform": "echo",
                "name": "Echo",
                "external_account_id": "echo-account",
                "credentials": {"api_key": _EchoPlatform.key},
            },
            expect=201,
        )
        assert http("POST", f"/v1/channels/{channel['id']}/check", expect=200)["result"] == "ok"
        campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, expect=201)
        target_at = {
            "channel_id": channel["id"],
            "scheduled_at": soon(1).isoformat(),
            "time_zone": "UTC",
        }
        too_long = http(
            "POST",
            "/v1/posts",
            {"campaign_id": campaign["id"], "text": "x" * 51, "targets": [target_at]},
            expect=201,
        )
        refused = http("POST", f"/v1/posts/{too_long['id']}/submit", expect=422)
        assert "51 of 50 characters on Echo" in json.dumps(refused)

        post = http(
            "POST",
            "/v1/posts",
            {"campaign_id": campaign["id"], "text": "hello from a plugin", "targets": [target_at]},
            expect=201,
        )
        http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
        pub_id = post["publications"][0]["id"]
        http("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
        published = wait_until(
            lambda: (p := http("GET", f"/v1/publications/{pub_id}"))["status"] == "published" and p,
            timeout_s=30,
            what="the plugin's publication published",
        )
    finally:
        stack.stop()
    assert received == [{"id": "e1", "text": "hello from a plugin"}]
    assert published["external_id"] == "e1"
