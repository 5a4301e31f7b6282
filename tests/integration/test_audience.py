"""The audience (issue 15, part 6): each channel's followers are read once a day by the
dispatcher's pass, inside the channel's read budget, and kept; a refusal is kept as a
refusal and tried again (never a zero); the community report shows each channel's
growth over the window and their sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.sandbox.ledger import Fault
from adapters.types import Budget
from publisher.core.models import AudienceSnapshot, Channel, MetricPull
from publisher.dispatcher import hand_over_audience
from publisher.engage import audience
from publisher.jobs import run_pull_audience
from tests.helpers import drain_queue

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _read(runtime, at, when: datetime) -> int:
    """The dispatcher's audience step at `when`, then a burst worker, the clock there."""
    at(when)
    with runtime.session() as session:
        jobs = hand_over_audience(session, runtime, now=when)
    drain_queue(runtime)
    return jobs


@pytest.fixture
def accounts(scenario, sandbox, at):
    at(T0 - timedelta(minutes=5))
    x, fb = scenario.channels()
    return {"x": x, "facebook": fb}


def _follow(sandbox, channel: dict, count: int) -> None:
    sandbox.ledger.followers[(channel["platform"], channel["external_account_id"])] = count


def _snapshots(runtime, channel_id: int) -> list[tuple[int | None, str | None]]:
    with runtime.session() as session:
        rows = session.exec(
            select(AudienceSnapshot)
            .where(AudienceSnapshot.channel_id == channel_id)
            .order_by(AudienceSnapshot.id)
        ).all()
        return [(r.followers, r.error) for r in rows]


def _community(api, start: datetime, end: datetime) -> dict:
    window = f"from={start:%Y-%m-%dT%H:%M:%SZ}&to={end:%Y-%m-%dT%H:%M:%SZ}"
    return api.get(f"/v1/reports/community?{window}")


def test_followers_are_read_daily_and_the_report_shows_the_growth(
    api, runtime, sandbox, at, accounts
):
    x, fb = accounts["x"], accounts["facebook"]
    _follow(sandbox, x, 1000)
    _follow(sandbox, fb, 250)
    assert _read(runtime, at, T0) == 2  # one read per channel
    assert _read(runtime, at, T0 + timedelta(hours=1)) == 0  # not again the same day
    _follow(sandbox, x, 1060)
    _follow(sandbox, fb, 240)
    assert _read(runtime, at, T0 + DAY) == 2
    assert _snapshots(runtime, x["id"]) == [(1000, None), (1060, None)]
    assert _snapshots(runtime, fb["id"]) == [(250, None), (240, None)]
    with runtime.session() as session:
        pulls = session.exec(select(MetricPull).order_by(MetricPull.id)).all()
        assert [(p.publications, p.calls) for p in pulls] == [(0, 1)] * 4  # in the budget

    report = _community(api, T0 - timedelta(hours=1), T0 + DAY + timedelta(hours=1))
    lines = {line["channel_id"]: line for line in report["audience"]}
    assert lines[x["id"]]["followers_at_start"] is None  # not read by the window's start
    assert (lines[x["id"]]["followers_at_end"], lines[x["id"]]["growth"]) == (1060, 60)
    assert lines[x["id"]]["since"] == "2027-03-01T09:00:00Z"  # from its first read
    assert (lines[fb["id"]]["followers_at_end"], lines[fb["id"]]["growth"]) == (240, -10)
    assert report["audience_growth"] == 50
    history = api.get(f"/v1/channels/{x['id']}/audience")
    assert [(h["followers"], h["taken_at"]) for h in history] == [
        (1000, "2027-03-01T09:00:00Z"),
        (1060, "2027-03-02T09:00:00Z"),
    ]
    assert api.call("GET", f"/v1/channels/{x['id']}/audience", as_="other")[0] == 404
    later = _community(api, T0 + timedelta(hours=1), T0 + DAY + timedelta(hours=1))
    x_line = next(line for line in later["audience"] if line["channel_id"] == x["id"])
    assert (x_line["followers_at_start"], x_line["growth"]) == (1000, 60)
    before = _community(api, T0 - DAY, T0 - timedelta(hours=1))
    assert before["audience_growth"] is None
    assert all(line["followers_at_end"] is None for line in before["audience"])


def test_a_refusal_is_kept_as_one_and_read_again_later(api, runtime, sandbox, at, accounts):
    x = accounts["x"]
    _follow(sandbox, x, 1000)
    sandbox.ledger.inject("x", Fault(status=503, on="account"))
    _read(runtime, at, T0)
    [(followers, refusal)] = _snapshots(runtime, x["id"])
    assert followers is None and refusal  # the refusal, said: no zero
    assert _read(runtime, at, T0 + timedelta(minutes=5)) == 0  # not at once
    assert _read(runtime, at, T0 + timedelta(minutes=16)) == 1  # a quarter of an hour later
    assert _snapshots(runtime, x["id"])[-1] == (1000, None)
    report = _community(api, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    line = next(line for line in report["audience"] if line["channel_id"] == x["id"])
    assert (line["followers_at_end"], line["growth"]) == (1000, 0)  # from its first read


def test_a_channel_beyond_its_read_budget_or_out_of_service_waits(runtime, sandbox, at, accounts):
    x, fb = accounts["x"], accounts["facebook"]
    budgets = {**runtime.read_budgets, "x": ((Budget(1, timedelta(minutes=15)),), 100)}
    with runtime.session() as session:
        session.add(
            MetricPull(
                workspace_id=session.get(Channel, x["id"]).workspace_id,
                channel_id=x["id"],
                at=T0 - timedelta(minutes=1),
                publications=1,
                calls=1,
                lease_until=T0,
                finished_at=T0,
            )
        )
        session.get(Channel, fb["id"]).status = "needs_reauth"
        session.commit()
        assert audience.due(session, now=T0, budgets=budgets) == []
        session.commit()
        assert session.get(Channel, x["id"]).audience_due_at == T0 + timedelta(minutes=1)
        assert not audience.any_due(session, now=T0)  # (the channel out of service: not due)
        later = T0 + timedelta(minutes=15)  # the window has passed
        assert [c for c, _ in audience.due(session, now=later, budgets=budgets)] == [x["id"]]
        session.commit()


def test_failures_in_a_row_wait_longer_and_a_refusal_waits_a_day(runtime, sandbox, at, accounts):
    x = accounts["x"]
    when = T0
    for wait in (15, 30, 60):  # a passing fault, again and again: doubled each time
        sandbox.ledger.inject("x", Fault(status=503, on="account"))
        assert _read(runtime, at, when) >= 1
        with runtime.session() as session:
            due_at = session.get(Channel, x["id"]).audience_due_at
        assert due_at == when + timedelta(minutes=wait)
        when = due_at
    sandbox.ledger.inject("x", Fault(status=403, on="account"))  # refused: not passing
    assert _read(runtime, at, when) == 1
    with runtime.session() as session:
        assert session.get(Channel, x["id"]).audience_due_at == when + DAY
    assert [f for f, _ in _snapshots(runtime, x["id"])] == [None, None, None, None]


def test_a_read_whose_lease_lapsed_is_not_made_nor_counted(runtime, sandbox, at, accounts):
    x = accounts["x"]
    at(T0)
    with runtime.session() as session:
        (old,) = [p for c, p in audience.due(session, now=T0, budgets={}) if c == x["id"]]
        session.commit()
        later = T0 + timedelta(minutes=6)  # its lease (five minutes) lapsed: leased again
        (new,) = [p for c, p in audience.due(session, now=later, budgets={}) if c == x["id"]]
        session.commit()
    at(T0 + timedelta(minutes=6))
    assert run_pull_audience(x["id"], old) == 0  # the old job, run late: nothing asked
    assert run_pull_audience(x["id"], new) == 1
    with runtime.session() as session:
        stale = session.get(MetricPull, old)
        assert (stale.calls, stale.finished_at is not None) == (0, True)
    assert len(_snapshots(runtime, x["id"])) == 1


def test_a_read_handed_over_twice_is_stored_once(runtime, sandbox, at, accounts):
    x = accounts["x"]
    at(T0)
    with runtime.session() as session:
        reads = audience.due(session, now=T0, budgets=runtime.read_budgets)
        session.commit()
    (pull,) = [pull for channel, pull in reads if channel == x["id"]]
    assert run_pull_audience(x["id"], pull) == 1
    assert run_pull_audience(x["id"], pull) == 0
    assert len(_snapshots(runtime, x["id"])) == 1


def test_a_token_refused_on_a_read_holds_the_channel_for_a_new_one(
    api, runtime, sandbox, at, accounts
):
    x = accounts["x"]
    sandbox.ledger.expire_token("x-token-acme")
    _read(runtime, at, T0)
    [(followers, refusal)] = _snapshots(runtime, x["id"])
    assert followers is None and refusal
    assert api.get(f"/v1/channels/{x['id']}")["status"] == "needs_reauth"


def test_a_read_hold_holds_the_follower_read(runtime, sandbox, at, accounts):
    """A metrics read refused by X's rate limit holds the channel's reads until its reset:
    the daily follower read went to the platform all the same."""
    from sqlalchemy import insert

    from publisher.core.models import MetricPull

    x = accounts["x"]
    with runtime.session() as session:
        session.execute(
            insert(MetricPull).values(
                workspace_id=1,
                channel_id=x["id"],
                at=T0 - timedelta(minutes=1),
                publications=1,
                calls=1,
                lease_until=T0,
                finished_at=T0 - timedelta(minutes=1),
                error="X 429: Too Many Requests",
                retry_at=T0 + timedelta(minutes=10),
            )
        )
        session.commit()
    _read(runtime, at, T0)  # Facebook's is read; X's waits
    assert _snapshots(runtime, x["id"]) == []
    _read(runtime, at, T0 + timedelta(minutes=11))
    assert [error for _, error in _snapshots(runtime, x["id"])] == [None]
