"""A live read of a publication's metrics (GET /v1/publications/{id}/metrics) spends the
channel's read budget as the scheduled pulls do: counted, kept in the history, and
refused before the platform is asked when the live reads' share of the budget is spent
or the platform holds the channel (503 with when to ask again), so a client polling the
endpoint cannot starve the pulls (they keep the last tenth of each window) or earn the
account a platform's throttle."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from adapters.x import XAdapter
from publisher.core.models import Channel, MetricPull
from publisher.dispatcher import hand_over_pulls
from publisher.engage.live_reads import SCHEDULE_SHARE
from tests.helpers import drain_queue, rows_digest, run_pipeline, wait_until

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
(X_BUDGET,) = XAdapter.read_budgets  # 900 requests in 15 minutes


@pytest.fixture
def published(api, scenario, runtime, sandbox, at):
    x, _ = scenario.channels()
    at(T0)
    post = scenario.post_for([x], at=T0)
    scenario.submit_and_approve(post)
    run_pipeline(runtime, now=T0)
    pub = scenario.publication(post["publications"][0]["id"])
    sandbox.ledger.set_metrics("x", pub["external_id"], like_count=5, impression_count=70)
    sandbox.ledger.exchanges = []  # the platform keeps every request from now on
    return {"pub": pub, "channel": x}


def _lookups(sandbox) -> int:
    return sum(1 for e in sandbox.ledger.exchanges if e["path"] == "/2/tweets")


def _spend(runtime, channel_id: int, calls: int, at: datetime) -> None:
    """Requests the channel made earlier in the window (another client's reads)."""
    with runtime.session() as session:
        workspace = session.scalar(select(MetricPull.workspace_id).limit(1)) or 1
        session.execute(
            insert(MetricPull).values(
                workspace_id=workspace,
                channel_id=channel_id,
                at=at,
                publications=calls,
                calls=calls,
                lease_until=at,
                finished_at=at,
            )
        )
        session.commit()


def test_a_live_read_is_counted_and_kept(api, runtime, sandbox, at, published):
    pub = published["pub"]
    at(T0 + timedelta(minutes=10))
    read = api.get(f"/v1/publications/{pub['id']}/metrics")
    assert read["metrics"]["likes"] == 5
    history = api.get(f"/v1/publications/{pub['id']}/metrics?history=1")["history"]
    assert [(h["taken_at"], h["metrics"]["impressions"]) for h in history] == [
        ("2027-03-01T09:10:00Z", 70)
    ]
    with runtime.session() as session:
        assert session.scalar(select(func.sum(MetricPull.calls))) == 1


def test_a_read_the_budget_has_no_room_for_is_refused_before_the_platform(
    api, runtime, sandbox, at, published
):
    pub, channel = published["pub"], published["channel"]
    hour = T0 + timedelta(hours=1)  # when the scheduled pull is due
    live_share = X_BUDGET.count - math.floor(X_BUDGET.count * SCHEDULE_SHARE)  # 810 of 900
    _spend(runtime, channel["id"], live_share - 1, hour - timedelta(minutes=1))
    at(hour)
    assert api.get(f"/v1/publications/{pub['id']}/metrics")["metrics"]["likes"] == 5  # the last
    # (the sandbox writes an exchange down as it answers: it may lag the answer a little)
    wait_until(lambda: _lookups(sandbox) == 1, timeout_s=10, what="the lookup")
    before = rows_digest(runtime)
    status, problem = api.call("GET", f"/v1/publications/{pub['id']}/metrics")
    assert status == 503 and "read budget" in problem["detail"]
    assert problem["retry_at"] == "2027-03-01T10:14:00+00:00"  # as the earliest leave
    assert _lookups(sandbox) == 1 and rows_digest(runtime) == before
    # The scheduled pull still has its share of the window...
    with runtime.session() as session:
        assert hand_over_pulls(session, runtime, now=hour) == 1
    drain_queue(runtime)
    wait_until(lambda: _lookups(sandbox) == 2, timeout_s=10, what="the pull's lookup")
    # ... and live reads go on once the earliest requests have left it.
    at(hour + timedelta(minutes=14, seconds=1))
    assert api.get(f"/v1/publications/{pub['id']}/metrics")["metrics"]["likes"] == 5
    wait_until(lambda: _lookups(sandbox) == 3, timeout_s=10, what="the third lookup")


def test_a_channel_its_platform_holds_is_not_asked(api, runtime, sandbox, at, published):
    at(T0 + timedelta(minutes=5))
    with runtime.session() as session:
        channel = session.get(Channel, published["channel"]["id"])
        channel.held_until = T0 + timedelta(minutes=20)  # a 429's reset, as a send noted it
        session.commit()
    status, problem = api.call("GET", f"/v1/publications/{published['pub']['id']}/metrics")
    assert status == 503 and problem["retry_at"] == "2027-03-01T09:20:00+00:00"
    assert _lookups(sandbox) == 0


def test_a_refused_read_is_kept_as_a_refusal_and_the_figures_stay(
    api, runtime, sandbox, at, published
):
    pub = published["pub"]
    at(T0 + timedelta(minutes=5))
    assert api.get(f"/v1/publications/{pub['id']}/metrics")["metrics"]["impressions"] == 70
    sandbox.ledger.expire_token("x-token-acme")
    at(T0 + timedelta(minutes=6))
    status, _ = api.call("GET", f"/v1/publications/{pub['id']}/metrics")
    assert status == 503
    history = api.get(f"/v1/publications/{pub['id']}/metrics?history=1")["history"]
    assert [(h["metrics"] is None, h["error"] is None) for h in history] == [
        (False, True),
        (True, False),
    ]
    assert "401" in history[1]["error"]
    # The refusal found nothing: the report's figures are the last read's, not zeros.
    campaign = api.get(f"/v1/posts/{pub['post_id']}")["campaign_id"]
    window = "from=2027-03-01T00:00:00Z&to=2027-03-02T00:00:00Z"
    totals = api.get(f"/v1/campaigns/{campaign}/report?{window}")["totals"]
    assert (totals["impressions"], totals["likes"]) == (70, 5)


def test_a_read_refused_by_the_rate_limit_holds_the_reads_until_its_reset(
    api, runtime, sandbox, at, published
):
    """X refused a live read with a 429 resetting in two minutes: the 503 said so, and the
    next read went straight to X all the same, as did the scheduled pulls."""
    from adapters.sandbox import Fault
    from publisher.core.models import Publication
    from publisher.engage import metrics

    pub, now = published["pub"], datetime.now(UTC)  # X's reset is in its own (real) time
    at(now)
    sandbox.ledger.inject("x", Fault(status=429, on="lookup", reset_in_s=120))
    status, first = api.call("GET", f"/v1/publications/{pub['id']}/metrics")
    assert status == 503 and first["retry_at"], first
    reset, asked = datetime.fromisoformat(first["retry_at"]), _lookups(sandbox)
    at(now + timedelta(seconds=30))
    status, again = api.call("GET", f"/v1/publications/{pub['id']}/metrics")
    assert (status, again["retry_at"]) == (503, first["retry_at"]), again
    with runtime.session() as session:  # a scheduled pull due now waits too
        row = session.get(Publication, pub["id"])
        row.metrics_step, row.metrics_due_at = 1, now
        session.commit()
        handed = metrics.due(
            session,
            now=now + timedelta(seconds=30),
            budgets=runtime.read_budgets,
            schedule=runtime.metrics_schedule,
        )
        session.commit()
        session.expire_all()
        assert handed == [] and session.get(Publication, pub["id"]).metrics_due_at == reset
    assert _lookups(sandbox) == asked  # X was not asked again
    at(reset + timedelta(seconds=1))
    assert api.call("GET", f"/v1/publications/{pub['id']}/metrics")[0] == 200
