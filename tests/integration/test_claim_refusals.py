"""What a job does with a publication it cannot claim (issue 13: each branch pinned by its
state and its audit reason). Each case is a change that landed between the dispatcher's
hand-over and the worker's claim; the claim refuses it, nothing reaches the ledger, and
the publication is put where it can go on from, saying why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from publisher.core.models import Post, Publication
from publisher.deliver import claims, dispatch
from publisher.deliver.claims import HOLD_EARLY_S
from tests.helpers import soon


@pytest.fixture
def queued(api, scenario, runtime, at):
    """An approved X publication due in a minute, handed over (queued) at its due time."""
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(60), text="handed over, not yet claimed")
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    due = scenario_due(runtime, pub_id)
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=due) == 1
    assert scenario.publication(pub_id)["status"] == "queued"
    return {"id": pub_id, "post_id": post["id"], "due": due, "channel": x}


def scenario_due(runtime, pub_id: int):
    with runtime.session() as session:
        return session.get(Publication, pub_id).due_at


def _claim(runtime, pub_id: int, now, held=None) -> list:
    with runtime.session() as session:
        found = claims.claim_many(session, [pub_id], now=now, held=held)
        session.commit()
    return found


def _last(api, pub_id: int) -> dict:
    return api.get(f"/v1/publications/{pub_id}/history")[-1]


def test_content_changed_after_the_hand_over_goes_back_to_review(api, scenario, runtime, queued):
    with runtime.engine.begin() as conn:  # an edit that raced the hand-over
        conn.execute(update(Post).where(Post.id == queued["post_id"]).values(content_hash="0" * 64))
    assert _claim(runtime, queued["id"], queued["due"]) == []
    pub = scenario.publication(queued["id"])
    assert (pub["status"], pub["approved_at"]) == ("in_review", None)
    last = _last(api, queued["id"])
    assert (last["from_status"], last["to_status"]) == ("queued", "in_review")
    assert last["reason"] == "content changed after approval" and last["actor"] == "system:worker"


def test_a_pause_after_the_hand_over_pauses_it(api, scenario, runtime, sandbox, queued):
    scope = {"scope": "channel", "id": queued["channel"]["id"], "reason": "crisis"}
    api.post("/v1/pause", scope, expect=201)
    with runtime.engine.begin() as conn:  # a hand-over that raced the pause's sweep
        conn.execute(
            update(Publication).where(Publication.id == queued["id"]).values(status="queued")
        )
    assert _claim(runtime, queued["id"], queued["due"]) == []
    last = _last(api, queued["id"])
    assert (last["from_status"], last["to_status"]) == ("queued", "paused")
    assert last["reason"] == "under a pause" and last["actor"] == "system:worker"
    assert sandbox.ledger.accepted() == []


def test_moved_later_after_the_hand_over_it_is_scheduled_again(api, scenario, runtime, queued):
    later = queued["due"] + timedelta(hours=1)
    with runtime.engine.begin() as conn:
        conn.execute(update(Publication).where(Publication.id == queued["id"]).values(due_at=later))
    assert _claim(runtime, queued["id"], queued["due"]) == []
    last = _last(api, queued["id"])
    assert (last["from_status"], last["to_status"]) == ("queued", "scheduled")
    assert last["reason"] == "not claimable yet" and last["actor"] == "system:worker"


@pytest.mark.parametrize(
    "early, held",
    [
        (timedelta(seconds=HOLD_EARLY_S), True),  # the hold's far end: held
        (timedelta(seconds=HOLD_EARLY_S, microseconds=1), False),  # beyond it: scheduled
        (timedelta(microseconds=1), True),
    ],
)
def test_handed_over_a_little_early_it_is_held_by_the_job(
    api, scenario, runtime, queued, early, held
):
    """Up to HOLD_EARLY_S before its time a job holds it, untouched, to claim it when due;
    earlier than that it goes back to the dispatcher."""
    waiting: list = []
    assert _claim(runtime, queued["id"], queued["due"] - early, held=waiting) == []
    assert waiting == ([(queued["id"], queued["due"])] if held else [])
    status = scenario.publication(queued["id"])["status"]
    assert status == ("queued" if held else "scheduled")


def test_due_now_it_is_claimed_not_held(runtime, queued):
    waiting: list = []
    (claimed,) = _claim(runtime, queued["id"], queued["due"], held=waiting)
    assert claimed.publication.id == queued["id"] and waiting == []


def test_a_scheduled_publication_is_never_held(api, scenario, runtime, queued):
    """Only a hand-over is held: a scheduled one the job finds early is not the job's."""
    with runtime.engine.begin() as conn:
        conn.execute(
            update(Publication).where(Publication.id == queued["id"]).values(status="scheduled")
        )
    waiting: list = []
    assert _claim(runtime, queued["id"], queued["due"] - timedelta(seconds=1), held=waiting) == []
    assert waiting == [] and scenario.publication(queued["id"])["status"] == "scheduled"


def test_a_held_publication_goes_out_whole_when_its_time_comes(api, scenario, runtime, sandbox, at):
    """Held by the job, then claimed the moment it is due: with its media and its short
    link, as a publication claimed at once would be."""
    from datetime import datetime

    from publisher import jobs
    from tests.samples import png

    runtime.settings = runtime.settings.with_(public_url="https://go.acme-asso.fr")
    x, _ = scenario.channels()
    media_id = api.upload(png(20, 20))[1]["id"]
    body = scenario.post_body(
        [x], at=soon(60), text="Held https://acme-asso.fr/h", media=[{"media_id": media_id}]
    )
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    due = scenario_due(runtime, pub_id)
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=due) == 1
    # A second before its time, and time goes on: the job holds it, then claims it.
    at(due - timedelta(seconds=1), running=True)
    assert jobs.publish_batch(pub_id) == ["published"]
    (sent,) = sandbox.ledger.accepted("x")
    assert len(sent.media) == 1 and "https://go.acme-asso.fr/l/" in sent.text
    history = api.get(f"/v1/publications/{pub_id}/history")
    claimed_at = next(h["at"] for h in history if h["to_status"] == "publishing")
    assert datetime.fromisoformat(claimed_at) >= due  # never early
