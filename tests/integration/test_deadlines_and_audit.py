"""Review deadlines (reminders, expiry) and the append-only audit log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from publisher.record import revisions
from publisher.review import deadlines
from tests.helpers import run_pipeline, soon


def _sweep(runtime, now) -> tuple[int, int]:
    with runtime.session() as session:
        result = deadlines.sweep(session, now=now)
        session.commit()
    return result


def _kinds(api, post_id: int, kind: str) -> list[dict]:
    return [e for e in api.get(f"/v1/posts/{post_id}/history") if e["kind"] == kind]


def test_a_reminder_comes_once_before_the_review_deadline(api, scenario, runtime):
    rules = {"approvals": 1, "review_deadline_minutes": 120, "remind_minutes": 30}
    api.call("PUT", "/v1/review-policy", rules, as_="admin", expect=200)
    x, _ = scenario.channels()
    start = soon()
    post = scenario.post_for([x], at=start + timedelta(hours=4))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    deadline = start + timedelta(hours=2)
    [item] = api.get("/v1/reviews?sort=deadline", as_="reviewer")
    assert datetime.fromisoformat(item["review_deadline"]) == deadline
    assert _sweep(runtime, deadline - timedelta(minutes=31)) == (0, 0)  # not yet
    assert _sweep(runtime, deadline - timedelta(minutes=29)) == (1, 0)
    assert _sweep(runtime, deadline - timedelta(minutes=1)) == (0, 0)  # once only
    [reminder] = _kinds(api, post["id"], "review.deadline_near")
    assert reminder["data"]["review_deadline"] == deadline.isoformat()


def test_not_approved_by_its_scheduled_time_it_is_held_and_never_published(
    api, scenario, runtime, sandbox, at
):
    api.call(
        "PUT",
        "/v1/review-policy",
        {"approvals": 1, "late_approval_grace_seconds": 0},
        as_="admin",
        expect=200,
    )
    x, _ = scenario.channels()
    due = soon(60)
    post = scenario.post_for([x], at=due)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    assert _sweep(runtime, due) == (0, 0)  # at its time it may still be approved
    at(due + timedelta(seconds=1))
    status, problem = api.call(
        "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer"
    )
    assert status == 409 and "not approved in time" in problem["detail"]
    assert _sweep(runtime, due + timedelta(seconds=1)) == (0, 1)
    pub = scenario.publication(pub_id)
    assert pub["status"] == "expired"
    run_pipeline(runtime, now=due + timedelta(minutes=5))
    assert sandbox.ledger.accepted() == []
    [expired] = [
        e for e in _kinds(api, post["id"], "publication.transition") if e["to_status"] == "expired"
    ]
    assert expired["data"]["author"] == "editor"  # who is told
    listed = api.get("/v1/publications?status=expired")
    assert [p["id"] for p in listed] == [pub_id]
    [told] = api.get(f"/v1/posts/{post['id']}/comments")  # where the author looks
    assert told["author"] == "system" and "will not be published" in told["body"]


def test_an_approval_within_the_grace_still_goes_out(api, scenario, runtime, sandbox, at):
    x, _ = scenario.channels()
    due = soon(60)
    post = scenario.post_for([x], at=due)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    at(due + timedelta(seconds=30))  # the default grace is a minute
    assert _sweep(runtime, due + timedelta(seconds=30)) == (0, 0)
    api.post(
        f"/v1/reviews/{post['publications'][0]['id']}/approve",
        {"revision": 1},
        as_="reviewer",
        expect=201,
    )
    run_pipeline(runtime, now=due + timedelta(seconds=30))
    assert len(sandbox.ledger.accepted()) == 1


def test_the_post_history_records_every_step(api, scenario, runtime, at):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(60), text="First words")
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    api.post(
        f"/v1/reviews/{pub_id}/request-changes",
        {"comment": "say when", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "First words, Monday"}, expect=200)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    api.post(
        f"/v1/reviews/{pub_id}/approve",
        {"comment": "good", "revision": 2},
        as_="reviewer",
        expect=201,
    )
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    at(soon(120))
    run_pipeline(runtime, now=soon(120))
    history = api.get(f"/v1/posts/{post['id']}/history")
    steps = [(e["kind"], e["to_status"]) for e in history]
    assert steps == [
        ("post.created", None),
        ("post.submitted", None),
        ("publication.transition", "in_review"),
        ("review.voted", None),
        ("comment.added", None),  # the vote's comment, in the post's discussion
        ("publication.transition", "changes_requested"),
        ("post.edited", None),
        ("post.submitted", None),
        ("publication.transition", "in_review"),
        ("review.voted", None),
        ("comment.added", None),
        ("publication.transition", "approved"),
        ("publication.transition", "scheduled"),
        ("publication.transition", "paused"),
        ("publication.transition", "scheduled"),
        ("publication.transition", "queued"),
        ("publication.transition", "publishing"),
        ("publication.transition", "published"),
    ]
    edited = history[6]
    assert edited["data"]["changes"] == [
        {
            "field": "text",
            "before": "First words",
            "after": "First words, Monday",
            "words": [
                {"op": "equal", "text": "First "},
                {"op": "delete", "text": "words"},
                {"op": "insert", "text": "words, Monday"},
            ],
        }
    ]
    votes = [e for e in history if e["kind"] == "review.voted"]
    assert [(v["data"]["decision"], v["data"]["comment"]) for v in votes] == [
        ("changes_requested", "say when"),
        ("approved", "good"),
    ]
    assert {e["actor"] for e in history} >= {"system:dispatcher", "system:worker"}
    # The workspace-wide export has the same events, as JSON Lines, for admins only.
    response = api.client.get("/v1/audit", headers={"Authorization": f"Bearer {api.keys['admin']}"})
    assert response.mimetype == "application/x-ndjson"
    exported = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert {e["id"] for e in history} <= {e["id"] for e in exported}
    api.refused("GET", "/v1/audit", as_="editor", may_not="read audit")
    after = exported[-3]["id"]
    resumed = api.client.get(
        f"/v1/audit?after_id={after}", headers={"Authorization": f"Bearer {api.keys['admin']}"}
    )
    assert len(resumed.get_data(as_text=True).splitlines()) == 2


def test_no_one_can_change_or_delete_an_audit_entry(api, scenario, runtime):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(60))
    for method in ("PUT", "PATCH", "DELETE"):
        assert api.call(method, "/v1/audit", {}, as_="admin")[0] == 405
        assert api.call(method, f"/v1/posts/{post['id']}/history", {}, as_="admin")[0] == 405
    with runtime.engine.connect() as conn:
        for statement in ("UPDATE event SET actor = 'someone else'", "DELETE FROM event"):
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
    assert [e["kind"] for e in api.get(f"/v1/posts/{post['id']}/history")] == ["post.created"]


def test_the_export_crosses_pages_without_gaps_or_repeats(api, scenario, monkeypatch):
    monkeypatch.setattr(revisions, "EXPORT_PAGE", 3)  # a small page, so the export needs several
    x, _ = scenario.channels()
    for n in range(4):
        post = scenario.post_for([x], at=soon(3600), text=f"Post {n}")
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    headers = {"Authorization": f"Bearer {api.keys['admin']}"}
    body = api.client.get("/v1/audit", headers=headers).get_data(as_text=True)
    ids = [json.loads(line)["id"] for line in body.splitlines()]
    assert len(ids) == 12 and ids == sorted(set(ids))  # created, submitted, in_review x 4


def test_sent_back_to_review_by_a_resume_it_may_still_be_approved_late(
    api, scenario, runtime, sandbox, at
):
    """A crisis held two approved posts past their time; on resume the committee decides:
    approved, one goes out at once; the other, never approved, expires a day later."""
    x, _ = scenario.channels()
    due = soon(60)
    posts = [scenario.post_for([x], at=due, text=f"Post {n}") for n in range(2)]
    for post in posts:
        scenario.submit_and_approve(post)
    api.post(
        "/v1/pause", {"scope": "workspace", "reason": "crisis", "on_resume": "review"}, expect=201
    )
    resumed = due + timedelta(hours=2)
    at(resumed)
    result = api.post("/v1/resume", {"scope": "workspace"}, expect=200)
    pubs = [p["publications"][0]["id"] for p in posts]
    assert sorted(result["to_review"]) == pubs
    assert _sweep(runtime, resumed + timedelta(minutes=5)) == (0, 0)  # not expired: a window
    at(resumed + timedelta(minutes=5))
    vote = api.post(f"/v1/reviews/{pubs[0]}/approve", {"revision": 1}, as_="reviewer", expect=201)
    assert vote["publication_status"] == "scheduled"
    run_pipeline(runtime, now=resumed + timedelta(minutes=5))
    assert [a.text for a in sandbox.ledger.accepted()] == ["Post 0"]
    assert _sweep(runtime, resumed + timedelta(hours=25)) == (0, 1)
    assert scenario.publication(pubs[1])["status"] == "expired"
