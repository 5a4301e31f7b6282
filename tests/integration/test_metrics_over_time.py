"""Metrics over time (issue 15 part 1): once published, each publication's metrics are
pulled on the decaying schedule by the dispatcher's pass, batched per platform request,
inside the channel's read budget; each pull is stored, a refusal as a refusal (never a
zero), and GET /v1/publications/{id}/metrics?history=1 returns the series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.sandbox.ledger import Fault
from adapters.types import Budget
from adapters.x import XAdapter
from publisher.core.models import MetricPull, MetricSnapshot, Publication
from publisher.dispatcher import hand_over_pulls
from publisher.engage import metrics
from tests.helpers import drain_queue, run_pipeline
from tests.samples import jpeg

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _pull(runtime, at, when: datetime) -> int:
    """The dispatcher's metrics step at `when`, then a burst worker, with the clock there."""
    at(when)
    with runtime.session() as session:
        jobs = hand_over_pulls(session, runtime, now=when)
    drain_queue(runtime)
    return jobs


@pytest.fixture
def published(api, scenario, runtime, at):
    """Three X publications (one a thread of two parts) and one on Facebook, out at T0."""
    x, fb = scenario.channels()
    at(T0)
    ids = {}
    for n, (channels, thread) in enumerate([([x], []), ([x], ["and part two"]), ([x, fb], [])]):
        body = scenario.post_body(channels, at=T0, text=f"Post {n}", thread=thread)
        post = api.post("/v1/posts", body, expect=201)
        scenario.submit_and_approve(post)
        for p in post["publications"]:
            ids[(n, p["channel_id"])] = p["id"]
    run_pipeline(runtime, now=T0)
    x_ids = [ids[(n, x["id"])] for n in range(3)]
    for pub in [*x_ids, ids[(2, fb["id"])]]:
        assert scenario.publication(pub)["status"] == "published"
    return {"x": x_ids, "facebook": ids[(2, fb["id"])], "x_channel_id": x["id"]}


def _history(api, pub_id: int) -> dict:
    return api.get(f"/v1/publications/{pub_id}/metrics?history=1")


def test_pulls_follow_the_schedule_batched_per_request(
    api, scenario, runtime, sandbox, at, published
):
    sandbox.ledger.exchanges = []
    # Not before the first point of the schedule (an hour after publication).
    assert _pull(runtime, at, T0 + 30 * timedelta(minutes=1)) == 0
    assert _history(api, published["x"][0])["history"] == []
    assert _history(api, published["x"][0])["fetched_at"] is None  # never read: no time
    assert _history(api, published["x"][0])["next_pull_at"] == "2027-03-01T10:00:00Z"

    thread = scenario.publication(published["x"][1])
    for n, post_id in enumerate(thread["part_ids"]):
        sandbox.ledger.set_metrics("x", post_id, like_count=10 + n, impression_count=100)
    assert _pull(runtime, at, T0 + HOUR) == 2  # one job for X, one for Facebook
    lookups = [
        e for e in sandbox.ledger.exchanges if e["method"] == "GET" and e["path"] == "/2/tweets"
    ]
    assert len(lookups) == 1  # three publications (four posts) in one request
    read = _history(api, published["x"][1])
    assert [h["metrics"]["likes"] for h in read["history"]] == [21]  # the parts add up
    assert read["metrics"]["impressions"] == 200 and read["next_pull_at"] == "2027-03-01T15:00:00Z"
    with runtime.session() as session:
        pulls = session.exec(select(MetricPull).order_by(MetricPull.id)).all()
        assert [(p.publications, p.calls) for p in pulls] == [(3, 1), (1, 1)]

    # Nothing more before six hours; then the second point.
    assert _pull(runtime, at, T0 + 5 * HOUR) == 0
    sandbox.ledger.set_metrics("x", thread["part_ids"][0], like_count=30, impression_count=300)
    assert _pull(runtime, at, T0 + 6 * HOUR) == 2
    read = _history(api, published["x"][1])
    assert [h["metrics"]["likes"] for h in read["history"]] == [21, 41]
    assert read["next_pull_at"] == "2027-03-02T09:00:00Z"


def test_a_refused_pull_is_stored_as_a_refusal_and_tried_again(
    api, runtime, sandbox, at, published
):
    assert _pull(runtime, at, T0 + HOUR) == 2
    sandbox.ledger.inject("x", Fault(status=429, on="lookup", reset_in_s=600))
    at(T0 + 6 * HOUR)
    assert _pull(runtime, at, T0 + 6 * HOUR) == 2
    read = _history(api, published["x"][0])
    first, refused = read["history"]
    assert first["metrics"] is not None and first["error"] is None
    assert refused["metrics"] is None and "Too Many Requests" in refused["error"], refused
    assert read["metrics"] == first["metrics"]  # the last real figures, not zeros
    # Tried again at the platform's reset, without losing the schedule's point.
    again = datetime.fromisoformat(read["next_pull_at"])
    assert T0 + 6 * HOUR < again <= T0 + 6 * HOUR + timedelta(minutes=11)
    assert _pull(runtime, at, again) == 1  # X only: Facebook's pull went through
    read = _history(api, published["x"][0])
    assert [h["error"] is None for h in read["history"]] == [True, False, True]
    assert read["next_pull_at"] == "2027-03-02T09:00:00Z"


def test_a_channel_beyond_its_read_budget_waits(api, runtime, at, published, monkeypatch):
    monkeypatch.setattr(XAdapter, "read_budgets", (Budget(2, timedelta(minutes=15)),))
    monkeypatch.setattr(XAdapter, "metrics_per_request", 1)
    monkeypatch.setattr(metrics, "JOB_POSTS", 1)
    # One X request fits beside the next, the thread of two parts (two requests): it waits,
    # and the one after it, in their order.
    assert _pull(runtime, at, T0 + HOUR) == 2  # one X request, and Facebook's one
    with runtime.session() as session:
        taken = select(MetricSnapshot).where(MetricSnapshot.publication_id.in_(published["x"]))
        x_snapshots = len(session.exec(taken).all())
    assert x_snapshots == 1
    waiting = [p for p in published["x"] if _history(api, p)["history"] == []]
    assert waiting == published["x"][1:]
    assert _pull(runtime, at, T0 + HOUR + timedelta(minutes=5)) == 0  # the window is spent
    assert _pull(runtime, at, T0 + HOUR + timedelta(minutes=16)) == 1  # the thread's two
    assert len(_history(api, waiting[0])["history"]) == 1
    assert _pull(runtime, at, T0 + HOUR + timedelta(minutes=32)) == 1
    assert len(_history(api, waiting[1])["history"]) == 1


def test_the_schedule_ends_and_missed_points_are_not_pulled_twice(api, runtime, at, published):
    # The dispatcher was down for two days: one pull covers every point missed.
    assert _pull(runtime, at, T0 + 50 * HOUR) == 2
    read = _history(api, published["facebook"])
    assert len(read["history"]) == 1 and read["next_pull_at"] == "2027-03-04T09:00:00Z"
    for day in (3, 7, 14, 21, 28):
        assert _pull(runtime, at, T0 + timedelta(days=day)) == 2
    read = _history(api, published["facebook"])
    assert len(read["history"]) == 6 and read["next_pull_at"] is None
    assert _pull(runtime, at, T0 + timedelta(days=60)) == 0


def test_a_post_taken_down_leaves_the_schedule(api, runtime, at, published):
    pub = published["x"][0]
    api.post(f"/v1/publications/{pub}/delete", {"reason": "mistake"}, expect=200)
    _pull(runtime, at, T0 + HOUR)
    read = _history(api, pub)
    assert read["history"] == [] and read["next_pull_at"] is None


def test_a_pull_handed_over_again_or_run_twice_stores_once(api, runtime, sandbox, at, published):
    """A job that waited past its lease: the dispatcher leased the publications again to a
    new pull; the old job, when it runs, finds none of them still its own."""
    at(T0 + HOUR)
    with runtime.session() as session:
        first = metrics.due(
            session, now=T0 + HOUR, budgets=runtime.read_budgets, schedule=runtime.metrics_schedule
        )
        session.commit()
    later = T0 + HOUR + metrics.PULL_LEASE + timedelta(seconds=1)
    with runtime.session() as session:
        again = metrics.due(
            session, now=later, budgets=runtime.read_budgets, schedule=runtime.metrics_schedule
        )
        session.commit()
    assert {c for c, _, _ in first} == {c for c, _, _ in again}
    from publisher import jobs

    at(later)
    for channel_id, pull_id, ids in first:  # the stale jobs: nothing is theirs any more
        assert jobs.run_pull_metrics(channel_id, pull_id, *ids) == 0
    with runtime.session() as session:  # nor does the budget count them any more
        stale = [session.get(MetricPull, pull_id) for _, pull_id, _ in first]
        assert [(p.calls, p.finished_at is not None) for p in stale] == [(0, True)] * len(first)
    for channel_id, pull_id, ids in again:
        assert jobs.run_pull_metrics(channel_id, pull_id, *ids) == len(ids)
        assert jobs.run_pull_metrics(channel_id, pull_id, *ids) == 0  # run twice: once
    assert [len(_history(api, p)["history"]) for p in published["x"]] == [1, 1, 1]


def test_failing_pulls_back_off_and_give_up_the_point_after_four(
    api, runtime, sandbox, at, published
):
    for _ in range(10):
        sandbox.ledger.inject("x", Fault(status=503, on="lookup"))
    when = T0 + HOUR
    waits = []
    for _ in range(4):
        assert _pull(runtime, at, when) >= 1
        due = datetime.fromisoformat(_history(api, published["x"][0])["next_pull_at"])
        waits.append(due - when)
        when = due
    # 15, 30, 60 minutes, then the point is given up: on to the 6-hour one.
    assert waits[:3] == [timedelta(minutes=15), timedelta(minutes=30), timedelta(minutes=60)]
    assert when == T0 + 6 * HOUR
    read = _history(api, published["x"][0])
    assert [h["error"] is not None for h in read["history"]] == [True] * 4


def test_a_channel_out_of_service_waits(api, scenario, runtime, sandbox, at, published):
    from publisher.core.models import Channel

    with runtime.session() as session:
        session.get(Channel, published["x_channel_id"]).status = "needs_reauth"
        session.commit()
    assert _pull(runtime, at, T0 + HOUR) == 1  # Facebook only
    assert _history(api, published["x"][0])["next_pull_at"] == "2027-03-01T11:00:00Z"
    assert _history(api, published["x"][0])["history"] == []


def test_a_post_gone_from_facebook_does_not_block_the_others_of_its_batch(
    api, scenario, runtime, sandbox, at, published
):
    """Graph's multiple-id read fails whole when one id is gone: the others are asked one
    by one, and the gone one is said to be gone (and its schedule goes on)."""
    fb = scenario.channels()[1]
    post = api.post("/v1/posts", scenario.post_body([fb], at=T0, text="Second"), expect=201)
    scenario.submit_and_approve(post)
    run_pipeline(runtime, now=T0)
    second = scenario.publication(post["publications"][0]["id"])
    first = scenario.publication(published["facebook"])
    sandbox.ledger.set_metrics(
        "facebook", second["external_id"], reactions=7, post_media_view=90, post_clicks=4
    )
    assert sandbox.ledger.delete("facebook", first["external_id"])  # deleted on Facebook
    _pull(runtime, at, T0 + HOUR)
    # The others are read whole: their insights too (they were asked for the counts alone).
    kept = _history(api, second["id"])["history"][0]["metrics"]
    assert (kept["likes"], kept["impressions"], kept["link_clicks"]) == (7, 90, 4)
    gone = _history(api, first["id"])
    assert gone["history"][0]["error"] == "the platform no longer has this post"
    assert gone["next_pull_at"] == "2027-03-01T15:00:00Z"


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_permission_lost_is_a_refusal_tried_again_not_a_post_gone(
    api, scenario, runtime, sandbox, at, published, platform
):
    """The Page token lost pages_read_engagement (Graph code 10 on every read): each pull
    was stored as "the platform no longer has this post" and the point moved on."""
    if platform == "instagram":
        insta = scenario.instagram(runtime, "https://publisher.example")
        media = [{"media_id": api.upload(jpeg())[1]["id"]}]
        body = scenario.post_body([insta], at=T0, text="On Instagram", media=media)
        post = api.post("/v1/posts", body, expect=201)
        scenario.submit_and_approve(post)
        run_pipeline(runtime, now=T0)
        pub_id = post["publications"][0]["id"]
    else:
        pub_id = published["facebook"]
    assert scenario.publication(pub_id)["status"] == "published"
    sandbox.ledger.engagement_denied = True
    _pull(runtime, at, T0 + HOUR)
    refused = _history(api, pub_id)
    assert refused["history"][0]["metrics"] is None
    assert "pages_read_engagement" in refused["history"][0]["error"], refused
    again = datetime.fromisoformat(refused["next_pull_at"])
    assert again < T0 + 6 * HOUR  # the same point, asked again: not moved on
    sandbox.ledger.engagement_denied = False
    _pull(runtime, at, again)
    assert _history(api, pub_id)["history"][-1]["error"] is None


def test_a_live_read_is_kept_at_the_instant_it_answered(api, runtime, at, published):
    """The stored read's time was taken before the platform was asked, the answer's after:
    one read, two times."""
    at(T0 + 2 * HOUR, running=True)  # the clock goes on while the platform answers
    live = api.get(f"/v1/publications/{published['x'][0]}/metrics")
    (kept,) = _history(api, published["x"][0])["history"]
    assert kept["taken_at"] == live["fetched_at"] and kept["metrics"] == live["metrics"]


def test_posts_published_one_after_another_share_their_pulls(api, scenario, runtime, sandbox, at):
    """Ten posts three minutes apart: each pull was its own request (the pass took only
    what was due that minute). A request going out takes the channel's pulls due within
    a tenth of their point's age (six minutes for the one-hour point): four requests, and
    none pulled more than six minutes early."""
    x, _ = scenario.channels()
    minute, out = timedelta(minutes=1), []
    for k in range(10):
        when = T0 + 3 * k * minute
        at(when)
        body = scenario.post_body([x], at=when, text=f"Spread {k}")
        post = api.post("/v1/posts", body, expect=201)
        scenario.submit_and_approve(post)
        run_pipeline(runtime, now=when)
        out.append(post["publications"][0]["id"])
    sandbox.ledger.exchanges = []
    when = T0 + 28 * minute
    while when <= T0 + 2 * HOUR:  # the dispatcher's pass, every minute
        _pull(runtime, at, when)
        when += minute
    lookups = [
        e for e in sandbox.ledger.exchanges if e["method"] == "GET" and e["path"] == "/2/tweets"
    ]
    assert len(lookups) == 4
    for k, pub_id in enumerate(out):
        (first,) = _history(api, pub_id)["history"]
        point = T0 + 3 * k * minute + HOUR
        assert point - 6 * minute <= datetime.fromisoformat(first["taken_at"]) <= point, k
        assert _history(api, pub_id)["next_pull_at"] == _iso(point - HOUR + 6 * HOUR)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_threads_parts_count_in_the_read_budget(api, runtime, at, published, monkeypatch):
    """The pass planned a request per publication, the job asked for every part of a
    thread: a publication and a thread of two (three posts, two requests at two a request)
    were planned as one, and the channel went past its budget."""
    monkeypatch.setattr(XAdapter, "read_budgets", (Budget(2, timedelta(minutes=15)),))
    monkeypatch.setattr(XAdapter, "metrics_per_request", 2)
    monkeypatch.setattr(metrics, "JOB_POSTS", 1)
    _pull(runtime, at, T0 + HOUR)
    with runtime.session() as session:
        pulls = session.exec(
            select(MetricPull).where(MetricPull.channel_id == published["x_channel_id"])
        ).all()
    assert sum(p.calls for p in pulls) == 2  # what it made: within the budget
    waiting = [p for p in published["x"] if _history(api, p)["history"] == []]
    assert len(waiting) == 1  # the third waits for the window


def test_a_token_refused_on_a_pull_holds_the_channel_for_a_new_one(
    api, scenario, runtime, sandbox, at, published
):
    """A dead token on a pull used up its point's four tries and left the channel active:
    the next publication went out only to be refused. Now the channel waits for a person
    to reconnect it, as a publication refused the same way makes it."""
    sandbox.ledger.expire_token("x-token-acme")
    _pull(runtime, at, T0 + HOUR)
    channel = api.get(f"/v1/channels/{published['x_channel_id']}")
    assert channel["status"] == "needs_reauth", channel
    (refused,) = _history(api, published["x"][0])["history"]
    assert refused["metrics"] is None and refused["error"]


def test_a_pull_handed_over_is_not_taken_along_by_the_next_pass(
    api, scenario, runtime, sandbox, at
):
    """A pass taking along pulls due soon took the ones a pass before had handed over (a
    leased publication's due time is its lease's, soon too): its job's request was wasted,
    or on PostgreSQL its point recorded twice and the next skipped."""
    x, _ = scenario.channels()
    minute, out = timedelta(minutes=1), []
    for k in (0, 3, 1):  # the second is taken along by the first's pull; the third not
        at(T0 + k * minute)
        body = scenario.post_body([x], at=T0 + k * minute, text=f"Post {k}")
        post = api.post("/v1/posts", body, expect=201)
        scenario.submit_and_approve(post)
        run_pipeline(runtime, now=T0 + k * minute)
        out.append(post["publications"][0]["id"])

    def due(when):
        with runtime.session() as session:
            found = metrics.due(
                session, now=when, budgets=runtime.read_budgets, schedule=runtime.metrics_schedule
            )
            session.commit()
        return sorted(i for _, _, ids in found for i in ids)

    assert due(T0 + 21 * minute) == []  # their first points set
    with runtime.session() as session:  # a pull of the third failed: it keeps its time
        session.get(Publication, out[2]).metrics_failures = 1
        session.commit()
    assert due(T0 + HOUR) == out[:2]  # the first due, the second taken along
    assert due(T0 + HOUR + minute) == [out[2]]  # not the two handed over a minute ago
