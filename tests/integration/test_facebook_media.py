"""Photos on a Facebook Page through facebook-sdk: unpublished photos attached to one feed
post, judged from the sandbox's record of the post and of the photos it received."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from adapters.sandbox import Fault
from tests.helpers import run_pipeline, set_clock, soon
from tests.samples import jpeg, mp4, png
from tests.scenario import FB_PAGE


def _post(api, scenario, channel, media, *, link=None):
    extra = {"link": link} if link else {}
    body = scenario.post_body([channel], text="Our summer meetup", media=media, **extra)
    return api.post("/v1/posts", body, expect=201)


def test_several_photos_make_one_page_post(api, scenario, runtime, sandbox):
    _, fb = scenario.channels()
    files = [png(40, 30), jpeg(80, 60)]
    refs = [{"media_id": api.upload(f)[1]["id"]} for f in files]
    refs[0]["alt_text"] = "People at the meetup"
    post = _post(api, scenario, fb, refs, link="https://acme.example/meetup")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    (page_post,) = sandbox.ledger.accepted("facebook")
    assert [m["sha256"] for m in page_post.media] == [hashlib.sha256(f).hexdigest() for f in files]
    assert [m["alt_text"] for m in page_post.media] == ["People at the meetup", None]
    # With photos there is no link preview: the link is in the message.
    assert page_post.text == "Our summer meetup\n\nhttps://acme.example/meetup"
    assert all(sandbox.ledger.uploads[m["media_id"]]["published"] for m in page_post.media)


def test_a_failed_photo_upload_is_retried_and_the_post_goes_out_once(
    api, scenario, runtime, sandbox
):
    _, fb = scenario.channels()
    post = _post(api, scenario, fb, [{"media_id": api.upload(png())[1]["id"]}])
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("facebook", Fault(status=500, code=1, on="media"))
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "scheduled" and "photo upload" in pub["last_error"]
    assert sandbox.ledger.accepted() == []

    later = datetime.now(UTC) + timedelta(hours=1)
    set_clock(runtime, later)
    run_pipeline(runtime, now=later)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "published"
    assert len(sandbox.ledger.accepted("facebook")) == 1


def test_video_on_a_page_is_refused_at_submit_with_a_clear_reason(api, scenario):
    x, fb = scenario.channels()
    post = _post(api, scenario, fb, [{"media_id": api.upload(mp4(5.0))[1]["id"]}])
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    assert "Facebook posts cannot carry video (yet)" in problem["errors"][0]["msg"]


def test_usage_headers_rest_the_page_before_graph_refuses(api, scenario, runtime, sandbox):
    # facebook-sdk drops response headers; the adapter reads them from its session. A Page
    # at 97% of its hourly allowance gets this post out, then rests: the next one waits.
    import json

    _, fb = scenario.channels()
    first = scenario.post_for([fb], at=soon(), text="first while near the limit")
    second = scenario.post_for([fb], at=soon(), text="second must wait")
    scenario.submit_and_approve(first)
    sandbox.ledger.graph_headers["X-Page-Usage"] = json.dumps(
        {"call_count": 97, "total_cputime": 10, "total_time": 12}
    )
    run_pipeline(runtime)
    assert scenario.publication(first["publications"][0]["id"])["status"] == "published"
    held = api.get(f"/v1/channels/{fb['id']}")["held_until"]
    assert held is not None

    scenario.submit_and_approve(second)
    run_pipeline(runtime)
    assert scenario.publication(second["publications"][0]["id"])["status"] == "scheduled"
    assert [a.text for a in sandbox.ledger.accepted("facebook")] == ["first while near the limit"]


def test_a_throttled_page_waits_as_long_as_graph_says(api, scenario, runtime, sandbox):
    import json

    _, fb = scenario.channels()
    post = scenario.post_for([fb], at=soon())
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("facebook", Fault(status=400, code=32))
    sandbox.ledger.graph_headers["X-Business-Use-Case-Usage"] = json.dumps(
        {FB_PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 42}]}
    )
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "scheduled"
    held = datetime.fromisoformat(api.get(f"/v1/channels/{fb['id']}")["held_until"])
    # 42 minutes from the answer, not the 5-minute default for an unexplained throttle
    assert held - datetime.fromisoformat(pub["updated_at"]) > timedelta(minutes=40)
