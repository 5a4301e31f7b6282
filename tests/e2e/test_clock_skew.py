"""Issue 12 item 1: with a dispatcher and a worker running 30 s ahead (libfaketime), 200
of 200 publications went out up to 29.7 s early, and a dispatcher ahead of correct
workers had its early hand-overs bounced back thousands of times. Every process now tells
time by the shared clock (Redis TIME) and a process too far from it neither dispatches
nor sends. The sandbox's ledger (its own clock) is the judge."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
import requests

from publisher.stack import Stack
from tests.e2e.conftest import Http
from tests.e2e.test_faults import FAULT_SETTINGS, _free_port, _plan, _statuses
from tests.helpers import wait_until

AHEAD = ("faketime", "-f", "+30s")


@pytest.fixture
def skewed_stack(runtime, settings, tmp_path):
    """A correct API, dispatcher and worker, plus a dispatcher and a worker 30 s ahead."""
    assert shutil.which("faketime"), "scripts/debian-packages installs faketime"
    stack = Stack(
        settings.with_(**FAULT_SETTINGS), port=_free_port(), log_dir=tmp_path / "logs"
    ).start()
    stack.spawn("dispatcher-ahead", "dispatcher", wrapper=AHEAD)
    stack.spawn("worker-ahead", "worker", wrapper=AHEAD)
    yield stack
    stack.stop()


def test_clocks_ahead_send_nothing_early_and_bounce_nothing(skewed_stack, keys, sandbox, tmp_path):
    http = Http(skewed_stack.api_url, keys)

    def clock() -> dict:
        return requests.get(f"{skewed_stack.api_url}/readyz", timeout=5).json()["checks"]["clock"]

    # The API, both dispatchers and both workers each say how far their clock is.
    wait_until(lambda: len(clock()["offsets_s"]) >= 5, timeout_s=60, what="every clock's beat")
    found = clock()
    assert sorted(round(o) for o in found["offsets_s"].values()) == [-30, -30, 0, 0, 0], found
    # The API itself is on time: it stays in service, naming the two that stand aside.
    ready = requests.get(f"{skewed_stack.api_url}/readyz", timeout=5)
    assert ready.status_code == 200 and found["ok"] is True
    assert sorted(name.split("@")[0] for name in found["skewed"]) == ["dispatcher", "worker"]

    due = datetime.now(UTC) + timedelta(seconds=12)
    ids = _plan(http, 20, due)
    wait_until(
        lambda: all(p["status"] == "published" for p in _statuses(http).values()),
        timeout_s=120,
        what="all 20 to go out",
    )
    sent = sandbox.ledger.accepted("x")
    assert len(sent) == 20 and len({a.text for a in sent}) == 20
    assert min(datetime.fromisoformat(a.received_at) for a in sent) >= due
    # No bounce: each went scheduled -> queued -> publishing -> published, once.
    for pub_id in ids:
        moves = [
            (e["from_status"], e["to_status"])
            for e in http("GET", f"/v1/publications/{pub_id}/history")
            if e["kind"] == "publication.transition"
        ]
        assert moves[-3:] == [
            ("scheduled", "queued"),
            ("queued", "publishing"),
            ("publishing", "published"),
        ], moves
        assert ("queued", "scheduled") not in moves
    logs = tmp_path / "logs"
    assert "takes no job" in (logs / "worker-ahead.log").read_text()
    assert "neither dispatches nor sends" in (logs / "dispatcher-ahead.log").read_text()
