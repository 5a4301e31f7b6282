"""Scenarios hand-made mutants of the invariants survived (issue 13, first part): each
test here fails on one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from publisher.core.models import Webhook
from publisher.deliver import claims, dispatch
from tests.helpers import rows_digest, run_pipeline, soon


def test_a_campaign_paused_then_a_post_approved_stays_paused(api, scenario, runtime, sandbox):
    """Only channel and workspace pauses were tested at approval time."""
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    api.post("/v1/pause", {"scope": "campaign", "id": campaign["id"], "reason": "x"}, as_="admin")
    post = scenario.post_for([x], at=soon(), campaign=campaign)
    scenario.submit_and_approve(post)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "paused"
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []


def test_a_reviewer_cannot_submit(api, scenario, runtime):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    before = rows_digest(runtime)
    api.refused("POST", f"/v1/posts/{post['id']}/submit", as_="reviewer", may_not="write content")
    assert scenario.publication(post["publications"][0]["id"])["status"] == "draft"
    assert rows_digest(runtime) == before


def test_the_claim_refuses_a_publication_half_a_second_early(api, scenario, runtime, sandbox, at):
    """The claim was only tested an hour early, the dispatcher at 1 ms."""
    x, _ = scenario.channels()
    due = soon(3600)
    post = scenario.post_for([x], at=due)
    scenario.submit_and_approve(post)
    (pub,) = [p["id"] for p in post["publications"]]
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=due) == 1
        held: list = []
        early = due - timedelta(milliseconds=500)
        assert claims.claim_many(session, [pub], now=early, held=held) == []
        assert held == [(pub, due)]  # waited for, not claimed
        session.commit()
    assert scenario.publication(pub)["status"] == "queued"
    with runtime.session() as session:
        (claimed,) = claims.claim_many(session, [pub], now=due)
        assert claimed.publication.id == pub
        session.rollback()


@pytest.fixture
def acme_hook(runtime):
    with runtime.session() as session:
        hook = Webhook(
            workspace_id=1, url="https://hooks.example/a", topics=["post.published"], secret=b"s"
        )
        session.add(hook)
        session.commit()
        return hook.id


def test_another_workspaces_webhook_and_review_link_are_404(api, scenario, runtime, acme_hook):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub = post["publications"][0]["id"]
    before = rows_digest(runtime)
    for method, path, body in [
        ("GET", f"/v1/webhooks/{acme_hook}", None),
        ("GET", f"/v1/webhooks/{acme_hook}/deliveries", None),
        ("PATCH", f"/v1/webhooks/{acme_hook}", {"active": False}),
        ("DELETE", f"/v1/webhooks/{acme_hook}", None),
        ("POST", f"/v1/reviews/{pub}/link", {}),
    ]:
        status, problem = api.call(method, path, body, as_="other")
        assert (status, problem["title"]) == (404, "Not found"), (method, path, problem)
    assert rows_digest(runtime) == before
