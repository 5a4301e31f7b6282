"""Faults with real processes (API, dispatcher, workers), real Redis and the sandbox.
Every verdict comes from the sandbox's own ledger of what it accepted."""

from __future__ import annotations

import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.sandbox import Fault
from publisher.stack import Stack
from tests.e2e.conftest import Http
from tests.helpers import wait_until
from tests.scenario import X_CREDS

FAULT_SETTINGS = dict(
    job_timeout_s=6,
    platform_timeout_s=5.0,
    claim_lease_s=4.0,
    claim_grace_s=1.0,
    requeue_after_s=1.0,
    reconcile_after_s=0.0,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_counts(http: Http) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pub in _statuses(http).values():
        counts[pub["status"]] = counts.get(pub["status"], 0) + 1
    return counts


@pytest.fixture
def faulty_stack(runtime, settings, tmp_path, request):
    workers = getattr(request, "param", 1)
    stack = Stack(
        settings.with_(**FAULT_SETTINGS),
        port=_free_port(),
        workers=workers,
        log_dir=tmp_path / "logs",
    ).start()
    yield stack
    stack.stop()


def _plan(http: Http, count: int, at: datetime, prefix: str = "post") -> list[int]:
    """`count` approved X publications due at `at`; returns their ids."""
    channel = http(
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "X", "external_account_id": "1001", "credentials": X_CREDS},
        expect=201,
    )
    campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "awareness"}, expect=201)
    ids = []
    for i in range(count):
        post = http(
            "POST",
            "/v1/posts",
            {
                "campaign_id": campaign["id"],
                "text": f"{prefix} {i} ✨",
                "targets": [
                    {
                        "channel_id": channel["id"],
                        "scheduled_at": at.isoformat(),
                        "time_zone": "UTC",
                    }
                ],
            },
            expect=201,
        )
        http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
        pub = post["publications"][0]["id"]
        http("POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
        ids.append(pub)
    return ids


def _statuses(http: Http) -> dict[int, dict]:
    pubs, after = {}, 0
    while True:
        page = http("GET", f"/v1/publications?limit=500&after_id={after}")
        if not page:
            return pubs
        pubs.update({p["id"]: p for p in page})
        after = page[-1]["id"]


def _kill_group(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_worker_killed_after_the_platform_accepted_is_reconciled_once(faulty_stack, keys, sandbox):
    http = Http(faulty_stack.api_url, keys)
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=30))  # accept, then hold the answer
    (pub,) = _plan(http, 1, datetime.now(UTC) + timedelta(seconds=1))
    wait_until(lambda: sandbox.ledger.accepted("x"), what="the platform to accept")
    _kill_group(faulty_stack.procs.pop("worker-1"))  # before it could record anything
    assert http("GET", f"/v1/publications/{pub}")["status"] == "publishing"
    faulty_stack.spawn_worker()

    settled = wait_until(
        lambda: (p := http("GET", f"/v1/publications/{pub}"))["status"] == "published" and p,
        what="reconciliation",
    )
    (tweet,) = sandbox.ledger.accepted("x")
    assert settled["external_id"] == tweet.external_id


@pytest.mark.parametrize("faulty_stack", [0], indirect=True)
def test_redis_flushed_with_publications_due_sends_each_once(faulty_stack, keys, sandbox, redis):
    http = Http(faulty_stack.api_url, keys)
    ids = _plan(http, 20, datetime.now(UTC) + timedelta(seconds=1))
    wait_until(
        lambda: all(p["status"] == "queued" for p in _statuses(http).values()),
        what="the hand-over to Redis",
    )
    redis.flushdb()  # the jobs, the dispatcher's lease and its wake-up key are gone
    faulty_stack.spawn_worker()
    wait_until(
        lambda: all(p["status"] == "published" for p in _statuses(http).values()),
        what="every publication to go out",
    )
    texts = [a.text for a in sandbox.ledger.accepted("x")]
    assert sorted(texts) == sorted(f"post {i} ✨" for i in range(len(ids)))


def test_redis_restarted_with_publications_due_sends_each_once(
    runtime, settings, keys, sandbox, tmp_path
):
    from publisher.system.embedded import start_private_redis

    port = _free_port()

    def start_redis():
        return start_private_redis(tmp_path / "redis", port=port)[1]

    redis_proc = start_redis()
    stack = Stack(
        settings.with_(redis_url=f"redis://127.0.0.1:{port}/0", **FAULT_SETTINGS),
        port=_free_port(),
        log_dir=tmp_path / "logs",
    ).start()
    try:
        http = Http(stack.api_url, keys)
        ids = _plan(http, 10, datetime.now(UTC) + timedelta(seconds=3))
        redis_proc.kill()
        redis_proc.wait()
        time.sleep(4)  # Redis is down while the publications fall due
        redis_proc = start_redis()
        wait_until(
            lambda: all(p["status"] == "published" for p in _statuses(http).values()),
            what="every publication to go out",
        )
        assert len(sandbox.ledger.accepted("x")) == len(ids)
        assert len({a.text for a in sandbox.ledger.accepted("x")}) == len(ids)
    finally:
        stack.stop()
        redis_proc.kill()


@pytest.mark.parametrize("faulty_stack", [4], indirect=True)
def test_pause_during_a_burst_stops_everything_not_already_started(faulty_stack, keys, sandbox):
    http = Http(faulty_stack.api_url, keys)
    # The platform takes a second to answer: the pause lands while the first wave (a job
    # of up to 32 per worker) is at the platform and the rest waits. (At 50 ms the whole
    # burst was out before the pause call arrived, and nothing was left to pause.)
    sandbox.ledger.latency_s["x"] = 1.0
    # Plan the burst under a pause, so that planning time does not spread it out.
    http(
        "POST",
        "/v1/pause",
        {"scope": "workspace", "reason": "setup", "on_resume": "publish"},
        expect=201,
    )
    ids = _plan(http, 150, datetime.now(UTC))  # under X's 200 per 15 min, with room for retries
    http("POST", "/v1/resume", {"scope": "workspace"}, expect=200)  # all due at once
    wait_until(
        lambda: any(p["status"] == "publishing" for p in _statuses(http).values()),
        what="the burst to start",
    )
    result = http(
        "POST",
        "/v1/pause",
        {"scope": "workspace", "reason": "crisis", "on_resume": "publish"},
        expect=201,
    )
    paused_at = datetime.now(UTC)
    in_flight = set(result["in_flight"])

    def settled():
        pubs = _statuses(http)
        return all(p["status"] in ("published", "paused") for p in pubs.values()) and pubs

    pubs = wait_until(settled, what="the burst to settle")
    published = {i for i, p in pubs.items() if p["status"] == "published"}
    assert len(sandbox.ledger.accepted("x")) == len(published)
    assert in_flight <= published
    assert {i for i, p in pubs.items() if p["status"] == "paused"}
    late = [
        i
        for i in published
        if datetime.fromisoformat(pubs[i]["published_at"]) > paused_at and i not in in_flight
    ]
    assert late == []  # nothing that went out after the pause had started after it

    http("POST", "/v1/resume", {"scope": "workspace"}, expect=200)
    wait_until(
        lambda: all(p["status"] == "published" for p in _statuses(http).values()),
        what="the rest to go out after resume",
        state=lambda: _status_counts(http),
    )
    texts = [a.text for a in sandbox.ledger.accepted("x")]
    assert len(texts) == len(set(texts)) == len(ids)


def test_one_sigterm_lets_the_call_in_progress_finish(faulty_stack, keys, sandbox):
    http = Http(faulty_stack.api_url, keys)
    sandbox.ledger.latency_s["x"] = 2.0  # the platform takes 2 s to answer
    (pub,) = _plan(http, 1, datetime.now(UTC) + timedelta(seconds=1))
    wait_until(
        lambda: http("GET", f"/v1/publications/{pub}")["status"] == "publishing",
        what="the call to start",
    )
    worker = faulty_stack.procs.pop("worker-1")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert http("GET", f"/v1/publications/{pub}")["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_the_api_is_up_during_faults(faulty_stack):
    assert requests.get(f"{faulty_stack.api_url}/healthz", timeout=5).ok


def test_two_sigterms_end_in_one_post_recorded(faulty_stack, keys, sandbox):
    """A second SIGTERM either finds RQ's handler (the call finishes and is recorded) or
    the default one (the process dies mid-call: claim expires, `unknown`, reconciled).
    Either way: one post on the platform, and the publication says which."""
    http = Http(faulty_stack.api_url, keys)
    sandbox.ledger.latency_s["x"] = 3.0  # the platform has the post, its answer is slow
    (pub,) = _plan(http, 1, datetime.now(UTC) + timedelta(seconds=1))
    wait_until(lambda: sandbox.ledger.accepted("x"), what="the platform to have the post")
    worker = faulty_stack.procs.pop("worker-1")
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    worker.wait(20)
    if http("GET", f"/v1/publications/{pub}")["status"] == "publishing":
        faulty_stack.spawn_worker()  # killed mid-call: reconciliation needs a worker
    settled = wait_until(
        lambda: (p := http("GET", f"/v1/publications/{pub}"))["status"] == "published" and p,
        what="the outcome to be recorded",
    )
    (tweet,) = sandbox.ledger.accepted("x")
    assert settled["external_id"] == tweet.external_id


def _settled_once_and_on_time(http: Http, sandbox, ids: list[int], due: datetime) -> None:
    """Every publication published, each text on the platform once, none before its time."""
    wait_until(
        lambda: all(p["status"] == "published" for p in _statuses(http).values()),
        what="every publication to go out",
        state=lambda: _status_counts(http),
    )
    accepted = sandbox.ledger.accepted("x")
    assert sorted(a.text for a in accepted) == sorted(f"post {i} ✨" for i in range(len(ids)))
    assert min(datetime.fromisoformat(a.received_at) for a in accepted) >= due


def test_database_unreachable_mid_burst_then_everything_goes_out_once(
    runtime, settings, keys, sandbox, tmp_path
):
    """PostgreSQL behind a relay the test cuts: connections reset, new ones refused."""
    from sqlalchemy.engine import make_url

    from tests.e2e.netcut import NetCut

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the PostgreSQL pass cuts the network; the SQLite pass locks the file")
    relay = NetCut(url.host or "127.0.0.1", url.port or 5432).start()
    through_relay = url.set(host="127.0.0.1", port=relay.port).render_as_string(False)
    stack = Stack(
        settings.with_(database_url=through_relay, **FAULT_SETTINGS),
        port=_free_port(),
        workers=2,
        log_dir=tmp_path / "logs",
    ).start()
    try:
        http = Http(stack.api_url, keys)
        sandbox.ledger.latency_s["x"] = 0.1
        due = datetime.now(UTC) + timedelta(seconds=3)
        ids = _plan(http, 40, due)
        wait_until(lambda: len(sandbox.ledger.accepted("x")) >= 5, what="the burst to start")
        relay.cut()
        cut_at = time.monotonic()
        response = requests.get(
            f"{stack.api_url}/v1/publications",
            headers={"Authorization": f"Bearer {keys['editor']}"},
            timeout=30,
        )
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["status"] == 503
        time.sleep(max(0.0, 4 - (time.monotonic() - cut_at)))  # the outage lasts ~4 s
        relay.restore()
        _settled_once_and_on_time(http, sandbox, ids, due)
    finally:
        stack.stop()
        relay.stop()


@pytest.mark.parametrize("faulty_stack", [2], indirect=True)
def test_database_locked_mid_burst_then_everything_goes_out_once(
    faulty_stack, settings, keys, sandbox
):
    """SQLite: another process holds the write lock for some seconds; writers wait."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("the SQLite pass locks the file; the PostgreSQL pass cuts the network")
    http = Http(faulty_stack.api_url, keys)
    sandbox.ledger.latency_s["x"] = 0.1
    due = datetime.now(UTC) + timedelta(seconds=3)
    ids = _plan(http, 40, due)
    wait_until(lambda: len(sandbox.ledger.accepted("x")) >= 5, what="the burst to start")
    locker = sqlite3.connect(url.database, timeout=30, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        time.sleep(4)  # the lock is held ~4 s while the burst wants to write
    finally:
        locker.execute("COMMIT")
        locker.close()
    _settled_once_and_on_time(http, sandbox, ids, due)
