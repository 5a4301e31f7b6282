"""The short links' own server (`publisher links`, api/engage/link_server.py), run for
real on a loopback port: it answers as the API's /l/{code} does and records the same
clicks, written by the same batch job (issue 15, part 3 and its redirect figures)."""

from __future__ import annotations

import json
import re
import socket
import threading

import pytest
import requests
import uvicorn
from sqlalchemy import select

from api.engage.link_server import create_link_app
from publisher.core.engagement_models import LinkClick
from tests.helpers import flush_clicks, rows_digest, wait_until
from tests.integration.test_short_links import PHONE, PUBLIC, SHORT, _campaign, _published


class _Served:
    """An ASGI app served by uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, lifespan="on", log_level="warning", server_header=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        wait_until(lambda: self.server.started, timeout_s=10, what="the link server")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def links(runtime):
    runtime.settings = runtime.settings.with_(public_url=PUBLIC)
    served = _Served(create_link_app(runtime=runtime))
    yield served.url
    served.stop()


def _code(api, scenario, runtime, sandbox, at, path: str) -> str:
    x, _ = scenario.channels()
    text = f"Voir https://acme-asso.fr/{path}"
    _published(api, scenario, runtime, at, _campaign(api), [x], text=text)
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    return code


def _clicks(runtime) -> list[LinkClick]:
    with runtime.session() as session:
        return list(session.execute(select(LinkClick).order_by(LinkClick.id)).scalars())


def test_a_reader_is_sent_on_and_the_click_is_the_same_as_through_the_api(
    api, scenario, runtime, sandbox, at, links
):
    code = _code(api, scenario, runtime, sandbox, at, "a")
    headers = {"User-Agent": PHONE, "Referer": "https://t.co/xyz?secret=1"}
    answer = requests.get(f"{links}/l/{code}", headers=headers, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("https://acme-asso.fr/a?utm_source=x&pub_click=" + code)
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Server" not in answer.headers
    through_api = api.client.get(f"/l/{code.upper()}", headers=headers)  # any case, as there
    assert runtime.clicks.waiting() == 2  # both wait for the batch write
    assert flush_clicks(runtime) == 2
    server_click, api_click = _clicks(runtime)
    assert location.endswith(server_click.key) and through_api.location.endswith(api_click.key)
    shape = ("workspace_id", "link_id", "publication_id", "campaign_id", "referrer_host")
    shape += ("agent", "bot")
    assert [getattr(server_click, f) for f in shape] == [getattr(api_click, f) for f in shape]
    assert (server_click.referrer_host, server_click.agent) == ("t.co", "mobile")
    pub_id = server_click.publication_id
    [link] = api.get(f"/v1/publications/{pub_id}/links")
    assert (link["clicks"], link["bots"]) == (2, 0)


def test_a_preview_is_not_counted_and_a_crawler_gets_the_link_as_it_is(
    api, scenario, runtime, sandbox, at, links
):
    code = _code(api, scenario, runtime, sandbox, at, "b")
    head = requests.head(f"{links}/l/{code.upper()}", allow_redirects=False, timeout=5)
    assert head.status_code == 302
    assert head.headers["Location"] == "https://acme-asso.fr/b?utm_source=x"
    assert runtime.clicks.waiting() == 0
    bot = {"User-Agent": "Twitterbot/1.0"}
    crawler = requests.get(f"{links}/l/{code}", headers=bot, allow_redirects=False, timeout=5)
    assert crawler.headers["Location"] == "https://acme-asso.fr/b?utm_source=x"
    flush_clicks(runtime)
    assert [(c.agent, c.bot) for c in _clicks(runtime)] == [("bot", True)]


def test_what_is_not_a_short_link_is_a_problem_and_changes_nothing(
    api, scenario, runtime, sandbox, at, links
):
    code = _code(api, scenario, runtime, sandbox, at, "c")
    before = rows_digest(runtime)
    cases = [
        ("GET", "/l/aaaaaaaaaa", 404, "no such short link"),
        ("GET", "/l/%00aaaaaaaaa", 404, "no such short link"),  # no code has these
        ("GET", "/l/" + "%C3%A9" * 10, 404, "no such short link"),
        ("GET", "/l/short", 404, "nothing here: short links are /l/{code}"),
        ("GET", "/", 404, "nothing here: short links are /l/{code}"),
        ("POST", f"/l/{code}", 405, "POST is not allowed here: GET or HEAD"),
        ("DELETE", f"/l/{code}", 405, "DELETE is not allowed here: GET or HEAD"),
    ]
    for method, path, status, detail in cases:
        answer = requests.request(method, f"{links}{path}", allow_redirects=False, timeout=5)
        assert answer.status_code == status, (method, path)
        assert answer.headers["Content-Type"] == "application/problem+json"
        kind = {404: "not_found", 405: "method_not_allowed"}[status]
        assert answer.json() == {
            "type": f"{PUBLIC}/problems/{kind}",  # the API's page, as its own /l/ names it
            "title": {404: "Not found", 405: "Method not allowed"}[status],
            "status": status,
            "detail": detail,
        }
        if status == 405:
            assert answer.headers["Allow"] == "GET, HEAD"
        assert api.client.get(f"/problems/{kind}").status_code == 200  # the page is there
    assert runtime.clicks.waiting() == 0
    assert rows_digest(runtime) == before


def test_with_no_public_address_a_problem_names_no_page(runtime):
    runtime.settings = runtime.settings.with_(public_url="")
    served = _Served(create_link_app(runtime=runtime))
    try:
        answer = requests.get(f"{served.url}/l/aaaaaaaaaa", timeout=5)
    finally:
        served.stop()
    assert answer.status_code == 404
    assert answer.json()["type"] == "about:blank"  # no address to name the API's page by


def test_with_redis_down_the_click_is_written_at_once(api, scenario, runtime, sandbox, at):
    runtime.settings = runtime.settings.with_(public_url=PUBLIC)
    code = _code(api, scenario, runtime, sandbox, at, "d")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    # The server's own Redis connections, as it makes them, to a Redis that is not there.
    runtime.settings = runtime.settings.with_(redis_url=f"redis://127.0.0.1:{port}/0")
    served = _Served(create_link_app(runtime=runtime))
    try:
        answer = requests.get(
            f"{served.url}/l/{code}", headers={"User-Agent": PHONE}, allow_redirects=False,
            timeout=5,
        )  # fmt: skip
    finally:
        served.stop()
    assert answer.status_code == 302
    [click] = _clicks(runtime)  # written before the answer, Redis or not
    assert answer.headers["Location"].endswith(click.key) and click.agent == "mobile"


def test_two_writers_at_once_lose_no_click_and_write_none_twice(
    api, scenario, runtime, sandbox, at, links
):
    """Workers flush on their own threads, so two flushes can meet: one writes, the other
    finds the writer's lock taken; every click is written once, none dropped by a trim."""
    code = _code(api, scenario, runtime, sandbox, at, "e")
    phone = {"User-Agent": PHONE}
    first = requests.get(f"{links}/l/{code}", headers=phone, allow_redirects=False, timeout=5)
    (template,) = runtime.redis.lrange(runtime.clicks.key, 0, -1)
    clicks = [json.loads(template) | {"key": f"{code}{n:022x}"} for n in range(3000)]
    runtime.redis.rpush(runtime.clicks.key, *(json.dumps(c) for c in clicks[1:]))
    other = runtime.redis.lock(f"{runtime.clicks.key}:writer", timeout=30)
    assert other.acquire(blocking=False)  # another process is writing them
    assert flush_clicks(runtime) == 0 and runtime.clicks.waiting() == 3000  # left to it
    other.release()
    line, written = threading.Barrier(2), []

    def flush() -> None:
        with runtime.session() as session:
            line.wait()
            written.append(runtime.clicks.flush(session, batch=100))

    threads = [threading.Thread(target=flush) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert first.status_code == 302 and sorted(written) == [0, 3000]
    assert runtime.clicks.waiting() == 0 and len(_clicks(runtime)) == 3000


def test_readers_at_once_are_each_counted_once_and_the_cap_holds(
    api, scenario, runtime, sandbox, at, links
):
    """Clicks that arrive together go to Redis in one push: each reader is answered with
    their own click's key, each click kept once, and past the cap none is kept."""
    from concurrent.futures import ThreadPoolExecutor

    code = _code(api, scenario, runtime, sandbox, at, "f")

    def read(_: int) -> str:
        answer = requests.get(
            f"{links}/l/{code}", headers={"User-Agent": PHONE}, allow_redirects=False,
            timeout=10,
        )  # fmt: skip
        assert answer.status_code == 302
        return answer.headers["Location"].rsplit("pub_click=", 1)[1]

    with ThreadPoolExecutor(40) as readers:
        keys = list(readers.map(read, range(80)))
    assert len(set(keys)) == 80 and runtime.clicks.waiting() == 80
    assert flush_clicks(runtime) == 80
    assert sorted(c.key for c in _clicks(runtime)) == sorted(keys)

    runtime.clicks.waiting_max = 10  # workers down, a bot looping: the list stops growing
    with ThreadPoolExecutor(40) as readers:
        more = list(readers.map(read, range(40)))
    assert len(more) == 40 and runtime.clicks.waiting() == 10


def test_links_go_out_under_their_own_address_when_it_is_set(
    api, scenario, runtime, sandbox, at, links
):
    """PUBLISHER_LINKS_URL (a short domain, the link server's public address) names the
    links in posts; the API's own address stays for media, OAuth and the review pages."""
    runtime.settings = runtime.settings.with_(links_url="https://acme.to/")
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/g")
    (code,) = re.findall(r"https://acme\.to/l/([a-z2-7]{10})", sandbox.ledger.accepted("x")[0].text)
    assert PUBLIC not in sandbox.ledger.accepted("x")[0].text
    answer = requests.get(f"{links}/l/{code}", allow_redirects=False, timeout=5)
    assert answer.headers["Location"].startswith("https://acme-asso.fr/g?utm_source=x")
