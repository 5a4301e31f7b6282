"""Issue 12 item 4: a Redis restart (down 4 s) killed busy workers (an unhandled
ConnectionError while RQ recorded a finished job), and `publisher up` exited when any
child died. Workers ride out the outage; the stack starts a dead child again."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import Fault
from publisher.stack import Stack
from publisher.system.embedded import start_private_redis
from tests.e2e.conftest import Http
from tests.e2e.test_faults import FAULT_SETTINGS, _free_port, _plan, _statuses
from tests.helpers import wait_until

# Redis going away and a child process dying: what is tested is the processes' (outcomes
# are written as in every other test), the same whichever database; run once.
pytestmark = pytest.mark.any_database


def _one_more(http: Http, text: str) -> int:
    """One more approved X publication on the channel `_plan` made, due in a second."""
    (channel,) = http("GET", "/v1/channels")
    (campaign,) = http("GET", "/v1/campaigns")
    when = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    target = {"channel_id": channel["id"], "scheduled_at": when, "time_zone": "UTC"}
    body = {"campaign_id": campaign["id"], "text": text, "targets": [target]}
    post = http("POST", "/v1/posts", body, expect=201)
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    pub = post["publications"][0]["id"]
    http("POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
    return pub


def test_a_busy_worker_rides_out_a_redis_restart(runtime, settings, keys, sandbox, tmp_path):
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
        worker = stack.procs["worker-1"]
        # The post is held 4 s by the platform: Redis goes down while the job runs and is
        # still down when the worker records the job as finished.
        sandbox.ledger.inject("x", Fault(hold_s=4.0, accept=True))
        (first,) = _plan(http, 1, datetime.now(UTC) + timedelta(seconds=2), prefix="first")
        wait_until(lambda: _statuses(http)[first]["status"] == "publishing", what="the send")
        redis_proc.kill()
        redis_proc.wait()
        time.sleep(6)
        redis_proc = start_redis()
        wait_until(
            lambda: _statuses(http)[first]["status"] == "published", what="the first to settle"
        )
        assert worker.poll() is None, "the worker died with Redis"
        second = _one_more(http, "second 0 ✨")
        wait_until(
            lambda: _statuses(http)[second]["status"] == "published",
            timeout_s=60,
            what="the same worker to send the next one",
        )
        assert worker.poll() is None
        assert sorted(a.text for a in sandbox.ledger.accepted("x")) == ["first 0 ✨", "second 0 ✨"]
    finally:
        stack.stop()
        redis_proc.kill()


def test_the_stack_starts_a_dead_child_again(runtime, settings, keys, sandbox, tmp_path):
    stack = Stack(
        settings.with_(**FAULT_SETTINGS), port=_free_port(), log_dir=tmp_path / "logs"
    ).start()
    try:
        dead = stack.procs["worker-1"]
        os.killpg(dead.pid, signal.SIGKILL)
        dead.wait(10)
        wait_until(lambda: "worker-1" in stack.watch_once(), what="the worker to start again")
        assert stack.procs["worker-1"].pid != dead.pid
        http = Http(stack.api_url, keys)
        (pub,) = _plan(http, 1, datetime.now(UTC) + timedelta(seconds=1))
        wait_until(
            lambda: _statuses(http)[pub]["status"] == "published",
            what="the new worker to send it",
        )
    finally:
        stack.stop()


def test_an_idle_worker_stops_on_sigterm(runtime, settings, tmp_path):
    """RQ marks a stop request only when a job is running: an idle worker's SIGTERM ended
    RQ's loop as if by itself, and the loop that rides out Redis outages started it again."""
    stack = Stack(
        settings.with_(**FAULT_SETTINGS), port=_free_port(), log_dir=tmp_path / "logs"
    ).start()
    try:
        worker = stack.procs.pop("worker-1")
        wait_until(
            lambda: "Listening on" in (tmp_path / "logs" / "worker-1.log").read_text(),
            what="the worker to wait for jobs",
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        stack.stop()
