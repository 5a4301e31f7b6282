"""The dispatcher loop in a thread: wakes on approval, hands over at the due time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from publisher.deliver import dispatch
from publisher.dispatcher import run_dispatcher
from tests.helpers import drain_queue, soon, wait_until


def test_dispatcher_hands_over_a_moment_before_due_and_nothing_goes_out_early(
    api, scenario, runtime, sandbox
):
    """Handed over at most HAND_OVER_EARLY before its time (so that the worker claims it
    the moment it is due), and at the platform not before its time."""
    from publisher.deliver.dispatch import HAND_OVER_EARLY

    stop = threading.Event()
    loop = threading.Thread(target=run_dispatcher, args=(runtime, stop), daemon=True)
    loop.start()
    try:
        (x, _) = scenario.channels()
        at = soon(1.0)
        post = scenario.post_for([x], at=at)
        scenario.submit_and_approve(post)  # the approval wakes the dispatcher
        pub_id = post["publications"][0]["id"]
        wait_until(lambda: scenario.publication(pub_id)["status"] == "queued", what="the hand-over")
    finally:
        stop.set()
        runtime.queue.wake()
        loop.join(10)
    history = api.get(f"/v1/publications/{pub_id}/history")
    queued = next(h for h in history if h["to_status"] == "queued")
    assert datetime.fromisoformat(queued["at"]) >= at - HAND_OVER_EARLY
    drain_queue(runtime)
    (sent,) = sandbox.ledger.accepted()
    assert sent.text == post["text"]
    assert datetime.fromisoformat(sent.received_at) >= at
    assert not loop.is_alive()


def test_jobs_lost_with_a_redis_flush_are_handed_over_again(api, scenario, runtime, sandbox):
    from datetime import UTC, timedelta

    from publisher.deliver import dispatch

    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC)) == 1
    runtime.redis.flushdb()  # Redis loses the job
    drain_queue(runtime)
    assert sandbox.ledger.accepted() == []
    with runtime.session() as session:
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert (
            dispatch.requeue_lost(
                session, runtime.queue, now=later, older_than=timedelta(seconds=30)
            )
            == 1
        )
        # a job that is still waiting is not handed over twice
        assert (
            dispatch.requeue_lost(
                session, runtime.queue, now=later, older_than=timedelta(seconds=30)
            )
            == 0
        )
    drain_queue(runtime)
    assert len(sandbox.ledger.accepted()) == 1


def test_a_claim_held_past_the_job_timeout_becomes_unknown(api, scenario, runtime, sandbox):
    from datetime import UTC, timedelta

    from publisher.deliver import claims, dispatch

    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    with runtime.session() as session:  # a worker claims, then dies before the platform call
        assert claims.claim(session, pub_id, now=datetime.now(UTC)) is not None
        session.commit()
    with runtime.session() as session:
        assert (
            dispatch.expire_claims(
                session, now=datetime.now(UTC), claim_timeout=timedelta(seconds=60)
            )
            == 0
        )
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert dispatch.expire_claims(session, now=later, claim_timeout=timedelta(seconds=60)) == 1
        session.commit()
    pub = scenario.publication(pub_id)
    assert pub["status"] == "unknown" and "claim expired" in pub["last_error"]
    runtime.queue.hand_over([pub_id])
    drain_queue(runtime)
    assert sandbox.ledger.accepted() == []  # never resent blindly


def test_waiting_for_a_wake_up_is_timed_here_not_by_a_blocking_redis_command(runtime):
    """Issue 12 item 5: BLPOP's wait ends on Redis's own tick (100 ms at hz 10), so the
    dispatcher woke up to 100 ms after a due time, and Redis 6.2 read a wait under its
    resolution as forever. The wait now holds no blocking command on the server."""
    queue = runtime.queue
    queue.listen_for_wakes()
    waiting, woken = threading.Event(), []

    def wait(timeout_s: float) -> None:
        waiting.set()
        woken.append(queue.wait_for_wake(timeout_s))

    def blocked_clients() -> int:
        return int(runtime.redis.info("clients")["blocked_clients"])

    before = blocked_clients()
    waiter = threading.Thread(target=wait, args=(30.0,), daemon=True)
    waiter.start()
    waiting.wait(5)
    wait_until(lambda: runtime.redis.pubsub_numsub(queue._wake_channel)[0][1] >= 2)
    assert blocked_clients() == before  # no BLPOP (or any blocking command) waits
    queue.wake()
    waiter.join(10)
    assert woken == [True]

    short = threading.Thread(target=wait, args=(0.0005,), daemon=True)
    short.start()
    short.join(10)  # a wait of half a millisecond ends
    assert not short.is_alive() and woken == [True, False]
    queue.wake()
    queue.wake()
    time.sleep(0.2)  # both are in the subscription's socket
    assert queue.wait_for_wake(10) is True
    assert queue.wait_for_wake(0.01) is False  # wake-ups that came together are one


def test_a_job_whose_worker_stopped_beating_is_handed_over_again(api, scenario, runtime, sandbox):
    """Issue 12 item 3: a worker killed mid-job left its unclaimed publications `queued`
    for RQ's job timeout + 60 s (187 s), its job still in RQ's running registry. A running
    job counts only while its worker beats."""
    from datetime import UTC, timedelta

    from rq.registry import StartedJobRegistry

    from publisher.deliver import dispatch

    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    (pub,) = [p["id"] for p in post["publications"]]
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=datetime.now(UTC)) == 1
    # A worker takes the job and dies before claiming anything: RQ still lists it running.
    job, _queue = runtime.queue.rq.dequeue_any([runtime.queue.rq], None, connection=runtime.redis)
    job.worker_name = "killed-worker"
    job.save()
    running = StartedJobRegistry(queue=runtime.queue.rq)
    runtime.redis.zadd(running.key, {f"{job.id}:an-execution": 2**40})  # as RQ lists it
    assert runtime.queue.missing([pub]) == [pub]  # no beat: its worker is gone
    runtime.queue.beat("killed-worker")
    assert runtime.queue.missing([pub]) == []  # while it beats, the job is its own
    runtime.redis.delete("publisher:publish:alive:killed-worker")
    later = datetime.now(UTC) + timedelta(minutes=1)
    with runtime.session() as session:
        assert (
            dispatch.requeue_lost(
                session, runtime.queue, now=later, older_than=timedelta(seconds=30)
            )
            == 1
        )
    drain_queue(runtime)
    assert scenario.publication(pub)["status"] == "published"
    assert [a.text for a in sandbox.ledger.accepted()] == [post["text"]]


def test_a_hand_over_a_little_early_is_held_not_bounced(api, scenario, runtime, sandbox):
    """Issue 12 item 1: a dispatcher ahead of the workers had its early hand-overs sent
    back to `scheduled` and handed over again thousands of times. A job that finds its
    publication due within seconds waits for it."""
    from datetime import UTC

    from publisher.deliver import dispatch

    (x, _) = scenario.channels()
    due = soon(1.5)
    post = scenario.post_for([x], at=due)
    scenario.submit_and_approve(post)
    (pub,) = [p["id"] for p in post["publications"]]
    with runtime.session() as session:  # a dispatcher whose clock is 1.5 s ahead
        assert dispatch.dispatch_due(session, runtime.queue, now=due) == 1
    assert datetime.now(UTC) < due
    drain_queue(runtime)
    (sent,) = sandbox.ledger.accepted()
    assert datetime.fromisoformat(sent.received_at) >= due
    moves = [
        (e["from_status"], e["to_status"])
        for e in api.get(f"/v1/publications/{pub}/history")
        if e["kind"] == "publication.transition"
    ]
    assert ("queued", "scheduled") not in moves
    assert moves[-3:] == [
        ("scheduled", "queued"),
        ("queued", "publishing"),
        ("publishing", "published"),
    ]


def test_a_pass_with_nothing_due_writes_nothing_and_waits_on_no_writer(api, scenario, runtime):
    """The dispatcher passes many times a second; one with nothing due only reads. Before,
    every pass opened write transactions (on SQLite each took the one writer lock), so
    workers recording outcomes queued behind an idle dispatcher, and a writer holding
    the lock stalled it. Here another connection holds the write lock for the whole
    pass: a pass that only reads goes through."""
    from publisher.deliver.leader import Leadership
    from publisher.dispatcher import _Loop

    x, _ = scenario.channels()
    scenario.submit_and_approve(scenario.post_for([x], at=soon(3600)))  # due in an hour
    leadership = Leadership(runtime.redis, name="solo")
    with runtime.session() as session:
        assert leadership.try_acquire(session, now=datetime.now(UTC))
    loop = _Loop(runtime, leadership)
    loop.step()  # the first pass sweeps (it may write); the next ones are plain passes
    passed = threading.Event()

    def passes() -> None:
        for _ in range(3):
            loop.step()
        passed.set()

    with runtime.engine.connect() as writer:
        if writer.dialect.name == "sqlite":
            writer.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the writer lock is held
        else:
            writer.exec_driver_sql("LOCK TABLE publication IN EXCLUSIVE MODE")  # reads pass
        thread = threading.Thread(target=passes, daemon=True)
        thread.start()
        # A hang detector, not a timing: a pass that waited on the writer stays blocked.
        assert passed.wait(20), "an idle pass waited on the writer lock"
        writer.rollback()
    thread.join(10)


def test_publications_held_in_one_job_go_out_each_at_its_own_time(api, scenario, runtime, sandbox):
    """A job handed publications a little early claims each the moment it is due: the
    first does not wait for the last."""
    from publisher.deliver import dispatch

    (x, _) = scenario.channels()
    first_due, last_due = soon(0.6), soon(2.5)
    posts = [
        scenario.post_for([x], at=first_due, text="held, due first"),
        scenario.post_for([x], at=last_due, text="held, due last"),
    ]
    for post in posts:
        scenario.submit_and_approve(post)
    with runtime.session() as session:  # both in one job, the first 0.6 s early
        assert dispatch.dispatch_due(session, runtime.queue, now=last_due) == 2
    assert len(runtime.queue.rq) == 1
    drain_queue(runtime)
    sent = {a.text: datetime.fromisoformat(a.received_at) for a in sandbox.ledger.accepted()}
    assert first_due <= sent["held, due first"] < last_due
    assert sent["held, due last"] >= last_due


def test_a_burst_s_first_ones_go_early_and_the_rest_when_due(
    api, scenario, runtime, at, monkeypatch
):
    """The early hand-over is the first batch of a moment: the dispatcher then sleeps until
    the moment itself for the rest (handing them over a batch at a time until then would
    take the cores the first claims need). Publications due apart are each handed over
    early."""
    from datetime import timedelta

    from publisher.deliver import dispatch
    from publisher.deliver.leader import Leadership
    from publisher.dispatcher import _Loop

    monkeypatch.setattr(dispatch, "FIRST_BATCH", 2)
    (x, _) = scenario.channels()
    due = soon(3600)
    for i in range(3):  # a burst of three
        scenario.submit_and_approve(scenario.post_for([x], at=due, text=f"burst {i}"))
    later = due + timedelta(seconds=1)
    scenario.submit_and_approve(scenario.post_for([x], at=later, text="on its own"))
    leadership = Leadership(runtime.redis, name="solo")
    with runtime.session() as session:
        assert leadership.try_acquire(session, now=datetime.now(UTC))
    loop = _Loop(runtime, leadership)
    loop.step()  # the first pass sweeps
    at(due - timedelta(milliseconds=40))
    assert loop.step() == 0.04  # two handed over early; the third when due
    assert _statuses(api) == {
        "burst 0": "queued",
        "burst 1": "queued",
        "burst 2": "scheduled",
        "on its own": "scheduled",
    }
    at(due)
    assert loop.step() == 0.95  # the burst's last; then early for the next moment
    assert _statuses(api)["burst 2"] == "queued"
    at(later - timedelta(milliseconds=45))
    loop.step()
    assert _statuses(api)["on its own"] == "queued"


def _statuses(api) -> dict[str, str]:
    return {
        post["text"]: post["publications"][0]["status"] for post in api.get("/v1/posts?limit=100")
    }


def test_the_dispatcher_wakes_for_the_soonest_of_a_due_time_a_check_and_a_hold_ending(
    api, scenario, runtime, at
):
    """next_due_at: the earliest scheduled time (not the first row stored), a publication
    whose outcome is to be checked with the platform, and a channel hold that ends;
    a hold ending now is not a reason to wake."""
    from publisher.core.models import Channel, Publication

    t = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    x, fb = scenario.channels()
    at(t - timedelta(hours=2))
    later = scenario.post_for([x], at=t + timedelta(minutes=30), text="later")  # stored first
    sooner = scenario.post_for([x], at=t + timedelta(minutes=20), text="sooner")
    check = scenario.post_for([fb], at=t + timedelta(minutes=40), text="to check")
    for post in (later, sooner, check):
        scenario.submit_and_approve(post)

    def next_due():
        with runtime.session() as session:
            return dispatch.next_due_at(session, now=t)

    assert next_due() == t + timedelta(minutes=20)
    with runtime.session() as session:
        pub = session.get(Publication, check["publications"][0]["id"])
        pub.status, pub.due_at = "unknown", t + timedelta(minutes=5)
        session.commit()
    assert next_due() == t + timedelta(minutes=5)
    with runtime.session() as session:
        session.get(Channel, fb["id"]).held_until = t  # ends now: nothing to wake for
        session.commit()
    assert next_due() == t + timedelta(minutes=5)
    with runtime.session() as session:
        session.get(Channel, fb["id"]).held_until = t + timedelta(minutes=2)
        session.commit()
    assert next_due() == t + timedelta(minutes=2)


def test_a_lost_job_is_handed_over_again_exactly_when_its_wait_is_over(
    api, scenario, runtime, sandbox
):
    """`older_than` after its hand-over, not a moment later (nor sooner)."""
    from datetime import timedelta

    from publisher.core.models import Publication
    from publisher.deliver import dispatch

    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    with runtime.session() as session:
        assert dispatch.dispatch_due(session, runtime.queue, now=soon(1)) == 1
        queued_at = session.get(Publication, post["publications"][0]["id"]).queued_at
    runtime.redis.flushdb()  # Redis loses the job
    wait = timedelta(seconds=30)
    with runtime.session() as session:
        early = queued_at + wait - timedelta(microseconds=1)
        assert dispatch.requeue_lost(session, runtime.queue, now=early, older_than=wait) == 0
        assert (
            dispatch.requeue_lost(session, runtime.queue, now=queued_at + wait, older_than=wait)
            == 1
        )
