"""Campaign reports asked for in ways that must be refused or read right: bad windows,
another workspace's campaign, members first seen at the same instant, a campaign name a
chart must not parse."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z", []),
        ("from=2027-01-01T00:00:00Z&to=2028-06-01T00:00:00Z", ["query", "from"]),
        ("format=xml", ["query", "format"]),
        ("compare=previous&format=csv", ["query", "compare"]),  # was dropped without a word
        ("compare=previous&format=png", ["query", "compare"]),
        ("time_zone=Mars/Olympus", ["query", "time_zone"]),
        ("from=yesterday", ["query", "from"]),
        ("since=2027-01-01T00:00:00Z", ["query", "since"]),
        ("from=2020-01-01T00:00:00Z", ["query", "from"]),  # 400 days at most, to now
        (
            "from=0001-01-02T00:00:00Z&to=0001-02-01T00:00:00Z&compare=previous",
            ["query", "compare"],
        ),
    ],
)
def test_a_bad_window_is_a_422_that_says_where(api, scenario, query, where):
    c = scenario.campaign()["id"]
    status, problem = api.call("GET", f"/v1/campaigns/{c}/report?{query}")
    assert status == 422, problem
    if where:
        assert problem["errors"][0]["loc"] == where


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2027-03-01",
        "2027-03-01T09:00:00",
        "1764547200",
        "0",
        "2027-03-01T09:00:00%2B01",  # not RFC 3339 (what the API document says)
        "20270301T090000Z",
        "2027-02-30T09:00:00Z",
    ],
)
def test_a_time_that_is_not_one_says_what_is_wanted(api, scenario, value):
    """pydantic said "a valid datetime or date" for `yesterday`, then refused a date."""
    c = scenario.campaign()["id"]
    status, problem = api.call("GET", f"/v1/campaigns/{c}/report?from={value}")
    assert status == 422 and problem["errors"][0]["loc"] == ["query", "from"], problem
    assert problem["errors"][0]["msg"].startswith("a date and time with its UTC offset")


def test_another_workspaces_campaign_is_not_found(api, scenario):
    assert api.call("GET", "/v1/campaigns/999999/report")[0] == 404


def test_members_first_seen_at_the_same_instant_are_each_counted(api, scenario):
    campaign = scenario.campaign()
    when = "2026-11-02T00:00:00Z"  # a backfill: every sign-up at midnight
    for n in range(3):
        answer = api.client.post(
            "/v1/events",
            json={
                "kind": "signup",
                "campaign_id": campaign["id"],
                "occurred_at": when,
                "member": {"external_id": f"m{n}"},
            },
            headers={
                "Authorization": f"Bearer {api.keys['automation']}",
                "Idempotency-Key": f"k{n}",
            },
        )
        assert answer.status_code == 201
    window = "from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z"
    totals = api.get(f"/v1/campaigns/{campaign['id']}/report?{window}")["totals"]
    assert (totals["new_members"], totals["conversions"]) == (3, {"signup": 3})


def test_a_chart_of_a_campaign_whose_name_looks_like_tex(api):
    campaign = api.post(
        "/v1/campaigns", {"name": "Promo $x^$ now, $5 off", "objective": "loyalty"}, expect=201
    )
    answer = api.client.get(
        f"/v1/campaigns/{campaign['id']}/report?format=png",
        headers={"Authorization": f"Bearer {api.keys['editor']}"},
    )
    assert answer.status_code == 200 and answer.mimetype == "image/png"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "&format=csv",
        "&format=png",
        "&time_zone=Pacific/Kiritimati",
        "&compare=previous",
        "&weeks=52",
    ],
)
def test_a_window_at_the_end_of_the_calendar_is_read(api, scenario, query):
    """The validator takes windows up to 9999-12-30: the weeks of a report there end
    past the last instant Python can hold, and are counted all the same."""
    c = scenario.campaign()["id"]
    window = "from=9999-12-20T00:00:00Z&to=9999-12-30T00:00:00Z"
    status, answer = api.call("GET", f"/v1/campaigns/{c}/report?{window}{query}")
    assert status == 200, answer
    community = query if query in ("", "&weeks=52") else ""  # (it takes no other)
    status, answer = api.call("GET", f"/v1/reports/community?{window}{community}")
    assert status == 200, answer


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_long_campaigns_default_window_is_its_last_400_days(api, at):
    """The default window of a campaign begun over 400 days ago was a 422 naming `from`,
    a parameter the client never sent."""
    from datetime import UTC, datetime, timedelta

    now = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    at(now)
    body = {"name": "always on", "objective": "loyalty", "starts_at": "2024-01-01T00:00:00Z"}
    c = api.post("/v1/campaigns", body, expect=201)["id"]
    report = api.get(f"/v1/campaigns/{c}/report")
    assert (report["from"], report["to"]) == (_iso(now - timedelta(days=400)), _iso(now))


def test_a_window_is_reported_as_asked_or_refused_never_moved(api, at):
    """`to` alone before the campaign began answered 200 with a window moved to its start;
    a window asked for whole, outside the campaign, is reported as asked (all zero)."""
    from datetime import UTC, datetime

    at(datetime(2027, 6, 1, 12, 0, tzinfo=UTC))
    body = {"name": "spring", "objective": "recruitment", "starts_at": "2027-03-01T00:00:00Z"}
    c = api.post("/v1/campaigns", body, expect=201)["id"]
    for query, where in (
        ("to=2027-02-01T00:00:00Z", ["query", "to"]),  # before it began
        ("from=2027-07-01T00:00:00Z", ["query", "from"]),  # after now
    ):
        status, problem = api.call("GET", f"/v1/campaigns/{c}/report?{query}")
        assert status == 422 and problem["errors"][0]["loc"] == where, problem
    asked = "from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z"
    report = api.get(f"/v1/campaigns/{c}/report?{asked}")
    assert (report["from"], report["to"]) == ("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")
    assert report["totals"]["publications"] == 0


def test_the_community_reports_default_window_is_the_last_30_days(api, at):
    from datetime import UTC, datetime

    at(datetime(2027, 6, 1, 12, 0, tzinfo=UTC))
    report = api.get("/v1/reports/community")
    assert (report["from"], report["to"]) == ("2027-05-02T12:00:00Z", "2027-06-01T12:00:00Z")
    report = api.get("/v1/reports/community?to=2027-02-01T00:00:00Z")
    assert (report["from"], report["to"]) == ("2027-01-02T00:00:00Z", "2027-02-01T00:00:00Z")
    for query in ("from=2027-07-01T00:00:00Z", "from=2015-01-01T00:00:00Z"):  # future; > 400 d
        status, problem = api.call("GET", f"/v1/reports/community?{query}")
        assert status == 422 and problem["errors"][0]["loc"] == ["query", "from"], problem


def test_rfc_3339_times_in_any_case_are_read(api, scenario):
    """RFC 3339 allows a lower-case t and z: "2027-03-01t09:00:00z" was refused."""
    c = scenario.campaign()["id"]
    report = api.get(f"/v1/campaigns/{c}/report?from=2026-03-01t09:00:00z&to=2026-03-02T09:00:00Z")
    assert report["from"] == "2026-03-01T09:00:00Z"
