"""Instagram business accounts through facebook-sdk: the container flow (create from a
signed public image link, wait until ready, publish), single images and carousels, its
limits; judged from the sandbox's record and from what the signed links serve."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from adapters.sandbox import Fault
from publisher.core.models import Publication
from tests.helpers import run_pipeline, set_clock
from tests.samples import jpeg, png

PUBLIC = "https://publisher.example"


@pytest.fixture
def insta(api, scenario, runtime):
    return scenario.instagram(runtime, PUBLIC)


def _post(api, scenario, channel, media, *, text="Summer at Acme #team", link=None):
    extra = {"link": link} if link else {}
    body = scenario.post_body([channel], text=text, media=media, **extra)
    return api.post("/v1/posts", body, expect=201)


def _fetch(api, url: str):
    """GET a signed link as Instagram would (no API key), through the app."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC
    return api.client.get(f"{parts.path}?{parts.query}")


def test_one_image_goes_through_a_container_and_instagram_can_fetch_it(
    api, scenario, runtime, sandbox, insta
):
    image = jpeg(1080, 1080)
    media_id = api.upload(image)[1]["id"]
    post = _post(
        api, scenario, insta, [{"media_id": media_id, "alt_text": "The team on the beach"}]
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "published", pub
    (posted,) = sandbox.ledger.accepted("instagram")
    assert posted.text == "Summer at Acme #team" and posted.external_id == pub["external_id"]
    (item,) = posted.media
    assert item["alt_text"] == "The team on the beach"
    fetched = _fetch(api, item["image_url"])
    assert (
        fetched.status_code == 200
        and hashlib.sha256(fetched.data).digest() == hashlib.sha256(image).digest()
    )
    assert pub["external_url"].startswith("https://www.instagram.com/p/")


def test_signed_links_refuse_tampering_and_expire(api, runtime, insta):
    media_id = api.upload(jpeg())[1]["id"]
    link = runtime.media.public_link(media_id, now=datetime.now(UTC))
    assert _fetch(api, link).status_code == 200
    assert _fetch(api, link.replace(f"/{media_id}?", f"/{media_id + 1}?")).status_code == 403
    assert _fetch(api, link[:-4] + "0000").status_code == 403
    stale = runtime.media.public_link(media_id, now=datetime.now(UTC) - timedelta(hours=2))
    assert _fetch(api, stale).status_code == 403


def test_a_carousel_keeps_its_order_and_waits_for_processing(
    api, scenario, runtime, sandbox, insta
):
    images = [jpeg(100 + i, 100) for i in range(3)]
    refs = [{"media_id": api.upload(i)[1]["id"]} for i in images]
    sandbox.ledger.media_processing_s = 1.5  # containers are IN_PROGRESS for a while
    post = _post(api, scenario, insta, refs)
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    (posted,) = sandbox.ledger.accepted("instagram")
    served = [_fetch(api, item["image_url"]).data for item in posted.media]
    assert served == images


@pytest.mark.parametrize(
    "text,files,link,words",
    [
        ("no picture", [], None, "needs at least one image"),
        ("png", [png()], None, "Instagram does not take this type"),
        (" ".join(f"#tag{i}" for i in range(31)), [jpeg()], None, "31 hashtags"),
        ("x" * 2201, [jpeg()], None, "2201 of 2200 characters on Instagram"),
        ("with a link", [jpeg()], "https://acme.example", "cannot carry a link"),
    ],
    ids=["no-media", "png", "hashtags", "caption", "link"],
)
def test_what_instagram_cannot_take_is_refused_at_submit(
    api, scenario, insta, text, files, link, words
):
    refs = [{"media_id": api.upload(f)[1]["id"]} for f in files]
    post = _post(api, scenario, insta, refs, text=text, link=link)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422 and words in str(problem["errors"])


def test_without_a_public_url_it_fails_with_a_reason_and_posts_nothing(
    api, scenario, runtime, sandbox, insta
):
    post = _post(api, scenario, insta, [{"media_id": api.upload(jpeg())[1]["id"]}])
    scenario.submit_and_approve(post)
    runtime.settings = runtime.settings.with_(public_url="")
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "failed" and "PUBLISHER_PUBLIC_URL" in pub["last_error"]
    assert sandbox.ledger.accepted() == []


def test_a_failed_container_is_retried_and_posts_once(api, scenario, runtime, sandbox, insta):
    post = _post(api, scenario, insta, [{"media_id": api.upload(jpeg())[1]["id"]}])
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("instagram", Fault(status=500, code=2, on="media"))
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "scheduled" and "media container" in pub["last_error"]

    later = datetime.now(UTC) + timedelta(hours=1)
    set_clock(runtime, later)
    run_pipeline(runtime, now=later)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "published"
    assert len(sandbox.ledger.accepted("instagram")) == 1


def test_the_channel_check_and_metrics_speak_instagram(api, scenario, runtime, sandbox, insta):
    verdict = api.post(f"/v1/channels/{insta['id']}/check", expect=200)
    assert verdict["result"] == "ok" and verdict["same_account"] is True
    post = _post(api, scenario, insta, [{"media_id": api.upload(jpeg())[1]["id"]}])
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    sandbox.ledger.set_metrics("instagram", pub["external_id"], like_count=9, comments_count=2)
    metrics = api.get(f"/v1/publications/{pub['id']}/metrics")["metrics"]
    assert metrics == {"likes": 9, "replies": 2}


def _one_image_post(api, scenario, insta, text):
    media_id = api.upload(jpeg(320, 320))[1]["id"]
    post = _post(api, scenario, insta, [{"media_id": media_id}], text=text)
    scenario.submit_and_approve(post)
    return post["publications"][0]["id"]


def test_a_spent_publishing_allowance_is_a_wait_read_from_the_account(
    api, scenario, runtime, sandbox, insta
):
    """GET /{ig-user-id}/content_publishing_limit says how many posts the 24-hour moving
    window allows: past it, the publication waits for the window, nothing is sent."""
    sandbox.ledger.ig_quota_total = 1
    first = _one_image_post(api, scenario, insta, "First of the day")
    run_pipeline(runtime)
    assert scenario.publication(first)["status"] == "published"

    second = _one_image_post(api, scenario, insta, "Second of the day")
    run_pipeline(runtime)
    pub = scenario.publication(second)
    assert pub["status"] == "scheduled" and "allowance spent: 1 of 1" in pub["last_error"]
    assert len(sandbox.ledger.accepted("instagram")) == 1
    posted_at = datetime.fromisoformat(sandbox.ledger.accepted("instagram")[0].received_at)
    with runtime.session() as session:
        held = session.get(Publication, second).due_at
    assert abs((held - (posted_at + timedelta(hours=24))).total_seconds()) < 5

    sandbox.ledger.ig_quota_total = 2  # the window moved on
    later = held + timedelta(seconds=1)
    set_clock(runtime, later)
    run_pipeline(runtime, now=later)
    assert scenario.publication(second)["status"] == "published"


@pytest.mark.parametrize("code,subcode", [(80002, None), (9, 2207042)])
def test_instagram_throttling_is_a_wait_not_a_failure(
    api, scenario, runtime, sandbox, insta, code, subcode
):
    pub = _one_image_post(api, scenario, insta, "Throttled")
    sandbox.ledger.inject("instagram", Fault(status=400, code=code, subcode=subcode))
    run_pipeline(runtime)
    held = scenario.publication(pub)
    assert held["status"] == "scheduled" and f"code {code}" in held["last_error"]
    assert sandbox.ledger.accepted("instagram") == []
