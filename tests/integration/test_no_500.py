"""Nothing a client can send produces a 500: random JSON and mutated valid bodies, against
every endpoint that takes a body (Hypothesis, bounded)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import soon

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)

FIELDS = [
    "campaign_id",
    "text",
    "link",
    "targets",
    "name",
    "objective",
    "starts_at",
    "goals",
    "platform",
    "credentials",
    "external_account_id",
    "comment",
    "role",
    "channel_id",
    "scheduled_at",
    "time_zone",
]


@pytest.fixture
def world(api):
    x, _ = api.channels()
    campaign = api.campaign()
    post = api.post_for([x], at=soon(600), campaign=campaign)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    valid = {
        "campaign_id": campaign["id"],
        "text": "hello",
        "targets": [
            {"channel_id": x["id"], "scheduled_at": soon(600).isoformat(), "time_zone": "UTC"}
        ],
    }
    pub = post["publications"][0]["id"]
    return {
        "bodies": [
            ("POST", "/v1/posts", valid, "editor"),
            ("PATCH", f"/v1/posts/{post['id']}", {"text": "edit"}, "editor"),
            ("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, "editor"),
            (
                "POST",
                "/v1/channels",
                {
                    "platform": "x",
                    "name": "n",
                    "external_account_id": "1",
                    "credentials": {"access_token": "t"},
                },
                "editor",
            ),
            ("PATCH", f"/v1/channels/{x['id']}", {"name": "renamed"}, "editor"),
            ("POST", f"/v1/reviews/{pub}/reject", {"comment": "no"}, "reviewer"),
            ("POST", "/v1/keys", {"name": "k", "role": "editor"}, "admin"),
        ],
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_and_mutated_bodies_never_500(api, world, data):
    method, path, valid, role = data.draw(st.sampled_from(world["bodies"]))
    kind = data.draw(st.sampled_from(["random", "mutated", "nested"]))
    if kind == "random":
        body = data.draw(json_values)
    elif kind == "mutated":
        body = dict(valid)
        body[data.draw(st.sampled_from(FIELDS))] = data.draw(json_values)
    else:
        body = dict(valid)
        if "targets" in body:
            target = dict(body["targets"][0])
            target[
                data.draw(st.sampled_from(["channel_id", "scheduled_at", "time_zone", "extra"]))
            ] = data.draw(json_values)
            body["targets"] = [target]
        else:
            body[data.draw(st.text(max_size=8))] = data.draw(json_values)
    status, problem = api.call(method, path, body, as_=role)
    assert status < 500, (method, path, body, problem)
    if status >= 400:
        assert {"type", "title", "status", "detail"} <= set(problem)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["status", "campaign_id", "channel_id", "limit", "after_id", "x"]),
        st.text(max_size=25),
        max_size=3,
    )
)
def test_random_query_strings_never_500(api, world, query):
    headers = {"Authorization": f"Bearer {api.keys['admin']}"}
    for path in ("/v1/publications", "/v1/reviews", "/v1/posts"):
        response = api.client.get(path, query_string=query, headers=headers)
        assert response.status_code < 500, (path, query, response.get_json())
