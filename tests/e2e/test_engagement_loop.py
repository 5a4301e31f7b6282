"""Engagement through the real processes: a post goes out, the sandbox's X sends a signed
reply and a like to the running API (as X's Account Activity API does), the dispatcher
and a worker pull the post's metrics when they are due, and the API shows both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import hooks_out
from publisher.stack import Stack
from tests.e2e.conftest import Http, _free_port
from tests.helpers import wait_until
from tests.scenario import X_ACCOUNT, X_CREDS

SECRET = "x-consumer-secret-e2e"


@pytest.fixture
def engaged(runtime, settings, tmp_path):
    """The engine with X's webhook secret and metrics pulled a few seconds after a post."""
    tuned = settings.with_(x_consumer_secret=SECRET, metrics_schedule="3s,1h")
    stack = Stack(tuned, port=_free_port(), log_dir=tmp_path / "logs").start()
    yield stack
    stack.stop()


def test_a_reply_and_a_like_come_back_and_metrics_are_pulled_when_due(engaged, keys, sandbox):
    http = Http(engaged.api_url, keys)
    x = http(
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "Acme", "external_account_id": X_ACCOUNT, "credentials": X_CREDS},
        expect=201,
    )
    at = datetime.now(UTC) + timedelta(seconds=2)
    post = http(
        "POST",
        "/v1/posts",
        {"text": "Open day", "targets": [{"channel_id": x["id"], "scheduled_at": at.isoformat()}]},
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    http("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    pub = wait_until(
        lambda: (p := http("GET", f"/v1/publications/{pub_id}"))["status"] == "published" and p,
        timeout_s=60,
        what="the post to go out",
    )
    sandbox.ledger.set_metrics("x", pub["external_id"], like_count=1, impression_count=40)

    url = f"{engaged.api_url}/v1/hooks/x"
    now = datetime.now(UTC)
    fan = ("7007", "camille", "Camille")
    reply = hooks_out.x_reply(X_ACCOUNT, "880001", pub["external_id"], fan, "See you there", now)
    assert hooks_out.send(url, "x", reply, SECRET).json() == {"received": 1, "stored": 1}
    assert hooks_out.send(
        url, "x", hooks_out.x_like(X_ACCOUNT, pub["external_id"], fan, now), SECRET
    ).ok
    assert hooks_out.send(url, "x", reply, SECRET).status_code == 401  # the same delivery again
    assert hooks_out.send(url, "x", reply, "not-the-secret").status_code == 401
    seen = http("GET", f"/v1/interactions?publication_id={pub_id}")
    assert [(i["kind"], i["author_handle"]) for i in seen] == [
        ("reply", "camille"),
        ("like", "camille"),
    ]

    read = wait_until(
        lambda: (m := http("GET", f"/v1/publications/{pub_id}/metrics?history=1"))["history"] and m,
        timeout_s=30,
        what="the first metrics pull",
    )
    assert read["metrics"]["likes"] == 1 and read["metrics"]["impressions"] == 40
    assert datetime.fromisoformat(read["next_pull_at"]) > datetime.now(UTC) + timedelta(minutes=50)
