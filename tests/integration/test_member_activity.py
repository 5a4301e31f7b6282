"""Members' activity in the reports: a member is active through their results and through
their interactions on the networks, each member is counted once in the workspace's
totals, and a merge or an erasure leaves the counts as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.sandbox import hooks_out
from tests.integration import test_members

FAN, _event, _hook = test_members.FAN, test_members._event, test_members._hook
published = test_members.published  # the fixture: a published X post of a campaign
WEEK, MOMENT = timedelta(weeks=1), timedelta(milliseconds=300)


def _window(now: datetime) -> str:
    start, end = now - timedelta(days=7), now + timedelta(hours=1)
    return f"from={start:%Y-%m-%dT%H:%M:%SZ}&to={end:%Y-%m-%dT%H:%M:%SZ}"


def _reply(api, published, reply_id: str, author: tuple[str, str, str], at: datetime) -> None:
    account, pub = published["x"]["external_account_id"], published["pub"]
    _hook(api, hooks_out.x_reply(account, reply_id, pub["external_id"], author, "Yes!", at))


def test_a_member_who_only_replied_is_active_in_the_campaign(api, runtime, at, published):
    now, campaign = at(datetime.now(UTC)), published["campaign"]["id"]
    old_friend = ("8008", "dora", "Dora")
    # Dora has been a member for a month; Camille is new, known once she replied.
    _event(
        api,
        "old",
        {
            "kind": "signup",
            "member": {
                "external_id": "crm-8",
                "identities": [{"platform": "x", "account_id": old_friend[0]}],
            },
            "occurred_at": (now - timedelta(days=30)).isoformat(),
        },
    )
    _reply(api, published, "555101", old_friend, now - timedelta(hours=2))
    _reply(api, published, "555102", FAN, now - timedelta(hours=1))
    camille = api.post(
        "/v1/members",
        {"external_id": "crm-9", "identities": [{"platform": "x", "handle": FAN[1]}]},
        expect=201,
    )
    first_seen = datetime.fromisoformat(camille["first_seen_at"])
    assert abs(first_seen - (now - timedelta(hours=1))) < timedelta(seconds=1)  # the reply
    report = f"/v1/campaigns/{campaign}/report?{_window(now)}"
    totals = api.get(report)["totals"]
    assert (totals["new_members"], totals["returning_members"]) == (1, 1)

    # Erased on request, Camille still counts (anonymous): the aggregates stay.
    api.call(
        "POST", f"/v1/members/{camille['id']}/erase", {"reason": "asked"}, as_="admin", expect=200
    )
    assert api.get(report)["totals"] == totals


def test_a_merge_brings_the_merged_members_interactions(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "555201", FAN, now - timedelta(minutes=5))
    by_handle = api.post(
        "/v1/members",
        {"external_id": "crm-10", "identities": [{"platform": "x", "handle": FAN[1]}]},
        expect=201,
    )
    by_crm = api.post("/v1/members", {"external_id": "crm-11"}, expect=201)
    api.call(
        "POST",
        f"/v1/members/{by_crm['id']}/merge",
        {"member_id": by_handle["id"], "reason": "the same person"},
        as_="admin",
        expect=200,
    )
    summary = api.get(f"/v1/members/{by_crm['id']}/summary")
    assert summary["interactions"] == {"reply": 1}
    assert summary["first_seen_at"] < by_crm["first_seen_at"]  # when the reply came


def test_the_workspace_counts_each_member_once(api, runtime, at, published):
    now = at(datetime.now(UTC))
    other = api.post("/v1/campaigns", {"name": "Spring", "objective": "loyalty"}, expect=201)
    for key, campaign in (("a", published["campaign"]["id"]), ("b", other["id"])):
        _event(
            api,
            key,
            {"kind": "signup", "campaign_id": campaign, "member": {"external_id": "crm-12"}},
        )
    report = api.get(f"/v1/reports/community?{_window(now)}")
    lines = [c for c in report["campaigns"] if c["new_members"]]
    assert [c["new_members"] for c in lines] == [1, 1]  # each campaign's own
    assert (report["totals"]["new_members"], report["totals"]["returning_members"]) == (1, 0)
    assert report["active_members"] == 1


def test_results_a_referral_code_brought_count_as_referrals(api, runtime, published):
    campaign = api.post(
        "/v1/campaigns",
        {"name": "Sponsors", "objective": "recruitment", "goals": {"referrals": 4}},
        expect=201,
    )
    sponsor = api.post("/v1/members", {"external_id": "crm-13"}, expect=201)
    code = api.post(f"/v1/members/{sponsor['id']}/referral-code", expect=200)["code"]
    body = {"campaign_id": campaign["id"], "referral_code": code}
    _event(api, "r1", {**body, "kind": "signup", "member": {"external_id": "crm-14"}})
    _event(api, "r2", {**body, "kind": "referral", "member": {"external_id": "crm-15"}})
    _event(api, "r3", {"campaign_id": campaign["id"], "kind": "referral"})  # named no code
    _event(api, "r4", {**body, "kind": "purchase", "member": {"external_id": "crm-14"}})
    report = api.get(f"/v1/campaigns/{campaign['id']}/report")
    # The sign-up with the code, the referral (once, though it named a code) and the one
    # without; the recruit's purchase is a purchase (the sponsor's result, not a recruit).
    assert report["totals"]["referrals"] == 3
    assert report["goals"] == [{"name": "referrals", "target": 4, "actual": 3, "progress": 0.75}]
    (advocate,) = report["advocates"]
    assert (advocate["member_id"], advocate["results"]) == (sponsor["id"], 3)


def test_a_week_ends_where_the_window_says_to_the_second(api, runtime, at, published):
    """A window starting half a second into a second: a member's touches in its first
    week, the last 0.3 s before the week ends, keep them out of the second week."""
    start = datetime(2026, 10, 1, 9, 0, 0, 500_000, tzinfo=UTC)
    at(start + timedelta(days=20))
    campaign = published["campaign"]["id"]
    for key, when in (("w1", start + timedelta(seconds=1)), ("w2", start + WEEK - MOMENT)):
        _event(
            api,
            key,
            {
                "kind": "custom",
                "name": "visit",
                "campaign_id": campaign,
                "member": {"external_id": "crm-50"},
                "occurred_at": when.isoformat(),
            },
        )
    window = f"from={start.isoformat().replace('+00:00', 'Z')}&to=2026-10-15T09:00:00.5Z"
    cohorts = api.get(f"/v1/campaigns/{campaign}/report?{window}")["cohorts"]
    assert [(c["members"], c["retention"]) for c in cohorts] == [(1, [0.0]), (0, [])]
