"""Pauses hold only their scope and say why (each move's reason and who made it); the
pauses listed are the workspace's own; a resume frees only what its pause held."""

from __future__ import annotations

from datetime import UTC, datetime

from publisher.deliver import claims, pauses
from tests.helpers import soon


def _status(scenario, pub_id: int) -> str:
    return scenario.publication(pub_id)["status"]


def _moves(api, pub_id: int) -> list[tuple[str, str, str | None]]:
    history = api.get(f"/v1/publications/{pub_id}/history")
    return [(e["actor"], e["to_status"], e["reason"]) for e in history if e["to_status"]]


def test_resuming_one_channel_leaves_another_channels_pause_alone(api, scenario):
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon(3600), text="two channels")
    scenario.submit_and_approve(post)
    ids = {p["channel_id"]: p["id"] for p in post["publications"]}
    for channel, why in ((x, "hacked"), (fb, "legal")):
        body = {"scope": "channel", "id": channel["id"], "reason": why}
        assert api.post("/v1/pause", body, expect=201)["paused"] == [ids[channel["id"]]]
    result = api.post("/v1/resume", {"scope": "channel", "id": x["id"]}, expect=200)
    assert result["rescheduled"] == [ids[x["id"]]]
    assert _status(scenario, ids[x["id"]]) == "scheduled"
    assert _status(scenario, ids[fb["id"]]) == "paused"  # its own pause still holds it
    assert ("key:2", "paused", "channel paused: legal") in _moves(api, ids[fb["id"]])
    assert _moves(api, ids[x["id"]])[-2:] == [
        ("key:2", "paused", "channel paused: hacked"),
        ("key:2", "scheduled", "resumed"),
    ]


def test_stragglers_are_only_scheduled_ones_and_the_dispatcher_says_so(api, scenario, runtime):
    """A publication approved while a pause was being made slips past it as `scheduled`;
    the dispatcher's sweep pauses it. One still in review stays in review."""
    x, _ = scenario.channels()
    approved = scenario.post_for([x], at=soon(3600), text="approved")
    waiting = scenario.post_for([x], at=soon(3600), text="waiting")
    scenario.submit_and_approve(approved)
    api.post(f"/v1/posts/{waiting['id']}/submit", expect=200)
    pause = {"scope": "channel", "id": x["id"], "reason": "stop"}
    api.post("/v1/pause", pause, expect=201)
    slipped = approved["publications"][0]["id"]
    in_review = waiting["publications"][0]["id"]
    with runtime.session() as session:  # as if approved under the pause's feet
        from publisher.core.models import Publication

        session.get(Publication, slipped).status = "scheduled"
        session.commit()
        assert pauses.pause_stragglers(session, now=datetime.now(UTC)) == 1
        session.commit()
    assert _status(scenario, slipped) == "paused"
    assert _status(scenario, in_review) == "in_review"
    assert _moves(api, slipped)[-1] == ("system:dispatcher", "paused", "under an active pause")


def test_the_in_flight_report_is_the_scopes_own(api, scenario, runtime):
    """A publication of another channel already at the platform is not reported as this
    pause's in-flight one."""
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon(), text="going out")
    scenario.submit_and_approve(post)
    ids = {p["channel_id"]: p["id"] for p in post["publications"]}
    with runtime.session() as session:
        assert claims.claim(session, ids[fb["id"]], now=datetime.now(UTC)) is not None
        session.commit()
    body = {"scope": "channel", "id": x["id"], "reason": "stop"}
    result = api.post("/v1/pause", body, expect=201)
    assert result["paused"] == [ids[x["id"]]] and result["in_flight"] == []
    everything = api.post("/v1/pause", {"scope": "workspace", "reason": "all"}, expect=201)
    assert everything["in_flight"] == [ids[fb["id"]]]


def test_the_pauses_listed_are_the_workspaces_own_in_pages(api, scenario):
    x, fb = scenario.channels()
    api.post("/v1/pause", {"scope": "workspace", "reason": "theirs"}, as_="other", expect=201)
    for channel in (x, fb):
        body = {"scope": "channel", "id": channel["id"], "reason": "ours"}
        api.post("/v1/pause", body, expect=201)
    listed = api.get("/v1/pauses")
    assert [(p["scope"], p["scope_id"]) for p in listed] == [
        ("channel", x["id"]),
        ("channel", fb["id"]),
    ]
    first = api.get("/v1/pauses?limit=1")
    assert [p["scope_id"] for p in first] == [x["id"]]
    api.post("/v1/resume", {"scope": "channel", "id": x["id"]}, expect=200)
    assert [p["scope_id"] for p in api.get("/v1/pauses")] == [fb["id"]]  # active ones only
    status, problem = api.call("POST", "/v1/keys/999/revoke", as_="admin")
    assert status == 404 and problem["detail"] == "API key 999 not found"
