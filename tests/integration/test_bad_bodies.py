"""Bodies that are not what a call takes: a body sent to a change that takes none, numbers
JSON cannot hold (1e999, Infinity, NaN), a stored one read back, too many goals."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest
from tests.integration.bad_input import PROBLEM_FIELDS, post_body


@pytest.mark.parametrize(
    "raw,status,loc",
    [
        (b'{"code": "MINE"}', 422, ["code"]),  # a field the call does not take: named
        (b"[]", 422, []),
        (b"{oops", 400, None),
    ],
    ids=["a-field", "an-array", "broken-json"],
)
def test_a_change_that_takes_no_body_refuses_one_and_changes_nothing(
    api, runtime, world, raw, status, loc
):
    """A body sent to a call that takes none was dropped without a word: a client sending
    {"code": ...} to POST .../referral-code got a code of the engine's own."""
    post = api.post("/v1/posts", post_body(world), expect=201)
    key = api.post("/v1/keys", {"name": "k", "role": "editor"}, as_="admin", expect=201)
    before = rows_digest(runtime)
    for method, path, role in (
        ("POST", f"/v1/posts/{post['id']}/submit", "editor"),
        ("POST", f"/v1/keys/{key['id']}/revoke", "admin"),
        ("POST", "/v1/channels/connect/x", "admin"),
    ):
        got, problem = api.call(method, path, raw=raw, as_=role)
        assert got == status, (path, problem)
        assert problem.keys() >= PROBLEM_FIELDS
        if loc is not None:
            assert [e["loc"] for e in problem["errors"]] == [loc], problem
    assert rows_digest(runtime) == before
    for path, empty in (  # none, or an empty object, is no body
        (f"/v1/posts/{post['id']}/submit", b""),
        (f"/v1/posts/{post['id']}/cancel", b"{}"),
        (f"/v1/channels/{world['x']['id']}/check", b" {} "),
    ):
        got, problem = api.call("POST", path, raw=empty)
        assert got == 200, (path, problem)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "g", "objective": "awareness", "goals": {"impressions": 1e999}}',
        b'{"name": "g", "objective": "awareness", "goals": {"impressions": Infinity}}',
        b'{"name": "g", "objective": "awareness", "goals": {"impressions": -Infinity}}',
        b'{"name": "g", "objective": "awareness", "goals": {"impressions": NaN}}',
    ],
    ids=["1e999", "Infinity", "-Infinity", "NaN"],
)
def test_a_number_json_cannot_hold_is_refused_and_changes_nothing(api, runtime, raw):
    """A goal of 1e999 (or the literal Infinity) was stored, and every read of the
    campaign then answered `Infinity`, which no strict JSON reader takes."""
    before = rows_digest(runtime)
    status, problem = api.call("POST", "/v1/campaigns", raw=raw)
    assert status == 400 and "not valid JSON" in problem["detail"], problem
    assert rows_digest(runtime) == before


def test_a_stored_number_json_cannot_hold_reads_as_null(api, runtime):
    """No stored row can break a read: a goal stored infinite (before it was refused)."""
    from publisher.core.models import Campaign

    if runtime.engine.url.get_backend_name() == "postgresql":
        pytest.skip("PostgreSQL's json refuses Infinity: no such row can be stored there")

    made = api.post("/v1/campaigns", {"name": "g", "objective": "awareness"}, expect=201)
    with runtime.session() as session:
        session.get(Campaign, made["id"]).goals = {"impressions": float("inf")}
        session.commit()
    response = api.client.get(
        f"/v1/campaigns/{made['id']}", headers={"Authorization": f"Bearer {api.keys['editor']}"}
    )
    assert response.status_code == 200 and b"Infinity" not in response.data
    assert response.get_json()["goals"] == {"impressions": None}
    assert api.call("GET", f"/v1/campaigns/{made['id']}/report")[0] == 200


def test_a_campaign_takes_fifty_goals_at_most(api, runtime):
    before = rows_digest(runtime)
    goals = {f"custom-{n}": 1 for n in range(51)}
    body = {"name": "g", "objective": "awareness", "goals": goals}
    status, problem = api.call("POST", "/v1/campaigns", body)
    assert status == 422 and problem["errors"][0]["loc"] == ["goals"], problem
    assert rows_digest(runtime) == before


def test_a_query_parameter_a_call_does_not_take_is_refused(api, runtime, world):
    """POST /v1/campaigns?x=1 made the campaign and GET /v1/campaigns/{id}?x=1 answered:
    a parameter the call does not take was dropped unsaid (lists refused it)."""
    before = rows_digest(runtime)
    body = {"name": "c", "objective": "loyalty"}
    status, problem = api.call("POST", "/v1/campaigns?dry_run=1", body)
    assert status == 422 and problem["errors"][0]["loc"] == ["query", "dry_run"], problem
    assert rows_digest(runtime) == before
    c = world["campaign"]["id"]
    status, problem = api.call("GET", f"/v1/campaigns/{c}?expand=posts")
    assert status == 422 and problem["errors"][0]["loc"] == ["query", "expand"], problem
    assert api.call("GET", f"/v1/campaigns/{c}")[0] == 200


@pytest.mark.parametrize("value", ["1764561622", "0"])
def test_a_number_in_a_string_is_no_time(api, runtime, world, value):
    """ "1764561622" was read as seconds since 1970 and scheduled the post then."""
    from tests.integration.bad_input import target

    before = rows_digest(runtime)
    body = post_body(world, targets=target(world, scheduled_at=value))
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422, problem
    assert problem["errors"][0]["loc"] == ["targets", 0, "scheduled_at"], problem
    assert problem["errors"][0]["msg"].startswith("a date and time with its UTC offset")
    assert rows_digest(runtime) == before
