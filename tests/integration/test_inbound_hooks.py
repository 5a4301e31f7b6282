"""Inbound platform webhooks (issue 15 part 2): Meta's verification handshake and X's CRC;
every delivery's signature checked (bad, missing or replayed: 401, nothing stored);
comments, replies, mentions, reactions, likes and follows become interactions tied to
the publication whose post they are on. The sandbox sends them shaped and signed as the
platforms do (adapters/sandbox/hooks_out.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import hooks_out
from tests.helpers import rows_digest, run_pipeline, soon

APP_SECRET, VERIFY, X_SECRET = "meta-app-secret", "our-verify-token", "x-consumer-secret"
FAN = ("9001", "Camille Martin")
X_FAN = ("7007", "camille", "Camille")


@pytest.fixture
def hooked(runtime):
    runtime.settings = runtime.settings.with_(
        facebook_verify_token=VERIFY,
        x_consumer_secret=X_SECRET,
        oauth_clients={"facebook": ("meta-app", APP_SECRET)},
    )


@pytest.fixture
def published(api, scenario, runtime, hooked):
    """An X thread of two parts and a Facebook post, published."""
    x, fb = scenario.channels()
    body = scenario.post_body([x, fb], at=soon(), text="Open day", thread=["part two"])
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pubs = {p["channel_id"]: scenario.publication(p["id"]) for p in post["publications"]}
    return {"x": pubs[x["id"]], "fb": pubs[fb["id"]], "x_channel": x, "fb_channel": fb}


def _post(api, platform: str, payload: dict, secret: str, **headers):
    body, signed = hooks_out.signed(platform, payload, secret)
    answer = api.client.post(f"/v1/hooks/{platform}", data=body, headers={**signed, **headers})
    return answer.status_code, answer.get_json()


def test_metas_handshake_answers_the_challenge_only_for_our_token(api, hooked):
    ok = api.client.get(
        "/v1/hooks/facebook?hub.mode=subscribe&hub.verify_token=our-verify-token"
        "&hub.challenge=1158201444"
    )
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    assert ok.mimetype == "text/plain"
    wrong = api.client.get(
        "/v1/hooks/facebook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
    )
    assert wrong.status_code == 403
    assert api.client.get("/v1/hooks/instagram?hub.challenge=1").status_code == 403
    no_challenge = api.client.get(
        "/v1/hooks/facebook?hub.mode=subscribe&hub.verify_token=our-verify-token"
    )
    assert no_challenge.status_code == 403
    assert "hub.challenge are needed" in no_challenge.get_json()["detail"]


def test_xs_crc_is_the_hmac_of_the_token(api, hooked):
    answer = api.client.get("/v1/hooks/x?crc_token=abc123").get_json()
    expected = hmac.new(X_SECRET.encode(), b"abc123", hashlib.sha256).digest()
    assert answer == {"response_token": "sha256=" + base64.b64encode(expected).decode()}
    assert api.client.get("/v1/hooks/x").status_code == 403
    assert api.client.get("/v1/hooks/myspace").status_code == 404


def test_a_comment_on_our_facebook_post_is_an_interaction_of_that_publication(
    api, runtime, published
):
    fb, now = published["fb"], datetime.now(UTC)
    page = published["fb_channel"]["external_account_id"]
    payload = hooks_out.meta_comment(page, fb["external_id"], "c-1", FAN, "Which room?", now)
    assert _post(api, "facebook", payload, APP_SECRET) == (200, {"received": 1, "stored": 1})
    (seen,) = api.get(f"/v1/interactions?publication_id={fb['id']}")
    assert (seen["kind"], seen["text"], seen["author_name"]) == ("comment", "Which room?", FAN[1])
    assert seen["channel_id"] == published["fb_channel"]["id"] and seen["external_id"] == "c-1"
    reaction = hooks_out.meta_reaction(page, fb["external_id"], FAN, "love", now)
    assert _post(api, "facebook", reaction, APP_SECRET)[0] == 200
    kinds = [i["kind"] for i in api.get(f"/v1/interactions?publication_id={fb['id']}")]
    assert kinds == ["comment", "reaction"]
    assert api.get("/v1/interactions", as_="other") == []  # another workspace sees none


def test_x_replies_likes_and_follows_find_their_publication_thread_parts_included(api, published):
    x, now = published["x"], datetime.now(UTC)
    account = published["x_channel"]["external_account_id"]
    second_part = x["part_ids"][1]
    reply = hooks_out.x_reply(account, "555001", second_part, X_FAN, "@acme on my way", now)
    like = hooks_out.x_like(account, x["external_id"], X_FAN, now)
    follow = hooks_out.x_follow(account, X_FAN, now)
    for payload in (reply, like, follow):
        assert _post(api, "x", payload, X_SECRET)[0] == 200
    found = {i["kind"]: i for i in api.get("/v1/interactions")}
    assert set(found) == {"reply", "like", "follow"}
    assert found["reply"]["publication_id"] == found["like"]["publication_id"] == x["id"]
    assert found["reply"]["author_handle"] == "camille" and found["reply"]["post_id"] == second_part
    assert found["follow"]["publication_id"] is None  # the account, not a post
    # A follow event's user is of its own form (`id`, no id_str): who it is, all the same.
    assert found["follow"]["author_id"] == found["reply"]["author_id"] == X_FAN[0]
    assert found["follow"]["external_id"] == f"follow:{X_FAN[0]}:{int(now.timestamp() * 1000)}"


@pytest.mark.parametrize(
    "headers,secret",
    [
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, APP_SECRET),  # wrong
        ({"X-Hub-Signature-256": ""}, APP_SECRET),  # missing
        ({}, "not-the-app-secret"),  # signed with another secret
    ],
    ids=["wrong", "missing", "other-secret"],
)
def test_a_bad_signature_is_401_and_nothing_is_stored(api, runtime, published, headers, secret):
    page = published["fb_channel"]["external_account_id"]
    payload = hooks_out.meta_comment(
        page, published["fb"]["external_id"], "c-9", FAN, "spam", datetime.now(UTC)
    )
    before = rows_digest(runtime)
    status, problem = _post(api, "facebook", payload, secret, **headers)
    assert status == 401 and "signature" in problem["detail"]
    assert rows_digest(runtime) == before


@pytest.mark.parametrize(
    "headers,secret",
    [
        ({"x-twitter-webhooks-signature": "sha256=" + "A" * 44}, X_SECRET),  # wrong
        ({"x-twitter-webhooks-signature": ""}, X_SECRET),  # missing
        ({}, "not-the-consumer-secret"),  # signed with another secret
    ],
    ids=["wrong", "missing", "other-secret"],
)
def test_a_bad_x_signature_is_401_and_nothing_is_stored(api, runtime, published, headers, secret):
    x, now = published["x"], datetime.now(UTC)
    account = published["x_channel"]["external_account_id"]
    payload = hooks_out.x_reply(account, "555009", x["external_id"], X_FAN, "spam", now)
    before = rows_digest(runtime)
    status, problem = _post(api, "x", payload, secret, **headers)
    assert status == 401 and "signature" in problem["detail"]
    assert rows_digest(runtime) == before


def test_a_replayed_delivery_is_401_and_changes_nothing(api, runtime, published):
    page = published["fb_channel"]["external_account_id"]
    payload = hooks_out.meta_comment(
        page, published["fb"]["external_id"], "c-2", FAN, "first", datetime.now(UTC)
    )
    assert _post(api, "facebook", payload, APP_SECRET)[0] == 200
    before = rows_digest(runtime)
    status, problem = _post(api, "facebook", payload, APP_SECRET)
    assert status == 401 and problem["type"].endswith("replayed_delivery")
    old = hooks_out.meta_comment(
        page,
        published["fb"]["external_id"],
        "c-3",
        FAN,
        "old",
        datetime.now(UTC) - timedelta(days=2),
    )
    assert _post(api, "facebook", old, APP_SECRET)[0] == 401
    assert rows_digest(runtime) == before


def test_an_instagram_comment_on_our_media(api, scenario, runtime, hooked):
    from tests.samples import jpeg

    insta = scenario.instagram(runtime)
    media = [{"media_id": api.upload(jpeg(320, 320))[1]["id"]}]
    post = api.post(
        "/v1/posts", scenario.post_body([insta], text="Summer", media=media), expect=201
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    runtime.settings = runtime.settings.with_(
        facebook_verify_token=VERIFY, oauth_clients={"facebook": ("meta-app", APP_SECRET)}
    )
    payload = hooks_out.instagram_comment(
        insta["external_account_id"],
        pub["external_id"],
        "1790001",
        "camille.m",
        "Love it",
        datetime.now(UTC),
    )
    assert _post(api, "instagram", payload, APP_SECRET)[0] == 200
    (seen,) = api.get(f"/v1/interactions?publication_id={pub['id']}")
    assert (seen["kind"], seen["author_handle"], seen["text"]) == (
        "comment",
        "camille.m",
        "Love it",
    )
    own = hooks_out.instagram_comment(
        insta["external_account_id"],
        pub["external_id"],
        "1790002",
        "acme",
        "Thank you!",
        datetime.now(UTC),
        own=True,  # the account answers under its media
    )
    assert _post(api, "instagram", own, APP_SECRET)[0] == 200
    assert len(api.get(f"/v1/interactions?publication_id={pub['id']}")) == 1
    (commenter,) = api.get("/v1/members")  # the commenter, a member now; not the account
    assert [i["handle"] for i in commenter["identities"] if i["handle"]] == ["@camille.m"]


def test_the_crc_never_signs_a_body_of_someones_choosing(api, published):
    """X signs deliveries with the key and the form of its CRC answers: a CRC for a JSON
    body would be a valid signature of that body. Only X-shaped tokens are answered."""
    account = published["x_channel"]["external_account_id"]
    forged = hooks_out.x_follow(account, ("666", "mallory", "Mallory"), datetime.now(UTC))
    body, _ = hooks_out.signed("x", forged, "unknown")
    answer = api.client.get("/v1/hooks/x", query_string={"crc_token": body.decode()})
    assert answer.status_code == 403
    weird = api.client.get(
        "/v1/hooks/facebook?hub.mode=subscribe&hub.verify_token=%C3%A9&hub.challenge=1"
    )
    assert weird.status_code == 403  # a token with any characters: refused, not a 500
    status, _ = _post(
        api, "facebook", {"object": "page"}, APP_SECRET, **{"X-Hub-Signature-256": "sha256=\u00e9"}
    )
    assert status == 401


def test_the_accounts_own_likes_follows_and_comments_are_not_interactions(api, published):
    now = datetime.now(UTC)
    account = published["x_channel"]["external_account_id"]
    own = (account, "acme", "Acme")
    assert _post(api, "x", hooks_out.x_like(account, "123", own, now), X_SECRET)[1]["received"] == 0
    assert _post(api, "x", hooks_out.x_follow(account, own, now), X_SECRET)[1]["received"] == 0
    page = published["fb_channel"]["external_account_id"]
    reply = hooks_out.meta_comment(
        page, published["fb"]["external_id"], "c-own", (page, "Acme Page"), "Thanks!", now
    )
    assert _post(api, "facebook", reply, APP_SECRET)[1] == {"received": 0, "stored": 0}
    assert api.get("/v1/interactions") == []


def test_a_facebook_mention_is_stored_once_and_its_author_is_a_member(api, published):
    """A comment on our post naming the Page comes by the `feed` and the `mention`
    fields: one comment of the publication. A post naming the Page is a mention, of no
    publication; its author is a member of the community, known by their account."""
    fb, now = published["fb"], datetime.now(UTC)
    page = published["fb_channel"]["external_account_id"]
    tagged = hooks_out.meta_mention(
        page, fb["external_id"], FAN, "@Acme which room?", now, comment_id="c-7"
    )
    assert _post(api, "facebook", tagged, APP_SECRET) == (200, {"received": 1, "stored": 1})
    comment = hooks_out.meta_comment(page, fb["external_id"], "c-7", FAN, "@Acme which room?", now)
    assert _post(api, "facebook", comment, APP_SECRET) == (200, {"received": 1, "stored": 0})
    (seen,) = api.get(f"/v1/interactions?publication_id={fb['id']}")
    assert (seen["kind"], seen["external_id"]) == ("comment", "c-7")
    elsewhere = hooks_out.meta_mention(page, "5005_77", ("9002", "Dana"), "Go see @Acme", now)
    assert _post(api, "facebook", elsewhere, APP_SECRET) == (200, {"received": 1, "stored": 1})
    (mention,) = api.get("/v1/interactions?kind=mention")
    assert (mention["publication_id"], mention["post_id"]) == (None, "5005_77")
    assert (mention["author_id"], mention["text"]) == ("9002", "Go see @Acme")
    (dana,) = api.get("/v1/members?platform=facebook&account_id=9002")
    assert api.get(f"/v1/members/{dana['id']}/summary")["interactions"] == {"mention": 1}


def test_a_facebook_comment_reported_first_by_the_feed_is_not_stored_again_as_a_mention(
    api, published
):
    fb, now = published["fb"], datetime.now(UTC)
    page = published["fb_channel"]["external_account_id"]
    comment = hooks_out.meta_comment(page, fb["external_id"], "c-8", FAN, "@Acme hello", now)
    assert _post(api, "facebook", comment, APP_SECRET) == (200, {"received": 1, "stored": 1})
    tagged = hooks_out.meta_mention(
        page, fb["external_id"], FAN, "@Acme hello", now, comment_id="c-8"
    )
    assert _post(api, "facebook", tagged, APP_SECRET) == (200, {"received": 1, "stored": 0})
    assert [i["kind"] for i in api.get("/v1/interactions")] == ["comment"]


def test_a_forgotten_persons_facebook_mention_keeps_no_trace_of_them(api, runtime, published):
    """A Facebook post id holds its author's account id: the mention of someone whose
    data was erased keeps neither (its id a digest, no post)."""
    now, page = datetime.now(UTC), published["fb_channel"]["external_account_id"]
    first = hooks_out.meta_mention(page, "9002_1", ("9002", "Dana"), "Hi @Acme", now)
    assert _post(api, "facebook", first, APP_SECRET)[0] == 200
    (dana,) = api.get("/v1/members?platform=facebook&account_id=9002")
    api.call("POST", f"/v1/members/{dana['id']}/erase", {"reason": "asked"}, as_="admin")
    again = hooks_out.meta_mention(page, "9002_2", ("9002", "Dana"), "Again @Acme", now)
    assert _post(api, "facebook", again, APP_SECRET) == (200, {"received": 1, "stored": 1})
    kept = api.get("/v1/interactions?kind=mention")
    assert len(kept) == 2 and not any("9002" in str(i) or "Dana" in str(i) for i in kept)
    assert api.get("/v1/members?platform=facebook&account_id=9002") == []


def test_the_meta_app_secret_alone_checks_metas_deliveries(api, runtime, published):
    """An operator who wants Meta's webhooks and not Facebook Login sets the app secret
    alone: every delivery was refused (the secret was read only with a client id)."""
    from publisher.core.settings import Settings

    alone = Settings.from_env({"PUBLISHER_FACEBOOK_CLIENT_SECRET": "only-the-secret"})
    assert alone.oauth_client("facebook") is None  # no Login: no client id
    runtime.settings = runtime.settings.with_(
        oauth_clients={}, facebook_app_secret=alone.facebook_app_secret
    )
    fb, now = published["fb"], datetime.now(UTC)
    page = published["fb_channel"]["external_account_id"]
    payload = hooks_out.meta_comment(page, fb["external_id"], "c-alone", FAN, "Bravo", now)
    assert _post(api, "facebook", payload, "sandbox-app-secret")[0] == 401
    assert _post(api, "facebook", payload, "only-the-secret") == (200, {"received": 1, "stored": 1})


def test_a_long_reply_is_stored_whole_not_as_its_cut_text(api, published):
    """Over 140 characters, a v1.1 delivery's `text` is cut ("… https://t.co/...") and the
    whole is in extended_tweet.full_text: the cut text was stored."""
    account, now = published["x_channel"]["external_account_id"], datetime.now(UTC)
    words = "@acme " + "Je viendrai samedi avec toute la famille, merci pour l'invitation ! " * 4
    reply = hooks_out.x_reply(account, "555009", published["x"]["external_id"], X_FAN, words, now)
    assert reply["tweet_create_events"][0]["truncated"] is True  # the form X sends
    assert _post(api, "x", reply, X_SECRET)[0] == 200
    (stored,) = api.get("/v1/interactions")
    assert stored["text"] == words


def test_an_instagram_account_named_in_a_caption_is_a_mention(api, runtime, hooked):
    """Instagram's `mentions` field for a caption names only the media: it was left out
    (no comment id to know it by)."""
    runtime.settings = runtime.settings.with_(
        facebook_verify_token=VERIFY, oauth_clients={"facebook": ("meta-app", APP_SECRET)}
    )
    from tests.scenario import Scenario

    insta = Scenario(api).instagram(runtime)
    account, now = insta["external_account_id"], datetime.now(UTC)
    caption = hooks_out.instagram_mention(account, "18000000001", now)
    in_comment = hooks_out.instagram_mention(account, "18000000002", now, comment_id="1790009")
    for payload in (caption, in_comment, caption):  # the same caption again: one mention
        assert _post(api, "instagram", payload, APP_SECRET)[0] in (200, 401)
    seen = sorted((i["kind"], i["external_id"], i["post_id"]) for i in api.get("/v1/interactions"))
    assert seen == [
        ("mention", "1790009", "18000000002"),
        ("mention", "media:18000000001", "18000000001"),
    ]
