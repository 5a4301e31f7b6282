"""Members across networks (issue 15, part 5): known by their identities there, their
interactions and results tied to them; opt-outs; an explicit, audited merge of two
identities; erasure of one member's personal data that keeps every aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.sandbox import hooks_out
from publisher.core.models import Event, Interaction, Member
from tests.helpers import rows_digest, run_pipeline, soon

X_SECRET = "x-consumer-secret"
FAN = ("7007", "camille", "Camille Martin")


@pytest.fixture
def published(api, scenario, runtime):
    runtime.settings = runtime.settings.with_(x_consumer_secret=X_SECRET)
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    post = api.post(
        "/v1/posts",
        scenario.post_body([x], at=soon(), text="Open day", campaign=campaign),
        expect=201,
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    pub = scenario.publication(post["publications"][0]["id"])
    return {"pub": pub, "x": x, "campaign": campaign}


def _hook(api, payload: dict) -> None:
    body, signed = hooks_out.signed("x", payload, X_SECRET)
    assert api.client.post("/v1/hooks/x", data=body, headers=signed).status_code == 200


def _event(api, key: str, body: dict) -> dict:
    answer = api.client.post(
        "/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": key},
    )
    assert answer.status_code == 201, answer.get_json()  # each key is new: recorded now
    return answer.get_json()


def _fan_engages(api, published) -> None:
    now, account = datetime.now(UTC), published["x"]["external_account_id"]
    pub = published["pub"]
    _hook(api, hooks_out.x_reply(account, "555001", pub["external_id"], FAN, "See you!", now))
    _hook(api, hooks_out.x_like(account, pub["external_id"], FAN, now))


def test_a_member_known_on_x_owns_their_interactions_there(api, published):
    member = api.post(
        "/v1/members",
        {
            "external_id": "crm-42",
            "name": "Camille",
            "identities": [
                {"platform": "x", "account_id": FAN[0]},
                {"platform": "instagram", "handle": "@Cam"},
            ],
        },
        expect=201,
    )
    assert member["identities"] == [
        {"platform": "x", "account_id": "7007", "handle": None},
        {"platform": "instagram", "account_id": None, "handle": "@cam"},
    ]
    _fan_engages(api, published)
    _event(
        api,
        "s1",
        {
            "kind": "signup",
            "campaign_id": published["campaign"]["id"],
            "member": {"external_id": "crm-42"},
        },
    )
    summary = api.get(f"/v1/members/{member['id']}/summary")
    assert summary["interactions"] == {"reply": 1, "like": 1}
    assert summary["conversions"] == {"signup": 1}
    assert summary["campaigns"] == [published["campaign"]["id"]]
    # Another member cannot be known by the same account.
    other = api.post("/v1/members", {"external_id": "crm-43"}, expect=201)
    status, problem = api.call(
        "POST", f"/v1/members/{other['id']}/identities", {"platform": "x", "account_id": "7007"}
    )
    assert status == 409 and problem["member_id"] == member["id"]


def test_an_opt_out_is_dated_and_audited(api, runtime):
    member = api.post("/v1/members", {"external_id": "crm-7"}, expect=201)
    out = api.call("PATCH", f"/v1/members/{member['id']}", {"opted_out": True}, expect=200)[1]
    assert out["opted_out_at"] is not None
    back = api.call("PATCH", f"/v1/members/{member['id']}", {"opted_out": False}, expect=200)[1]
    assert back["opted_out_at"] is None
    with runtime.session() as session:
        kinds = session.execute(select(Event.kind).where(Event.kind.like("member.%"))).scalars()
        assert list(kinds) == ["member.opted_out", "member.opted_in"]


def test_two_identities_merged_become_one_member(api, runtime, published):
    campaign = published["campaign"]["id"]
    kept = api.post("/v1/members", {"external_id": "crm-1", "name": "Camille"}, expect=201)
    other = api.post(
        "/v1/members",
        {"external_id": "shop-9", "identities": [{"platform": "x", "account_id": FAN[0]}]},
        expect=201,
    )
    code = api.post(f"/v1/members/{other['id']}/referral-code", expect=200)["code"]
    _event(
        api,
        "a",
        {
            "kind": "purchase",
            "campaign_id": campaign,
            "member": {"external_id": "shop-9"},
            "value_cents": 900,
            "currency": "EUR",
        },
    )
    _event(
        api,
        "b",
        {
            "kind": "signup",
            "campaign_id": campaign,
            "member": {"external_id": "friend"},
            "referral_code": code,
        },
    )
    _fan_engages(api, published)

    before = rows_digest(runtime)
    api.refused(
        "POST",
        f"/v1/members/{kept['id']}/merge",
        {"member_id": other["id"], "reason": "same person"},
        as_="editor",
        may_not="manage members",
    )
    assert rows_digest(runtime) == before  # refused: nothing written
    merged = api.call(
        "POST",
        f"/v1/members/{kept['id']}/merge",
        {"member_id": other["id"], "reason": "same person (CRM and shop)"},
        as_="admin",
        expect=200,
    )[1]
    assert [i["account_id"] for i in merged["identities"]] == ["7007"]
    summary = api.get(f"/v1/members/{kept['id']}/summary")
    assert summary["conversions"] == {"purchase": 1}
    assert summary["interactions"] == {"reply": 1, "like": 1} and summary["recruits"] == 1
    assert api.get(f"/v1/members/{other['id']}")["merged_into"] == kept["id"]
    # What named the merged member names the one that stays.
    again = _event(
        api,
        "c",
        {"kind": "subscription", "campaign_id": campaign, "member": {"external_id": "shop-9"}},
    )
    recruited = _event(
        api,
        "d",
        {
            "kind": "signup",
            "campaign_id": campaign,
            "member": {"external_id": "friend-2"},
            "referral_code": code,
        },
    )
    assert (again["member_id"], recruited["referrer_id"]) == (kept["id"], kept["id"])
    with runtime.session() as session:
        (event,) = session.execute(select(Event).where(Event.kind == "member.merged")).scalars()
        assert event.reason == "same person (CRM and shop)"
        assert event.data == {"member_id": kept["id"], "merged_member_id": other["id"]}
    assert (
        api.call(
            "POST",
            f"/v1/members/{kept['id']}/merge",
            {"member_id": kept["id"], "reason": "x"},
            as_="admin",
        )[0]
        == 422
    )
    assert (
        api.call(
            "POST",
            f"/v1/members/{kept['id']}/merge",
            {"member_id": other["id"], "reason": "x"},
            as_="admin",
        )[0]
        == 409
    )


def test_erasing_a_member_keeps_the_aggregates(api, runtime, published):
    campaign = published["campaign"]["id"]
    member = api.post(
        "/v1/members",
        {
            "external_id": "crm-99",
            "name": "Camille Martin",
            "identities": [{"platform": "x", "account_id": FAN[0]}],
        },
        expect=201,
    )
    code = api.post(f"/v1/members/{member['id']}/referral-code", expect=200)["code"]
    _event(
        api, "e1", {"kind": "signup", "campaign_id": campaign, "member": {"external_id": "crm-99"}}
    )
    _event(
        api,
        "e2",
        {
            "kind": "signup",
            "campaign_id": campaign,
            "member": {"external_id": "friend-1"},
            "referral_code": code,
        },
    )
    _fan_engages(api, published)
    window = (datetime.now(UTC) - timedelta(days=30), datetime.now(UTC) + timedelta(days=30))
    report = f"/v1/campaigns/{campaign}/report?from={window[0]:%Y-%m-%dT%H:%M:%SZ}&to=" + (
        f"{window[1]:%Y-%m-%dT%H:%M:%SZ}"
    )
    totals_before = api.get(report)["totals"]
    interactions_before = len(api.get(f"/v1/interactions?publication_id={published['pub']['id']}"))

    erased = api.call(
        "POST",
        f"/v1/members/{member['id']}/erase",
        {"reason": "request 2026-118"},
        as_="admin",
        expect=200,
    )[1]
    assert erased["name"] is None and erased["identities"] == []
    assert erased["external_id"] == f"erased:{member['id']}" and erased["referral_code"] is None
    assert erased["erased_at"] is not None
    with runtime.session() as session:
        rows = session.execute(select(Interaction)).scalars().all()
        assert rows and all(
            (r.author_id, r.author_handle, r.author_name, r.text) == (None, None, None, None)
            for r in rows
        )
        people = session.execute(select(Member)).scalars().all()
        blob = repr([(m.external_id, m.name, m.referral_code) for m in people])
        assert "crm-99" not in blob and "Camille" not in blob and code not in blob
        (event,) = session.execute(select(Event).where(Event.kind == "member.erased")).scalars()
        assert "Camille" not in repr((event.reason, event.data))
    # Every count stays: results, members, recruits, interactions.
    assert api.get(report)["totals"] == totals_before
    assert len(api.get(f"/v1/interactions?publication_id={published['pub']['id']}")) == (
        interactions_before
    )
    assert len(api.get(f"/v1/members/{member['id']}/recruits")) == 1
    # The old id now names nobody: the person coming back is a new member.
    back = api.post("/v1/members", {"external_id": "crm-99"}, expect=201)
    assert back["id"] != member["id"]
    before = rows_digest(runtime)
    path = f"/v1/members/{member['id']}/erase"
    api.refused("POST", path, {"reason": "x"}, as_="editor", may_not="manage members")
    assert rows_digest(runtime) == before


def test_the_community_report_counts_members_followers_and_cohorts(api, runtime, published):
    now = datetime.now(UTC)
    start, end = now - timedelta(days=21), now + timedelta(hours=1)
    campaign = published["campaign"]["id"]

    def at(days: float) -> str:
        return (start + timedelta(days=days)).isoformat()

    # Two members first seen in the window's first week; one of them back in the second.
    _event(
        api,
        "c1",
        {
            "kind": "signup",
            "campaign_id": campaign,
            "member": {"external_id": "c"},
            "occurred_at": at(1),
        },
    )
    _event(
        api,
        "c2",
        {
            "kind": "purchase",
            "campaign_id": campaign,
            "member": {"external_id": "c"},
            "occurred_at": at(8),
        },
    )
    _event(
        api,
        "d1",
        {
            "kind": "signup",
            "campaign_id": campaign,
            "member": {"external_id": "d"},
            "occurred_at": at(2),
        },
    )
    # A member known on X, active there now; the account gains a follower.
    api.post(
        "/v1/members",
        {"external_id": "fan", "identities": [{"platform": "x", "handle": "@Camille"}]},
        expect=201,
    )
    _fan_engages(api, published)
    account = published["x"]["external_account_id"]
    _hook(api, hooks_out.x_follow(account, FAN, now))

    query = f"from={start:%Y-%m-%dT%H:%M:%SZ}&to={end:%Y-%m-%dT%H:%M:%SZ}"
    report = api.get(f"/v1/reports/community?{query}")
    assert report["new_followers"] == 1
    assert report["interactions"] == {"follow": 1, "like": 1, "reply": 1}
    assert (report["active_members"], report["members"]) == (3, 3)
    assert report["totals"]["conversions"] == {"purchase": 1, "signup": 2}
    (line,) = [c for c in report["campaigns"] if c["campaign_id"] == campaign]
    assert line["conversions"] == report["totals"]["conversions"]
    first = report["cohorts"][0]
    assert (first["members"], first["retention"]) == (2, [0.5, 0.0, 0.0])
    assert [c["members"] for c in report["cohorts"]] == [2, 0, 0, 1]
    assert api.get("/v1/reports/community")["to"] is not None  # by default, the last 30 days


def test_a_handle_is_theirs_whatever_its_case_and_erasure_finds_it(api, runtime, published):
    member = api.post(
        "/v1/members",
        {"external_id": "crm-5", "identities": [{"platform": "x", "handle": "@camille"}]},
        expect=201,
    )
    now, account = datetime.now(UTC), published["x"]["external_account_id"]
    shouting = (FAN[0], "CAMILLE", FAN[2])  # the network writes the handle as it was typed
    _hook(api, hooks_out.x_like(account, published["pub"]["external_id"], shouting, now))
    assert api.get(f"/v1/members/{member['id']}/summary")["interactions"] == {"like": 1}
    api.call(
        "POST", f"/v1/members/{member['id']}/erase", {"reason": "asked"}, as_="admin", expect=200
    )
    with runtime.session() as session:
        (like,) = session.execute(select(Interaction)).scalars()
        assert (like.author_handle, like.author_name, like.author_id) == (None, None, None)


def test_an_opt_out_or_a_code_through_a_merged_member_reaches_the_one_that_stays(api):
    kept = api.post("/v1/members", {"external_id": "a"}, expect=201)
    other = api.post("/v1/members", {"external_id": "b"}, expect=201)
    api.call(
        "POST",
        f"/v1/members/{kept['id']}/merge",
        {"member_id": other["id"], "reason": "same"},
        as_="admin",
        expect=200,
    )
    api.call("PATCH", f"/v1/members/{other['id']}", {"opted_out": True}, expect=200)
    assert api.get(f"/v1/members/{kept['id']}")["opted_out_at"] is not None
    # Their referral code too: the one that stays has it.
    code = api.post(f"/v1/members/{other['id']}/referral-code", expect=200)
    assert code["member_id"] == kept["id"]
    assert api.get(f"/v1/members/{kept['id']}")["referral_code"] == code["code"]


def test_an_erased_members_id_form_is_the_engines_own(api, runtime):
    """A client's own id "erased:<n>" made erasing member n a 500 (two members with one id):
    the form is refused as an id of yours, and one stored from before is left to its holder."""
    from publisher.core.models import Member
    from tests.helpers import rows_digest

    before = rows_digest(runtime)
    status, problem = api.call("POST", "/v1/members", {"external_id": "erased:1"})
    assert status == 422 and problem["errors"][0]["loc"] == ["external_id"], problem
    assert rows_digest(runtime) == before
    lea = api.post("/v1/members", {"external_id": "crm-lea", "name": "Lea"}, expect=201)
    squatter = api.post("/v1/members", {"external_id": "crm-x"}, expect=201)
    with runtime.session() as session:  # as a client could store it before
        session.get(Member, squatter["id"]).external_id = f"erased:{lea['id']}"
        session.commit()
    erase = {"reason": "asked by the person"}
    api.call("POST", f"/v1/members/{lea['id']}/erase", erase, as_="admin", expect=200)
    gone = api.get(f"/v1/members/{lea['id']}")
    assert gone["erased_at"] and gone["external_id"] is None and gone["name"] is None
    assert api.get(f"/v1/members/{squatter['id']}")["external_id"] == f"erased:{lea['id']}"
