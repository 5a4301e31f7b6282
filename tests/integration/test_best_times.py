"""When to post (issue 15, part 7): a channel's history by hour of the week, in its zone;
the best hours by how their posts did, the audience's busiest filling the rest; the
posting slots filled from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import hooks_out
from publisher.dispatcher import hand_over_pulls
from tests.helpers import drain_queue, rows_digest, run_pipeline

MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC (10:00 in Paris)
WEEK, DAY, HOUR = timedelta(weeks=1), timedelta(days=1), timedelta(hours=1)
X_SECRET = "x-consumer-secret"
FAN = ("7007", "camille", "Camille")


def _pull(runtime, when: datetime) -> None:
    with runtime.session() as session:
        hand_over_pulls(session, runtime, now=when)
    drain_queue(runtime)


@pytest.fixture
def history(api, scenario, runtime, sandbox, at):
    """Two Monday 09:00 posts that did well in their first days, two Wednesday 18:00 posts
    that did less, one Friday 07:00 post, and an audience busy on Saturday evenings. Each
    post's one-day pull ran; weeks later the Monday posts had grown (they are older: every
    post is judged at the same age), and a post out yesterday has not had its first days."""
    runtime.settings = runtime.settings.with_(x_consumer_secret=X_SECRET)
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    times = [
        (MONDAY, 40),
        (MONDAY + 2 * DAY + 9 * HOUR, 10),
        (MONDAY + 4 * DAY - 2 * HOUR, 90),  # one Friday post: too few to judge
        (MONDAY + WEEK, 60),
        (MONDAY + WEEK + 2 * DAY + 9 * HOUR, 6),
        (MONDAY + 3 * WEEK - DAY, 900),  # yesterday: not judged yet
    ]
    posted = []
    for n, (when, likes) in enumerate(times):
        at(when - HOUR)
        body = scenario.post_body([x], at=when, text=f"Post {n}", campaign=campaign)
        post = api.post("/v1/posts", body, expect=201)
        scenario.submit_and_approve(post)
        at(when)
        run_pipeline(runtime, now=when)
        pub = scenario.publication(post["publications"][0]["id"])
        assert pub["status"] == "published"
        sandbox.ledger.set_metrics("x", pub["external_id"], like_count=likes, impression_count=1000)
        at(when + DAY)
        _pull(runtime, when + DAY)  # its one-day point
        posted.append(pub)
    for pub in (posted[0], posted[3]):  # the Monday posts grew since
        sandbox.ledger.set_metrics("x", pub["external_id"], like_count=500, impression_count=9000)
    end = MONDAY + 3 * WEEK
    at(end)
    _pull(runtime, end)
    saturday = MONDAY + 2 * WEEK + 5 * DAY + 11 * HOUR  # 20:00 UTC, within the replay window
    account = x["external_account_id"]
    for n in range(3):
        like = hooks_out.x_like(account, pub["external_id"], (f"8{n}", f"fan{n}", "Fan"), saturday)
        body, signed = hooks_out.signed("x", like, X_SECRET)
        assert api.client.post("/v1/hooks/x", data=body, headers=signed).status_code == 200
    return x


def test_the_best_hours_are_those_whose_posts_did_best(api, history):
    found = api.get(f"/v1/channels/{history['id']}/best-times?count=3")
    assert found["time_zone"] == "UTC"
    best = [(h["day"], h["time"], h["basis"]) for h in found["best"]]
    assert best == [
        ("monday", "09:00", "posts"),
        ("wednesday", "18:00", "posts"),
        ("saturday", "20:00", "audience"),
    ]
    monday = found["best"][0]
    assert (monday["publications"], monday["engagements"]) == (2, 100)
    assert monday["engagements_per_publication"] == 50.0 and monday["engagement_rate"] == 0.05
    friday = next(h for h in found["hours"] if h["day"] == "friday")
    assert (friday["time"], friday["publications"], friday["engagements"]) == ("07:00", 1, 90)
    assert sum(h["publications"] for h in found["hours"]) == 5


def test_the_hours_are_the_zones(api, history):
    found = api.get(f"/v1/channels/{history['id']}/best-times?count=1&time_zone=Europe/Paris")
    assert [(h["day"], h["time"]) for h in found["best"]] == [("monday", "10:00")]


def test_the_posting_slots_are_filled_from_the_best_hours(api, runtime, history):
    slots = api.post(f"/v1/channels/{history['id']}/best-times/slots", {"count": 2}, expect=200)
    assert slots["slots"] == [
        {"day": "monday", "time": "09:00"},
        {"day": "wednesday", "time": "18:00"},
    ]
    assert api.get(f"/v1/channels/{history['id']}/slots")["slots"] == slots["slots"]
    before = rows_digest(runtime)
    path = f"/v1/channels/{history['id']}/best-times/slots"
    api.refused("POST", path, {"count": 2}, as_="reviewer", may_not="manage channels")
    assert rows_digest(runtime) == before


def test_a_channel_without_history_has_no_best_time(api, scenario):
    x, _ = scenario.channels()
    found = api.get(f"/v1/channels/{x['id']}/best-times")
    assert (found["best"], found["hours"]) == ([], [])
    assert api.call("GET", f"/v1/channels/{x['id']}/best-times?count=0")[0] == 422
    assert api.call("GET", "/v1/channels/999999/best-times")[0] == 404


def test_filling_the_slots_with_nothing_to_go_by_keeps_them(api, runtime, scenario):
    """A channel with no history: filling its slots from its best times emptied them."""
    x, _ = scenario.channels()
    timetable = {"time_zone": "Europe/Paris", "slots": [{"day": "tuesday", "time": "12:30"}]}
    api.call("PUT", f"/v1/channels/{x['id']}/slots", timetable, expect=200)
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/channels/{x['id']}/best-times/slots", {"count": 2})
    assert status == 409 and "unchanged" in problem["detail"], problem
    assert rows_digest(runtime) == before
    assert api.get(f"/v1/channels/{x['id']}/slots")["slots"] == timetable["slots"]


def test_posts_never_measured_in_their_first_days_are_not_judged(
    api, scenario, runtime, sandbox, at
):
    """Posts with no pull in their first days (a schedule without one, a channel out of
    service then) counted as posts that got nothing: their hours ranked on zeros, and the
    slots were filled from them."""
    x, _ = scenario.channels()
    for week in range(2):
        when = MONDAY + week * WEEK
        at(when - HOUR)
        post = api.post("/v1/posts", scenario.post_body([x], at=when, text=f"P{week}"), expect=201)
        scenario.submit_and_approve(post)
        at(when)
        run_pipeline(runtime, now=when)
    at(MONDAY + 3 * WEEK)  # no pull ever ran
    found = api.get(f"/v1/channels/{x['id']}/best-times")
    assert (found["best"], found["hours"]) == ([], [])
    status, _ = api.call("POST", f"/v1/channels/{x['id']}/best-times/slots", {"count": 2})
    assert status == 409
