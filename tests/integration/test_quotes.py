"""Quote posts: on X a quote of another post (tweepy's quote_tweet_id); on platforms
without quotes, the quoted post's link goes along. Judged from the sandbox."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest, run_pipeline


def _post(api, scenario, channels, quote_of, text="Proud of this"):
    return api.post(
        "/v1/posts", scenario.post_body(channels, text=text, quote_of=quote_of), expect=201
    )


@pytest.fixture
def original(api, scenario, runtime, sandbox):
    x, _ = scenario.channels()
    post = _post(api, scenario, [x], None, text="The original announcement")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    return scenario.publication(post["publications"][0]["id"])["external_id"]


@pytest.mark.parametrize("form", ["id", "x-link", "twitter-link"])
def test_x_quotes_and_facebook_links_the_quoted_post(
    api, scenario, runtime, sandbox, original, form
):
    x, fb = scenario.channels()
    given = {
        "id": original,
        "x-link": f"https://x.com/acme/status/{original}",
        "twitter-link": f"https://twitter.com/acme/status/{original}/",
    }[form]
    post = _post(api, scenario, [x, fb], given)
    assert post["quote_of"] == original
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    quote = sandbox.ledger.accepted("x")[-1]
    assert quote.text == "Proud of this" and quote.quote_of == original
    (page_post,) = sandbox.ledger.accepted("facebook")
    assert page_post.text == f"Proud of this\n\nhttps://x.com/i/web/status/{original}"


def test_changing_the_quote_needs_a_new_approval(api, scenario, runtime, sandbox, original):
    x, _ = scenario.channels()
    post = _post(api, scenario, [x], original)
    scenario.submit_and_approve(post)
    edited = api.call("PATCH", f"/v1/posts/{post['id']}", {"quote_of": None}, expect=200)[1]
    assert edited["quote_of"] is None and edited["publications"][0]["status"] == "in_review"


@pytest.mark.parametrize(
    "value", ["abc", "https://x.com/acme/likes/1", "https://evil.example/status/1", 5, "1" * 26]
)
def test_a_quote_must_name_an_x_post(api, scenario, runtime, value):
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    before = rows_digest(runtime)
    body = scenario.post_body([x], text="t", campaign=campaign, quote_of=value)
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422 and problem["errors"][0]["loc"][0] == "quote_of"
    assert rows_digest(runtime) == before


def test_a_quote_with_media_is_refused_for_x_at_submit(api, scenario, runtime, sandbox, original):
    """X: media and quote_tweet_id are mutually exclusive on POST /2/tweets."""
    from tests.samples import png

    x, _ = scenario.channels()
    media = [{"media_id": api.upload(png())[1]["id"]}]
    body = scenario.post_body([x], text="Look", quote_of=original, media=media)
    post = api.post("/v1/posts", body, expect=201)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    assert status == 422 and "quote post on X cannot carry media" in problem["errors"][0]["msg"]
    assert scenario.publication(post["publications"][0]["id"])["status"] == "draft"
    assert len(sandbox.ledger.accepted("x")) == 1  # the original only
