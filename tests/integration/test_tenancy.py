"""Every object belongs to one workspace; roles decide who may do what."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest, soon
from tests.scenario import X_ACCOUNT, X_CREDS


@pytest.fixture
def acme(api, scenario):
    x, fb = scenario.channels()
    campaign = scenario.campaign()
    post = scenario.post_for([x], at=soon(600), campaign=campaign)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    return {
        "channel": x,
        "campaign": campaign,
        "post": post,
        "publication": post["publications"][0],
    }


def _foreign_calls(acme):
    ch, camp = acme["channel"]["id"], acme["campaign"]["id"]
    post, pub = acme["post"]["id"], acme["publication"]["id"]
    return [
        ("GET", f"/v1/channels/{ch}", None),
        ("PATCH", f"/v1/channels/{ch}", {"name": "mine now"}),
        ("GET", f"/v1/campaigns/{camp}", None),
        ("GET", f"/v1/posts/{post}", None),
        ("PATCH", f"/v1/posts/{post}", {"text": "hijacked"}),
        ("POST", f"/v1/posts/{post}/submit", None),
        ("POST", f"/v1/posts/{post}/cancel", None),
        ("GET", f"/v1/publications/{pub}", None),
        ("GET", f"/v1/publications/{pub}/history", None),
        ("POST", f"/v1/publications/{pub}/cancel", None),
        ("POST", f"/v1/reviews/{pub}/approve", {"comment": "sure", "revision": 1}),
        ("POST", f"/v1/reviews/{pub}/reject", {"comment": "no", "revision": 1}),
        ("POST", f"/v1/reviews/{pub}/request-changes", {"comment": "hmm", "revision": 1}),
        ("GET", f"/v1/posts?campaign_id={camp}", None),
    ]


def test_another_workspaces_objects_are_404_for_every_resource(api, runtime, acme):
    before = rows_digest(runtime)
    for method, path, body in _foreign_calls(acme):
        status, problem = api.call(method, path, body, as_="other")
        assert status == 404, (method, path, status, problem)
        assert problem["title"] == "Not found"
    assert rows_digest(runtime) == before


def test_lists_show_only_the_callers_workspace(api, acme):
    for path in ("/v1/channels", "/v1/campaigns", "/v1/posts", "/v1/publications", "/v1/reviews"):
        assert api.get(path, as_="other") == [], path
        assert api.get(path, as_="admin") != [], path


def test_another_workspaces_channel_cannot_be_targeted(api, runtime, acme):
    campaign = api.post(
        "/v1/campaigns", {"name": "c", "objective": "loyalty"}, as_="other", expect=201
    )
    status, problem = api.call(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": "borrowed channel",
            "targets": [
                {
                    "channel_id": acme["channel"]["id"],
                    "scheduled_at": soon(60).isoformat(),
                    "time_zone": "UTC",
                }
            ],
        },
        as_="other",
    )
    assert status == 422
    assert problem["errors"][0]["loc"] == ["targets", 0, "channel_id"]


def test_an_editor_cannot_approve(api, scenario, runtime, acme):
    pub = acme["publication"]["id"]
    before = rows_digest(runtime)
    for role in ("editor", "automation"):
        vote = {"revision": 1}
        api.refused("POST", f"/v1/reviews/{pub}/approve", vote, as_=role, may_not="decide reviews")
    assert scenario.publication(pub)["status"] == "in_review"
    assert rows_digest(runtime) == before


def test_a_reviewer_cannot_edit_content(api, runtime, acme):
    """Every body here is valid: the role is the only reason to refuse."""
    before = rows_digest(runtime)
    post = acme["post"]["id"]
    target = {
        "channel_id": acme["channel"]["id"],
        "scheduled_at": soon(600).isoformat(),
        "time_zone": "UTC",
    }
    calls = [
        ("PATCH", f"/v1/posts/{post}", {"text": "reviewer's words"}),
        (
            "POST",
            "/v1/posts",
            {"campaign_id": acme["campaign"]["id"], "text": "x", "targets": [target]},
        ),
        ("POST", f"/v1/posts/{post}/cancel", None),
        ("POST", f"/v1/posts/{post}/submit", None),
        ("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}),
        (
            "POST",
            "/v1/channels",
            {
                "platform": "x",
                "name": "n",
                "external_account_id": X_ACCOUNT,
                "credentials": X_CREDS,
            },
        ),
    ]
    for method, path, body in calls:
        status, problem = api.call(method, path, body, as_="reviewer")
        assert status == 403, (method, path, status, problem)
        assert "reviewer" in problem["detail"], problem
    assert rows_digest(runtime) == before


def test_automation_can_plan_but_not_manage_channels(api, runtime, acme):
    before = rows_digest(runtime)
    channel = {
        "platform": "x",
        "name": "n",
        "external_account_id": "1",
        "credentials": {"access_token": "t"},
    }
    api.refused("POST", "/v1/channels", channel, as_="automation", may_not="manage channels")
    assert rows_digest(runtime) == before
    api.post(
        "/v1/campaigns", {"name": "auto", "objective": "engagement"}, as_="automation", expect=201
    )


def test_admin_mints_and_revokes_keys_shown_once(api, runtime):
    created = api.post("/v1/keys", {"name": "ci", "role": "editor"}, as_="admin", expect=201)
    assert created["key"].startswith(f"pub_{created['prefix']}_")
    listed = api.get("/v1/keys", as_="admin")
    assert all("key" not in k and "key_hash" not in k for k in listed)
    api.keys.keys["new"] = created["key"]
    assert api.call("GET", "/v1/channels", as_="new")[0] == 200
    api.post(f"/v1/keys/{created['id']}/revoke", as_="admin", expect=200)
    assert api.call("GET", "/v1/channels", as_="new")[0] == 401
    before = rows_digest(runtime)
    body = {"name": "x", "role": "admin"}
    api.refused("POST", "/v1/keys", body, as_="editor", may_not="manage keys")
    assert rows_digest(runtime) == before
    assert api.call("POST", f"/v1/keys/{created['id']}/revoke", as_="other")[0] == 404


def test_credentials_are_never_returned_and_are_encrypted_at_rest(api, runtime, acme):
    from sqlalchemy import text

    shown = api.get(f"/v1/channels/{acme['channel']['id']}")
    assert "credentials" not in shown
    with runtime.engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM channel")).scalars().all()
    assert stored and all(b"x-token-acme" not in bytes(s) for s in stored)
    assert runtime.box.open(bytes(stored[0]))["access_token"] == "x-token-acme"
