"""What an author may leave out: a time zone when the time carries its offset (issue 14
part 6)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.helpers import rows_digest

# A fixed winter instant far ahead: posts are never planned in the past.
AT = "2030-12-03T09:00:00+01:00"


def _target(channel: dict, **fields) -> dict:
    return {"channel_id": channel["id"], "scheduled_at": AT, **fields}


def _post(api, scenario, targets: list[dict], *, as_: str = "editor", expect: int = 201):
    body = {"campaign_id": scenario.campaign()["id"], "text": "Winter opening", "targets": targets}
    return api.call("POST", "/v1/posts", body, as_=as_, expect=expect)[1]


def test_a_time_with_its_offset_needs_no_time_zone(api, scenario):
    x, _ = scenario.channels()
    post = _post(api, scenario, [_target(x)])
    pub = scenario.publication(post["publications"][0]["id"])
    assert datetime.fromisoformat(pub["scheduled_at"]) == datetime(2030, 12, 3, 8, tzinfo=UTC)
    assert pub["time_zone"] == "UTC"  # no slots on the channel, no zone on the key


def test_left_out_the_zone_is_the_channel_s_then_the_key_s(api, scenario):
    x, fb = scenario.channels()
    slots = {"time_zone": "Europe/Paris", "slots": [{"day": "monday", "time": "09:00"}]}
    api.call("PUT", f"/v1/channels/{x['id']}/slots", slots, expect=200)
    made = api.post(
        "/v1/keys", {"name": "tokyo", "role": "editor", "time_zone": "Asia/Tokyo"}, as_="admin"
    )
    api.keys.keys["tokyo"] = made["key"]
    post = _post(api, scenario, [_target(x), _target(fb)], as_="tokyo")
    zones = [scenario.publication(p["id"])["time_zone"] for p in post["publications"]]
    by_channel = dict(zip([p["channel_id"] for p in post["publications"]], zones, strict=True))
    assert by_channel == {x["id"]: "Europe/Paris", fb["id"]: "Asia/Tokyo"}
    given = _post(api, scenario, [_target(x, time_zone="America/New_York")])
    assert scenario.publication(given["publications"][0]["id"])["time_zone"] == "America/New_York"


def test_a_recurrence_still_needs_its_time_zone(api, scenario, runtime):
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    before = rows_digest(runtime)
    body = {
        "campaign_id": campaign["id"],
        "text": "Every Monday",
        "targets": [_target(x, recurrence="FREQ=WEEKLY;BYDAY=MO")],
    }
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422
    assert problem["errors"][0]["loc"][:2] == ["targets", 0]
    assert "time_zone" in problem["errors"][0]["msg"]
    assert rows_digest(runtime) == before
    # and a scheduled_at is still needed
    body["targets"] = [{"channel_id": x["id"], "time_zone": "Europe/Paris"}]
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422 and "scheduled_at" in problem["errors"][0]["msg"]


def test_a_post_without_a_campaign_goes_in_the_workspace_s_default_one(api, scenario, runtime):
    x, _ = scenario.channels()
    body = {"text": "Just a post", "targets": [_target(x)]}
    first = api.post("/v1/posts", body, expect=201)
    second = api.post("/v1/posts", {**body, "text": "Another one"}, expect=201)
    assert first["campaign_id"] == second["campaign_id"]  # made once, then found
    campaign = api.get(f"/v1/campaigns/{first['campaign_id']}")
    assert campaign["is_default"] is True and campaign["name"] == "Everyday posts"
    # Another workspace gets its own.
    scenario.channels(as_="other")
    other_x = next(c for c in api.get("/v1/channels", as_="other") if c["platform"] == "x")
    theirs = api.call("POST", "/v1/posts", {**body, "targets": [_target(other_x)]}, as_="other")
    assert theirs[0] == 201 and theirs[1]["campaign_id"] != first["campaign_id"]
    # A campaign named explicitly is still used, and the default one is listed among them.
    named = scenario.campaign()
    third = api.post("/v1/posts", {**body, "campaign_id": named["id"]}, expect=201)
    assert third["campaign_id"] == named["id"]
    listed = [c for c in api.get("/v1/campaigns") if c["is_default"]]
    assert [c["id"] for c in listed] == [first["campaign_id"]]


def test_a_reviewer_cannot_make_the_default_campaign(api, scenario, runtime):
    x, _ = scenario.channels()
    before = rows_digest(runtime)
    body = {"text": "t", "targets": [_target(x)]}
    api.refused("POST", "/v1/posts", body, as_="reviewer", may_not="write content")
    assert rows_digest(runtime) == before


def test_two_first_posts_without_a_campaign_at_once_make_one_default(app, keys, scenario):
    """Both first uses of the default campaign race to make it: one is made, both posts
    land in it (the loser of the unique index reads the winner's)."""
    import threading

    from tests.client import ApiClient

    x, _ = scenario.channels()
    start = threading.Barrier(4)
    made: list[dict] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        client = ApiClient(app.test_client(), keys)
        body = {
            "text": f"First {n}",
            "targets": [{"channel_id": x["id"], "scheduled_at": "2030-01-07T09:00:00+01:00"}],
        }
        try:
            start.wait()
            made.append(client.post("/v1/posts", body, expect=201))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    defaults = [c for c in scenario.api.get("/v1/campaigns") if c["is_default"]]
    assert len(defaults) == 1
    assert {p["campaign_id"] for p in made} == {defaults[0]["id"]} and len(made) == 4
