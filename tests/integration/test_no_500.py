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
    "approvals",
    "requirements",
    "content_rules",
    "decision",
    "items",
    "revision",
    "url",
    "topics",
    "body",
    "parent_id",
    "reviewer_id",
    "tracking",
]


@pytest.fixture
def world(api, scenario, runtime):
    runtime.settings = runtime.settings.with_(allow_private_urls=True)  # no DNS in the loop
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    post = scenario.post_for([x], at=soon(600), campaign=campaign)
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
        "pub": pub,
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
            ("POST", f"/v1/reviews/{pub}/reject", {"comment": "no", "revision": 1}, "reviewer"),
            ("POST", "/v1/keys", {"name": "k", "role": "editor"}, "admin"),
            ("POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, "reviewer"),
            (
                "POST",
                "/v1/reviews/batch",
                {"decision": "approve", "items": [{"publication_id": pub, "revision": 1}]},
                "reviewer",
            ),
            ("POST", f"/v1/reviews/{pub}/link", {"expires_in_hours": 2}, "reviewer"),
            (
                "PUT",
                "/v1/review-policy",
                {
                    "approvals": 2,
                    "requirements": [{"name": "legal", "role": "admin"}],
                    "content_rules": {"banned_terms": ["x"]},
                },
                "admin",
            ),
            (
                "POST",
                "/v1/webhooks",
                {"url": "http://127.0.0.1:9/h", "topics": ["review.requested"]},
                "admin",
            ),
            ("POST", f"/v1/posts/{post['id']}/comments", {"body": "hi"}, "reviewer"),
            (
                "POST",
                "/v1/campaigns",
                {"name": "t", "objective": "loyalty", "tracking": {"utm_source": "{platform}"}},
                "editor",
            ),
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
        st.sampled_from(
            [
                "status",
                "campaign_id",
                "channel_id",
                "limit",
                "after_id",
                "x",
                "sort",
                "waiting_on_me",
                "time_zone",
                "since",
                "until",
            ]
        ),
        st.text(max_size=25),
        max_size=3,
    )
)
def test_random_query_strings_never_500(api, world, query):
    headers = {"Authorization": f"Bearer {api.keys['admin']}"}
    for path in ("/v1/publications", "/v1/reviews", "/v1/posts", "/v1/audit"):
        response = api.client.get(path, query_string=query, headers=headers)
        assert response.status_code < 500, (path, query, response.get_json())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=st.dictionaries(
        st.sampled_from(["decision", "revision", "comment", "x"]), st.text(max_size=30), max_size=4
    ),
    token=st.one_of(st.none(), st.text(min_size=1, max_size=60)),
)
def test_the_review_page_never_500s(api, world, form, token):
    if token is None:  # a real link, with a random form
        pub = world["pub"]
        link = api.post(f"/v1/reviews/{pub}/link", {}, as_="reviewer")
        path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1] if "url" in link else "/"
    else:
        path = "/review/" + token.replace("/", "").replace("?", "").replace("#", "")
    for response in (api.client.get(path), api.client.post(path, data=form)):
        assert response.status_code < 500, (path, form, response.get_data(as_text=True)[:300])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(
            ["state", "code", "error", "error_description", "error_code", "error_reason", "x"]
        ),
        st.text(max_size=40),
        max_size=4,
    ),
    platform=st.sampled_from(["x", "facebook", "instagram", "myspace", "x%00"]),
    real_state=st.booleans(),
)
def test_the_oauth_callback_never_500s(api, runtime, world, query, platform, real_state):
    """No key, anything in the query, a real grant or none: a 4xx, never a 500."""
    runtime.settings = runtime.settings.with_(
        oauth_clients={"x": ("c", ""), "facebook": ("a", "s")}
    )
    if real_state and platform in ("x", "facebook"):
        url = api.post(f"/v1/channels/connect/{platform}", expect=201)["authorization_url"]
        query = {**query, "state": url.split("state=", 1)[1].split("&", 1)[0]}
    response = api.client.get(f"/v1/oauth/callback/{platform}", query_string=query)
    assert response.status_code < 500, (platform, query, response.get_json())
    assert 400 <= response.status_code < 500 or "channels" in response.get_json()
