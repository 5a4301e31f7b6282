"""Per-platform and per-channel wording: each channel sends its own text and link, the
committee reviews exactly that, limits are checked per channel with errors that point at
what to fix, and an edit of any variant needs a new approval. Judged from the sandbox."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest, run_pipeline, soon
from tests.samples import png
from tests.scenario import FB_PAGE


@pytest.fixture
def channels(api, scenario):
    x, fb = scenario.channels()
    second_page = api.post(
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "Acme Careers",
            "external_account_id": "3003",
            "credentials": {"page_access_token": "fb-token-careers"},
        },
        expect=201,
    )
    return x, fb, second_page


def _create(api, scenario, targets, *, text="Base wording for everyone", link=None, variants=None):
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": text,
        "variants": variants or [],
        "targets": [
            {"channel_id": c["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            for c in targets
        ],
    }
    if link:
        body["link"] = link
    return api.post("/v1/posts", body, expect=201)


def test_each_channel_sends_its_own_wording(api, scenario, runtime, sandbox, channels):
    x, fb, careers = channels
    post = _create(
        api,
        scenario,
        [x, fb, careers],
        link="https://acme.example/join",
        variants=[
            {"platform": "x", "text": "Short for X #JoinAcme"},
            {"platform": "facebook", "text": "A longer story for our Pages."},
            {"channel_id": careers["id"], "link": "https://acme.example/careers"},
        ],
    )
    assert len(post["variants"]) == 3
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    (tweet,) = sandbox.ledger.accepted("x")
    assert tweet.text == "Short for X #JoinAcme https://acme.example/join"
    by_page = {a.account: a for a in sandbox.ledger.accepted("facebook")}
    assert by_page[FB_PAGE].text == "A longer story for our Pages."
    assert by_page[FB_PAGE].link == "https://acme.example/join"
    # The channel's own variant wins over its platform's, field by field: its link, the
    # platform's text.
    assert by_page["3003"].text == "A longer story for our Pages."
    assert by_page["3003"].link == "https://acme.example/careers"


def test_the_review_queue_previews_each_channel_as_it_will_go_out(api, scenario, channels):
    x, fb, _ = channels
    post = _create(api, scenario, [x, fb], variants=[{"platform": "x", "text": "Only on X"}])
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    items = {i["preview"]["platform"]: i["preview"] for i in api.get("/v1/reviews", as_="reviewer")}
    assert items["x"]["text"] == "Only on X" and items["x"]["length"] == 9
    assert items["facebook"]["text"] == "Base wording for everyone"


def test_limits_are_checked_per_channel_and_point_at_what_to_fix(api, scenario, channels):
    x, fb, _ = channels
    long_text = "word " * 60  # 300 characters: too long for X, fine for a Page
    post = _create(api, scenario, [x, fb], text=long_text)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    (error,) = problem["errors"]
    assert error["loc"] == ["text"] and "300 of 280 weighted characters on X" in error["msg"]

    # A variant for X fixes it; a too-long variant is blamed itself.
    api.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        {"variants": [{"platform": "x", "text": "é" * 281}]},
        expect=200,
    )
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422
    assert problem["errors"][0]["loc"] == ["variants", 0, "text"]
    assert "281 of 280 weighted characters on X" in problem["errors"][0]["msg"]

    api.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        {"variants": [{"platform": "x", "text": "ok"}]},
        expect=200,
    )
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)


def test_editing_a_variant_after_approval_sends_nothing_until_approved_again(
    api, scenario, runtime, sandbox, channels
):
    x, fb, _ = channels
    post = _create(
        api, scenario, [x, fb], variants=[{"platform": "x", "text": "Approved X wording"}]
    )
    scenario.submit_and_approve(post)
    edited = api.call(
        "PATCH",
        f"/v1/posts/{post['id']}",
        {"variants": [{"platform": "x", "text": "Sneaky X wording"}]},
        expect=200,
    )[1]
    assert edited["revision"] == 2 and edited["content_hash"] != post["content_hash"]
    assert {p["status"] for p in edited["publications"]} == {"in_review"}
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []

    for pub in post["publications"]:
        api.post(f"/v1/reviews/{pub['id']}/approve", {"revision": 2}, as_="reviewer", expect=201)
    run_pipeline(runtime)
    assert [a.text for a in sandbox.ledger.accepted("x")] == ["Sneaky X wording"]


def test_an_unchanged_variant_list_is_not_a_new_revision(api, scenario, channels):
    x, _, _ = channels
    variants = [{"platform": "x", "text": "Same"}]
    post = _create(api, scenario, [x], variants=variants)
    same = api.call("PATCH", f"/v1/posts/{post['id']}", {"variants": variants}, expect=200)[1]
    assert same["revision"] == 1 and same["content_hash"] == post["content_hash"]


@pytest.mark.parametrize(
    "variant,loc,words",
    [
        ({"platform": "x", "channel_id": 1, "text": "t"}, ["variants", 0], "exactly one"),
        ({"text": "t"}, ["variants", 0], "exactly one"),
        ({"platform": "x"}, ["variants", 0], "give text, link, media or thread"),
        ({"platform": "instagram", "text": "t"}, ["variants", 0, "platform"], "no target"),
        ({"channel_id": 999999, "text": "t"}, ["variants", 0, "channel_id"], "not a target"),
        ({"platform": "X!", "text": "t"}, ["variants", 0, "platform"], "pattern"),
        ({"platform": "x", "text": "   "}, ["variants", 0, "text"], ""),
        ({"platform": "x", "link": "javascript:alert(1)"}, ["variants", 0, "link"], ""),
    ],
)
def test_bad_variants_are_refused_and_change_nothing(
    api, scenario, runtime, channels, variant, loc, words
):
    x, _, _ = channels
    before = rows_digest(runtime)
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "t",
        "variants": [variant],
        "targets": [
            {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
        ],
    }
    before = rows_digest(runtime)
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422, problem
    assert problem["type"] and problem["title"]
    matching = [e for e in problem["errors"] if e["loc"][: len(loc)] == loc]
    assert matching and words in " ".join(e["msg"] for e in matching)
    assert rows_digest(runtime) == before


def test_two_variants_for_one_platform_are_refused(api, scenario, channels):
    x, _, _ = channels
    status, problem = api.call(
        "PATCH",
        f"/v1/posts/{_create(api, scenario, [x])['id']}",
        {"variants": [{"platform": "x", "text": "a"}, {"platform": "x", "text": "b"}]},
    )
    assert status == 422 and "one variant per platform" in problem["errors"][0]["msg"]
    status, problem = api.call(
        "PATCH", f"/v1/posts/{_create(api, scenario, [x])['id']}", {"variants": None}
    )
    assert status == 422


def test_content_is_checked_again_just_before_it_goes_out(
    api, scenario, runtime, sandbox, channels
):
    # Approved under other limits (an older version, a platform that lowered its limit):
    # simulated by writing an approved over-long text straight into the database.
    from sqlalchemy import update

    from publisher.core.models import Post, Publication
    from publisher.plan.content import content_hash

    x, _, _ = channels
    post = _create(api, scenario, [x])
    scenario.submit_and_approve(post)
    too_long = "y" * 281
    new_hash = content_hash(too_long, None)
    with runtime.engine.begin() as conn:
        conn.execute(
            update(Post).where(Post.id == post["id"]).values(text=too_long, content_hash=new_hash)
        )
        conn.execute(
            update(Publication)
            .where(Publication.post_id == post["id"])
            .values(approved_hash=new_hash)
        )
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    assert pub["status"] == "failed" and "281 of 280 weighted characters" in pub["last_error"]
    assert sandbox.ledger.accepted() == []


def test_a_channel_can_have_its_own_media_or_none(api, scenario, runtime, sandbox, channels):
    import hashlib

    from tests.samples import jpeg, png

    x, fb, careers = channels
    for_everyone, for_x = png(20, 20), jpeg(30, 30)
    everyone = api.upload(for_everyone)[1]["id"]
    x_only = api.upload(for_x)[1]["id"]
    post = _create(
        api,
        scenario,
        [x, fb, careers],
        variants=[
            {"platform": "x", "media": [{"media_id": x_only, "alt_text": "for X"}]},
            {"channel_id": careers["id"], "media": []},
        ],
    )
    api.call("PATCH", f"/v1/posts/{post['id']}", {"media": [{"media_id": everyone}]}, expect=200)
    scenario.submit_and_approve(api.get(f"/v1/posts/{post['id']}"))
    run_pipeline(runtime)

    def sha(data):
        return hashlib.sha256(data).hexdigest()

    (tweet,) = sandbox.ledger.accepted("x")
    assert [(m["sha256"], m["alt_text"]) for m in tweet.media] == [(sha(for_x), "for X")]
    pages = {a.account: a for a in sandbox.ledger.accepted("facebook")}
    assert [m["sha256"] for m in pages[FB_PAGE].media] == [sha(for_everyone)]
    assert pages["3003"].media == []


def test_variant_media_must_exist_in_the_workspace(api, scenario, runtime, channels):
    x, _, _ = channels
    status, problem = api.call(
        "POST",
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": "t",
            "variants": [{"platform": "x", "media": [{"media_id": 999999}]}],
            "targets": [
                {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            ],
        },
    )
    assert status == 422
    assert problem["errors"][0]["loc"] == ["variants", 0, "media", 0, "media_id"]


def test_a_variant_can_drop_the_posts_link(api, scenario, runtime, sandbox, channels):
    """Issue 11 item 10: Instagram takes no link; `"link": null` in its variant was
    ignored and submit refused the post's link. null drops it there; "" says to use null."""
    x, fb, _ = channels
    status, problem = api.call(
        "POST",
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": "Open day",
            "link": "https://acme.example/day",
            "variants": [{"platform": "facebook", "link": ""}],
            "targets": [
                {"channel_id": fb["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            ],
        },
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["variants", 0, "link"]
    assert "send null" in problem["errors"][0]["msg"]

    post = _create(
        api,
        scenario,
        [x, fb],
        text="Open day",
        link="https://acme.example/day",
        variants=[{"platform": "facebook", "link": None}],
    )
    assert post["variants"][0]["no_link"] is True
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    sent = {a.platform: a for a in sandbox.ledger.accepted()}
    assert sent["x"].text == "Open day https://acme.example/day"
    assert sent["facebook"].text == "Open day" and sent["facebook"].link is None


def test_instagram_posts_a_post_with_a_link_when_its_variant_drops_it(
    api, scenario, runtime, sandbox
):
    from tests.samples import jpeg

    insta = scenario.instagram(runtime)
    media = [{"media_id": api.upload(jpeg(320, 320))[1]["id"]}]
    post = _create(
        api,
        scenario,
        [insta],
        text="Summer at Acme",
        link="https://acme.example/summer",
        variants=[{"platform": "instagram", "link": None, "media": media}],
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    (posted,) = sandbox.ledger.accepted("instagram")
    assert posted.text == "Summer at Acme"


def test_changing_only_a_variants_media_needs_a_new_approval(
    api, scenario, runtime, sandbox, channels
):
    """The picture is content too: a variant whose text stays and whose media change is a
    new revision, back to review, and what goes out is what was approved again."""
    x, _, _ = channels
    first, second = (api.upload(png(width=w))[1] for w in (2, 3))
    variant = {"platform": "x", "text": "Our open day", "media": [{"media_id": first["id"]}]}
    post = _create(api, scenario, [x], variants=[variant])
    scenario.submit_and_approve(post)
    swapped = {**variant, "media": [{"media_id": second["id"]}]}
    edited = api.call("PATCH", f"/v1/posts/{post['id']}", {"variants": [swapped]}, expect=200)[1]
    assert edited["revision"] == 2 and edited["content_hash"] != post["content_hash"]
    assert {p["status"] for p in edited["publications"]} == {"in_review"}
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    pub = post["publications"][0]["id"]
    api.post(f"/v1/reviews/{pub}/approve", {"revision": 2}, as_="reviewer", expect=201)
    run_pipeline(runtime)
    (tweet,) = sandbox.ledger.accepted("x")
    assert [m["sha256"] for m in tweet.media] == [second["sha256"]]


def test_a_variant_can_say_it_all_in_one_post_or_thread_its_own_way(
    api, scenario, runtime, sandbox, channels
):
    """The post is an X thread; the Pages say the same in one post of their own ([]), and
    a channel can have parts of its own. Without it, a Page variant got the X parts
    appended, saying the same thing twice."""
    x, fb, careers = channels
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "1/ We open in Lyon",
        "thread": ["2/ Doors at nine", "3/ Come and say hello"],
        "variants": [
            {"platform": "facebook", "text": "We open in Lyon: doors at nine.", "thread": []},
            {"channel_id": careers["id"], "thread": ["We are hiring in Lyon too"]},
        ],
        "targets": [
            {"channel_id": c["id"], "scheduled_at": soon().isoformat()} for c in (x, fb, careers)
        ],
    }
    post = api.post("/v1/posts", body, expect=201)
    assert post["variants"][0]["thread"] == [] and post["variants"][1]["text"] is None
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    assert [a.text for a in sandbox.ledger.accepted("x")] == [
        "1/ We open in Lyon",
        "2/ Doors at nine",
        "3/ Come and say hello",
    ]
    pages = {a.account: a.text for a in sandbox.ledger.accepted("facebook")}
    assert pages[FB_PAGE] == "We open in Lyon: doors at nine."
    # The channel's own variant sets the parts; its wording comes from the platform's.
    assert pages["3003"] == "We open in Lyon: doors at nine.\n\nWe are hiring in Lyon too"


def test_a_variant_that_changes_only_its_thread_needs_a_new_approval(
    api, scenario, runtime, channels
):
    x, fb, _ = channels
    post = _create(api, scenario, [x, fb])
    scenario.submit_and_approve(post)
    variants = [{"platform": "facebook", "thread": ["One more thing"]}]
    changed = api.call("PATCH", f"/v1/posts/{post['id']}", {"variants": variants}, expect=200)[1]
    assert changed["revision"] == post["revision"] + 1
    assert {p["status"] for p in changed["publications"]} == {"in_review"}
