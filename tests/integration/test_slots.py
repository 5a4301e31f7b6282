"""Posting slots: a weekly timetable per channel, and "add to queue" taking the next free one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from publisher.core.models import Channel
from publisher.plan import slots
from tests.client import ApiClient
from tests.helpers import rows_digest
from tests.scenario import Scenario

TIMETABLE = {
    "time_zone": "Europe/Paris",
    "slots": [
        {"day": "tuesday", "time": "12:30"},
        {"day": "monday", "time": "09:00"},
        {"day": "monday", "time": "17:00"},
    ],
}


def _queue(api, scenario, channel, text="Queued"):
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": text,
        "targets": [{"channel_id": channel["id"], "queue": True}],
    }
    return api.post("/v1/posts", body, expect=201)


def test_add_to_queue_takes_the_next_free_slot_in_local_time(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))  # Monday 11:00 in Paris
    timetable = api.call("PUT", f"/v1/channels/{x['id']}/slots", TIMETABLE, expect=200)[1]
    assert timetable["slots"][0] == {"day": "monday", "time": "09:00"}  # sorted
    assert timetable["next_free"][:3] == [
        "2027-01-04T16:00:00Z",
        "2027-01-05T11:30:00Z",
        "2027-01-11T08:00:00Z",
    ]

    taken = [_queue(api, scenario, x)["publications"][0] for _ in range(3)]
    assert [p["scheduled_local"] for p in taken] == [
        "2027-01-04T17:00:00+01:00",
        "2027-01-05T12:30:00+01:00",
        "2027-01-11T09:00:00+01:00",
    ]
    assert {p["time_zone"] for p in taken} == {"Europe/Paris"}

    # Cancelling frees the slot for the next one in the queue.
    api.post(f"/v1/publications/{taken[1]['id']}/cancel", expect=200)
    assert (
        _queue(api, scenario, x)["publications"][0]["scheduled_local"]
        == "2027-01-05T12:30:00+01:00"
    )


def test_a_slot_keeps_its_local_time_across_the_change_to_summer_time(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 3, 23, 12, 0, tzinfo=UTC))
    api.call(
        "PUT",
        f"/v1/channels/{x['id']}/slots",
        {"time_zone": "Europe/Paris", "slots": [{"day": "sunday", "time": "02:30"}]},
        expect=200,
    )
    first, second = (_queue(api, scenario, x)["publications"][0] for _ in range(2))
    # 02:30 on 2027-03-28 does not exist in Paris: read with +01:00, it is 03:30 CEST.
    assert first["scheduled_at"] == "2027-03-28T01:30:00Z"
    assert second["scheduled_local"] == "2027-04-04T02:30:00+02:00"


def test_clients_adding_to_one_queue_at_once_get_different_slots(app, keys, runtime, at):
    api = ApiClient(app.test_client(), keys)
    scenario = Scenario(api)
    (x, _) = scenario.channels()
    at(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    api.call("PUT", f"/v1/channels/{x['id']}/slots", TIMETABLE, expect=200)
    campaign = scenario.campaign()
    start = threading.Barrier(6)
    results: list[str] = []
    errors: list[BaseException] = []

    def add(n: int) -> None:
        client = ApiClient(app.test_client(), keys)
        body = {
            "campaign_id": campaign["id"],
            "text": f"Queued {n}",
            "targets": [{"channel_id": x["id"], "queue": True}],
        }
        try:
            start.wait()
            post = client.post("/v1/posts", body, expect=201)
            results.append(post["publications"][0]["scheduled_at"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 6 and len(set(results)) == 6


def test_a_full_timetable_is_a_conflict_and_writes_nothing(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    now = at(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    api.call(
        "PUT",
        f"/v1/channels/{x['id']}/slots",
        {"time_zone": "UTC", "slots": [{"day": "friday", "time": "12:00"}]},
        expect=200,
    )
    with runtime.session() as session:
        channel = session.get(Channel, x["id"])
        weeks = len(slots.free_slots(session, channel, after=now, count=1000))
    for _ in range(weeks):
        _queue(api, scenario, x)
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "One too many",
        "targets": [{"channel_id": x["id"], "queue": True}],
    }
    posts_before = len(api.get("/v1/posts"))
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 409 and "no free posting slot" in problem["detail"]
    assert len(api.get("/v1/posts")) == posts_before


def test_removing_the_timetable_stops_add_to_queue(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 1, 4, 10, 0, tzinfo=UTC))
    api.call("PUT", f"/v1/channels/{x['id']}/slots", TIMETABLE, expect=200)
    cleared = api.call(
        "PUT", f"/v1/channels/{x['id']}/slots", {"time_zone": "UTC", "slots": []}, expect=200
    )[1]
    assert cleared["slots"] == [] and cleared["next_free"] == []
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": "Queued",
        "targets": [{"channel_id": x["id"], "queue": True}],
    }
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422 and problem["errors"][0]["loc"] == ["targets", 0, "queue"]


def test_slots_are_the_workspace_s_own(api, scenario, at, runtime):
    (x, _) = scenario.channels()
    status, _ = api.call("GET", f"/v1/channels/{x['id']}/slots", as_="other")
    assert status == 404
    status, _ = api.call("PUT", f"/v1/channels/{x['id']}/slots", TIMETABLE, as_="other")
    assert status == 404
    before = rows_digest(runtime)
    path = f"/v1/channels/{x['id']}/slots"
    api.refused("PUT", path, TIMETABLE, as_="reviewer", may_not="manage channels")
    assert rows_digest(runtime) == before
