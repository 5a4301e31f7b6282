"""Media on X through tweepy's session: images with alt text, a video uploaded in chunks
and waited for, limits checked before anything is sent, upload failures retried safely.
Judged from the sandbox's record of what bytes arrived on which post."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import Fault
from tests.helpers import run_pipeline, set_clock, soon
from tests.samples import jpeg, mp4, png


def _post(api, scenario, channel, media, *, text="With pictures"):
    return api.post("/v1/posts", scenario.post_body([channel], text=text, media=media), expect=201)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_images_with_alt_text_go_out_with_the_post(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    first, second = png(30, 20), jpeg(64, 32)
    ids = [api.upload(data)[1]["id"] for data in (first, second)]
    post = _post(
        api,
        scenario,
        x,
        [{"media_id": ids[0], "alt_text": "Our team at the fair"}, {"media_id": ids[1]}],
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    (tweet,) = sandbox.ledger.accepted("x")
    assert [(m["sha256"], m["content_type"], m["alt_text"]) for m in tweet.media] == [
        (_sha(first), "image/png", "Our team at the fair"),
        (_sha(second), "image/jpeg", None),
    ]
    assert scenario.publication(post["publications"][0]["id"])["status"] == "published"


def test_a_video_is_uploaded_in_chunks_and_waited_for(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    video = mp4(30.0, padding=9 * 1024 * 1024)  # three segments of at most 4 MiB
    media_id = api.upload(video, "clip.mp4")[1]["id"]
    sandbox.ledger.media_processing_s = 1.5  # X processes video before it can be posted
    post = _post(api, scenario, x, [{"media_id": media_id}], text="Watch this")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    (tweet,) = sandbox.ledger.accepted("x")
    (attached,) = tweet.media
    assert attached["sha256"] == _sha(video) and attached["content_type"] == "video/mp4"
    upload = sandbox.ledger.uploads[attached["media_id"]]
    assert upload["segment_count"] == 3 and upload["category"] == "tweet_video"
    assert upload["state"] == "succeeded"


@pytest.mark.parametrize(
    "files,words",
    [
        ([png()] * 5, "5 images; X takes at most 4"),
        ([mp4(150.0)], "150 s; X takes at most 140 s"),
        ([mp4(10.0), png()], "a video or GIF goes alone on X"),
        ([png(10, 10) + b"\x00" * (5 * 1024 * 1024)], "X takes at most 5.2 MB"),
    ],
    ids=["five-images", "long-video", "video-and-image", "big-image"],
)
def test_media_x_cannot_take_are_refused_at_submit(api, scenario, runtime, sandbox, files, words):
    x, _ = scenario.channels()
    refs = [{"media_id": api.upload(data)[1]["id"]} for data in files]
    post = _post(api, scenario, x, refs)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    assert problem["errors"][0]["loc"] == ["media"] and words in problem["errors"][0]["msg"]
    assert scenario.publication(post["publications"][0]["id"])["status"] == "draft"


@pytest.mark.parametrize("status", [500, 503])
def test_a_failed_upload_is_retried_and_posts_once(api, scenario, runtime, sandbox, status):
    # Nothing is visible on X until a post uses the media: any upload failure is safe to
    # retry, even a 500 (which, on a post, would make the outcome unknown).
    x, _ = scenario.channels()
    post = _post(api, scenario, x, [{"media_id": api.upload(png())[1]["id"]}])
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("x", Fault(status=status, on="media"))
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "scheduled" and "media upload" in pub["last_error"]
    assert sandbox.ledger.accepted() == []

    later = datetime.now(UTC) + timedelta(hours=1)
    set_clock(runtime, later)
    run_pipeline(runtime, now=later)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_media_of_another_workspace_cannot_be_attached(api, scenario, keys, runtime):
    x, _ = scenario.channels()
    theirs = api.upload(png(), as_="other")[1]["id"]
    status, problem = api.call(
        "POST",
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": "t",
            "media": [{"media_id": theirs}],
            "targets": [
                {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            ],
        },
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["media", 0, "media_id"]


def test_changing_the_media_after_approval_needs_a_new_approval(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    one, two = (api.upload(png(i, i))[1]["id"] for i in (1, 2))
    post = _post(api, scenario, x, [{"media_id": one}])
    scenario.submit_and_approve(post)
    edited = api.call(
        "PATCH", f"/v1/posts/{post['id']}", {"media": [{"media_id": two}]}, expect=200
    )[1]
    assert edited["publications"][0]["status"] == "in_review"
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    alt_only = api.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        {"media": [{"media_id": two, "alt_text": "now described"}]},
        expect=200,
    )[1]
    assert alt_only["revision"] == edited["revision"] + 1  # alt text is content too
