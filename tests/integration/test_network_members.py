"""Members the networks bring (issue 15, part 5): someone who replies, likes, relays or
follows is a member of the community from their first interaction, known by their
account there; your systems name them later (a result or a call with one of those
identities gives them your id), and they can be found by that account, to be erased on
request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from adapters.sandbox import hooks_out
from publisher.core.models import Channel, Event, Interaction
from publisher.engage import authors
from tests.helpers import rows_digest
from tests.integration import test_members

FAN, _event, _hook = test_members.FAN, test_members._event, test_members._hook
published = test_members.published  # the fixture: a published X post of a campaign


def _reply(api, published, reply_id: str, author: tuple[str, str, str], at: datetime) -> None:
    account, pub = published["x"]["external_account_id"], published["pub"]
    _hook(api, hooks_out.x_reply(account, reply_id, pub["external_id"], author, "Yes!", at))


def _stored_untied(
    runtime, published, reply_id: str, author: tuple, text: str, at: datetime
) -> None:
    """A reply on the channel as the engine stored them before it tied them to members."""
    with runtime.session() as session:
        session.add(
            Interaction(
                workspace_id=session.get(Channel, published["x"]["id"]).workspace_id,
                channel_id=published["x"]["id"],
                platform="x",
                kind="reply",
                external_id=reply_id,
                author_id=author[0],
                author_handle=author[1],
                author_name=author[2],
                text=text,
                occurred_at=at,
                received_at=at,
            )
        )
        session.commit()


def _by_account(api, **account) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in {"platform": "x", **account}.items())
    return api.get(f"/v1/members?{query}")


def test_someone_who_replies_becomes_a_member(api, runtime, at, published):
    now = at(datetime.now(UTC).replace(microsecond=0))
    _reply(api, published, "556001", FAN, now - timedelta(minutes=10))
    (met,) = _by_account(api, account_id=FAN[0])
    assert (met["external_id"], met["name"]) == (None, "Camille Martin")
    assert met["identities"] == [
        {"platform": "x", "account_id": "7007", "handle": None},
        {"platform": "x", "account_id": None, "handle": "@camille"},
    ]
    assert datetime.fromisoformat(met["first_seen_at"]) == now - timedelta(minutes=10)
    # Again, by id or by handle in another case: the same member, no second one.
    account = published["x"]["external_account_id"]
    pub = published["pub"]["external_id"]
    _hook(api, hooks_out.x_like(account, pub, (FAN[0], "CAMILLE", FAN[2]), now))
    _hook(api, hooks_out.x_follow(account, FAN, now))
    assert [m["id"] for m in api.get("/v1/members")] == [met["id"]]
    assert _by_account(api, handle="@CAMILLE") == [met]
    assert api.get("/v1/members?named=false") == [met] and api.get("/v1/members?named=true") == []
    summary = api.get(f"/v1/members/{met['id']}/summary")
    assert summary["interactions"] == {"reply": 1, "like": 1, "follow": 1}


def test_the_account_itself_is_no_member(api, runtime, at, published):
    now = at(datetime.now(UTC))
    account = published["x"]["external_account_id"]
    _reply(api, published, "556002", (account, "acme", "Acme"), now)  # the brand answers
    assert api.get("/v1/members") == []
    with runtime.session() as session:
        assert session.scalars(select(Interaction)).all() == []


def test_your_id_names_the_member_the_network_brought(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "556003", FAN, now - timedelta(hours=1))
    (met,) = _by_account(api, account_id=FAN[0])
    signup = _event(
        api,
        "n1",
        {
            "kind": "signup",
            "campaign_id": published["campaign"]["id"],
            "member": {
                "external_id": "crm-21",
                "name": "Camille M.",
                "identities": [{"platform": "x", "handle": "@camille"}],
            },
        },
    )
    assert signup["member_id"] == met["id"]
    named = api.get(f"/v1/members/{met['id']}")
    assert (named["external_id"], named["name"]) == ("crm-21", "Camille M.")
    assert named["first_seen_at"] == met["first_seen_at"]  # the reply, before the sign-up
    assert api.get("/v1/members?external_id=crm-21") == [named]
    # Named now: another id of yours for the same account is a conflict (merge them).
    status, problem = api.call(
        "POST",
        "/v1/members",
        {"external_id": "crm-22", "identities": [{"platform": "x", "account_id": FAN[0]}]},
    )
    assert status == 409 and problem["member_id"] == met["id"]
    assert api.get("/v1/members?external_id=crm-22") == []  # and nothing was made


def test_a_person_found_by_their_handle_is_erased_and_still_counted(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "556004", FAN, now - timedelta(minutes=5))
    campaign = published["campaign"]["id"]
    window = f"from={now - timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}&to=" + (
        f"{now + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    )
    totals = api.get(f"/v1/campaigns/{campaign}/report?{window}")["totals"]
    assert (totals["new_members"], totals["returning_members"]) == (1, 0)
    (met,) = _by_account(api, handle="camille")
    api.call("POST", f"/v1/members/{met['id']}/erase", {"reason": "asked"}, as_="admin", expect=200)
    assert _by_account(api, handle="camille") == []  # no longer known by it
    with runtime.session() as session:
        (reply,) = session.scalars(select(Interaction)).all()
        assert (reply.author_id, reply.author_handle, reply.text) == (None, None, None)
    assert api.get(f"/v1/campaigns/{campaign}/report?{window}")["totals"] == totals


def test_an_account_needs_its_network(api):
    for query in (
        "handle=@camille",
        "account_id=7007",
        "platform=X",
        "handle=a%20b&platform=x",
        "platform=x&account_id=7007&handle=camille",
    ):
        status, problem = api.call("GET", f"/v1/members?{query}")
        assert status == 422 and problem["errors"][0]["loc"][0] == "query", query


def test_someone_who_mentions_the_account_becomes_a_member(api, runtime, at, published):
    now = at(datetime.now(UTC))
    account = published["x"]["external_account_id"]
    fan = ("9009", "eli", "Eli")
    _hook(api, hooks_out.x_mention(account, "acme", "556005", fan, "Great day @acme", now))
    (mention,) = api.get("/v1/interactions?kind=mention")
    assert (mention["publication_id"], mention["text"]) == (None, "Great day @acme")
    (met,) = _by_account(api, account_id=fan[0])
    assert api.get(f"/v1/members/{met['id']}/summary")["interactions"] == {"mention": 1}


def test_an_identity_given_later_folds_in_the_member_the_network_brought(
    api, runtime, at, published
):
    now = at(datetime.now(UTC).replace(microsecond=0))
    named = _event(api, "f1", {"kind": "signup", "member": {"external_id": "crm-31"}})[
        "member_id"
    ]  # your systems know them first, with no account
    _reply(api, published, "556006", FAN, now - timedelta(hours=3))  # then they reply on X
    (met,) = _by_account(api, account_id=FAN[0])
    assert met["id"] != named
    status, _ = api.call(
        "POST", f"/v1/members/{named}/identities", {"platform": "x", "account_id": FAN[0]}
    )
    assert status in (200, 201)
    assert [m["id"] for m in _by_account(api, account_id=FAN[0])] == [named]
    summary = api.get(f"/v1/members/{named}/summary")
    assert summary["interactions"] == {"reply": 1}
    assert datetime.fromisoformat(summary["first_seen_at"]) == now - timedelta(hours=3)
    assert api.get(f"/v1/members/{met['id']}")["merged_into"] == named
    with runtime.session() as session:
        (folded,) = session.scalars(select(Event).where(Event.kind == "member.merged")).all()
    assert "networks" in folded.reason and folded.data["merged_member_id"] == met["id"]


def test_a_result_naming_two_accounts_met_apart_makes_them_one_member(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "556007", FAN, now)
    on_x = _by_account(api, account_id=FAN[0])[0]
    with runtime.session() as session:  # and comments on Instagram (as its webhook says)
        workspace = session.get(Channel, published["x"]["id"]).workspace_id
        other = authors.author_member(
            session, workspace, "instagram", "1784", "camille.m", None, at=now, now=now
        )
        session.commit()
    signup = _event(
        api,
        "f2",
        {
            "kind": "signup",
            "member": {
                "external_id": "crm-32",
                "identities": [
                    {"platform": "x", "account_id": FAN[0]},
                    {"platform": "instagram", "handle": "camille.m"},
                ],
            },
        },
    )
    assert signup["member_id"] == on_x["id"]
    assert api.get(f"/v1/members/{other}")["merged_into"] == on_x["id"]
    assert api.get("/v1/members?external_id=crm-32") == api.get(
        "/v1/members?platform=instagram&handle=camille.m"
    )


def test_a_handle_that_changed_hands_is_not_the_old_members(api, runtime, at, published):
    now = at(datetime.now(UTC))
    old = api.post(
        "/v1/members",
        {
            "external_id": "crm-33",
            "identities": [
                {"platform": "x", "account_id": "1111"},
                {"platform": "x", "handle": "@bob"},
            ],
        },
        expect=201,
    )
    _reply(api, published, "556008", ("2222", "bob", "Another Bob"), now)
    assert api.get(f"/v1/members/{old['id']}/summary")["interactions"] == {}
    (new,) = _by_account(api, account_id="2222")
    assert new["identities"] == [{"platform": "x", "account_id": "2222", "handle": None}]


def test_a_merged_members_id_finds_the_member_that_stands_for_them(api):
    kept = api.post("/v1/members", {"external_id": "crm-34"}, expect=201)
    gone = api.post("/v1/members", {"external_id": "crm-35"}, expect=201)
    api.call(
        "POST",
        f"/v1/members/{kept['id']}/merge",
        {"member_id": gone["id"], "reason": "same"},
        as_="admin",
        expect=200,
    )
    assert [m["id"] for m in api.get("/v1/members?external_id=crm-35")] == [kept["id"]]
    assert api.get("/v1/members?external_id=nobody") == []


def test_erasure_blanks_what_their_accounts_wrote_before_anyone_knew_them(
    api, runtime, at, published
):
    now = at(datetime.now(UTC))
    _reply(api, published, "556009", FAN, now)
    (met,) = _by_account(api, account_id=FAN[0])
    # A reply stored before replies were tied to anyone.
    _stored_untied(runtime, published, "555999", FAN, "Before", now - timedelta(days=1))
    api.call("POST", f"/v1/members/{met['id']}/erase", {"reason": "asked"}, as_="admin", expect=200)
    with runtime.session() as session:
        rows = session.scalars(select(Interaction).order_by(Interaction.id)).all()
    assert [(r.member_id, r.author_id, r.author_name, r.text) for r in rows] == [
        (met["id"], None, None, None),
        (None, None, None, None),  # tied to no one, but their account wrote it
    ]


def test_a_member_claimed_by_an_account_they_once_used_recruits_no_one_of_themselves(
    api, runtime, at, published
):
    now = at(datetime.now(UTC))
    _reply(api, published, "556010", FAN, now)
    (met,) = _by_account(api, account_id=FAN[0])
    code = api.post(f"/v1/members/{met['id']}/referral-code", expect=200)["code"]
    named = api.post("/v1/members", {"external_id": "crm-41"}, expect=201)
    before = rows_digest(runtime)
    answer = api.client.post(
        "/v1/events",
        json={
            "kind": "signup",
            "referral_code": code,
            "member": {
                "external_id": "crm-41",
                "identities": [{"platform": "x", "account_id": FAN[0]}],
            },
        },
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": "self"},
    )
    problem = answer.get_json()
    assert answer.status_code == 422 and problem["errors"][0]["loc"][-1] == "referral_code"
    assert rows_digest(runtime) == before
    # Recruited by the account, then known to be it: recruited by no one.
    _event(
        api, "r1", {"kind": "signup", "referral_code": code, "member": {"external_id": "crm-42"}}
    )
    (recruit,) = api.get(f"/v1/members/{met['id']}/recruits")
    api.call(
        "POST",
        f"/v1/members/{recruit['id']}/identities",
        {"platform": "x", "account_id": FAN[0]},
    )
    assert api.get(f"/v1/members/{recruit['id']}")["referred_by"] is None
    assert named["id"] != recruit["id"]


def test_the_same_account_twice_in_one_call_is_one_identity(api, runtime, at, published):
    _reply(api, published, "556011", FAN, at(datetime.now(UTC)))
    named = api.post("/v1/members", {"external_id": "crm-43"}, expect=201)
    again = api.post(
        "/v1/members",
        {
            "external_id": "crm-43",
            "identities": [
                {"platform": "x", "handle": "camille"},
                {"platform": "x", "handle": "@Camille"},
            ],
        },
        expect=200,
    )  # the member the reply brought is folded in once, the handle given once
    assert again["id"] == named["id"]
    assert sorted(i["account_id"] or i["handle"] for i in again["identities"]) == [
        "7007",
        "@camille",
    ]


def test_a_handle_another_account_wrote_with_is_not_claimed_nor_erased(api, runtime, at, published):
    now = at(datetime.now(UTC))
    # Stored before anyone was tied: a new @bob's reply.
    bob = ("2222", "bob", None)
    _stored_untied(runtime, published, "555998", bob, "Not the old Bob", now - timedelta(days=1))
    old = api.post(
        "/v1/members",
        {
            "external_id": "crm-44",
            "identities": [
                {"platform": "x", "account_id": "1111"},
                {"platform": "x", "handle": "@bob"},
            ],
        },
        expect=201,
    )
    assert api.get(f"/v1/members/{old['id']}/summary")["interactions"] == {}
    api.call("POST", f"/v1/members/{old['id']}/erase", {"reason": "asked"}, as_="admin", expect=200)
    with runtime.session() as session:
        (reply,) = session.scalars(select(Interaction)).all()
    assert (reply.member_id, reply.author_id, reply.text) == (None, "2222", "Not the old Bob")
