"""POST /v1/publications/{id}/delete: the crisis take-down of what already went out,
through tweepy and facebook-sdk, judged from the sandbox (the post is gone from the
account's timeline) and from the audit."""

from __future__ import annotations

import pytest

from adapters.sandbox import Fault
from tests.helpers import rows_digest, run_pipeline, soon


@pytest.fixture
def published(api, scenario, runtime):
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon())
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    return {scenario.publication(p["id"])["channel_id"]: p["id"] for p in post["publications"]}


def test_a_published_post_is_taken_down_on_each_platform(api, scenario, sandbox, published):
    for pub_id in published.values():
        external = scenario.publication(pub_id)["external_id"]
        done = api.post(
            f"/v1/publications/{pub_id}/delete", {"reason": "wave of angry replies"}, expect=200
        )
        assert done["status"] == "deleted"
        (record,) = [a for a in sandbox.ledger.accepted() if a.external_id == external]
        assert record.deleted_at is not None
        history = api.get(f"/v1/publications/{pub_id}/history")
        assert history[-1]["to_status"] == "deleted"
        assert history[-1]["reason"] == "wave of angry replies"
        assert history[-1]["actor"].startswith("key:")


def test_a_thread_comes_down_whole(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    post = api.post(
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": "one",
            "thread": ["two", "three"],
            "targets": [
                {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            ],
        },
        expect=201,
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub_id = post["publications"][0]["id"]
    api.post(f"/v1/publications/{pub_id}/delete", {"reason": "wrong figures"}, expect=200)
    assert all(a.deleted_at for a in sandbox.ledger.accepted("x"))


def test_a_platform_that_does_not_answer_leaves_it_published_and_it_can_be_repeated(
    api, scenario, sandbox, published
):
    pub_id = next(iter(published.values()))
    platform = scenario.publication(pub_id)
    kind = "x" if platform["external_url"].startswith("https://x.com") else "facebook"
    sandbox.ledger.inject(kind, Fault(status=503, on="delete"))
    status, problem = api.call("POST", f"/v1/publications/{pub_id}/delete", {"reason": "r"})
    assert status == 503 and "not taken down" in problem["detail"]
    assert scenario.publication(pub_id)["status"] == "published"
    api.post(f"/v1/publications/{pub_id}/delete", {"reason": "r"}, expect=200)


def test_a_post_already_gone_from_the_platform_counts_as_deleted(api, scenario, sandbox, published):
    for pub_id in published.values():
        pub = scenario.publication(pub_id)
        kind = "x" if pub["external_url"].startswith("https://x.com") else "facebook"
        assert sandbox.ledger.delete(kind, pub["external_id"])  # removed by hand on the site
        done = api.post(f"/v1/publications/{pub_id}/delete", {"reason": "r"}, expect=200)
        assert done["status"] == "deleted"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": 5}])
def test_a_take_down_needs_a_reason(api, runtime, published, body):
    pub_id = next(iter(published.values()))
    before = rows_digest(runtime)
    assert api.call("POST", f"/v1/publications/{pub_id}/delete", body)[0] == 422
    assert rows_digest(runtime) == before


def test_only_published_can_be_taken_down_and_only_by_writers(api, scenario, runtime, published):
    x, _ = scenario.channels()
    draft = scenario.post_for([x], at=soon(3600))["publications"][0]["id"]
    status, problem = api.call("POST", f"/v1/publications/{draft}/delete", {"reason": "r"})
    assert status == 409 and problem["current_status"] == "draft"
    pub_id = next(iter(published.values()))
    before = rows_digest(runtime)
    path = f"/v1/publications/{pub_id}/delete"
    api.refused("POST", path, {"reason": "r"}, as_="reviewer", may_not="write content")
    assert rows_digest(runtime) == before
    api.post(f"/v1/publications/{pub_id}/delete", {"reason": "r"}, expect=200)
    again = api.call("POST", f"/v1/publications/{pub_id}/delete", {"reason": "r"})
    assert again[0] == 409 and again[1]["current_status"] == "deleted"


def test_a_platform_that_cannot_delete_says_so_once_not_try_later(api, scenario, runtime, sandbox):
    """Issue 11 item 21: Instagram's API deletes nothing; that answered 503 (clients retry
    for ever). It is a 409 with the reason, and nothing changes."""
    from tests.samples import jpeg

    insta = scenario.instagram(runtime)
    media = [{"media_id": api.upload(jpeg(320, 320))[1]["id"]}]
    post = api.post(
        "/v1/posts", scenario.post_body([insta], text="Summer", media=media), expect=201
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub_id = post["publications"][0]["id"]
    assert scenario.publication(pub_id)["status"] == "published"
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/publications/{pub_id}/delete", {"reason": "r"})
    assert status == 409 and "cannot delete" in problem["detail"]
    assert rows_digest(runtime) == before
    assert scenario.publication(pub_id)["status"] == "published"
