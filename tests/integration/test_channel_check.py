"""POST /v1/channels/{id}/check asks the platform, through tweepy and facebook-sdk against
the sandbox, whether the stored credentials work, and acts on the answer."""

from __future__ import annotations

import pytest

from adapters.sandbox import Fault
from tests.helpers import rows_digest, run_pipeline, soon


@pytest.fixture
def pair(api, scenario):
    x, fb = scenario.channels()
    return {"x": x, "facebook": fb}


@pytest.mark.parametrize("platform", ["x", "facebook"])
def test_working_credentials_are_reported_with_the_account(api, pair, platform):
    channel = pair[platform]
    verdict = api.post(f"/v1/channels/{channel['id']}/check", expect=200)
    assert verdict["result"] == "ok" and verdict["detail"] is None
    assert verdict["account"]["id"] and verdict["channel_status"] == "active"
    if platform == "facebook":  # the Page itself answered, under its own token
        assert verdict["account"]["id"] == channel["external_account_id"]
        assert verdict["same_account"] is True


@pytest.mark.parametrize("platform,token", [("x", "x-token-acme"), ("facebook", "fb-token-acme")])
def test_refused_credentials_hold_the_channel_until_a_check_passes(
    api, scenario, runtime, sandbox, pair, platform, token
):
    channel = pair[platform]
    post = scenario.post_for([channel], at=soon())
    scenario.submit_and_approve(post)
    sandbox.ledger.expire_token(token)

    verdict = api.post(f"/v1/channels/{channel['id']}/check", expect=200)
    assert verdict["result"] == "needs_reauth" and verdict["channel_status"] == "needs_reauth"
    said = {"x": "401", "facebook": "code 190"}[platform]  # X's status; Graph's OAuth code
    assert said in verdict["detail"], verdict["detail"]
    run_pipeline(runtime)
    assert sandbox.ledger.accepted(platform) == []  # held: nothing tried on a refused channel

    sandbox.ledger.reset()  # the platform accepts the token again (say, access restored)
    verdict = api.post(f"/v1/channels/{channel['id']}/check", expect=200)
    assert verdict["result"] == "ok" and verdict["channel_status"] == "active"
    run_pipeline(runtime)
    assert scenario.publication(post["publications"][0]["id"])["status"] == "published"
    assert len(sandbox.ledger.accepted(platform)) == 1


@pytest.mark.parametrize(
    "platform,fault,result",
    [
        ("x", Fault(status=429, on="account"), "unavailable"),
        ("x", Fault(status=503, on="account"), "unavailable"),
        ("facebook", Fault(status=400, code=4, on="account"), "unavailable"),
        ("facebook", Fault(status=400, code=100, on="account"), "refused"),
    ],
)
def test_a_platform_that_cannot_answer_changes_nothing(api, sandbox, pair, platform, fault, result):
    channel = pair[platform]
    sandbox.ledger.inject(platform, fault)
    verdict = api.post(f"/v1/channels/{channel['id']}/check", expect=200)
    assert verdict["result"] == result and verdict["detail"]
    assert verdict["channel_status"] == "active"
    assert api.get(f"/v1/channels/{channel['id']}")["status"] == "active"


def test_check_needs_the_manage_channels_permission_and_an_existing_channel(api, pair, runtime):
    before = rows_digest(runtime)
    path = f"/v1/channels/{pair['x']['id']}/check"
    api.refused("POST", path, {}, as_="reviewer", may_not="manage channels")
    assert rows_digest(runtime) == before  # the channel's status and checked time unchanged
    api.call("POST", "/v1/channels/999999/check", {}, expect=404)


@pytest.mark.parametrize(
    "platform,credentials",
    [
        ("x", {"access_token": "token-of-someone-else"}),
        # A Page token reads any public Page by its id: only /me says whose it is.
        ("facebook", {"page_access_token": "token-of-someone-else"}),
    ],
)
def test_credentials_of_another_account_hold_the_channel(
    api, scenario, runtime, sandbox, platform, credentials
):
    """Issue 11 item 18: the check said `ok` when the token acted as another account than
    the channel's; posts would have gone out as someone else."""
    other = api.post(
        "/v1/channels",
        {
            "platform": platform,
            "name": "Says it is 42",
            "external_account_id": "42",
            "credentials": credentials,
        },
        expect=201,
    )
    post = scenario.post_for([other], at=soon())
    scenario.submit_and_approve(post)
    verdict = api.post(f"/v1/channels/{other['id']}/check", expect=200)
    assert verdict["result"] == "wrong_account" and verdict["same_account"] is False
    assert "not as the channel's account 42" in verdict["detail"]
    assert verdict["channel_status"] == "wrong_account"
    run_pipeline(runtime)
    assert sandbox.ledger.accepted(platform) == []
    # New credentials alone do not lift it (they may be the same wrong ones): only a
    # check, or a reconnection, that shows the channel's own account.
    api.call(
        "PATCH",
        f"/v1/channels/{other['id']}",
        {"credentials": credentials},
        expect=200,
    )
    assert api.get(f"/v1/channels/{other['id']}")["status"] == "wrong_account"
    run_pipeline(runtime)
    assert sandbox.ledger.accepted(platform) == []


def test_one_channel_per_account_in_a_workspace(api, runtime, pair):
    """Issue 11 item 18: a second channel for the same account was accepted, then one of
    two posts failed as a duplicate."""
    before = rows_digest(runtime)
    status, problem = api.call(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "Acme again",
            "external_account_id": pair["x"]["external_account_id"],
            "credentials": {"access_token": "another-token"},
        },
    )
    assert status == 409 and problem["channel_id"] == pair["x"]["id"]
    assert f"PATCH /v1/channels/{pair['x']['id']}" in problem["detail"]
    assert rows_digest(runtime) == before
    other_workspace = api.call(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "Theirs",
            "external_account_id": pair["x"]["external_account_id"],
            "credentials": {"access_token": "x-token-acme"},
        },
        as_="other",
    )
    assert other_workspace[0] == 201  # another workspace may hold the same account


def test_the_database_itself_holds_one_channel_per_account(api, scenario, runtime):
    """Issue 11 item 18: the API's check could be passed by two requests at once; the
    unique index refuses the second row whatever the code above it does."""
    from sqlalchemy.exc import IntegrityError

    from publisher.core.models import Channel

    x, _ = scenario.channels()
    with runtime.session() as session, pytest.raises(IntegrityError):
        session.add(
            Channel(
                workspace_id=1,
                platform="x",
                name="twin",
                external_account_id=x["external_account_id"],
                credentials=b"sealed",
            )
        )
        session.commit()
