"""Pause means stop: once the pause call returns, nothing in its scope starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from publisher.deliver import claims, dispatch, pauses
from tests.helpers import drain_queue, rows_digest, run_pipeline, soon


@pytest.fixture
def due(api, scenario):
    """Two channels, two campaigns, three approved publications due now."""
    x, fb = scenario.channels()
    spring, autumn = scenario.campaign(), scenario.campaign()
    a = scenario.post_for([x, fb], at=soon(), campaign=spring, text="spring")
    b = scenario.post_for([x], at=soon(), campaign=autumn, text="autumn")
    scenario.submit_and_approve(a)
    scenario.submit_and_approve(b)
    return {"x": x, "fb": fb, "spring": spring, "autumn": autumn, "a": a, "b": b}


def _statuses(api, post):
    return {
        p["channel_id"]: p["status"] for p in api.get(f"/v1/posts/{post['id']}")["publications"]
    }


def test_pausing_the_workspace_stops_even_jobs_already_in_redis(api, runtime, sandbox, due):
    with runtime.session() as session:  # handed to Redis before the pause
        assert dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC)) == 3
    result = api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    assert len(result["paused"]) == 3 and result["in_flight"] == []
    drain_queue(runtime)
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    assert set(_statuses(api, due["a"]).values()) == {"paused"}
    assert [p["scope"] for p in api.get("/v1/pauses")] == ["workspace"]


def test_campaign_and_channel_pauses_stop_only_their_scope(api, runtime, sandbox, due):
    api.post(
        "/v1/pause", {"scope": "campaign", "id": due["autumn"]["id"], "reason": "legal"}, expect=201
    )
    api.post(
        "/v1/pause", {"scope": "channel", "id": due["fb"]["id"], "reason": "hacked"}, expect=201
    )
    run_pipeline(runtime)
    assert [(a.platform, a.text) for a in sandbox.ledger.accepted()] == [("x", "spring")]
    assert _statuses(api, due["a"])[due["fb"]["id"]] == "paused"
    assert _statuses(api, due["b"])[due["x"]["id"]] == "paused"


def test_an_approval_under_a_pause_is_paused_not_scheduled(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    api.post("/v1/pause", {"scope": "channel", "id": x["id"], "reason": "stop"}, expect=201)
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "paused"
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []


def _raw_pause(runtime, channel_id: int) -> None:
    """A pause the bulk update never saw (as if committed between approval and dispatch)."""
    from publisher.core.models import Channel, Pause

    with runtime.session() as session:
        workspace_id = session.get(Channel, channel_id).workspace_id
        session.add(
            Pause(
                workspace_id=workspace_id,
                scope="channel",
                scope_id=channel_id,
                reason="raw",
                created_by="test",
            )
        )
        session.commit()


def _x_pubs(due) -> list[int]:
    return [
        p["id"]
        for p in due["a"]["publications"] + due["b"]["publications"]
        if p["channel_id"] == due["x"]["id"]
    ]


def test_a_row_that_slipped_under_a_pause_is_not_claimed_even_with_a_job(
    api, scenario, runtime, sandbox, due
):
    _raw_pause(runtime, due["x"]["id"])
    runtime.queue.hand_over(_x_pubs(due))
    run_pipeline(runtime)
    assert [a.platform for a in sandbox.ledger.accepted()] == ["facebook"]
    assert {scenario.publication(p)["status"] for p in _x_pubs(due)} == {"paused"}


def test_the_dispatcher_neither_hands_over_nor_forgets_rows_under_a_pause(
    api, scenario, runtime, sandbox, due
):
    _raw_pause(runtime, due["x"]["id"])
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC)) == 1
        assert pauses.pause_stragglers(session, now=datetime.now(UTC)) == 2
        session.commit()
    assert {scenario.publication(p)["status"] for p in _x_pubs(due)} == {"paused"}


@pytest.mark.parametrize(
    "policy,late_s,expected",
    [
        ("auto", -60, "scheduled"),  # not yet due: keeps its time
        ("auto", 5 * 60, "published"),  # a little late: goes now
        ("auto", 20 * 60, "in_review"),  # over 15 minutes late: back to review
        ("publish", 3 * 3600, "published"),
        ("skip", 60, "cancelled"),
        ("review", 60, "in_review"),
    ],
)
def test_resume_follows_the_missed_time_policy(
    api, scenario, runtime, sandbox, at, policy, late_s, expected
):
    x, _ = scenario.channels()
    at(soon(-late_s - 60))  # planned and approved in time, then held by the pause past it
    post = scenario.post_for([x], at=soon(-late_s))
    api.post("/v1/pause", {"scope": "workspace", "reason": "r", "on_resume": policy}, expect=201)
    scenario.submit_and_approve(post)
    at(soon())
    result = api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    pub_id = post["publications"][0]["id"]
    assert pub_id in result["rescheduled"] + result["to_review"] + result["skipped"]
    run_pipeline(runtime)
    pub = scenario.publication(pub_id)
    assert pub["status"] == expected
    assert len(sandbox.ledger.accepted()) == (1 if expected == "published" else 0)
    if expected == "in_review":
        assert pub["approved_at"] is None


def test_resuming_one_scope_leaves_another_pause_in_force(api, runtime, sandbox, due):
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    api.post(
        "/v1/pause", {"scope": "channel", "id": due["fb"]["id"], "reason": "hacked"}, expect=201
    )
    api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    run_pipeline(runtime)
    assert {a.platform for a in sandbox.ledger.accepted()} == {"x"}
    assert _statuses(api, due["a"])[due["fb"]["id"]] == "paused"
    api.post("/v1/resume", {"scope": "channel", "id": due["fb"]["id"]}, expect=200)
    run_pipeline(runtime)
    assert sorted(a.platform for a in sandbox.ledger.accepted()) == ["facebook", "x", "x"]


def test_in_flight_publications_are_reported_and_finish(api, runtime, sandbox, due):

    pub_id = due["b"]["publications"][0]["id"]
    with runtime.session() as session:
        assert claims.claim(session, pub_id, now=datetime.now(UTC)) is not None
        session.commit()
    result = api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    assert result["in_flight"] == [pub_id]
    assert pub_id not in result["paused"]


def test_pause_is_idempotent_and_resume_needs_a_pause(api, due):
    first = api.post("/v1/pause", {"scope": "workspace", "reason": "a"}, expect=201)
    again = api.post("/v1/pause", {"scope": "workspace", "reason": "b"}, expect=200)
    assert again["pause"]["id"] == first["pause"]["id"]
    api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    status, problem = api.call("POST", "/v1/resume", {"scope": "workspace"})
    assert status == 404 and "no active pause" in problem["detail"]


def test_pause_scope_rules_and_roles(api, runtime, due):
    assert api.call("POST", "/v1/pause", {"scope": "campaign", "reason": "r"})[0] == 422
    assert (
        api.call(
            "POST",
            "/v1/pause",
            {"scope": "campaign", "id": due["spring"]["id"], "reason": "r"},
            as_="other",
        )[0]
        == 404
    )
    assert api.call("POST", "/v1/pause", {"scope": "galaxy", "reason": "r"})[0] == 422
    assert (
        api.call("POST", "/v1/pause", {"scope": "workspace", "reason": "alarm"}, as_="automation")[
            0
        ]
        == 201
    )
    before = rows_digest(runtime)
    api.refused("POST", "/v1/resume", {"scope": "workspace"}, as_="automation", may_not="resume")
    assert rows_digest(runtime) == before  # still paused: a person resumes
    assert api.call("POST", "/v1/resume", {"scope": "workspace"}, as_="reviewer")[0] == 200
    history = api.get(f"/v1/publications/{due['b']['publications'][0]['id']}/history")
    assert [h["to_status"] for h in history][-2:] == ["paused", "scheduled"]


def test_resume_says_why_each_publication_went_where_it_did(api, scenario, runtime, at):
    """The boundaries of "auto" (due now: it keeps its time; exactly 15 minutes late: it
    goes now; a second more: back to review) and the reason each move writes down."""
    from datetime import timedelta

    t = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    x, _ = scenario.channels()
    at(t - timedelta(hours=1))
    lates = {0: "scheduled", 900: "scheduled", 901: "in_review"}
    pubs = {}
    for late in lates:
        post = scenario.post_for([x], at=t - timedelta(seconds=late), text=f"Late {late}")
        pubs[late] = post["publications"][0]["id"]
        scenario.submit_and_approve(post)
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    at(t)
    result = api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    assert sorted(result["rescheduled"]) == sorted([pubs[0], pubs[900]])
    assert result["to_review"] == [pubs[901]] and result["skipped"] == []
    reasons = {}
    for late, pub_id in pubs.items():
        assert scenario.publication(pub_id)["status"] == lates[late]
        moves = api.get(f"/v1/publications/{pub_id}/history")
        reasons[late] = [m["reason"] for m in moves if m.get("from_status") == "paused"]
    assert reasons == {
        0: ["resumed"],
        900: ["resumed 900s after its time; policy publish"],
        901: ["resumed 901s after its time; policy review"],
    }
    from publisher.core.models import Publication

    with runtime.session() as session:
        due = {late: session.get(Publication, p).due_at for late, p in pubs.items()}
    assert due[0] == due[900] == t  # due now: handed over at once
    assert due[901] == t + timedelta(hours=24)  # in review: when its approval runs out
    assert scenario.publication(pubs[901])["approved_at"] is None


def test_a_skip_policy_cancels_with_its_reason(api, scenario, runtime, at):
    from datetime import timedelta

    t = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    x, _ = scenario.channels()
    at(t - timedelta(hours=1))
    post = scenario.post_for([x], at=t - timedelta(minutes=2), text="Skipped")
    scenario.submit_and_approve(post)
    pause = {"scope": "workspace", "reason": "crisis", "on_resume": "skip"}
    api.post("/v1/pause", pause, expect=201)
    at(t)
    pub_id = post["publications"][0]["id"]
    assert api.post("/v1/resume", {"scope": "workspace"}, expect=200)["skipped"] == [pub_id]
    moves = api.get(f"/v1/publications/{pub_id}/history")
    assert [m["reason"] for m in moves if m.get("to_status") == "cancelled"] == [
        "resumed 120s after its time; policy skip"
    ]
