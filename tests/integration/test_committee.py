"""The approval committee: policies, who may vote, votes bound to a revision, batches."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import (
    a_writer_is_waiting,
    rows_digest,
    run_after_due,
    run_pipeline,
    soon,
    wait_until,
)


def test_two_of_three_with_a_required_legal_reviewer(
    api, scenario, runtime, sandbox, committee, at, x
):
    policy = {
        "approvals": 2,
        "requirements": [{"name": "legal", "reviewer_ids": [committee["legal"]]}],
    }
    assert api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)[1]["source"] == (
        "workspace"
    )
    post, pub_id = scenario.submitted(x, at=soon(60))
    # What is missing is counted once (issue 11 item 21): legal's approval is one of the two.
    assert scenario.review_item(pub_id, "alice")["tally"]["missing"] == [
        "2 more approvals, including 1 from legal"
    ]
    first = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    assert first["publication_status"] == "in_review"
    assert first["tally"]["missing"] == ["1 approval from legal"]
    assert not scenario.review_item(pub_id, "alice")["waiting_on_me"]
    assert scenario.review_item(pub_id, "bob")["waiting_on_me"]

    second = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="bob", expect=201)
    assert second["publication_status"] == "in_review"  # two approvals, but not legal's
    assert second["tally"] == {
        "approvals": 2,
        "needed": 2,
        "missing": ["1 approval from legal"],
        "short": 0,
        "groups": [[1, "legal"]],
    }
    assert run_pipeline(runtime, now=soon(120)) == 0
    assert sandbox.ledger.accepted() == []
    item = scenario.review_item(pub_id, "legal")
    assert item["waiting_on_me"] and not scenario.review_item(pub_id, "reviewer")["waiting_on_me"]
    assert [(v["reviewer"], v["decision"]) for v in item["votes"]] == [
        ("alice", "approved"),
        ("bob", "approved"),
    ]

    last = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="legal", expect=201)
    assert last["publication_status"] == "scheduled" and last["tally"]["missing"] == []
    run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == [post["text"]]


def test_a_second_approval_by_the_same_reviewer_does_not_count(api, scenario, committee, x):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = scenario.submitted(x)
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    status, body = api.call("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice")
    assert status == 409 and "already approved" in body["detail"]
    assert scenario.publication(pub_id)["status"] == "in_review"


def test_authors_may_not_approve_their_own_content(api, scenario, runtime):
    api.call("PUT", "/v1/review-policy", {"approvals": 1}, as_="admin", expect=200)
    x, _ = scenario.channels()
    body = scenario.post_body([x], at=soon(3600), campaign=scenario.campaign())
    post = api.post("/v1/posts", body, as_="admin", expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", as_="admin", expect=200)
    pub_id = post["publications"][0]["id"]
    assert not scenario.review_item(pub_id, "admin")["waiting_on_me"]
    before = rows_digest(runtime)
    status, problem = api.call(
        "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="admin"
    )
    assert status == 403 and "authors may not approve" in problem["detail"]
    assert rows_digest(runtime) == before
    # An editor who changed the text is an author too; the reviewer is not.
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Edited by the editor"}, expect=200)
    api.call(
        "PUT",
        "/v1/review-policy",
        {"approvals": 1, "allow_self_approval": True},
        as_="admin",
        expect=200,
    )
    assert (
        api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="admin", expect=201)[
            "publication_status"
        ]
        == "scheduled"
    )


def test_an_edit_between_two_votes_resets_the_count(
    api, scenario, runtime, sandbox, committee, x, at
):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    post, pub_id = scenario.submitted(x, at=soon(60), text="Open day on Saturday")
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Open day on Sunday"}, expect=200)
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="bob", expect=201)
    assert vote["publication_status"] == "in_review"  # alice approved revision 1 only
    assert vote["tally"]["approvals"] == 1
    status, stale = api.call("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice")
    assert status == 409 and stale["type"].endswith("/stale_revision")
    assert stale["current_revision"] == 2
    item = scenario.review_item(pub_id, "alice")
    assert item["waiting_on_me"] and item["diff"]["since_revision"] == 1
    assert item["diff"]["changes"] == [
        {
            "field": "text",
            "before": "Open day on Saturday",
            "after": "Open day on Sunday",
            "words": [
                {"op": "equal", "text": "Open day on "},
                {"op": "delete", "text": "Saturday"},
                {"op": "insert", "text": "Sunday"},
            ],
        }
    ]
    assert "-Open day on Saturday" in item["diff"]["text_diff"]
    assert [v["current"] for v in item["votes"]] == [False, True]
    done = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="alice", expect=201)
    assert done["publication_status"] == "scheduled"
    run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == ["Open day on Sunday"]


def test_a_batch_approval_partly_on_stale_revisions(api, scenario, runtime, sandbox, x, at):
    posts = [scenario.submitted(x, at=soon(60), text=f"Post number {n}") for n in range(3)]
    api.call("PATCH", f"/v1/posts/{posts[1][0]['id']}", {"text": "Post number one"}, expect=200)
    body = {
        "decision": "approve",
        "comment": "fine",
        "items": [{"publication_id": pub_id, "revision": 1} for _, pub_id in posts],
    }
    outcomes = api.post("/v1/reviews/batch", body, as_="reviewer", expect=200)
    assert [o["status"] for o in outcomes] == [201, 409, 201]
    assert outcomes[1]["problem"]["current_revision"] == 2
    assert outcomes[0]["review"]["publication_status"] == "scheduled"
    assert [scenario.publication(pub_id)["status"] for _, pub_id in posts] == [
        "scheduled",
        "in_review",
        "scheduled",
    ]
    run_after_due(runtime, at)
    assert sorted(a.text for a in sandbox.ledger.accepted()) == ["Post number 0", "Post number 2"]


def test_request_changes_and_reject_need_a_comment_in_a_batch_too(api, scenario, runtime, x):
    _, pub_id = scenario.submitted(x)
    before = rows_digest(runtime)
    for decision in ("request_changes", "reject"):
        body = {"decision": decision, "items": [{"publication_id": pub_id, "revision": 1}]}
        status, problem = api.call("POST", "/v1/reviews/batch", body, as_="reviewer")
        assert status == 422 and "comment is required" in problem["detail"]
    status, _ = api.call("POST", f"/v1/reviews/{pub_id}/reject", {"revision": 1}, as_="reviewer")
    assert status == 422
    assert rows_digest(runtime) == before


def test_campaign_policy_overrides_the_workspace_policy(api, scenario, committee):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    campaign = scenario.campaign()
    path = f"/v1/campaigns/{campaign['id']}/review-policy"
    assert api.get(path)["source"] == "workspace"
    api.call("PUT", path, {"approvals": 1}, as_="admin", expect=200)
    assert api.get(path)["source"] == "campaign"
    x, _ = scenario.channels()
    post = api.post(
        "/v1/posts", scenario.post_body([x], at=soon(60), campaign=campaign), expect=201
    )
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    assert vote["publication_status"] == "scheduled"
    assert api.call("DELETE", path, as_="admin", expect=200)[1]["source"] == "workspace"


def test_bad_policies_are_refused_and_change_nothing(api, runtime, committee):
    before = rows_digest(runtime)
    cases = [
        ({"approvals": 0}, "approvals"),
        ({"approvals": 1, "requirements": [{"name": "legal", "min": 2, "role": "reviewer"}]}, ""),
        ({"approvals": 1, "requirements": [{"name": "legal"}]}, ""),
        ({"approvals": 1, "requirements": [{"name": "x", "reviewer_ids": [999]}]}, "reviewer_ids"),
        ({"approvals": 1, "review_deadline_minutes": -5}, "review_deadline_minutes"),
        ({}, "approvals"),
    ]
    for body, where in cases:
        status, problem = api.call("PUT", "/v1/review-policy", body, as_="admin")
        assert status == 422, body
        assert where in str(problem["errors"])
    api.refused("PUT", "/v1/review-policy", {"approvals": 2}, as_="editor", may_not="manage policy")
    assert rows_digest(runtime) == before


def test_two_votes_at_the_same_moment_both_count(api, scenario, runtime, committee, x):
    """Two reviewers approve at once (two transactions): the second waits for the first,
    sees its vote, and completes the approval."""
    import threading

    from publisher.core.states import Status
    from publisher.core.workspaces import Actor
    from publisher.review import votes

    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = scenario.submitted(x)
    # Both at the line together: alice's vote is written and uncommitted when bob starts.
    line, outcomes, order = threading.Barrier(2, timeout=10), {}, []

    def vote(name: str) -> None:
        with runtime.session() as session:
            who = Actor(workspace_id=1, key_id=committee[name], role="reviewer")
            if name == "bob":
                line.wait()
            outcome = votes.decide(
                session, who, pub_id, Status.APPROVED, comment="", now=soon(), revision=1
            )
            if name == "alice":
                line.wait()  # bob starts his vote now, against this open transaction
                wait_until(lambda: a_writer_is_waiting(runtime), timeout_s=10, what="bob's wait")
            outcomes[name] = outcome.status
            session.commit()
            order.append(name)

    threads = [threading.Thread(target=vote, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert order == ["alice", "bob"]  # bob waited for alice's commit
    assert outcomes == {"alice": "in_review", "bob": "scheduled"}
    assert scenario.publication(pub_id)["status"] == "scheduled"


def test_an_approval_completed_early_still_waits_for_its_time(
    api, scenario, runtime, sandbox, committee, x
):
    """The last vote sets when it may go out; it must never be before its scheduled time,
    whether the dispatcher runs now or a rogue job is handed over at once."""
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = scenario.submitted(x, at=soon(600))
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="bob", expect=201)
    assert vote["publication_status"] == "scheduled"
    assert run_pipeline(runtime) == 0
    runtime.queue.hand_over([pub_id])
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    assert scenario.publication(pub_id)["status"] == "scheduled"  # the early job let it be


def test_a_requirement_of_the_admin_role_is_not_met_by_a_reviewer(
    api, scenario, runtime, sandbox, x, at
):
    policy = {"approvals": 1, "requirements": [{"name": "management", "role": "admin"}]}
    api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)
    post, pub_id = scenario.submitted(x, at=soon(60))
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    assert vote["publication_status"] == "in_review"
    assert vote["tally"]["missing"] == ["1 approval from management"]
    assert run_pipeline(runtime, now=soon(120)) == 0
    assert sandbox.ledger.accepted() == []
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="admin", expect=201)
    assert vote["publication_status"] == "scheduled" and vote["tally"]["missing"] == []
    run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == [post["text"]]


def test_an_admin_who_edited_an_editors_post_may_not_approve_it(api, scenario, runtime, x):
    """Self-approval off: whoever changed the content is an author, whatever their role."""
    api.call("PUT", "/v1/review-policy", {"approvals": 1}, as_="admin", expect=200)
    post, pub_id = scenario.submitted(x)
    edit = {"text": "Winter open day, as the admin wrote it"}
    api.call("PATCH", f"/v1/posts/{post['id']}", edit, as_="admin", expect=200)
    before = rows_digest(runtime)
    status, problem = api.call(
        "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="admin"
    )
    assert status == 403 and "authors may not approve" in problem["detail"]
    assert rows_digest(runtime) == before
    assert scenario.publication(pub_id)["status"] == "in_review"
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="reviewer", expect=201)
    assert vote["publication_status"] == "scheduled"


def test_a_vote_committed_while_redis_is_down_answers_201(api, scenario, runtime, sandbox, x, at):
    """Issue 14 part 4: the vote was recorded and the publication scheduled, then waking the
    dispatcher through Redis failed and the client got a 500 (its retry a 409). Once the
    database has committed, the answer is the commit's; the dispatcher finds the change on
    its next pass."""
    from redis import Redis

    _, pub_id = scenario.submitted(x, at=soon(60))
    working = runtime.queue.redis
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    runtime.queue.redis = Redis(port=port, socket_connect_timeout=0.5)
    try:
        status, vote = api.call(
            "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer"
        )
    finally:
        runtime.queue.redis = working
    assert status == 201 and vote["publication_status"] == "scheduled", vote
    assert scenario.publication(pub_id)["status"] == "scheduled"
    run_after_due(runtime, at)
    assert len(sandbox.ledger.accepted()) == 1


def _redis_down(runtime):
    """The queue's Redis swapped for one that does not answer (the database stays)."""
    from redis import Redis

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    runtime.queue.redis = Redis(port=port, socket_connect_timeout=0.5)


@pytest.mark.parametrize("write", ["batch", "page", "resume", "channel", "check"])
def test_every_write_that_wakes_the_dispatcher_answers_its_commit_with_redis_down(
    api, scenario, runtime, sandbox, x, at, write, caplog
):
    """Issue 14 part 4, beyond the single vote: a batch vote, a vote from the review page,
    a resume and a channel's new credentials each commit, then wake the dispatcher through
    Redis; with Redis down the client still gets the commit's answer, never a 500."""
    _, pub_id = scenario.submitted(x, at=soon(60))
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    if write == "resume":
        api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
        api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    working = runtime.queue.redis
    _redis_down(runtime)
    try:
        if write == "batch":
            body = {"items": [{"publication_id": pub_id, "revision": 1}], "decision": "approve"}
            status, _ = api.call("POST", "/v1/reviews/batch", body, as_="reviewer")
        elif write == "page":
            path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
            answer = api.client.post(path, data={"decision": "approve", "revision": "1"})
            status = answer.status_code
        elif write == "resume":
            status, _ = api.call("POST", "/v1/resume", {"scope": "workspace"})
        elif write == "channel":
            creds = {"credentials": {"access_token": "x-token-acme"}}
            status, _ = api.call("PATCH", f"/v1/channels/{x['id']}", creds)
        else:
            status, _ = api.call("POST", f"/v1/channels/{x['id']}/check")
    finally:
        runtime.queue.redis = working
    assert status == 200
    # Said in the log; the dispatcher's own pass, within a second, is the retry.
    assert "could not wake the dispatcher" in caplog.text
    if write not in ("channel", "check"):
        assert scenario.publication(pub_id)["status"] == "scheduled"
