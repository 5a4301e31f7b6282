"""Issue 12 item 2: a worker stopped (SIGSTOP) after claiming, past its claim's lease: the
claim expired, reconciliation found nothing and another worker sent the post; when the
first worker resumed, its sender thread sent it again. With a platform that accepts
duplicates (the sandbox told so), only the engine can prevent that: a sender checks its
lease right before each platform request. The sandbox's ledger is the judge."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import requests

from adapters.sandbox import Fault
from publisher.stack import Stack
from tests.e2e.conftest import Http
from tests.e2e.test_faults import FAULT_SETTINGS, _free_port
from tests.helpers import wait_until
from tests.samples import png
from tests.scenario import X_ACCOUNT, X_CREDS


def _upload(stack: Stack, keys) -> int:
    response = requests.post(
        f"{stack.api_url}/v1/media",
        files={"file": ("a.png", png(), "image/png")},
        headers={"Authorization": f"Bearer {keys['editor']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_worker_paused_past_its_lease_sends_nothing_when_it_resumes(
    runtime, settings, tmp_path, keys, sandbox
):
    sandbox.ledger.duplicates_refused = False  # a platform that posts the same text twice
    stack = Stack(
        settings.with_(**FAULT_SETTINGS), port=_free_port(), workers=2, log_dir=tmp_path / "logs"
    ).start()
    try:
        http = Http(stack.api_url, keys)
        channel = http(
            "POST",
            "/v1/channels",
            {
                "platform": "x",
                "name": "X",
                "external_account_id": X_ACCOUNT,
                "credentials": X_CREDS,
            },
            expect=201,
        )
        campaign = http(
            "POST", "/v1/campaigns", {"name": "c", "objective": "awareness"}, expect=201
        )
        # The image upload is held 3 s: the worker that claimed it is frozen meanwhile.
        sandbox.ledger.inject("x", Fault(on="media", hold_s=3.0))
        at = datetime.now(UTC) + timedelta(seconds=3)
        post = http(
            "POST",
            "/v1/posts",
            {
                "campaign_id": campaign["id"],
                "text": "Open day, with a picture",
                "media": [{"media_id": _upload(stack, keys)}],
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
        pub_id = post["publications"][0]["id"]
        http("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
        wait_until(
            lambda: http("GET", f"/v1/publications/{pub_id}")["status"] == "publishing",
            what="a worker to claim it",
        )
        frozen = [stack.procs["worker-1"], stack.procs["worker-2"]]
        for proc in frozen:
            os.killpg(proc.pid, signal.SIGSTOP)
        stack.spawn_worker()  # a third worker, with nothing to hide
        # The claim lapses, is found unsent, and the third worker posts it. (The check's
        # job, taken by a frozen worker's blocking pop, is handed over again within
        # seconds: it waited a minute per frozen worker before.)
        wait_until(
            lambda: http("GET", f"/v1/publications/{pub_id}")["status"] == "published",
            timeout_s=60,
            what="the third worker to post it",
        )
        assert len(sandbox.ledger.accepted("x")) == 1
        for proc in frozen:
            os.killpg(proc.pid, signal.SIGCONT)
        # The resumed worker's job ends (its lease lapsed before its next request, or RQ's
        # job timeout, long past, fires at once); nothing more reaches the platform.
        logs = [tmp_path / "logs" / f"worker-{n}.log" for n in (1, 2)]
        wait_until(
            lambda: any(
                "the claim's lease lapsed" in text or "exceeded maximum timeout" in text
                for text in (log.read_text() for log in logs)
            ),
            timeout_s=30,
            what="the resumed worker's job to end",
        )
        time.sleep(5)  # a sender that were to go on would have reached the platform by now
        assert len(sandbox.ledger.accepted("x")) == 1
        assert http("GET", f"/v1/publications/{pub_id}")["status"] == "published"
    finally:
        for proc in stack.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGCONT)
        stack.stop()
