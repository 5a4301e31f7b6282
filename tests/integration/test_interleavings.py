"""Any interleaving of planning, review, edits, pauses, dispatch, crashes and platform
faults keeps the invariants, judged from the sandbox's ledger: at most one post per
publication, none for content that was not approved, none while paused, and in the end
every approved publication is settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from adapters.sandbox import Fault
from publisher.deliver import claims, dispatch
from publisher.review import deadlines
from tests.helpers import drain_queue, reconcile_pass, set_clock, soon

SETTLED = {
    "published",
    "failed",
    "cancelled",
    "rejected",
    "in_review",
    "changes_requested",
    "expired",
}


def test_interleavings_keep_the_invariants(api, scenario, runtime, sandbox):
    class Interleavings(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.pubs: list[int] = []
            self.posts: dict[int, int] = {}  # publication -> post
            self.approved_texts: set[str] = set()
            # The test's own model of the policy (not the API's answer): who voted for
            # each publication's first revision, and whether an edit made a new one.
            self.votes: dict[int, set[str]] = {}
            self.edited: set[int] = set()
            self.text_of: dict[int, str] = {}
            self.not_before: dict[str, datetime] = {}
            self.paused = False
            self.ledger_at_pause = 0
            self.serial = 0

        @initialize(approvals=st.sampled_from([1, 2]))
        def reset(self, approvals: int) -> None:
            from tests.client import make_keys
            from tests.conftest import _empty_tables

            _empty_tables(runtime)
            runtime.redis.flushdb()
            sandbox.ledger.reset()
            api.keys.keys.update(make_keys(runtime).keys)
            self.channel = scenario.channels()[0]
            self.campaign = scenario.campaign()
            # One vote, or two (the reviewer's and the admin's), both on the same revision.
            policy = {"approvals": approvals, "allow_self_approval": False}
            api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)
            self.voters = ["reviewer", "admin"][:approvals]

        def _text(self) -> str:
            self.serial += 1
            return f"text {self.serial}"

        @rule(approve=st.booleans(), later=st.booleans())
        def plan(self, approve: bool, later: bool) -> None:
            text = self._text()
            at = soon(3600) if later else soon(-1)  # due now, or in an hour: never early
            post = scenario.post_for([self.channel], at=at, campaign=self.campaign, text=text)
            api.post(f"/v1/posts/{post['id']}/submit", expect=200)
            pub = post["publications"][0]["id"]
            self.pubs.append(pub)
            self.posts[pub] = post["id"]
            self.votes[pub], self.text_of[pub], self.not_before[text] = set(), text, at
            if approve:
                for voter in self.voters:
                    self._vote(pub, voter, expect=201)

        def _vote(self, pub: int, voter: str, expect: int | None = None) -> None:
            status, vote = api.call(
                "POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, as_=voter, expect=expect
            )
            if status != 201:
                return
            assert pub not in self.edited, "a vote on revision 1 counted after an edit"
            self.votes[pub].add(voter)
            complete = len(self.votes[pub]) >= len(self.voters)
            # The API's answer is checked against the model, never taken as the model.
            assert complete == (vote["publication_status"] != "in_review"), vote
            if complete:
                self.approved_texts.add(self.text_of[pub])

        @precondition(lambda self: self.pubs)
        @rule(data=st.data())
        def approve(self, data) -> None:
            pub = data.draw(st.sampled_from(self.pubs))
            self._vote(pub, data.draw(st.sampled_from(["reviewer", "admin"])))

        @precondition(lambda self: self.pubs)
        @rule(data=st.data())
        def edit(self, data) -> None:
            pub = data.draw(st.sampled_from(self.pubs))
            text = self._text()
            status, _ = api.call("PATCH", f"/v1/posts/{self.posts[pub]}", {"text": text})
            if status == 200:  # a new revision: the votes on the first no longer count
                self.edited.add(pub)
                self.text_of[pub], self.not_before[text] = text, self.not_before[self.text_of[pub]]

        @precondition(lambda self: not self.paused)
        @rule()
        def pause(self) -> None:
            api.post(
                "/v1/pause",
                {"scope": "workspace", "reason": "r", "on_resume": "publish"},
                expect=201,
            )
            # in_flight can hold a crashed claim; it never reaches the platform here
            self.paused = True
            self.ledger_at_pause = len(sandbox.ledger.accepted())

        @precondition(lambda self: self.paused)
        @rule()
        def resume(self) -> None:
            api.post("/v1/resume", {"scope": "workspace"}, expect=200)
            self.paused = False

        @rule()
        def dispatch_and_work(self) -> None:
            with runtime.session() as session:
                dispatch.dispatch_due(
                    session, runtime.queue, now=datetime.now(UTC), budgets=runtime.budgets
                )
            drain_queue(runtime)

        @precondition(lambda self: self.pubs)
        @rule(data=st.data())
        def crash_after_claim(self, data) -> None:
            pub = data.draw(st.sampled_from(self.pubs))
            with runtime.session() as session:
                claims.claim(session, pub, now=datetime.now(UTC))
                session.commit()  # ... and the worker dies before calling the platform

        @rule(kind=st.sampled_from(["500", "500-after-accept", "503"]))
        def platform_fault(self, kind: str) -> None:
            status = 503 if kind == "503" else 500
            sandbox.ledger.inject("x", Fault(status=status, accept=kind.endswith("accept")))

        @rule()
        def sweep_and_reconcile(self) -> None:
            later = datetime.now(UTC) + timedelta(hours=1)
            with runtime.session() as session:
                dispatch.expire_claims(session, now=later, claim_timeout=timedelta(minutes=5))
                session.commit()
            reconcile_pass(runtime, now=later)

        @invariant()
        def at_most_once_and_only_approved(self) -> None:
            texts = [a.text for a in sandbox.ledger.accepted()]
            assert len(texts) == len(set(texts))
            assert set(texts) <= self.approved_texts

        @invariant()
        def never_early(self) -> None:
            for accepted in sandbox.ledger.accepted():
                arrived = datetime.fromisoformat(accepted.received_at)
                assert arrived >= self.not_before[accepted.text], accepted

        @invariant()
        def nothing_while_paused(self) -> None:
            if self.paused:
                assert len(sandbox.ledger.accepted()) == self.ledger_at_pause

        def teardown(self) -> None:
            print(
                "TEARDOWN", len(self.pubs), len(sandbox.ledger.accepted()), len(self.approved_texts)
            )
            if not self.pubs:
                return
            if self.paused:
                api.post("/v1/resume", {"scope": "workspace"}, expect=200)
            sandbox.ledger.reset_faults()
            for hop in range(1, 8):  # settle: sweep, reconcile, dispatch, with time moving on
                later = datetime.now(UTC) + timedelta(hours=hop)
                set_clock(runtime, later)
                with runtime.session() as session:
                    dispatch.expire_claims(session, now=later, claim_timeout=timedelta(minutes=5))
                    session.commit()
                reconcile_pass(runtime, now=later)
                with runtime.session() as session:
                    deadlines.sweep(session, now=later)  # what nobody approved expires
                    session.commit()
                    dispatch.dispatch_due(session, runtime.queue, now=later)
                drain_queue(runtime)
            set_clock(runtime, timedelta(0), running=True)  # the real time again
            statuses = {scenario.publication(p)["status"] for p in self.pubs}
            assert statuses <= SETTLED | {"draft"}, statuses
            self.at_most_once_and_only_approved()
            by_text = {a.text for a in sandbox.ledger.accepted()}
            published = [scenario.publication(p) for p in self.pubs]
            assert len(by_text) == sum(p["status"] == "published" for p in published)

    Interleavings.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(Interleavings, settings=Interleavings.TestCase.settings)
