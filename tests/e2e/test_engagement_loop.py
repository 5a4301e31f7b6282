"""Engagement through the real processes: a post goes out with its link as a short link,
the sandbox's X sends a signed reply and a like to the running API (as X's Account
Activity API does), a reader and a bot follow the short link, a member recruited by
another signs up; the dispatcher and a worker pull the post's metrics when they are due
and write the clicks; the campaign's report shows each number, as JSON, CSV and PNG."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.sandbox import hooks_out
from publisher.stack import Stack
from tests.e2e.conftest import Http, _free_port
from tests.helpers import wait_until
from tests.scenario import X_ACCOUNT, X_CREDS

SECRET = "x-consumer-secret-e2e"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


@pytest.fixture
def engaged(runtime, settings, tmp_path):
    """The engine with X's webhook secret and metrics pulled a few seconds after a post."""
    port = _free_port()
    tuned = settings.with_(
        x_consumer_secret=SECRET,
        metrics_schedule="3s,1h",
        public_url=f"http://127.0.0.1:{port}",
    )
    stack = Stack(tuned, port=port, log_dir=tmp_path / "logs").start()
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
    campaign = http(
        "POST",
        "/v1/campaigns",
        {
            "name": "Open day",
            "objective": "recruitment",
            "goals": {"signups": 2, "clicks": 4},
            "tracking": {"utm_source": "{platform}"},
        },
        expect=201,
    )
    at = datetime.now(UTC) + timedelta(seconds=2)
    post = http(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": "Open day https://acme-asso.fr/day",
            "targets": [{"channel_id": x["id"], "scheduled_at": at.isoformat()}],
        },
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
    # The sandbox sends the reply, signed as X signs it (its control API, as a tester would).
    args = {"for_user": X_ACCOUNT, "reply_id": "880001", "in_reply_to": pub["external_id"]}
    args |= {"author": list(fan), "text": "See you there", "at": now.isoformat()}
    sent = requests.post(
        f"{sandbox.x_url}/_sandbox/webhooks",
        json={"url": url, "secret": SECRET, "event": "x_reply", "args": args},
        timeout=10,
    )
    assert sent.json() == {"status": 200, "body": {"received": 1, "stored": 1}}
    reply = hooks_out.x_reply(X_ACCOUNT, "880001", pub["external_id"], fan, "See you there", now)
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

    # The link went out short; a reader (from t.co) and a bot follow it.
    (sent,) = sandbox.ledger.accepted("x")
    short = re.search(r"http://127\.0\.0\.1:\d+/l/[a-z2-7]{10}", sent.text).group(0)
    reader = requests.get(
        short,
        allow_redirects=False,
        timeout=10,
        headers={"User-Agent": PHONE, "Referer": "https://t.co/x"},
    )
    assert reader.status_code == 302
    landing = reader.headers["Location"]
    assert landing.startswith("https://acme-asso.fr/day?utm_source=x&pub_click=")
    click = landing.rpartition("pub_click=")[2]  # the landing page reports the sign-up with it
    bot = requests.get(
        short, allow_redirects=False, timeout=10, headers={"User-Agent": "Twitterbot/1.0"}
    )
    assert bot.status_code == 302
    # A member's referral code brings a sign-up; the same member engages again.
    sponsor = http("POST", "/v1/members", {"external_id": "crm-1"}, expect=201)
    code = http("POST", f"/v1/members/{sponsor['id']}/referral-code", expect=200)["code"]
    for key, body in [
        (
            "k1",
            {
                "kind": "signup",
                "member": {"external_id": "crm-2"},
                "referral_code": code,
                "click": click,
            },
        ),
        ("k2", {"kind": "purchase", "member": {"external_id": "crm-2"}}),
    ]:
        answer = requests.post(
            f"{engaged.api_url}/v1/events",
            json={**body, "campaign_id": campaign["id"]},
            timeout=10,
            headers={"Authorization": f"Bearer {keys['automation']}", "Idempotency-Key": key},
        )
        assert answer.status_code == 201, answer.text

    window = f"from={(at - timedelta(minutes=5)):%Y-%m-%dT%H:%M:%SZ}&to=" + (
        f"{(datetime.now(UTC) + timedelta(minutes=5)):%Y-%m-%dT%H:%M:%SZ}"
    )
    report = wait_until(
        lambda: (
            (r := http("GET", f"/v1/campaigns/{campaign['id']}/report?{window}"))["totals"][
                "clicks"
            ]
            == 1
            and r
        ),
        timeout_s=30,
        what="the clicks to be written",
    )
    totals = report["totals"]
    assert (totals["publications"], totals["impressions"], totals["likes"]) == (1, 40, 1)
    assert (totals["clicks"], totals["bot_clicks"]) == (1, 1)
    assert totals["click_through_rate"] == 0.025
    assert totals["conversions"] == {"purchase": 1, "signup": 1}
    # New: the reader who signed up, and Camille, a member since her reply.
    assert (totals["new_members"], totals["returning_members"]) == (2, 0)
    goals = {g["name"]: g["progress"] for g in report["goals"]}
    assert goals == {"clicks": 0.25, "signups": 0.5}
    assert [a["member_id"] for a in report["advocates"]] == [sponsor["id"]]
    assert [p["conversions"] for p in report["best"]] == [{"signup": 1}]  # through its link
    recruit = http("GET", f"/v1/members/{sponsor['id']}/recruits")[0]
    assert http("GET", f"/v1/members/{recruit['id']}/summary")["clicks"] == 1
    for fmt, mimetype in (("csv", "text/csv"), ("png", "image/png")):
        answer = requests.get(
            f"{engaged.api_url}/v1/campaigns/{campaign['id']}/report?{window}&format={fmt}",
            timeout=30,
            headers={"Authorization": f"Bearer {keys['editor']}"},
        )
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(mimetype)
    assert answer.content[:8] == b"\x89PNG\r\n\x1a\n"
