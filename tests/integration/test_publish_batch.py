"""One publish job carries several publications (a burst is handed over in chunks): they are
claimed together, sent concurrently, and each outcome is written down on its own terms as
soon as it is back. Judged from the sandbox's ledger and each publication's recorded state."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from adapters.sandbox import Fault
from publisher import jobs
from publisher.core.models import Publication
from publisher.deliver import publish
from tests.helpers import drain_queue, rows_digest, soon, wait_until


@pytest.fixture
def six(api, scenario):
    """Six approved X publications, due now, each its own post."""
    x, _ = scenario.channels()
    ids = []
    for i in range(6):
        post = scenario.post_for([x], at=soon(), text=f"batch post number {i}")
        scenario.submit_and_approve(post)
        ids.append(post["publications"][0]["id"])
    return ids


def _statuses(runtime, ids) -> dict[int, str]:
    with runtime.session() as session:
        rows = session.execute(
            select(Publication.id, Publication.status).where(Publication.id.in_(ids))
        )
        return dict(rows.all())


def test_each_outcome_in_a_job_is_recorded_on_its_own_terms(api, scenario, runtime, sandbox, six):
    cancelled = six[-1]
    api.post(f"/v1/posts/{scenario.publication(cancelled)['post_id']}/cancel", expect=200)
    sandbox.ledger.inject("x", Fault(status=503))  # proven not taken: retried later
    sandbox.ledger.inject("x", Fault(status=500, accept=True))  # taken, then an error

    statuses = jobs.publish_batch(*six)

    assert statuses[-1] == "skipped"
    assert Counter(statuses[:-1]) == {"published": 3, "scheduled": 1, "unknown": 1}
    assert _statuses(runtime, six) == dict(zip(six, [*statuses[:-1], "cancelled"], strict=True))
    accepted = sandbox.ledger.accepted("x")
    assert len(accepted) == 4 and len({a.text for a in accepted}) == 4
    for pub_id, status in zip(six, statuses, strict=True):
        pub = scenario.publication(pub_id)
        if status == "published":
            assert pub["external_id"] in {a.external_id for a in accepted}
        if status == "scheduled":
            assert "503" in pub["last_error"]
    history = api.get(f"/v1/publications/{six[0]}/history")
    assert [h["to_status"] for h in history][-2] == "publishing"


def test_a_slow_answer_does_not_hold_back_the_others(api, runtime, sandbox, six):
    # The first request to arrive is accepted, then answered only after 1.5 s (under the
    # client's 2 s timeout); the other five must be on record as published meanwhile.
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=1.5))
    job = threading.Thread(target=jobs.publish_batch, args=tuple(six))
    job.start()
    try:
        wait_until(
            lambda: sorted(_statuses(runtime, six).values()) == ["published"] * 5 + ["publishing"],
            timeout_s=10,
            what="five published while one answer is still held",
            state=lambda: _statuses(runtime, six),
        )
    finally:
        job.join(30)
    assert set(_statuses(runtime, six).values()) == {"published"}
    assert len(sandbox.ledger.accepted("x")) == 6


class _BuggyAdapter:
    """A third-party adapter whose platform library fails in a way it never mapped."""

    def validate(self, content):
        return []

    def publish(self, request):
        raise KeyError("data")


class _BrokenBeforeSending(_BuggyAdapter):
    def validate(self, content):
        raise TypeError("validate() got an unexpected keyword")


def test_an_adapter_bug_leaves_the_outcome_unknown_not_the_job_crashed(api, scenario, runtime, six):
    # The request may have gone out, so the publication is `unknown` (reconciliation asks
    # the platform), never resent blindly and never left hanging in `publishing`.
    with runtime.session() as session:
        statuses = publish.publish_many(
            session,
            six[:2],
            adapter_for=lambda channel: _BuggyAdapter(),
            clock=runtime.clock,
            policy=runtime.policy,
            senders=runtime.senders,
        )
    assert statuses == ["unknown", "unknown"]
    assert _statuses(runtime, six[:2]) == {six[0]: "unknown", six[1]: "unknown"}
    assert scenario.publication(six[0])["last_error"].startswith("adapter error: KeyError")


def test_an_adapter_bug_before_sending_fails_the_publication_without_sending(
    api, scenario, runtime, sandbox, six
):
    with runtime.session() as session:
        statuses = publish.publish_many(
            session,
            six[:1],
            adapter_for=lambda channel: _BrokenBeforeSending(),
            clock=runtime.clock,
            policy=runtime.policy,
        )
    assert statuses == ["failed"]
    assert "adapter error before sending: TypeError" in scenario.publication(six[0])["last_error"]
    assert sandbox.ledger.accepted() == []


def test_the_warm_up_before_the_first_job_changes_nothing(api, runtime, sandbox, six):
    """A worker runs the claim once before its first job (SQLAlchemy sets up and compiles
    on first use): on no publication, so nothing is claimed, written or sent."""
    before = rows_digest(runtime)
    jobs.warm_up(runtime)
    assert rows_digest(runtime) == before
    assert sandbox.ledger.accepted("x") == []


def test_a_worker_takes_its_next_job_while_an_answer_is_awaited(runtime, sandbox, six):
    # Six jobs of one publication each, one worker. The first job's request is held
    # 4 s by the platform: the worker must not wait it out before its other jobs (a
    # worker that did made publications due one after another queue behind each other).
    # (1.5 s was once too short for the other five on a machine running four test
    # workers on two cores.)
    runtime.settings = runtime.settings.with_(platform_timeout_s=8.0)  # the hold is no timeout
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=4.0))
    for pub_id in six:
        runtime.queue.hand_over([pub_id])
    seen: list[dict[int, str]] = []
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            seen.append(_statuses(runtime, six))
            watching.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        drain_queue(runtime)
    finally:
        watching.set()
        watcher.join(10)
    held, others = six[0], six[1:]
    assert any(
        state[held] == "publishing" and {state[o] for o in others} == {"published"}
        for state in seen
    ), "the other five went out only after the held answer"
    assert set(_statuses(runtime, six).values()) == {"published"}
    assert len(sandbox.ledger.accepted("x")) == 6
