"""`unknown` is settled by asking the platform, never by resending blindly. Every outcome is
judged from the sandbox's ledger: one post per publication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import Fault
from publisher.core.models import Publication
from publisher.deliver import claims, dispatch, outcomes
from tests.helpers import reconcile_pass, run_pipeline, soon
from tests.scenario import TEXT


@pytest.fixture
def pub(api, scenario):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    return post["publications"][0]["id"]


def test_timeout_after_accept_is_reconciled_to_the_post_that_landed(
    api, scenario, runtime, sandbox, pub
):
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=runtime.settings.platform_timeout_s + 0.5))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    assert reconcile_pass(runtime) == 1
    settled = scenario.publication(pub)
    (tweet,) = sandbox.ledger.accepted("x")
    assert settled["status"] == "published" and settled["external_id"] == tweet.external_id
    history = api.get(f"/v1/publications/{pub}/history")
    assert history[-1]["actor"] == "system:reconciler" and "found" in history[-1]["reason"]


def test_500_before_the_platform_created_it_is_sent_again_once(
    api, scenario, runtime, sandbox, pub
):
    sandbox.ledger.inject("x", Fault(status=500))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    reconcile_pass(runtime)
    assert scenario.publication(pub)["status"] == "scheduled"  # proven absent: safe to resend
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "published"
    assert [t.text for t in sandbox.ledger.accepted("x")] == [TEXT]


def test_500_after_the_platform_created_it_is_reconciled_not_resent(
    api, scenario, runtime, sandbox, pub
):
    sandbox.ledger.inject("x", Fault(status=500, accept=True))
    run_pipeline(runtime)
    reconcile_pass(runtime)
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_worker_gone_before_the_call_is_published_once(api, scenario, runtime, sandbox, pub):
    with runtime.session() as session:
        assert claims.claim(session, pub, now=datetime.now(UTC)) is not None
        session.commit()  # ... and the worker dies here
    with runtime.session() as session:
        later = datetime.now(UTC) + timedelta(minutes=5)
        dispatch.expire_claims(session, now=later, claim_timeout=timedelta(seconds=60))
        session.commit()
    reconcile_pass(runtime, now=datetime.now(UTC) + timedelta(minutes=5))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_duplicate_answer_on_a_retry_counts_as_evidence_it_landed(
    api, scenario, runtime, sandbox, pub
):
    # First try: the platform creates the post but the answer is lost (500 after accept);
    # pretend reconciliation was skipped and the publication was retried anyway.
    sandbox.ledger.inject("x", Fault(status=500, accept=True))
    run_pipeline(runtime)
    with runtime.session() as session:
        row = session.get(Publication, pub)
        row.status, row.due_at = "scheduled", datetime.now(UTC)
        session.commit()
    run_pipeline(runtime)  # the retry: X answers 403 duplicate content
    assert scenario.publication(pub)["status"] == "unknown"
    reconcile_pass(runtime)
    settled = scenario.publication(pub)
    assert settled["status"] == "published"
    assert settled["external_id"] == sandbox.ledger.accepted("x")[0].external_id
    assert len(sandbox.ledger.accepted("x")) == 1


def test_reconciliation_that_cannot_ask_the_platform_stays_unknown(
    api, scenario, runtime, sandbox, pub
):
    sandbox.ledger.inject("x", Fault(status=500, accept=True))
    run_pipeline(runtime)
    sandbox.ledger.expire_token("x-token-acme")  # the timeline lookup now answers 401
    reconcile_pass(runtime)
    pub_now = scenario.publication(pub)
    assert pub_now["status"] == "unknown" and "reconciliation pending" in pub_now["last_error"]
    assert len(sandbox.ledger.accepted("x")) == 1


def test_a_publication_that_never_lands_fails_after_bounded_attempts(
    api, scenario, runtime, sandbox, pub
):
    runtime.policy = outcomes.RetryPolicy(max_attempts=2)
    sandbox.ledger.inject("x", Fault(status=500, times=2))
    for hop in range(3):
        when = datetime.now(UTC) + timedelta(hours=hop)
        run_pipeline(runtime, now=when)
        reconcile_pass(runtime, now=when)
    settled = scenario.publication(pub)
    assert settled["status"] == "failed" and "not on the platform after 2" in settled["last_error"]
    assert sandbox.ledger.accepted("x") == []


def test_a_post_cannot_be_edited_while_its_outcome_is_unknown(api, scenario, runtime, sandbox, pub):
    sandbox.ledger.inject("x", Fault(status=500, accept=True))
    run_pipeline(runtime)
    post_id = scenario.publication(pub)["post_id"]
    status, problem = api.call("PATCH", f"/v1/posts/{post_id}", {"text": "changed"})
    assert status == 409 and "settled" in problem["detail"]


def test_an_answer_arriving_after_the_claim_expired_is_still_recorded(
    api, scenario, runtime, sandbox, pub
):
    """The worker was slow, not dead: its claim expired (unknown) before the answer came."""
    from adapters.errors import OutcomeUnknown, Rejected
    from adapters.types import PublishResult
    from publisher.core.models import Channel, Publication
    from publisher.deliver.outcomes import record_outcome

    for outcome, expected in [
        (OutcomeUnknown("timeout"), "unknown"),
        (Rejected("duplicate content", duplicate=True), "unknown"),
        (PublishResult(external_id="42", url="https://x.com/i/web/status/42"), "published"),
    ]:
        with runtime.session() as session:
            row = session.get(Publication, pub)
            row.status, row.attempts = "unknown", 2
            session.commit()
            channel = session.get(Channel, row.channel_id)
            status = record_outcome(
                session, row, channel, outcome, now=datetime.now(UTC), policy=runtime.policy
            )
            session.commit()
        assert status == expected
    assert scenario.publication(pub)["external_id"] == "42"


@pytest.mark.parametrize(
    "text,media",
    [
        ("Fish & chips <today> at https://lumiere-asso.fr/menu. Come!", False),
        ("Our stand at lumiere.paris, see you there", False),
        ("A picture of the stand", True),
    ],
    ids=["entities-and-link", "bare-domain", "media"],
)
def test_a_post_x_hands_back_rewritten_is_still_found(api, scenario, runtime, sandbox, text, media):
    """X returns text escaped (&amp;), links as t.co and media as a trailing t.co link:
    reconciliation must still recognise the post, or it would send it a second time."""
    from tests.samples import png

    x, _ = scenario.channels()
    refs = {"media": [{"media_id": api.upload(png())[1]["id"]}]} if media else {}
    post = api.post("/v1/posts", scenario.post_body([x], text=text, **refs), expect=201)
    scenario.submit_and_approve(post)
    pub = post["publications"][0]["id"]
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=runtime.settings.platform_timeout_s + 0.5))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    assert reconcile_pass(runtime) == 1
    (tweet,) = sandbox.ledger.accepted("x")
    settled = scenario.publication(pub)
    assert settled["status"] == "published" and settled["external_id"] == tweet.external_id


def test_a_facebook_link_post_is_found_without_the_fields_graph_removed(
    api, scenario, runtime, sandbox
):
    """Page posts lost `link` in v3.3: a feed read asking for it is refused whole (#12),
    so a reconciliation that asks for it could never settle anything."""
    _, fb = scenario.channels()
    post = scenario.post_for([fb], at=soon(), link="https://lumiere-asso.fr/agenda")
    scenario.submit_and_approve(post)
    pub = post["publications"][0]["id"]
    timeout = runtime.settings.platform_timeout_s + 0.5
    sandbox.ledger.inject("facebook", Fault(accept=True, hold_s=timeout, status=500))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    assert reconcile_pass(runtime) == 1
    (page_post,) = sandbox.ledger.accepted("facebook")
    settled = scenario.publication(pub)
    assert settled["status"] == "published" and settled["external_id"] == page_post.external_id


def test_reconciliation_waits_for_the_platform_to_list_it_before_resending(
    api, scenario, runtime, sandbox, pub
):
    """The settle wait: a platform may list a post some seconds after accepting it, so
    "not found" right after the attempt proves nothing; only after the wait is it absent."""
    runtime.settings = runtime.settings.with_(reconcile_after_s=60.0)
    sandbox.ledger.inject("x", Fault(status=500))
    run_pipeline(runtime)
    attempted = datetime.now(UTC)
    assert scenario.publication(pub)["status"] == "unknown"
    reconcile_pass(runtime)
    waiting = scenario.publication(pub)
    assert waiting["status"] == "unknown"  # not "scheduled": too early to say it is absent
    assert reconcile_pass(runtime, now=attempted + timedelta(seconds=30)) == 0  # not due
    assert reconcile_pass(runtime, now=attempted + timedelta(seconds=61)) == 1
    # The worker asks by its own clock: the settle wait has not passed for it yet.
    assert scenario.publication(pub)["status"] == "unknown"
    with runtime.session() as session:
        row = session.get(Publication, pub)
        row.claimed_at = row.claimed_at - timedelta(seconds=61)  # as if a minute went by
        session.commit()
    reconcile_pass(runtime, now=attempted + timedelta(minutes=5))
    assert scenario.publication(pub)["status"] == "scheduled"  # now proven absent
    assert sandbox.ledger.accepted("x") == []
