"""Per-channel posting budgets keep each account under its platform's write limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from adapters.types import Budget
from adapters.x import XAdapter
from publisher.core.models import Publication
from publisher.deliver import dispatch
from publisher.deliver.budgets import MARGIN
from tests.helpers import drain_queue, set_clock, soon, wait_until


def _due(api, scenario, count: int) -> tuple[dict, list[int]]:
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    ids = []
    for i in range(count):
        post = scenario.post_for([x], at=soon(), campaign=campaign, text=f"budgeted {i}")
        scenario.submit_and_approve(post)
        ids.append(post["publications"][0]["id"])
    return x, ids


def _pass(runtime, budgets, now=None) -> int:
    with runtime.session() as session:
        return dispatch.dispatch_due(
            session, runtime.queue, now=now or datetime.now(UTC), budgets=budgets
        )


def test_x_declares_its_documented_write_limits():
    assert Budget(200, timedelta(minutes=15)) in XAdapter.budgets
    assert Budget(300, timedelta(hours=3)) in XAdapter.budgets


def test_the_dispatcher_holds_what_would_exceed_the_budget(api, scenario, runtime, sandbox):
    x, ids = _due(api, scenario, 5)
    budgets = {"x": (Budget(2, timedelta(minutes=15)),)}
    assert _pass(runtime, budgets) == 2
    held = [scenario.publication(i) for i in ids[2:]]
    assert {p["status"] for p in held} == {"scheduled"}
    # Held by moving the due time, not the channel: the two handed over still go out.
    assert api.get(f"/v1/channels/{x['id']}")["held_until"] is None
    with runtime.session() as session:
        held_until = dispatch.next_due_at(session, now=datetime.now(UTC))
    assert held_until > datetime.now(UTC) + timedelta(minutes=14)
    assert _pass(runtime, budgets) == 0  # nothing more in this window
    drain_queue(runtime)
    assert len(sandbox.ledger.accepted("x")) == 2
    # The slots free a window after the two were claimed (a moment after they were handed
    # over, when `held_until` was set; on a busy machine more than a second after).
    with runtime.session() as session:
        claimed = session.scalar(select(func.max(Publication.claimed_at)))
    freed = max(held_until, claimed + timedelta(minutes=15) + MARGIN)
    later = freed + timedelta(seconds=1)
    set_clock(runtime, later)  # the workers' clock too: they never claim early
    assert _pass(runtime, budgets, now=later) == 2
    drain_queue(runtime)
    assert len(sandbox.ledger.accepted("x")) == 4
    assert _pass(runtime, budgets, now=later + timedelta(minutes=16)) == 1


def test_the_tightest_of_several_windows_wins(api, scenario, runtime, sandbox):
    _, ids = _due(api, scenario, 4)
    budgets = {"x": (Budget(3, timedelta(minutes=1)), Budget(1, timedelta(hours=1)))}
    assert _pass(runtime, budgets) == 1


def test_steady_state_within_the_platforms_limit_sees_no_429(api, scenario, runtime, sandbox):
    sandbox.ledger.rate_limits["x"] = (3, 2.0)  # the platform: 3 posts per 2 s per account
    budgets = {"x": (Budget(3, timedelta(seconds=2)),)}
    _, ids = _due(api, scenario, 7)

    def all_out() -> bool:
        _pass(runtime, budgets)
        drain_queue(runtime)
        return len(sandbox.ledger.accepted("x")) == 7

    wait_until(all_out, what="every publication within the budget")
    assert sandbox.ledger.throttled == 0
    assert {scenario.publication(i)["status"] for i in ids} == {"published"}


def test_without_a_budget_the_same_load_earns_429s(api, scenario, runtime, sandbox):
    sandbox.ledger.rate_limits["x"] = (3, 60.0)
    _, ids = _due(api, scenario, 5)
    _pass(runtime, None)
    drain_queue(runtime)
    assert sandbox.ledger.throttled == 2
    held = [
        scenario.publication(i) for i in ids if scenario.publication(i)["status"] == "scheduled"
    ]
    assert len(held) == 2 and all("429" in p["last_error"] for p in held)


def test_each_channel_is_counted_apart_in_one_pass(api, scenario, runtime, sandbox):
    x, fb = scenario.channels()
    campaign = scenario.campaign()
    for i in range(3):
        post = scenario.post_for([x, fb], at=soon(), campaign=campaign, text=f"both {i}")
        scenario.submit_and_approve(post)
    budgets = {
        "x": (Budget(2, timedelta(minutes=15)),),
        "facebook": (Budget(1, timedelta(minutes=15)), Budget(5, timedelta(hours=1))),
    }
    assert _pass(runtime, budgets) == 3
    queued = [p for p in api.get("/v1/publications") if p["status"] == "queued"]
    assert sorted(p["channel_id"] for p in queued) == sorted([x["id"], x["id"], fb["id"]])
    # Handed over and not claimed yet counts as used: nothing more in this window.
    assert _pass(runtime, budgets) == 0
    drain_queue(runtime)
    assert len(sandbox.ledger.accepted("x")) == 2
    assert _pass(runtime, budgets) == 0  # claimed within the window: still used
