"""POST /v1/media: uploads and URL imports, judged by what lands in the media directory.
The bytes decide the type; imports never reach private addresses; nothing half-stored."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import rows_digest
from tests.samples import jpeg, mp4, png


def _files(runtime) -> list[str]:
    root = runtime.settings.effective_media_dir
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    "data,kind,size,duration",
    [
        (png(3, 2), "image/png", (3, 2), None),
        (jpeg(64, 32), "image/jpeg", (64, 32), None),
        (mp4(12.5), "video/mp4", (None, None), 12.5),
    ],
    ids=["png", "jpeg", "mp4"],
)
def test_an_upload_is_stored_once_by_hash_and_described_by_its_bytes(
    api, runtime, data, kind, size, duration
):
    status, item = api.upload(data, "holiday.bin", mimetype="text/plain")
    assert status == 201, item
    sha = hashlib.sha256(data).hexdigest()
    assert item["content_type"] == kind and item["sha256"] == sha
    assert (item["width"], item["height"]) == size and item["duration_s"] == duration
    assert item["size_bytes"] == len(data) and item["filename"] == "holiday.bin"
    assert _files(runtime) == [sha]
    assert (runtime.settings.effective_media_dir / sha[:2] / sha).read_bytes() == data

    again = api.upload(data, "copy.bin")[1]
    assert again["id"] != item["id"] and _files(runtime) == [sha]  # one copy of the bytes
    response = api.client.get(
        f"/v1/media/{item['id']}/content", headers={"Authorization": f"Bearer {api.keys['editor']}"}
    )
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == kind


def test_bytes_that_are_not_media_are_refused_whatever_they_claim(api, runtime):
    before = rows_digest(runtime)
    status, problem = api.upload(b"<?php system($_GET['c']); ?>", "cat.png", mimetype="image/png")
    assert status == 415 and "judged by its bytes" in problem["detail"]
    assert rows_digest(runtime) == before and _files(runtime) == []


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(api, runtime):
    runtime.settings = runtime.settings.with_(media_max_bytes=1000)
    before = rows_digest(runtime)
    status, problem = api.upload(png(200, 200) + b"\x00" * 2000)
    assert status == 413 and problem["status"] == 413
    assert rows_digest(runtime) == before and _files(runtime) == []


def test_media_of_another_workspace_is_not_found(api, keys, runtime):
    item = api.upload(png())[1]
    assert api.call("GET", f"/v1/media/{item['id']}", as_="other")[0] == 404
    assert api.call("GET", f"/v1/media/{item['id']}/content", as_="other")[0] == 404
    before = rows_digest(runtime)
    body = {"url": "https://x.example/a.png"}
    api.refused("POST", "/v1/media", body, as_="reviewer", may_not="write content")
    assert rows_digest(runtime) == before


class _Origin(BaseHTTPRequestHandler):
    """A web server the tests import from: /png, /fake (text sent as image/png),
    /missing (404), /hop/N (N redirects, then /png)."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/hop/{left - 1}" if left > 1 else "/png")
            self.end_headers()
            return
        body, kind = {"/png": (png(5, 4), "image/png"), "/fake": (b"hello", "image/png")}.get(
            self.path, (None, None)
        )
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    "url,words",
    [
        ("{origin}/png", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/png", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/a.png", "private"),
        ("http://[::1]:{port}/png", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/png", "loopback"),
        ("http://0.0.0.0:{port}/png", "unspecified"),
        ("http://[2002:7f00:1::]:{port}/png", "carries 127.0.0.1"),  # 6to4
    ],
)
def test_imports_never_reach_private_addresses(api, runtime, origin, url, words):
    port = origin.rsplit(":", 1)[1]
    before = rows_digest(runtime)
    status, problem = api.call("POST", "/v1/media", {"url": url.format(origin=origin, port=port)})
    assert status == 422 and problem["errors"][0]["loc"] == ["url"]
    assert words in problem["errors"][0]["msg"]
    assert rows_digest(runtime) == before and _files(runtime) == []


@pytest.fixture
def private_allowed(runtime):
    runtime.settings = runtime.settings.with_(allow_private_urls=True)


def test_an_import_follows_a_few_redirects_and_sniffs_what_arrives(
    api, runtime, origin, private_allowed
):
    item = api.post("/v1/media", {"url": f"{origin}/hop/3"}, expect=201)
    assert item["content_type"] == "image/png" and (item["width"], item["height"]) == (5, 4)
    assert item["source_url"] == f"{origin}/hop/3"
    assert _files(runtime) == [item["sha256"]]


@pytest.mark.parametrize(
    "path,status,words",
    [
        ("/hop/4", 422, "more than 3 redirects"),
        ("/missing", 422, "HTTP 404"),
        ("/fake", 415, "judged by its bytes"),
    ],
)
def test_bad_imports_are_refused_and_keep_nothing(
    api, runtime, origin, private_allowed, path, status, words
):
    before = rows_digest(runtime)
    got, problem = api.call("POST", "/v1/media", {"url": origin + path})
    assert got == status and words in str(problem)
    assert rows_digest(runtime) == before and _files(runtime) == []


@pytest.mark.parametrize(
    "body", [{}, {"url": "ftp://example.com/a.png"}, {"url": "not a url"}, {"url": 5}, []]
)
def test_malformed_import_requests_are_422(api, runtime, body):
    before = rows_digest(runtime)
    assert api.call("POST", "/v1/media", body)[0] == 422
    assert rows_digest(runtime) == before


def test_neither_multipart_nor_json_is_415(api):
    assert api.call("POST", "/v1/media", raw=b"abc", content_type="text/plain")[0] == 415
    assert api.call("POST", "/v1/media", raw=b"x", content_type="multipart/form-data")[0] == 400


def test_orphaned_media_are_cleaned_after_a_day(api, runtime):
    from sqlalchemy import update

    from publisher.core.models import Media
    from publisher.plan import media

    kept = api.upload(png(1, 1))[1]
    old = api.upload(png(2, 2))[1]
    with runtime.engine.begin() as conn:
        conn.execute(
            update(Media)
            .where(Media.id == old["id"])
            .values(created_at=runtime.clock() - timedelta(days=2))
        )
    path = runtime.settings.effective_media_dir / old["sha256"][:2] / old["sha256"]
    day_ago = (runtime.clock() - timedelta(days=2)).timestamp()
    import os

    os.utime(path, (day_ago, day_ago))
    with runtime.session() as session:
        assert media.clean_orphans(session, runtime.media, now=runtime.clock()) == 1
    assert api.call("GET", f"/v1/media/{old['id']}")[0] == 404
    assert api.call("GET", f"/v1/media/{kept['id']}")[0] == 200
    assert _files(runtime) == [kept["sha256"]]
