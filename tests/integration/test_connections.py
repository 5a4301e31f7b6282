"""Connections to the platforms stay open between requests, as the platforms allow: one
process's adapters share keep-alive pools (bounded by its sender threads), and the sandbox
keeps a connection alive as X's and Meta's servers do."""

from __future__ import annotations

import threading

import requests
from requests.adapters import HTTPAdapter

from adapters.http import PlatformSession
from adapters.types import AdapterConfig
from tests.helpers import run_pipeline, soon


def _pool(transport: HTTPAdapter, url: str):
    """The transport's pool for `url`'s host (requests keys pools with its own context)."""
    host = url.split("//")[1].split(":")[0]
    (pool,) = [
        transport.poolmanager.pools[key]
        for key in transport.poolmanager.pools.keys()  # noqa: SIM118 (no __iter__)
        if transport.poolmanager.pools[key].host == host
    ]
    return pool


def _open_ports(pool) -> set[int]:
    """Local ports of the pool's idle connections whose socket is still open (a server
    that closes after each answer leaves none: urllib3 keeps the object, not the socket)."""
    return {c.sock.getsockname()[1] for c in list(pool.pool.queue) if c and c.sock}


def test_the_sandbox_keeps_a_connection_alive(sandbox):
    transport = HTTPAdapter()
    with requests.Session() as session:
        session.mount("http://", transport)
        for i in range(3):
            answer = session.post(
                f"{sandbox.x_url}/2/tweets",
                json={"text": f"kept alive {i}"},
                headers={"Authorization": "Bearer kept-alive"},
                timeout=5,
            )
            assert answer.status_code == 201
            assert answer.headers.get("Connection", "").lower() != "close"
        pool = _pool(transport, sandbox.x_url)
        assert (pool.num_connections, pool.num_requests) == (1, 3)
        assert len(_open_ports(pool)) == 1


def test_publications_are_sent_over_the_process_s_open_connections(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    ports = []
    for i in range(3):  # one after the other: each can reuse the connection before it
        post = scenario.post_for([x], at=soon(), text=f"over an open connection {i}")
        scenario.submit_and_approve(post)
        run_pipeline(runtime)
        assert scenario.publication(post["publications"][0]["id"])["status"] == "published"
        ports.append(_open_ports(_pool(runtime.http, sandbox.x_url)))
    assert len(ports[0]) == 1 and ports[0] == ports[1] == ports[2]  # the same open socket
    pool = _pool(runtime.http, sandbox.x_url)
    assert pool.num_requests == 3
    assert pool.num_connections == 1


def test_closing_one_session_leaves_the_shared_pools_open(sandbox):
    shared = HTTPAdapter()
    config = AdapterConfig(base_url=sandbox.x_url, timeout_s=5.0, transport=shared)
    first, second = (
        PlatformSession("https://api.x.com", config),
        PlatformSession("https://api.x.com", config),
    )
    first.get(f"{sandbox.x_url}/_sandbox/ledger")
    first.close()  # a token exchange closes its session when done
    assert len(shared.poolmanager.pools) == 1
    second.get(f"{sandbox.x_url}/_sandbox/ledger")
    assert _pool(shared, sandbox.x_url).num_connections == 1
    assert len(_open_ports(_pool(shared, sandbox.x_url))) == 1


def test_threads_sharing_a_session_each_see_their_own_last_answer(sandbox):
    """Sender threads share a channel's adapter: the answer facebook-sdk's error mapping
    reads is the one to this thread's request, not another thread's."""
    session = PlatformSession(sandbox.x_url, AdapterConfig(timeout_s=5))
    both = threading.Barrier(2)
    seen: dict[str, int | None] = {}

    def send(name: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        session.post(f"{sandbox.x_url}/2/tweets", json={"text": f"from {name}"}, headers=headers)
        both.wait(5)  # the other thread's request has been answered too
        last = session.last_response
        seen[name] = None if last is None else last.status_code

    threads = [
        threading.Thread(target=send, args=("signed", "per-thread")),
        threading.Thread(target=send, args=("unsigned", None)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"signed": 201, "unsigned": 401}
    assert session.last_response is None  # this thread sent nothing


def test_the_environment_s_proxy_settings_still_apply(sandbox, monkeypatch):
    """The environment is read once per host, not ignored: a proxy set for the process
    applies, and NO_PROXY still exempts a host."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.net:3128")
    monkeypatch.setenv("NO_PROXY", "graph.facebook.com")
    session = PlatformSession("https://api.twitter.com", AdapterConfig(timeout_s=5))
    via_proxy = session.merge_environment_settings(
        "https://api.twitter.com/2/tweets", {}, None, None, None
    )
    exempt = session.merge_environment_settings(
        "https://graph.facebook.com/me", {}, None, None, None
    )
    assert via_proxy["proxies"].get("https") == "http://proxy.example.net:3128"
    assert "https" not in exempt["proxies"]
    via_proxy["proxies"]["https"] = "changed by a caller"  # the kept settings are not shared
    again = session.merge_environment_settings("https://api.twitter.com/2/x", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.example.net:3128"
