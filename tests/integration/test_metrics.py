"""GET /v1/publications/{id}/metrics: engagement read from the platform through tweepy and
facebook-sdk, mapped onto one vocabulary; the counters are set in the sandbox."""

from __future__ import annotations

import pytest

from tests.helpers import run_pipeline, soon


@pytest.fixture
def published(api, scenario, runtime, sandbox):
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon())
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pubs = {scenario.publication(p["id"])["channel_id"]: p["id"] for p in post["publications"]}
    return {"x": pubs[x["id"]], "facebook": pubs[fb["id"]]}


def test_x_metrics_public_and_the_accounts_own_non_public(api, scenario, sandbox, published):
    pub = scenario.publication(published["x"])
    sandbox.ledger.set_metrics(
        "x",
        pub["external_id"],
        like_count=12,
        retweet_count=3,
        reply_count=4,
        quote_count=1,
        bookmark_count=2,
        impression_count=900,
        url_link_clicks=37,
        user_profile_clicks=5,
        organic_impression_count=800,
        organic_like_count=11,
    )
    read = api.get(f"/v1/publications/{published['x']}/metrics")
    assert read["platform"] == "x" and read["missing"] == []
    assert read["metrics"] == {
        "likes": 12,
        "shares": 3,
        "replies": 4,
        "quotes": 1,
        "bookmarks": 2,
        "impressions": 900,
        "link_clicks": 37,
        "profile_clicks": 5,
        "organic_impressions": 800,
        "organic_likes": 11,
        "organic_replies": 0,
        "organic_shares": 0,
        "organic_link_clicks": 0,
        "organic_profile_clicks": 0,
    }


def test_facebook_counts_and_insights(api, scenario, sandbox, published):
    pub = scenario.publication(published["facebook"])
    sandbox.ledger.set_metrics(
        "facebook",
        pub["external_id"],
        reactions=40,
        comments=6,
        shares=2,
        post_media_view=1500,
        post_total_media_view_unique=1100,
        post_clicks=80,
    )
    metrics = api.get(f"/v1/publications/{published['facebook']}/metrics")["metrics"]
    assert metrics == {
        "likes": 40,
        "replies": 6,
        "shares": 2,
        "impressions": 1500,
        "reach": 1100,
        "link_clicks": 80,
    }


def test_a_page_token_without_insights_still_gets_the_counts(api, scenario, sandbox, published):
    pub = scenario.publication(published["facebook"])
    sandbox.ledger.set_metrics("facebook", pub["external_id"], reactions=3, post_media_view=99)
    sandbox.ledger.insights_denied = True
    metrics = api.get(f"/v1/publications/{published['facebook']}/metrics")["metrics"]
    assert metrics == {"likes": 3, "replies": 0, "shares": 0}


def test_a_threads_parts_add_up(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    post = api.post(
        "/v1/posts",
        {
            "campaign_id": scenario.campaign()["id"],
            "text": "part one",
            "thread": ["part two"],
            "targets": [
                {"channel_id": x["id"], "scheduled_at": soon().isoformat(), "time_zone": "UTC"}
            ],
        },
        expect=201,
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    for part, likes in zip(pub["part_ids"], (10, 4), strict=True):
        sandbox.ledger.set_metrics("x", part, like_count=likes)
    read = api.get(f"/v1/publications/{pub['id']}/metrics")
    assert read["metrics"]["likes"] == 14
    assert [p["metrics"]["likes"] for p in read["posts"]] == [10, 4]


def test_metrics_of_what_is_not_published_is_a_conflict(api, scenario):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    status, problem = api.call("GET", f"/v1/publications/{post['publications'][0]['id']}/metrics")
    assert status == 409 and problem["current_status"] == "draft"
    assert api.call("GET", "/v1/publications/999999/metrics")[0] == 404


def test_a_platform_that_refuses_is_a_503_and_changes_nothing(api, scenario, sandbox, published):
    sandbox.ledger.expire_token("x-token-acme")
    status, problem = api.call("GET", f"/v1/publications/{published['x']}/metrics")
    assert status == 503 and "401" in problem["detail"]
    assert (
        api.get(f"/v1/channels/{scenario.publication(published['x'])['channel_id']}")["status"]
        == "active"
    )  # a read does not judge the channel; POST .../check does


def test_x_posts_older_than_30_days_still_give_their_public_metrics(
    api, scenario, sandbox, published
):
    """X keeps non-public metrics 30 days and then answers 200 with only `errors` for
    them: the public ones are asked for alone."""
    pub = scenario.publication(published["x"])
    sandbox.ledger.set_metrics("x", pub["external_id"], like_count=7, url_link_clicks=3)
    sandbox.ledger.backdate("x", pub["external_id"], days=31)
    read = api.get(f"/v1/publications/{published['x']}/metrics")
    assert read["metrics"]["likes"] == 7 and "link_clicks" not in read["metrics"]
    assert read["missing"] == []


def test_facebook_insights_ask_only_for_metrics_graph_still_has(api, scenario, sandbox, published):
    """post_impressions and post_impressions_unique are gone (2025-11-15, 2026-06-15): one
    of them in the request fails it whole with (#100); views and reach come from their
    replacements."""
    pub = scenario.publication(published["facebook"])
    sandbox.ledger.set_metrics(
        "facebook", pub["external_id"], post_media_view=70, post_total_media_view_unique=50
    )
    metrics = api.get(f"/v1/publications/{published['facebook']}/metrics")["metrics"]
    assert metrics["impressions"] == 70 and metrics["reach"] == 50


def test_a_token_without_insights_is_not_asked_for_them_post_after_post(scenario, runtime, sandbox):
    """A batch with a post gone is read post by post: with a token that may not read
    insights, each post was asked twice (insights refused, then the counts)."""
    from adapters.http import PlatformSession
    from publisher.core.models import Channel

    _, fb = scenario.channels()
    page = fb["external_account_id"]
    posts = [f"{page}_{n}" for n in (1, 2, 3)]
    for post_id in (posts[0], posts[2]):
        sandbox.ledger.accept("facebook", page, post_id, post_id, None)
        sandbox.ledger.set_metrics("facebook", post_id, reactions=4)
    sandbox.ledger.insights_denied = True
    with runtime.session() as session:
        adapter = runtime.adapter_for(session.get(Channel, fb["id"]))
    before = PlatformSession.sent_by_this_thread()
    found = adapter.fetch_metrics(posts)
    assert {post_id: m["likes"] for post_id, m in found.items()} == {posts[0]: 4, posts[2]: 4}
    # The batch twice (insights, counts: a post gone), the first post twice (its insights
    # refused), then the counts alone: the gone one and the last.
    assert PlatformSession.sent_by_this_thread() - before == 6
