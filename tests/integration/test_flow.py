"""The flow of one post through services, Redis and a burst worker, judged from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import drain_queue, run_pipeline, soon
from tests.scenario import FB_PAGE, TEXT


def test_create_submit_approve_publish_reaches_each_platform_once(api, scenario, runtime, sandbox):
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon(), link="https://example.org/join")
    assert {p["status"] for p in post["publications"]} == {"draft"}
    scenario.submit_and_approve(post)

    assert run_pipeline(runtime) == 2

    tweets, feed = sandbox.ledger.accepted("x"), sandbox.ledger.accepted("facebook")
    assert [t.text for t in tweets] == [f"{TEXT} https://example.org/join"]
    assert [(f.text, f.link, f.account) for f in feed] == [
        (TEXT, "https://example.org/join", FB_PAGE)
    ]
    by_channel = {p["channel_id"]: p for p in api.get(f"/v1/posts/{post['id']}")["publications"]}
    assert by_channel[x["id"]]["status"] == "published"
    assert by_channel[x["id"]]["external_id"] == tweets[0].external_id
    assert by_channel[fb["id"]]["external_id"] == feed[0].external_id
    assert by_channel[fb["id"]]["external_url"].endswith(feed[0].external_id)
    published_at = datetime.fromisoformat(by_channel[x["id"]]["published_at"])
    assert published_at.utcoffset() == timedelta(0)


def test_nothing_is_sent_before_its_time_even_if_a_job_is_enqueued(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]

    assert run_pipeline(runtime) == 0
    runtime.queue.hand_over([pub_id])  # a rogue or early job: the claim must refuse it
    drain_queue(runtime)

    assert sandbox.ledger.accepted() == []
    assert scenario.publication(pub_id)["status"] == "scheduled"


def test_dispatch_is_exact_about_the_due_instant(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    at = soon(3600)
    post = scenario.post_for([x], at=at)
    scenario.submit_and_approve(post)
    with runtime.session() as session:
        from publisher.deliver.dispatch import dispatch_due, next_due_at

        assert next_due_at(session, now=datetime.now(UTC)) == at
        assert dispatch_due(session, runtime.queue, now=at - timedelta(milliseconds=1)) == 0
        assert dispatch_due(session, runtime.queue, now=at) == 1
    assert scenario.publication(post["publications"][0]["id"])["status"] == "queued"


def test_unapproved_post_is_never_sent_even_when_its_job_runs(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]

    assert run_pipeline(runtime) == 0
    runtime.queue.hand_over([pub_id])
    drain_queue(runtime)

    assert sandbox.ledger.accepted() == []
    assert scenario.publication(pub_id)["status"] == "in_review"


def test_edit_after_approval_while_queued_sends_nothing_until_approved_again(
    api, scenario, runtime, sandbox
):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    with runtime.session() as session:
        from publisher.deliver.dispatch import dispatch_due

        assert dispatch_due(session, runtime.queue, now=datetime.now(UTC)) == 1  # job in Redis

    edited = api.call(
        "PATCH", f"/v1/posts/{post['id']}", {"text": "Edited after approval"}, expect=200
    )[1]
    assert edited["revision"] == 2
    assert edited["publications"][0]["status"] == "in_review"
    drain_queue(runtime)  # the job that was already enqueued runs now
    assert sandbox.ledger.accepted() == []

    api.post(
        f"/v1/reviews/{pub_id}/approve",
        {"comment": "ok", "revision": 2},
        as_="reviewer",
        expect=201,
    )
    run_pipeline(runtime)
    assert [a.text for a in sandbox.ledger.accepted()] == ["Edited after approval"]


def test_edit_between_dispatch_and_claim_is_caught_by_the_claim(api, scenario, runtime, sandbox):
    """The post changes in the database behind the API's back: the claim's hash check holds."""
    from sqlalchemy import update

    from publisher.core.models import Post

    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    with runtime.session() as session:
        session.execute(update(Post).where(Post.id == post["id"]).values(text="tampered"))
        session.commit()
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    assert scenario.publication(post["publications"][0]["id"])["status"] == "in_review"


def test_rejected_post_is_never_sent(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    api.post(
        f"/v1/reviews/{pub_id}/reject",
        {"comment": "off brand", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    runtime.queue.hand_over([pub_id])
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    assert scenario.publication(pub_id)["status"] == "rejected"
    status, body = api.call(
        "POST",
        f"/v1/reviews/{pub_id}/approve",
        {"comment": "changed mind", "revision": 1},
        as_="reviewer",
    )
    assert status == 409 and body["current"] == "rejected"


def test_a_job_run_twice_publishes_once(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    run_pipeline(runtime)
    runtime.queue.hand_over([pub_id])
    runtime.queue.hand_over([pub_id])
    drain_queue(runtime)
    assert len(sandbox.ledger.accepted()) == 1
    assert scenario.publication(pub_id)["attempts"] == 1


def test_cancelled_publication_is_not_sent(api, scenario, runtime, sandbox):
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon())
    scenario.submit_and_approve(post)
    x_pub = next(p for p in post["publications"] if p["channel_id"] == x["id"])
    assert api.post(f"/v1/publications/{x_pub['id']}/cancel", expect=200)["status"] == "cancelled"
    run_pipeline(runtime)
    assert [a.platform for a in sandbox.ledger.accepted()] == ["facebook"]
    status, body = api.call("POST", f"/v1/publications/{x_pub['id']}/cancel")
    assert status == 409 and body["current"] == "cancelled"


def test_request_changes_then_resubmit(api, scenario, runtime, sandbox):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    api.post(
        f"/v1/reviews/{pub_id}/request-changes",
        {"comment": "add the date", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    assert scenario.publication(pub_id)["status"] == "changes_requested"
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Starts Monday 1 Dec"}, expect=200)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="reviewer", expect=201)
    run_pipeline(runtime)
    assert [a.text for a in sandbox.ledger.accepted()] == ["Starts Monday 1 Dec"]
    history = api.get(f"/v1/publications/{pub_id}/history")
    assert [h["to_status"] for h in history if h["kind"] == "publication.transition"] == [
        "in_review",
        "changes_requested",
        "in_review",
        "approved",
        "scheduled",
        "queued",
        "publishing",
        "published",
    ]
