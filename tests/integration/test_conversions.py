"""Conversions and referrals (issue 15 part 4): POST /v1/events records what the client's
systems report, attributed to a campaign, a member and who referred them; a retried call
with the same Idempotency-Key counts once, the same key for another event is refused;
members get referral codes and the recruits they bring are listed."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest


def _event(api, body: dict, key: str, as_: str = "automation"):
    response = api.client.post(
        "/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {api.keys[as_]}", "Idempotency-Key": key},
    )
    return response.status_code, response.get_json()


def test_a_retried_report_counts_once_and_a_reused_key_is_refused(api, scenario, runtime):
    campaign = scenario.campaign()
    body = {
        "kind": "signup",
        "campaign_id": campaign["id"],
        "member": {"external_id": "crm-42", "name": "Camille"},
        "occurred_at": "2026-01-04T09:00:00+01:00",
    }
    status, first = _event(api, body, "signup-crm-42")
    assert status == 201 and first["kind"] == "signup" and first["campaign_id"] == campaign["id"]
    # The client's retry (its answer was lost): the same event, counted once.
    status, again = _event(api, dict(reversed(list(body.items()))), "signup-crm-42")
    assert status == 200 and again == first
    assert [e["id"] for e in api.get("/v1/events")] == [first["id"]]
    before = rows_digest(runtime)
    status, problem = _event(
        api, {**body, "kind": "purchase", "value_cents": 1, "currency": "EUR"}, "signup-crm-42"
    )
    assert status == 409 and "used for another event" in problem["detail"]
    assert rows_digest(runtime) == before


def test_a_referral_code_credits_who_recruited_whom(api, scenario):
    status, sponsor = 0, None
    status, sponsor = api.call(
        "POST", "/v1/members", {"external_id": "crm-1", "name": "Lea"}, expect=201
    )
    assert api.call("POST", "/v1/members", {"external_id": "crm-1"})[0] == 200  # known: same
    code = api.post(f"/v1/members/{sponsor['id']}/referral-code", expect=200)["code"]
    assert len(code) == 8 and code.isalnum() and code.isupper()
    assert api.post(f"/v1/members/{sponsor['id']}/referral-code", expect=200)["code"] == code
    for n, typed in ((2, code), (3, code.lower())):  # as people type it: any case
        body = {"kind": "signup", "member": {"external_id": f"crm-{n}"}, "referral_code": typed}
        status, made = _event(api, body, f"k{n}")
        assert status == 201 and made["referrer_id"] == sponsor["id"]
    recruits = api.get(f"/v1/members/{sponsor['id']}/recruits")
    assert [m["external_id"] for m in recruits] == ["crm-2", "crm-3"]
    assert all(m["referred_by"] == sponsor["id"] for m in recruits)
    # A second code later does not take the credit from the first sponsor.
    other = api.post("/v1/members", {"external_id": "crm-9"}, expect=201)
    other_code = api.post(f"/v1/members/{other['id']}/referral-code", expect=200)["code"]
    body = {"kind": "subscription", "member": {"external_id": "crm-2"}, "referral_code": other_code}
    assert _event(api, body, "k-sub")[0] == 201
    assert api.get(f"/v1/members/{recruits[0]['id']}")["referred_by"] == sponsor["id"]
    status, problem = _event(
        api, {"kind": "signup", "member": {"external_id": "crm-1"}, "referral_code": code}, "self"
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["referral_code"]


def test_no_one_is_credited_with_recruiting_who_recruited_them(api, scenario):
    """Lea brought Max; Max's code on a result of Lea's (or of whoever brought Lea)
    would make a circle: the result counts, the credit stays as it was."""
    lea = api.post("/v1/members", {"external_id": "crm-lea"}, expect=201)
    lea_code = api.post(f"/v1/members/{lea['id']}/referral-code", expect=200)["code"]
    body = {"kind": "signup", "member": {"external_id": "crm-max"}, "referral_code": lea_code}
    status, made = _event(api, body, "max")
    assert status == 201
    max_id = api.get("/v1/members?external_id=crm-max")[0]["id"]
    max_code = api.post(f"/v1/members/{max_id}/referral-code", expect=200)["code"]
    body = {"kind": "purchase", "member": {"external_id": "crm-lea"}, "referral_code": max_code}
    body |= {"value_cents": 500, "currency": "EUR"}
    status, made = _event(api, body, "lea-buys")
    assert status == 201 and made["referrer_id"] == max_id  # the result names the code
    assert api.get(f"/v1/members/{lea['id']}")["referred_by"] is None
    assert api.get(f"/v1/members/{max_id}/recruits") == []


@pytest.mark.parametrize(
    "body,loc",
    [
        ({"kind": "custom"}, []),  # a custom event needs its name
        ({"kind": "purchase", "value_cents": 900}, []),  # value without currency
        ({"kind": "signup", "referral_code": "NOPE1234"}, ["referral_code"]),
        ({"kind": "signup", "campaign_id": 999}, ["campaign_id"]),
        ({"kind": "signup", "member": {"external_id": " "}}, ["member", "external_id"]),
        ({"kind": "refund"}, ["kind"]),
    ],
)
def test_bad_reports_are_refused_and_change_nothing(api, runtime, body, loc):
    before = rows_digest(runtime)
    status, problem = _event(api, body, "bad")
    assert status == 422, problem
    if loc:
        assert problem["errors"][0]["loc"][: len(loc)] == loc
    assert rows_digest(runtime) == before


def test_no_idempotency_key_is_refused_and_other_workspaces_see_nothing(api, scenario, runtime):
    response = api.client.post(
        "/v1/events",
        json={"kind": "signup"},
        headers={"Authorization": f"Bearer {api.keys['automation']}"},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert response.get_json()["errors"][0]["msg"] == "required"
    for key, said in (
        ("k" * 201, "at most 200 characters"),
        ("a key", "printable characters, no spaces"),
    ):
        status, problem = _event(api, {"kind": "signup"}, key)  # sent, and not right: said so
        assert status == 422 and problem["errors"][0]["msg"] == said, problem
    member = api.post("/v1/members", {"external_id": "crm-7"}, expect=201)
    assert _event(api, {"kind": "signup", "member": {"external_id": "crm-7"}}, "k7")[0] == 201
    assert api.call("GET", f"/v1/members/{member['id']}", as_="other")[0] == 404
    assert api.get("/v1/events", as_="other") == []
    before = rows_digest(runtime)
    api.refused("POST", "/v1/events", {"kind": "signup"}, as_="reviewer", may_not="write content")
    assert rows_digest(runtime) == before


def test_a_report_made_before_links_were_named_keeps_its_digest():
    """A retry of a report stored before `link_code` and `click` existed says the same."""
    import hashlib
    import json

    from publisher.engage.conversions import digest
    from publisher.engage.schemas import EventIn

    body = {"kind": "signup", "campaign_id": 3, "member": {"external_id": "crm-1"}}
    before = EventIn.model_validate(body).model_dump(mode="json", exclude={"link_code", "click"})
    stored = hashlib.sha256(
        json.dumps(before, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert digest(EventIn.model_validate(body)) == stored
    assert digest(EventIn.model_validate({**body, "link_code": "k3xq7m2pza"})) != stored


def test_a_recruit_merged_with_another_record_of_them_is_one_recruit(api, scenario):
    """Lea's code brought B (the shop's record); C (the CRM's) is the same person: merged,
    Lea recruited one person, not two (the merged record kept its referrer)."""
    lea = api.post("/v1/members", {"external_id": "crm-lea"}, expect=201)
    code = api.post(f"/v1/members/{lea['id']}/referral-code", expect=200)["code"]
    body = {"kind": "signup", "member": {"external_id": "shop-9"}, "referral_code": code}
    assert _event(api, body, "b")[0] == 201
    shop = api.get("/v1/members?external_id=shop-9")[0]
    crm = api.post("/v1/members", {"external_id": "crm-5"}, expect=201)
    merge = {"member_id": shop["id"], "reason": "same person"}
    api.call("POST", f"/v1/members/{crm['id']}/merge", merge, as_="admin", expect=200)
    assert api.get(f"/v1/members/{crm['id']}")["referred_by"] == lea["id"]  # the credit moved
    assert [m["id"] for m in api.get(f"/v1/members/{lea['id']}/recruits")] == [crm["id"]]
    assert api.get(f"/v1/members/{lea['id']}/summary")["recruits"] == 1
    # Lea's CRM record merged into her shop one: asked through either, her recruits.
    shop_lea = api.post("/v1/members", {"external_id": "shop-lea"}, expect=201)
    merge = {"member_id": lea["id"], "reason": "same person"}
    api.call("POST", f"/v1/members/{shop_lea['id']}/merge", merge, as_="admin", expect=200)
    for asked in (lea["id"], shop_lea["id"]):
        assert [m["id"] for m in api.get(f"/v1/members/{asked}/recruits")] == [crm["id"]]
        assert api.get(f"/v1/members/{asked}/summary")["recruits"] == 1


def test_two_first_asks_for_a_code_at_once_get_the_same_code(api, runtime):
    """Two first asks at once (two transactions) each made a code and the last one written
    won: a sign-up with the code handed out first was then refused."""
    import threading

    from publisher.core.workspaces import Actor
    from publisher.engage import conversions
    from tests.helpers import a_writer_is_waiting, wait_until

    lea = api.post("/v1/members", {"external_id": "crm-lea"}, expect=201)
    line, codes = threading.Barrier(2, timeout=10), {}

    def ask(name: str) -> None:
        with runtime.session() as session:
            who = Actor(workspace_id=1, key_id=None, role="automation")
            if name == "second":
                line.wait()
            codes[name] = conversions.create_referral_code(session, who, lea["id"]).referral_code
            if name == "first":
                line.wait()  # the second asks now, against this open transaction
                wait_until(lambda: a_writer_is_waiting(runtime), timeout_s=10, what="the wait")
            session.commit()

    threads = [threading.Thread(target=ask, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes["first"] and codes["first"] == codes["second"]
    assert api.post(f"/v1/members/{lea['id']}/referral-code", expect=200)["code"] == codes["first"]


def test_a_sign_up_that_recruits_no_one_is_no_referral(api, scenario):
    """Lea brought Max; Lea signing up with Max's code, or Max signing up again with
    Lea's, counted as referrals (the campaign's total grew past its recruits)."""
    campaign = scenario.campaign()
    lea = api.post("/v1/members", {"external_id": "crm-lea"}, expect=201)
    lea_code = api.post(f"/v1/members/{lea['id']}/referral-code", expect=200)["code"]
    body = {"kind": "signup", "campaign_id": campaign["id"], "referral_code": lea_code}
    status, made = _event(api, {**body, "member": {"external_id": "crm-max"}}, "max")
    assert status == 201 and made["referrer_id"] == lea["id"]
    max_id = made["member_id"]
    max_code = api.post(f"/v1/members/{max_id}/referral-code", expect=200)["code"]
    status, circle = _event(
        api, {**body, "referral_code": max_code, "member": {"external_id": "crm-lea"}}, "lea"
    )
    assert status == 201 and circle["referrer_id"] is None
    status, again = _event(api, {**body, "member": {"external_id": "crm-max"}}, "max-again")
    assert status == 201 and again["referrer_id"] is None
    report = api.get(f"/v1/campaigns/{campaign['id']}/report")
    assert report["totals"]["referrals"] == len(api.get(f"/v1/members/{lea['id']}/recruits"))
    assert report["totals"]["conversions"] == {"signup": 3}


def test_a_result_dated_in_the_future_is_refused(api, runtime, at):
    """A sign-up dated 2030 was stored, and made its member first seen in 2030."""
    from datetime import UTC, datetime

    now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    at(now)
    before = rows_digest(runtime)
    body = {"kind": "signup", "member": {"external_id": "crm-z"}}
    status, problem = _event(api, {**body, "occurred_at": "2030-01-01T00:00:00Z"}, "z")
    assert status == 422 and problem["errors"][0]["loc"] == ["occurred_at"], problem
    assert rows_digest(runtime) == before
    status, made = _event(api, {**body, "occurred_at": "2027-03-01T09:02:00Z"}, "z2")
    assert status == 201 and made["occurred_at"] == "2027-03-01T09:00:00Z"  # a clock ahead


def test_a_sign_up_after_another_result_through_the_same_code_is_the_referral(api, scenario):
    """A purchase naming Lea's code made her the recruiter; the member's sign-up through
    the same code, reported after it, is the referral (it was dropped as a repeat)."""
    campaign = scenario.campaign()
    lea = api.post("/v1/members", {"external_id": "crm-lea"}, expect=201)
    code = api.post(f"/v1/members/{lea['id']}/referral-code", expect=200)["code"]
    base = {"campaign_id": campaign["id"], "referral_code": code, "member": {"external_id": "m"}}
    status, bought = _event(
        api, {**base, "kind": "purchase", "value_cents": 900, "currency": "EUR"}, "p"
    )
    assert status == 201 and bought["referrer_id"] == lea["id"]
    status, signed = _event(api, {**base, "kind": "signup"}, "s")
    assert status == 201 and signed["referrer_id"] == lea["id"]
    status, again = _event(api, {**base, "kind": "signup"}, "s2")  # the same, reported twice
    assert status == 201 and again["referrer_id"] is None
    report = api.get(f"/v1/campaigns/{campaign['id']}/report")
    assert report["totals"]["referrals"] == len(api.get(f"/v1/members/{lea['id']}/recruits")) == 1
