"""Campaign reports (issue 15, part 6): every number equals the sum of the stored facts,
re-computed here from the raw rows; the same figures as CSV; the window before to compare;
goals measured. Built through the API and the engine's own pulls and redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.sandbox import hooks_out
from api.engage.reports import CHANNEL_WIDE, DAY_WIDE
from publisher.core.engagement_models import Interaction, LinkClick, MetricSnapshot
from publisher.core.models import Conversion, Member, Post, Publication
from publisher.dispatcher import hand_over_pulls
from tests.helpers import drain_queue, flush_clicks, run_pipeline

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PUBLIC = "https://go.acme-asso.fr"
X_SECRET = "x-consumer-secret"
FAN = ("7007", "camille", "Camille")
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _pull(runtime, at, when: datetime) -> None:
    at(when)
    with runtime.session() as session:
        hand_over_pulls(session, runtime, now=when)
    drain_queue(runtime)


def _event(api, key: str, body: dict) -> dict:
    answer = api.client.post(
        "/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": key},
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _click(api, at, when: datetime, url: str, agent: str = PHONE) -> None:
    at(when)
    answer = api.client.get(url.removeprefix(PUBLIC), headers={"User-Agent": agent})
    assert answer.status_code == 302


@pytest.fixture
def campaign(api, scenario, runtime, sandbox, at):
    """A campaign with goals: two posts on day 1 (one on X and Facebook, one on X alone)
    and one on day 2; metrics pulled twice; clicks by people and a bot; sign-ups by a new
    member and one known before, one recruited by the other; a custom event; a reply."""
    runtime.settings = runtime.settings.with_(public_url=PUBLIC, x_consumer_secret=X_SECRET)
    at(T0 - 3 * DAY)
    veteran = api.post("/v1/members", {"external_id": "m-old", "name": "Old"}, expect=201)
    code = api.post(f"/v1/members/{veteran['id']}/referral-code", expect=200)["code"]
    made = api.post(
        "/v1/campaigns",
        {
            "name": "Spring",
            "objective": "recruitment",
            "goals": {"signups": 4, "impressions": 1000, "clicks": 5, "smiles": 3},
            "tracking": {"utm_source": "{platform}"},
        },
        expect=201,
    )
    x, fb = scenario.channels()
    posts = []
    for channels, when, text in [
        ([x, fb], T0, "Day one https://acme-asso.fr/a"),
        ([x], T0 + 2 * HOUR, "Day one again https://acme-asso.fr/b"),
        ([x], T0 + DAY, "Day two https://acme-asso.fr/c"),
    ]:
        post = api.post(
            "/v1/posts", scenario.post_body(channels, at=when, campaign=made, text=text), expect=201
        )
        scenario.submit_and_approve(post)
        posts.append(post)
    for when in (T0, T0 + 2 * HOUR, T0 + DAY):
        at(when)
        run_pipeline(runtime, now=when)
    pubs = [scenario.publication(p["id"]) for post in posts for p in post["publications"]]
    assert {p["status"] for p in pubs} == {"published"}
    for n, pub in enumerate(pubs):
        platform = "x" if pub["channel_id"] == x["id"] else "facebook"
        if platform == "x":
            sandbox.ledger.set_metrics(
                "x",
                pub["external_id"],
                impression_count=100 * (n + 1),
                like_count=n + 1,
                retweet_count=1,
                reply_count=0,
            )
        else:
            sandbox.ledger.set_metrics("facebook", pub["external_id"], reactions=5, shares=2)
    _pull(runtime, at, T0 + DAY + 2 * HOUR)  # the first pull of every one
    for n, pub in enumerate(pubs):  # then they grow: a later pull counts, not their sum
        if pub["channel_id"] == x["id"]:
            sandbox.ledger.set_metrics(
                "x",
                pub["external_id"],
                impression_count=300 * (n + 1),
                like_count=2 * (n + 1),
                retweet_count=1,
                reply_count=1,
            )
    _pull(runtime, at, T0 + DAY + 7 * HOUR)

    links = {p["id"]: api.get(f"/v1/publications/{p['id']}/links") for p in pubs}
    first = links[pubs[0]["id"]][0]["url"]
    for minutes in (10, 20, 30):
        _click(api, at, T0 + 2 * HOUR + timedelta(minutes=minutes), first)
    _click(api, at, T0 + 3 * HOUR, first, agent="Twitterbot/1.0")
    _click(api, at, T0 + DAY + HOUR, links[pubs[-1]["id"]][0]["url"])
    _click(api, at, T0 - HOUR, first)  # before the window: not counted in it
    _click(api, at, T0 + 14 * HOUR + 58 * timedelta(minutes=1), first)  # 23:58: still day 1
    _click(api, at, T0 + DAY + 3 * HOUR, first)  # day 2, on a day-1 publication
    flush_clicks(runtime)

    at(T0 + 2 * DAY)
    base = {"kind": "signup", "campaign_id": made["id"]}
    _event(
        api,
        "s1",
        {
            **base,
            "member": {"external_id": "m-new"},
            "referral_code": code,
            "occurred_at": _iso(T0 + 4 * HOUR),
        },
    )
    _event(
        api,
        "s2",
        {**base, "member": {"external_id": "m-old"}, "occurred_at": _iso(T0 + DAY + 4 * HOUR)},
    )
    _event(api, "s3", {**base, "occurred_at": _iso(T0 + DAY + 5 * HOUR)})
    _event(
        api,
        "c1",
        {
            "kind": "custom",
            "name": "webinar",
            "campaign_id": made["id"],
            "value_cents": 1500,
            "currency": "EUR",
            "occurred_at": _iso(T0 + 5 * HOUR),
        },
    )
    _event(api, "s0", {**base, "occurred_at": _iso(T0 - DAY)})  # before the window
    # Someone replies on day 2 (a member from then on: the networks brought them).
    reply = hooks_out.x_reply(
        x["external_account_id"],
        "777001",
        pubs[0]["external_id"],
        FAN,
        "Count me in",
        T0 + 30 * HOUR,
    )
    body, signed = hooks_out.signed("x", reply, X_SECRET)
    assert api.client.post("/v1/hooks/x", data=body, headers=signed).status_code == 200
    return {"campaign": made, "x": x, "fb": fb, "pubs": pubs, "veteran": veteran}


def _facts(runtime, campaign_id: int, start: datetime, end: datetime) -> dict:
    """The report's totals, re-computed from the raw rows in Python."""
    with runtime.session() as session:
        pubs = (
            session.execute(
                select(Publication)
                .join(Post, Post.id == Publication.post_id)
                .where(Post.campaign_id == campaign_id)
            )
            .scalars()
            .all()
        )
        ours = {p.id for p in pubs}
        pubs = [p for p in pubs if p.published_at and start <= p.published_at < end]
        interactions = session.execute(select(Interaction)).scalars().all()
        snapshots = session.execute(select(MetricSnapshot)).scalars().all()
        clicks = session.execute(select(LinkClick)).scalars().all()
        conversions = session.execute(select(Conversion)).scalars().all()
        members = {m.id: m for m in session.execute(select(Member)).scalars()}
    impressions = likes = shares = replies = reach = 0
    for pub in pubs:
        taken = [
            s
            for s in snapshots
            if s.publication_id == pub.id and s.metrics is not None and s.taken_at < end
        ]
        last = max(taken, key=lambda s: (s.taken_at, s.id)).metrics if taken else {}
        impressions += last.get("impressions", 0)
        likes += last.get("likes", 0)
        shares += last.get("shares", 0)
        replies += last.get("replies", 0)
        reach += last.get("reach", 0)
    in_window = [c for c in clicks if c.campaign_id == campaign_id and start <= c.at < end]
    results = [
        c for c in conversions if c.campaign_id == campaign_id and start <= c.occurred_at < end
    ]
    people = {c.member_id for c in results if c.member_id} | {
        i.member_id
        for i in interactions
        if i.member_id and i.publication_id in ours and start <= i.occurred_at < end
    }
    return {
        "publications": len(pubs),
        "impressions": impressions,
        "likes": likes,
        "shares": shares,
        "replies": replies,
        "reach": reach,
        "clicks": sum(1 for c in in_window if not c.bot),
        "bot_clicks": sum(1 for c in in_window if c.bot),
        "signups": sum(1 for c in results if c.kind == "signup"),
        "referrals": sum(
            1 for c in results if c.kind == "referral" or (c.kind == "signup" and c.referrer_id)
        ),
        "new_members": sum(1 for m in people if members[m].first_seen_at >= start),
        "returning_members": sum(1 for m in people if members[m].first_seen_at < start),
    }


def test_every_figure_is_the_sum_of_the_stored_facts(api, runtime, campaign):
    c = campaign["campaign"]["id"]
    start, end = T0, T0 + 3 * DAY
    report = api.get(f"/v1/campaigns/{c}/report?from={_iso(start)}&to={_iso(end)}")
    facts = _facts(runtime, c, start, end)
    totals = report["totals"]
    assert {k: totals[k] for k in facts if k != "signups"} == {
        k: v for k, v in facts.items() if k != "signups"
    }
    assert totals["conversions"] == {"signup": facts["signups"], "custom:webinar": 1}
    assert totals["value_cents"] == {"EUR": 1500}
    # Known by construction too, so that a wrong oracle cannot hide a wrong report.
    assert (totals["publications"], totals["clicks"], totals["bot_clicks"]) == (4, 6, 1)
    assert (totals["new_members"], totals["returning_members"]) == (2, 1)  # with the replier
    assert totals["referrals"] == 1
    assert totals["engagements"] == sum(
        totals[k] for k in ("likes", "shares", "replies", "quotes", "bookmarks")
    )
    assert totals["engagement_rate"] == round(totals["engagements"] / totals["impressions"], 6)
    assert totals["click_through_rate"] == round(6 / totals["impressions"], 6)
    goals = {g["name"]: g for g in report["goals"]}
    assert goals["signups"] == {"name": "signups", "target": 4, "actual": 3, "progress": 0.75}
    assert goals["clicks"]["actual"] == 6 and goals["smiles"]["actual"] is None
    assert goals["clicks"]["progress"] == 1.2
    assert goals["impressions"]["actual"] == facts["impressions"]
    # By channel and by day add up to the totals.
    assert sum(ch["impressions"] for ch in report["by_channel"]) == totals["impressions"]
    assert {ch["channel_name"] for ch in report["by_channel"]} == {"Acme on X", "Acme Page"}
    # A metric a platform does not count is null on its line, not a 0 nobody reported.
    lines = {ch["platform"]: ch for ch in report["by_channel"]}
    assert lines["x"]["reach"] is None and lines["facebook"]["bookmarks"] is None
    assert lines["facebook"]["reach"] == totals["reach"] == facts["reach"]
    assert lines["x"]["bookmarks"] == totals["bookmarks"]
    days = {d["day"]: d for d in report["by_day"]}
    assert (days["2027-03-01"]["publications"], days["2027-03-02"]["publications"]) == (3, 1)
    assert (days["2027-03-01"]["clicks"], days["2027-03-02"]["clicks"]) == (4, 2)
    assert days["2027-03-02"]["conversions"] == {"signup": 2}
    # What each line counts adds up to the totals; what it does not count is null there.
    assert sum(ch["bot_clicks"] for ch in report["by_channel"]) == totals["bot_clicks"]
    assert sum(d["referrals"] for d in days.values()) == totals["referrals"]
    values = [d["value_cents"].get("EUR", 0) for d in days.values()]
    assert sum(values) == totals["value_cents"]["EUR"]
    for line, unknown in [(ch, CHANNEL_WIDE) for ch in report["by_channel"]] + [
        (d, DAY_WIDE) for d in days.values()
    ]:
        assert all(line[name] is None for name in unknown)
    (advocate,) = report["advocates"]
    assert (advocate["member_id"], advocate["results"]) == (campaign["veteran"]["id"], 1)
    ranked = report["best"] + report["worst"]
    assert len({p["publication_id"] for p in ranked}) == 4
    assert report["best"][0]["engagements"] >= report["best"][-1]["engagements"]


@pytest.mark.parametrize(
    "since, until",
    [
        (timedelta(minutes=2, seconds=1), timedelta(minutes=33, seconds=59)),  # both edges cut
        (timedelta(minutes=3), timedelta(minutes=4)),  # inside one five minutes
        (timedelta(minutes=7, seconds=30), timedelta(minutes=12, seconds=30)),  # across one edge
        (timedelta(0), timedelta(minutes=35)),  # whole five minutes only
        (-timedelta(hours=6, seconds=1), timedelta(hours=20)),  # whole days and cut ones
        (-timedelta(days=2), timedelta(days=2)),
        (timedelta(minutes=33, seconds=59), timedelta(minutes=33, seconds=59, microseconds=1)),
    ],
)
def test_a_window_that_cuts_through_five_minutes_counts_exactly_the_clicks_inside(
    api, runtime, campaign, at, since, until
):
    """Whole five minutes are read from the tallies, the window's edges click by click."""
    c = campaign["campaign"]["id"]
    url = api.get(f"/v1/publications/{campaign['pubs'][0]['id']}/links")[0]["url"]
    base = T0 + 5 * HOUR
    for offset in (1, 119, 121, 179, 181, 450, 599, 600, 601, 1200, 2039, 2100):
        _click(api, at, base + timedelta(seconds=offset), url)
    _click(api, at, base + timedelta(seconds=599), url, agent="Twitterbot/1.0")
    _click(api, at, base + timedelta(minutes=33, seconds=59), url)
    flush_clicks(runtime)
    start, end = base + since, base + until
    window = f"from={_iso(start)}&to={_iso(end)}"
    report = api.get(f"/v1/campaigns/{c}/report?{window}")
    facts = _facts(runtime, c, start, end)
    assert (report["totals"]["clicks"], report["totals"]["bot_clicks"]) == (
        facts["clicks"],
        facts["bot_clicks"],
    )
    assert sum(day["clicks"] for day in report["by_day"]) == facts["clicks"]
    assert sum(ch["clicks"] for ch in report["by_channel"]) == facts["clicks"]
    assert sum(ch["bot_clicks"] for ch in report["by_channel"]) == facts["bot_clicks"]


def test_a_window_ending_before_the_last_pull_reads_the_pull_before(api, runtime, campaign):
    c = campaign["campaign"]["id"]
    start, end = T0, T0 + DAY + 3 * HOUR
    report = api.get(f"/v1/campaigns/{c}/report?from={_iso(start)}&to={_iso(end)}")
    facts = _facts(runtime, c, start, end)
    assert report["totals"]["impressions"] == facts["impressions"] > 0
    later = api.get(f"/v1/campaigns/{c}/report?from={_iso(start)}&to={_iso(T0 + 3 * DAY)}")
    assert later["totals"]["impressions"] > report["totals"]["impressions"]


def test_the_days_are_the_reports_time_zone(api, campaign):
    c = campaign["campaign"]["id"]
    query = f"from={_iso(T0)}&to={_iso(T0 + 3 * DAY)}&time_zone=Pacific/Kiritimati"  # UTC+14
    days = {d["day"]: d for d in api.get(f"/v1/campaigns/{c}/report?{query}")["by_day"]}
    # 09:00 and 11:00 UTC on 1 March are 23:00 that day and 01:00 on 2 March there.
    assert days["2027-03-01"]["publications"] == 2 and days["2027-03-02"]["publications"] == 2


def test_the_window_before_is_compared(api, campaign):
    c = campaign["campaign"]["id"]
    query = f"from={_iso(T0 + DAY)}&to={_iso(T0 + 2 * DAY)}&compare=previous"
    report = api.get(f"/v1/campaigns/{c}/report?{query}")
    compare = report["compare"]
    assert (compare["from"], compare["to"]) == (_iso(T0), _iso(T0 + DAY))
    assert (compare["totals"]["publications"], report["totals"]["publications"]) == (3, 1)
    assert compare["change"]["publications"] == round((1 - 3) / 3, 6)
    assert compare["change"]["bot_clicks"] == -1.0
    # Two clicks on day 2, one of them on a day-1 publication: the rate counts the other.
    totals = report["totals"]
    assert totals["clicks"] == 2
    assert totals["click_through_rate"] == round(1 / totals["impressions"], 6)
    assert compare["change"]["returning_members"] is None  # from 0
