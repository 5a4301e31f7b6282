"""A signed delivery the engine cannot wholly read (issue 15, part 2): what can be read is
stored, each event that cannot is left out, and the answer is never a 500 (the platform
would send the same body again, forever). An event the platform dates after its arrival
happened by then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import hooks_out
from tests.integration import test_inbound_hooks

APP_SECRET, X_SECRET = test_inbound_hooks.APP_SECRET, test_inbound_hooks.X_SECRET
FAN, X_FAN, _post = test_inbound_hooks.FAN, test_inbound_hooks.X_FAN, test_inbound_hooks._post
hooked = test_inbound_hooks.hooked  # the fixtures: the secrets set,
published = test_inbound_hooks.published  # an X thread and a Facebook post, published


def _reply(published, reply_id: str, at: datetime) -> dict:
    account, pub = published["x_channel"]["external_account_id"], published["x"]
    return hooks_out.x_reply(account, reply_id, pub["external_id"], X_FAN, "Yes!", at)


UNREADABLE_TWEETS = [
    {"timestamp_ms": "99999999999999999999999", "created_at": "not a date"},
    {"timestamp_ms": "abc", "created_at": None},
    {"timestamp_ms": None, "created_at": 12},
    {"timestamp_ms": None, "created_at": {"a": 1}},
    {"id_str": None},
]
# Read with what can be read of them: an author that is not an object, words that are
# not a string, a time without its zone (UTC's).
PARTLY_READ_TWEETS = [
    {"text": {"a": 1}, "user": "someone"},
    {"user": {"id_str": ["7007"]}},
    {"timestamp_ms": None, "created_at": "Mon Mar 01 09:00:00 -0000 2027"},
]


@pytest.mark.parametrize("broken", UNREADABLE_TWEETS + PARTLY_READ_TWEETS)
def test_x_events_that_cannot_be_read_are_left_out_and_the_rest_stored(api, published, broken):
    now = datetime.now(UTC)
    delivery = _reply(published, "770001", now)
    bad = _reply(published, "770002", now)["tweet_create_events"][0]
    delivery["tweet_create_events"].append({**bad, **broken})
    status, answer = _post(api, "x", delivery, X_SECRET)
    assert status == 200, answer
    stored = {i["external_id"]: i for i in api.get("/v1/interactions")}
    assert stored["770001"]["text"] == "Yes!"
    if broken in UNREADABLE_TWEETS:
        assert set(stored) == {"770001"}
    else:
        assert set(stored) == {"770001", "770002"}
        assert isinstance(stored["770002"]["text"], str | None)


@pytest.mark.parametrize(
    "payload",
    [
        {"for_user_id": "1", "tweet_create_events": "str"},
        {"for_user_id": "1", "tweet_create_events": [1, 2]},
        {"for_user_id": "1", "favorite_events": [{"timestamp_ms": 1e300, "id": "5"}]},
        {"for_user_id": "1", "follow_events": [{"type": "follow", "source": "x"}]},
    ],
)
def test_x_deliveries_of_the_wrong_shape_store_nothing_and_are_no_500(api, hooked, payload):
    status, answer = _post(api, "x", payload, X_SECRET)
    assert status in (200, 401), answer  # 401: nothing readable and nothing recent
    assert api.get("/v1/interactions") == []


def _comment(published, comment_id: str, at: datetime, **changes) -> dict:
    page, fb = published["fb_channel"]["external_account_id"], published["fb"]
    payload = hooks_out.meta_comment(page, fb["external_id"], comment_id, FAN, "Hi", at)
    payload["entry"][0]["changes"][0]["value"].update(changes)
    return payload


@pytest.mark.parametrize(
    "changes",
    [
        {"created_time": 10**20},
        {"created_time": 10**400},
        {"created_time": "0001-01-01T00:00:00+14:00"},
        {"from": "someone"},
        {"message": ["a"]},
        {"message": {"a": 1}},
        {"post_id": None},
    ],
)
def test_facebook_events_that_cannot_be_wholly_read(api, published, changes):
    now = datetime.now(UTC)
    payload = _comment(published, "c-1", now)
    payload["entry"][0]["changes"].append(
        _comment(published, "c-2", now, **changes)["entry"][0]["changes"][0]
    )
    status, answer = _post(api, "facebook", payload, APP_SECRET)
    assert status == 200, answer
    stored = {i["external_id"]: i for i in api.get("/v1/interactions")}
    assert stored["c-1"]["text"] == "Hi"
    # What could be read of it, nothing made up (a time it cannot read: the delivery's).
    assert stored["c-2"]["text"] in ("Hi", None) and stored["c-2"]["post_id"] != "None"


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "page", "entry": "x"},
        {"object": "page", "entry": [{"id": "1", "time": 10**20, "changes": [{"value": "s"}]}]},
        {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": 3}]}]},
    ],
)
def test_facebook_deliveries_of_the_wrong_shape_are_no_500(api, hooked, payload):
    status, answer = _post(api, "facebook", payload, APP_SECRET)
    assert status in (200, 401), answer
    assert api.get("/v1/interactions") == []


def test_nul_bytes_in_what_a_platform_says_are_dropped(api, published):
    now = datetime.now(UTC)
    payload = _reply(published, "770011", now)
    payload["tweet_create_events"][0]["user"].update(id_str="70\x0007", name="Ca\x00mille")
    payload["tweet_create_events"][0]["text"] = "Y\x00es"
    assert _post(api, "x", payload, X_SECRET)[0] == 200
    (seen,) = api.get("/v1/interactions")
    assert (seen["author_id"], seen["author_name"], seen["text"]) == ("7007", "Camille", "Yes")


def test_an_event_dated_after_it_arrived_happened_by_then(api, runtime, at, published):
    now = at(datetime.now(UTC))
    payload = _reply(published, "770021", now + timedelta(days=3650))
    assert _post(api, "x", payload, X_SECRET)[0] == 200
    (seen,) = api.get("/v1/interactions")
    assert datetime.fromisoformat(seen["occurred_at"]) == now
