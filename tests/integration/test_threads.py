"""Threads: on X a chain of replies through tweepy, on Facebook one post. A thread that
fails part-way resumes after the last part that went out and never repeats one. Every
outcome is judged from the sandbox's ledger: the texts, and which post each replies to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import Fault
from tests.helpers import reconcile_pass, rows_digest, run_pipeline, set_clock, soon

PARTS = ["1/4 We are hiring", "2/4 Engineers", "3/4 Designers", "4/4 Apply today"]


def _thread_post(api, scenario, channels, *, link=None):
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": PARTS[0],
        "thread": PARTS[1:],
        "targets": [
            {"channel_id": c["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            for c in channels
        ],
    }
    if link:
        body["link"] = link
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    return post


def _chain(sandbox) -> list[tuple[str, str | None]]:
    """The X posts as (text, text of the post it replies to), in the order they landed."""
    posts = sandbox.ledger.accepted("x")
    text_of = {a.external_id: a.text for a in posts}
    return [(a.text, text_of.get(a.in_reply_to) if a.in_reply_to else None) for a in posts]


def _expected_chain(first=PARTS[0]):
    texts = [first, *PARTS[1:]]
    return [(t, texts[i - 1] if i else None) for i, t in enumerate(texts)]


def _later(runtime, seconds: float) -> datetime:
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    set_clock(runtime, when)
    return when


def test_a_thread_is_a_chain_of_replies_on_x_and_one_post_on_facebook(
    api, scenario, runtime, sandbox
):
    x, fb = scenario.channels()
    post = _thread_post(api, scenario, [x, fb], link="https://acme.example/jobs")
    run_pipeline(runtime)

    assert _chain(sandbox) == _expected_chain(f"{PARTS[0]} https://acme.example/jobs")
    (page_post,) = sandbox.ledger.accepted("facebook")
    assert page_post.text == "\n\n".join(PARTS) and page_post.link == "https://acme.example/jobs"
    pubs = {p["channel_id"]: p for p in post["publications"]}
    on_x = scenario.publication(pubs[x["id"]]["id"])
    assert on_x["status"] == "published"
    assert on_x["part_ids"] == [a.external_id for a in sandbox.ledger.accepted("x")]
    assert on_x["external_id"] == on_x["part_ids"][0]
    assert scenario.publication(pubs[fb["id"]]["id"])["part_ids"] == []


@pytest.mark.parametrize(
    "fault,settle",
    [
        # 503: X proved it did not take part 3 -> retried later, after parts 1-2.
        (Fault(status=503, after=2), "retry"),
        # 500 without acceptance: may or may not have landed -> unknown -> the reconciler
        # finds parts 1-2 and not 3 -> the rest is sent.
        (Fault(status=500, after=2), "reconcile"),
        # 500 after X created part 3 -> the reconciler finds parts 1-3 -> only 4 is sent.
        (Fault(status=500, accept=True, after=2), "reconcile"),
    ],
    ids=["503-at-part-3", "500-at-part-3", "500-after-part-3-landed"],
)
def test_a_thread_interrupted_at_part_3_resumes_without_repeating_a_part(
    api, scenario, runtime, sandbox, fault, settle
):
    x, _ = scenario.channels()
    post = _thread_post(api, scenario, [x])
    pub_id = post["publications"][0]["id"]
    sandbox.ledger.inject("x", fault)
    run_pipeline(runtime)

    stopped = scenario.publication(pub_id)
    assert stopped["status"] == ("scheduled" if settle == "retry" else "unknown")
    assert "after part 2 of 4" in stopped["last_error"]
    assert len(stopped["part_ids"]) == 2
    assert api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "edited"})[0] == 409

    if settle == "reconcile":
        reconcile_pass(runtime)
        assert scenario.publication(pub_id)["status"] == "scheduled"
    when = _later(runtime, 3600)
    run_pipeline(runtime, now=when)

    done = scenario.publication(pub_id)
    assert done["status"] == "published", done
    assert _chain(sandbox) == _expected_chain()  # each part once, each replying to the last
    assert done["part_ids"] == [a.external_id for a in sandbox.ledger.accepted("x")]


def test_a_worker_killed_mid_thread_is_reconciled_from_the_platform(
    api, scenario, runtime, sandbox
):
    # Parts 1 and 2 went out, then the worker died before writing anything down: the
    # publication has no part ids on record. The reconciler finds the two on the timeline.
    from sqlalchemy import update

    from publisher.core.models import Publication
    from publisher.deliver import claims, dispatch, publish

    x, _ = scenario.channels()
    post = _thread_post(api, scenario, [x])
    pub_id = post["publications"][0]["id"]
    sandbox.ledger.inject("x", Fault(status=500, accept=True, hold_s=3.0, after=1))
    with runtime.session() as session:
        claimed = claims.claim(session, pub_id, now=datetime.now(UTC))
        session.commit()
    outcome = publish._send(runtime.adapter_for, claimed)  # part 2 answered after timeout
    assert sandbox.ledger.accepted("x")[-1].text == PARTS[1]
    del outcome  # ... and the worker dies here, recording nothing
    with runtime.engine.begin() as conn:
        assert conn.execute(
            update(Publication).where(Publication.id == pub_id).values(part_ids=None)
        ).rowcount
    later = datetime.now(UTC) + timedelta(hours=1)
    with runtime.session() as session:
        assert dispatch.expire_claims(session, now=later, claim_timeout=timedelta(minutes=5)) == 1
        session.commit()
    reconcile_pass(runtime, now=later)
    found = scenario.publication(pub_id)
    assert found["status"] == "scheduled" and len(found["part_ids"]) == 2
    run_pipeline(runtime, now=_later(runtime, 3600))
    assert scenario.publication(pub_id)["status"] == "published"
    assert _chain(sandbox) == _expected_chain()


def test_thread_limits_are_checked_per_part(api, scenario):
    x, fb = scenario.channels()
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "fine",
        "thread": ["also fine", "é" * 281],
        "targets": [
            {"channel_id": c["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            for c in (x, fb)
        ],
    }
    post = api.post("/v1/posts", body, expect=201)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    messages = [e["msg"] for e in problem["errors"]]
    assert messages == ["281 of 280 weighted characters on X (part 3 of 3) (channel 'Acme on X')"]


def test_too_many_parts_for_x(api, scenario):
    x, _ = scenario.channels()
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "1",
        "thread": [str(i) for i in range(2, 27)],
        "targets": [
            {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
        ],
    }
    post = api.post("/v1/posts", body, expect=201)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422 and "26 parts; a thread on X has at most 25" in problem["errors"][0]["msg"]


def test_the_review_preview_shows_every_part_as_it_will_go_out(api, scenario):
    x, fb = scenario.channels()
    post = api.post(
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": PARTS[0],
            "thread": PARTS[1:],
            "targets": [
                {"channel_id": c["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
                for c in (x, fb)
            ],
        },
        expect=201,
    )
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    previews = {i["preview"]["platform"]: i["preview"] for i in api.get("/v1/reviews")}
    assert previews["x"]["parts"] == PARTS
    assert previews["facebook"]["parts"] == ["\n\n".join(PARTS)]


@pytest.mark.parametrize(
    "thread", [["ok", "   "], [""], "not a list", [1, 2], ["x" * 10_001], ["p"] * 50]
)
def test_bad_threads_are_refused_and_change_nothing(api, scenario, runtime, thread):
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    before = rows_digest(runtime)
    body = scenario.post_body([x], text="t", campaign=campaign, thread=thread)
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422 and problem["errors"][0]["loc"][0] == "thread"
    assert rows_digest(runtime) == before


def test_a_part_too_long_is_pointed_at_where_it_is(api, scenario, runtime):
    """Issue 11 item 19: a too-long second part pointed at `text`."""
    x, _ = scenario.channels()
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "A short start",
        "thread": ["fine", "x" * 300],
        "targets": [
            {"channel_id": x["id"], "scheduled_at": soon(60).isoformat(), "time_zone": "UTC"}
        ],
    }
    post = api.post("/v1/posts", body, expect=201)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    assert [e["loc"] for e in problem["errors"]] == [["thread", 1]]
    assert "(part 3 of 3)" in problem["errors"][0]["msg"]
