"""Connections to the platforms stay open between requests, as the platforms allow: one
process's adapters share keep-alive pools (bounded by its sender threads), and the sandbox
keeps a connection alive as X's and Meta's servers do."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from adapters.base import AdapterConfig
from adapters.http import PlatformSession
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


def test_publications_are_sent_over_the_process_s_open_connections(api, runtime, sandbox):
    x, _ = api.channels()
    ports = []
    for i in range(3):  # one after the other: each can reuse the connection before it
        post = api.post_for([x], at=soon(), text=f"over an open connection {i}")
        api.submit_and_approve(post)
        run_pipeline(runtime)
        assert api.publication(post["publications"][0]["id"])["status"] == "published"
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
