"""The user's path through real processes; every outcome judged from the sandbox's ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import wait_until
from tests.scenario import FB_CREDS, FB_PAGE, TEXT, X_CREDS

SETTLED = {"published", "failed", "unknown"}


def _channels(http):
    x = http(
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "X", "external_account_id": "1001", "credentials": X_CREDS},
        expect=201,
    )
    fb = http(
        "POST",
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "Page",
            "external_account_id": FB_PAGE,
            "credentials": FB_CREDS,
        },
        expect=201,
    )
    return x, fb


def _post(http, campaign, channels, text, at):
    return http(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": text,
            "targets": [
                {
                    "channel_id": c["id"],
                    "scheduled_at": at.isoformat(),
                    "time_zone": "America/New_York",
                }
                for c in channels
            ],
        },
        expect=201,
    )


def _wait(http, post_id, statuses):
    def settled():
        pubs = http("GET", f"/v1/posts/{post_id}")["publications"]
        return all(p["status"] in statuses for p in pubs) and pubs

    return wait_until(settled, what=f"post {post_id} to settle")


def test_plan_approve_publish_through_real_processes(http, sandbox):
    x, fb = _channels(http)
    campaign = http(
        "POST", "/v1/campaigns", {"name": "Loyalty week", "objective": "loyalty"}, expect=201
    )
    at = datetime.now(UTC) + timedelta(seconds=2)
    post = _post(http, campaign, [x, fb], TEXT, at)
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    queue = http("GET", "/v1/reviews", as_="reviewer")
    assert {item["preview"]["platform"] for item in queue} == {"x", "facebook"}
    for item in queue:
        http(
            "POST",
            f"/v1/reviews/{item['publication']['id']}/approve",
            {"comment": "go", "revision": 1},
            as_="reviewer",
            expect=201,
        )

    pubs = _wait(http, post["id"], SETTLED)

    assert {p["status"] for p in pubs} == {"published"}
    tweets, feed = sandbox.ledger.accepted("x"), sandbox.ledger.accepted("facebook")
    assert [t.text for t in tweets] == [TEXT]
    assert [f.text for f in feed] == [TEXT]
    assert {p["external_id"] for p in pubs} == {tweets[0].external_id, feed[0].external_id}
    for accepted in (*tweets, *feed):  # never early, by the platform's own clock
        assert datetime.fromisoformat(accepted.received_at) >= at


def test_unapproved_edited_and_rejected_posts_stay_home(http, sandbox):
    x, _ = _channels(http)
    campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "engagement"}, expect=201)
    at = datetime.now(UTC) + timedelta(seconds=1)
    waiting = _post(http, campaign, [x], "never approved", at)
    http("POST", f"/v1/posts/{waiting['id']}/submit", expect=200)
    edited = _post(http, campaign, [x], "approved then edited", at + timedelta(seconds=1))
    http("POST", f"/v1/posts/{edited['id']}/submit", expect=200)
    edited_pub = edited["publications"][0]["id"]
    http("POST", f"/v1/reviews/{edited_pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
    http("PATCH", f"/v1/posts/{edited['id']}", {"text": "edited, not yet approved"}, expect=200)
    rejected = _post(http, campaign, [x], "rejected", at)
    http("POST", f"/v1/posts/{rejected['id']}/submit", expect=200)
    http(
        "POST",
        f"/v1/reviews/{rejected['publications'][0]['id']}/reject",
        {"comment": "no", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    control = _post(http, campaign, [x], "the control post", at + timedelta(seconds=2))
    http("POST", f"/v1/posts/{control['id']}/submit", expect=200)
    http(
        "POST",
        f"/v1/reviews/{control['publications'][0]['id']}/approve",
        {"revision": 1},
        as_="reviewer",
        expect=201,
    )

    # The control post is due last: once it is out, every other one has had its chance.
    assert _wait(http, control["id"], SETTLED)[0]["status"] == "published"
    assert [a.text for a in sandbox.ledger.accepted()] == ["the control post"]
    assert http("GET", f"/v1/publications/{edited_pub}")["status"] == "in_review"

    http("POST", f"/v1/reviews/{edited_pub}/approve", {"revision": 2}, as_="reviewer", expect=201)
    assert _wait(http, edited["id"], SETTLED)[0]["status"] == "published"
    assert [a.text for a in sandbox.ledger.accepted()] == [
        "the control post",
        "edited, not yet approved",
    ]
