"""What the committee sees: the review queue and one item, rule findings, the discussion."""

from __future__ import annotations

from sqlalchemy import update

from publisher.core.models import Post
from tests.helpers import rows_digest, soon


def test_threaded_comments_are_seen_by_authors_and_reviewers(api, scenario, runtime, x):
    post, _ = scenario.submitted(x)
    path = f"/v1/posts/{post['id']}/comments"
    question = api.post(path, {"body": "Is the date right?"}, as_="reviewer", expect=201)
    api.post(path, {"body": "Yes, checked", "parent_id": question["id"]}, expect=201)
    api.post(path, {"body": "Thanks"}, as_="reviewer", expect=201)
    for role in ("editor", "reviewer"):
        threads = api.get(path, as_=role)
        assert [(t["author"], t["body"]) for t in threads] == [
            ("reviewer", "Is the date right?"),
            ("reviewer", "Thanks"),
        ]
        assert [r["body"] for r in threads[0]["replies"]] == ["Yes, checked"]
    before = rows_digest(runtime)
    status, _ = api.call("POST", path, {"body": "x", "parent_id": 999})
    assert status == 422
    assert api.call("POST", path, {"body": "no"}, as_="other")[0] == 404
    assert rows_digest(runtime) == before


def test_the_queue_filters_sorts_and_speaks_the_reviewers_time(api, scenario, runtime, keys):
    tokyo = api.post(
        "/v1/keys", {"name": "kenji", "role": "reviewer", "time_zone": "Asia/Tokyo"}, as_="admin"
    )
    keys.keys["kenji"] = tokyo["key"]
    x, fb = scenario.channels()
    winter, spring = scenario.campaign(), scenario.campaign()
    later = api.post(
        "/v1/posts", scenario.post_body([x], at=soon(7200), campaign=winter), expect=201
    )
    sooner = api.post(
        "/v1/posts", scenario.post_body([fb], at=soon(3600), campaign=spring), expect=201
    )
    for post in (later, sooner):
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    ids = lambda items: [i["post_id"] for i in items]  # noqa: E731
    assert ids(api.get("/v1/reviews", as_="kenji")) == [sooner["id"], later["id"]]
    assert ids(api.get("/v1/reviews?sort=created", as_="kenji")) == [later["id"], sooner["id"]]
    assert ids(api.get(f"/v1/reviews?campaign_id={winter['id']}", as_="kenji")) == [later["id"]]
    assert ids(api.get(f"/v1/reviews?channel_id={fb['id']}", as_="kenji")) == [sooner["id"]]
    [first, _] = api.get("/v1/reviews", as_="kenji")
    assert first["reviewer_time_zone"] == "Asia/Tokyo"
    assert first["scheduled_local"].endswith("+09:00")
    assert first["preview"]["platform"] == "facebook" and first["tally"]["needed"] == 1
    assert api.get("/v1/reviews?time_zone=Europe/Paris", as_="kenji")[0]["reviewer_time_zone"] == (
        "Europe/Paris"
    )
    api.post(
        f"/v1/reviews/{sooner['publications'][0]['id']}/request-changes",
        {"comment": "no", "revision": 1},
        as_="kenji",
    )
    assert ids(api.get("/v1/reviews?waiting_on_me=true", as_="kenji")) == [later["id"]]
    for bad in ("sort=loudest", "time_zone=Mars/Base", "waiting_on_me=perhaps", "colour=red"):
        status, problem = api.call("GET", f"/v1/reviews?{bad}", as_="kenji")
        assert status == 422 and problem["errors"], bad


def test_content_rules_show_as_findings_on_each_channels_text(api, scenario, x):
    rules = {
        "approvals": 1,
        "content_rules": {
            "banned_terms": ["guaranteed"],
            "required_terms": ["#ad"],
            "max_hashtags": 2,
            "max_mentions": 1,
        },
    }
    api.call("PUT", "/v1/review-policy", rules, as_="admin", expect=200)
    scenario.submitted(x, text="Guaranteed fun! #winter #open #day with @acme and @friends")
    [item] = api.get("/v1/reviews", as_="reviewer")
    assert [(f["rule"], f["detail"]) for f in item["preview"]["findings"]] == [
        ("banned_terms", "contains 'guaranteed'"),
        ("required_terms", "does not contain '#ad'"),
        ("max_hashtags", "3 hashtags, more than 2"),
        ("max_mentions", "2 mentions, more than 1"),
    ]


def test_one_item_can_be_read_on_its_own(api, scenario, x):
    _, pub_id = scenario.submitted(x)
    item = api.get(f"/v1/reviews/{pub_id}?time_zone=Asia/Tokyo", as_="reviewer")
    assert item["publication"]["id"] == pub_id and item["reviewer_time_zone"] == "Asia/Tokyo"
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    assert api.call("GET", f"/v1/reviews/{pub_id}", as_="reviewer")[0] == 409
    assert api.call("GET", f"/v1/reviews/{pub_id}", as_="other")[0] == 404
    assert api.call("GET", "/v1/reviews/999999", as_="reviewer")[0] == 404


def test_the_queue_sorts_by_deadline_campaign_and_channel(api, scenario):
    x, fb = scenario.channels()
    late = scenario.campaign()  # made first: the lower id
    early = scenario.campaign()
    for campaign, minutes in ((early, 10), (late, 120)):
        path = f"/v1/campaigns/{campaign['id']}/review-policy"
        api.call(
            "PUT",
            path,
            {"approvals": 1, "review_deadline_minutes": minutes},
            as_="admin",
            expect=200,
        )
    # Goes out first, but its committee has until 10 minutes before: deadline in 1h50.
    first = api.post(
        "/v1/posts", scenario.post_body([fb], at=soon(7200), campaign=early), expect=201
    )
    # Goes out later, but must be decided 2 hours before: deadline in 1h.
    second = api.post(
        "/v1/posts", scenario.post_body([x], at=soon(10800), campaign=late), expect=201
    )
    for post in (first, second):
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)

    def order(sort: str) -> list[int]:
        return [i["post_id"] for i in api.get(f"/v1/reviews?sort={sort}", as_="reviewer")]

    assert order("scheduled") == [first["id"], second["id"]]
    assert order("deadline") == [second["id"], first["id"]]
    assert order("campaign") == [second["id"], first["id"]]
    assert order("channel") == [second["id"], first["id"]]  # "Acme on X" before "Acme Page"


def test_a_votes_comment_joins_the_posts_discussion_once(api, scenario):
    """Where the author answers it; a vote cast on each of the post's channels with the
    same words says them once."""
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    for pub in post["publications"]:
        api.post(
            f"/v1/reviews/{pub['id']}/request-changes",
            {"comment": "Say which Saturday", "revision": 1},
            as_="reviewer",
            expect=201,
        )
    (said,) = api.get(f"/v1/posts/{post['id']}/comments")
    assert (said["body"], said["revision"]) == ("Say which Saturday", 1)
    reviewer = next(k for k in api.get("/v1/keys", as_="admin") if k["name"] == "reviewer")
    assert said["author_id"] == reviewer["id"]
    api.post(
        f"/v1/posts/{post['id']}/comments",
        {"body": "The 5th", "parent_id": said["id"]},
        expect=201,
    )
    (thread,) = api.get(f"/v1/posts/{post['id']}/comments")
    assert [r["body"] for r in thread["replies"]] == ["The 5th"]


def test_findings_read_as_sentences_in_the_reviewers_language(api, scenario, x):
    rules = {"approvals": 1, "content_rules": {"banned_terms": ["guaranteed"], "max_hashtags": 1}}
    api.call("PUT", "/v1/review-policy", rules, as_="admin", expect=200)
    _, pub_id = scenario.submitted(x, text="Guaranteed fun! #winter #open")
    [item] = api.get("/v1/reviews", as_="reviewer")
    banned, hashtags = item["preview"]["findings"]
    assert (banned["term"], hashtags["count"], hashtags["limit"]) == ("guaranteed", 2, 1)
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    html = api.client.get(path, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "contient « guaranteed », un terme que les règles maison interdisent" in html
    assert "2 hashtags, plus que les 1 permis par les règles maison" in html
    assert "banned_terms:" not in html and "max_hashtags:" not in html  # no codes shown


def test_a_networks_problems_read_in_the_reviewers_language(api, scenario, runtime, x):
    """What an adapter finds wrong (here a text stored before X's limit shrank under it)
    is said in the reviewer's words, its part of the thread named too."""
    post, pub_id = scenario.submitted(x, text="Winter open day")
    with runtime.engine.begin() as conn:
        long_part = "Come and meet the team " * 14  # 322 characters
        conn.execute(update(Post).where(Post.id == post["id"]).values(thread=[long_part.strip()]))
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    french = api.client.get(path, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    english = api.client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    said = "321 caractères (comptés comme X les compte) pour 280 permis sur X (partie 2 sur 2)"
    assert said in french
    assert "321 of 280 weighted characters on X (part 2 of 2)" in english
    assert "weighted characters" not in french
