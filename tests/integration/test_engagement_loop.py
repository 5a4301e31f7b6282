"""The whole loop of issue 15 on the sandbox, with the engine's clock moved by the test: a
post goes out, its metrics are pulled at their due times, a signed reply comes back, a
reader and a bot follow its short link, the reader signs up with a member's referral
code, the referrer relays the post, and the same reader is back a week later. The
campaign's report shows each number exactly (new and returning members, the weekly
cohort, the click-through rate, the goals), as JSON, as CSV and as a PNG a test opens."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from PIL import Image

from adapters.sandbox import hooks_out
from publisher.dispatcher import hand_over_pulls
from tests.helpers import drain_queue, flush_clicks, run_pipeline

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PUBLIC = "https://go.acme-asso.fr"
SECRET = "x-consumer-secret"
READER = ("7007", "camille", "Camille Martin")
REFERRER = ("6006", "bastien", "Bastien Roux")
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _hook(api, payload: dict) -> None:
    body, signed = hooks_out.signed("x", payload, SECRET)
    answer = api.client.post("/v1/hooks/x", data=body, headers=signed)
    assert answer.status_code == 200, answer.get_json()


def _pull(runtime, at, when: datetime, sandbox, tweet: str, **counts) -> None:
    """The platform counts `counts` by now; the dispatcher's pass at `when` pulls them."""
    sandbox.ledger.set_metrics("x", tweet, **counts)
    at(when)
    with runtime.session() as session:
        assert hand_over_pulls(session, runtime, now=when) == 1
    drain_queue(runtime)


def _report(api, campaign_id: int, fmt: str = "json"):
    window = "from=2027-03-01T00:00:00Z&to=2027-03-15T00:00:00Z"
    answer = api.client.get(
        f"/v1/campaigns/{campaign_id}/report?{window}&format={fmt}",
        headers={"Authorization": f"Bearer {api.keys['editor']}"},
    )
    assert answer.status_code == 200, answer.data[:300]
    return answer


def test_a_post_comes_back_as_its_campaigns_report(api, scenario, runtime, sandbox, at):
    runtime.settings = runtime.settings.with_(
        public_url=PUBLIC, x_consumer_secret=SECRET, metrics_schedule="1h,1d,3d,7d"
    )
    x, _ = scenario.channels()
    account = x["external_account_id"]
    campaign = api.post(
        "/v1/campaigns",
        {
            "name": "Open day",
            "objective": "recruitment",
            "goals": {"signups": 1, "clicks": 2, "referrals": 1, "new_members": 4},
            "tracking": {"utm_source": "{platform}"},
        },
        expect=201,
    )
    at(T0 - 30 * DAY)  # the referrer has been a member for a month
    referrer = api.post(
        "/v1/members",
        {"external_id": "crm-1", "identities": [{"platform": "x", "account_id": REFERRER[0]}]},
        expect=201,
    )
    code = api.post(f"/v1/members/{referrer['id']}/referral-code", expect=200)["code"]

    at(T0)
    body = scenario.post_body([x], at=T0, text="Open day https://acme-asso.fr/day")
    post = api.post("/v1/posts", {**body, "campaign_id": campaign["id"]}, expect=201)
    scenario.submit_and_approve(post)
    run_pipeline(runtime, now=T0)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "published"
    tweet = pub["external_id"]
    (short,) = re.findall(re.escape(PUBLIC) + r"/l/[a-z2-7]{10}", sandbox.ledger.accepted()[0].text)

    _pull(runtime, at, T0 + HOUR, sandbox, tweet, impression_count=200, like_count=4)
    at(T0 + 2 * HOUR)  # the reader replies, then follows the link, as a bot does
    _hook(api, hooks_out.x_reply(account, "555001", tweet, READER, "See you!", T0 + 2 * HOUR))
    reader_click = api.client.get(short.removeprefix(PUBLIC), headers={"User-Agent": PHONE})
    api.client.get(short.removeprefix(PUBLIC), headers={"User-Agent": "Twitterbot/1.0"})
    assert flush_clicks(runtime) == 2
    click = reader_click.headers["Location"].split("pub_click=")[1]
    at(T0 + 3 * HOUR)  # ... and signs up on the landing page with the referrer's code
    signup = api.client.post(
        "/v1/events",
        json={
            "kind": "signup",
            "campaign_id": campaign["id"],
            "member": {
                "external_id": "crm-2",
                "identities": [{"platform": "x", "account_id": READER[0]}],
            },
            "referral_code": code,
            "click": click,
        },
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": "s-1"},
    )
    assert signup.status_code == 201, signup.get_json()
    at(T0 + DAY - HOUR)  # the referrer relays the post
    _hook(api, hooks_out.x_repost(account, "555002", tweet, REFERRER, T0 + DAY - HOUR))
    _pull(runtime, at, T0 + DAY, sandbox, tweet, impression_count=500, like_count=9)
    _pull(runtime, at, T0 + 3 * DAY, sandbox, tweet, impression_count=800, like_count=12)
    at(T0 + 7 * DAY + 2 * HOUR)  # a week later, the reader is back
    _hook(api, hooks_out.x_like(account, tweet, READER, T0 + 7 * DAY + 2 * HOUR))
    with runtime.session() as session:  # the 7-day pull is due at T0 + 7 days: done above
        assert hand_over_pulls(session, runtime, now=T0 + 7 * DAY + 2 * HOUR) == 1
    drain_queue(runtime)

    history = api.get(f"/v1/publications/{pub['id']}/metrics?history=1")["history"]
    assert [h["metrics"]["impressions"] for h in history] == [200, 500, 800, 800]
    assert [h["taken_at"][:16] for h in history] == [
        "2027-03-01T10:00",
        "2027-03-02T09:00",
        "2027-03-04T09:00",
        "2027-03-08T11:00",
    ]
    report = _report(api, campaign["id"]).get_json()
    totals = report["totals"]
    assert (totals["impressions"], totals["likes"], totals["replies"]) == (800, 12, 0)
    assert (totals["clicks"], totals["bot_clicks"]) == (1, 1)
    assert totals["click_through_rate"] == round(1 / 800, 6)
    assert (totals["conversions"], totals["referrals"]) == ({"signup": 1}, 1)
    # The reader is new (first seen replying, two hours in); the referrer, known for a
    # month, returns to relay the post.
    assert (totals["new_members"], totals["returning_members"]) == (1, 1)
    goals = {g["name"]: (g["actual"], g["progress"]) for g in report["goals"]}
    assert goals == {
        "clicks": (1, 0.5),
        "new_members": (1, 0.25),
        "referrals": (1, 1.0),
        "signups": (1, 1.0),
    }
    # Both first touched the campaign in the window's first week; only the reader came
    # back in the second.
    assert [(c["members"], c["retention"]) for c in report["cohorts"]] == [(2, [0.5]), (0, [])]
    (advocate,) = report["advocates"]
    assert (advocate["external_id"], advocate["results"], advocate["relays"]) == ("crm-1", 1, 1)
    member = api.get(f"/v1/members/{signup.get_json()['member_id']}")
    assert member["first_seen_at"] == "2027-03-01T11:00:00Z"  # the reply, before the sign-up
    assert api.get(f"/v1/members/{member['id']}/summary")["interactions"] == {
        "reply": 1,
        "like": 1,
    }

    rows = list(csv.DictReader(io.StringIO(_report(api, campaign["id"], "csv").text)))
    assert [(r["publication_id"], r["impressions"], r["likes"], r["clicks"]) for r in rows] == [
        (str(pub["id"]), "800", "12", "1")
    ]
    assert rows[0]["conversions"] == "1"
    chart = Image.open(io.BytesIO(_report(api, campaign["id"], "png").data))
    assert chart.size == (1000, 800)
    colours = chart.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 10  # drawn on, not a blank page
    ink = sum(n for n, colour in colours if colour != (255, 255, 255))
    assert ink > 0.02 * 1000 * 800
