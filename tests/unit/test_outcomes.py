"""What a platform's answer does to a publication: `outcomes.judge`, pure, one row each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.errors import (
    AuthExpired,
    LeaseLapsed,
    OutcomeUnknown,
    PartlyPublished,
    RateLimited,
    Rejected,
    Transient,
)
from adapters.types import PublishResult
from publisher.core.states import Status
from publisher.deliver.outcomes import NEAR_LIMITS, RetryPolicy, judge

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
DUE = NOW - timedelta(seconds=2)
POLICY = RetryPolicy(max_attempts=3, base_s=10, cap_s=60, rate_limit_hold_s=300)


def verdict(outcome, *, status=Status.PUBLISHING, attempts=1):
    return judge(outcome, status=status, attempts=attempts, due_at=DUE, now=NOW, policy=POLICY)


def test_published_clears_the_error_and_keeps_a_threads_parts():
    v = verdict(PublishResult("1", "https://x.com/i/1", part_ids=("1", "2", "3")))
    assert (v.status, v.error, v.note, v.due_at) == (Status.PUBLISHED, None, None, None)
    assert v.part_ids == ("1", "2", "3")
    assert v.hold_until is None and not v.refund_attempt
    # A single post's one id is its external id; nothing to store as parts.
    assert verdict(PublishResult("1", "u", part_ids=("1",))).part_ids is None


def test_published_near_the_accounts_limits_holds_the_channel_only_when_ahead():
    later = NOW + timedelta(minutes=20)
    v = verdict(PublishResult("1", "u", hold_until=later))
    assert (v.status, v.hold_until, v.hold_reason) == (Status.PUBLISHED, later, NEAR_LIMITS)
    past = verdict(PublishResult("1", "u", hold_until=NOW))
    assert past.hold_until is None and past.hold_reason is None


def test_no_answer_is_unknown_due_now_for_reconciliation():
    v = verdict(OutcomeUnknown("read timed out"))
    assert (v.status, v.due_at, v.error, v.note) == (
        Status.UNKNOWN,
        NOW,
        "read timed out",
        "read timed out",
    )
    assert verdict(LeaseLapsed("lease lapsed")).status == Status.UNKNOWN


def test_a_claim_expired_first_stays_unknown_and_writes_nothing():
    for outcome in (OutcomeUnknown("t"), Rejected("dup", duplicate=True)):
        v = verdict(outcome, status=Status.UNKNOWN, attempts=2)
        assert v.status is None and v.error is None and v.due_at is None


def test_a_certain_answer_after_the_claim_expired_is_still_recorded():
    assert verdict(Rejected("policy"), status=Status.UNKNOWN).status == Status.FAILED
    assert verdict(PublishResult("9", "u"), status=Status.UNKNOWN).status == Status.PUBLISHED


def test_a_duplicate_refusal_is_evidence_only_on_a_retry():
    assert verdict(Rejected("duplicate", duplicate=True), attempts=1).status == Status.FAILED
    retry = verdict(Rejected("duplicate", duplicate=True), attempts=2)
    assert (retry.status, retry.due_at) == (Status.UNKNOWN, NOW)


def test_a_refusal_fails_at_once_with_its_reason():
    v = verdict(Rejected("text too long"), attempts=1)
    assert (v.status, v.error, v.note) == (Status.FAILED, "text too long", "text too long")


def test_an_expired_token_waits_for_the_channel_at_its_own_time_and_is_not_counted():
    v = verdict(AuthExpired("token expired"))
    assert (v.status, v.due_at) == (Status.SCHEDULED, DUE)
    assert v.needs_reauth and v.refund_attempt and v.hold_until is None
    assert v.note == f"token expired; next attempt at {DUE.isoformat()}"


def test_throttling_holds_the_channel_until_the_platforms_time_and_is_not_counted():
    reset = NOW + timedelta(minutes=7)
    v = verdict(RateLimited("429", retry_at=reset))
    assert (v.status, v.due_at, v.hold_until, v.hold_reason) == (
        Status.SCHEDULED,
        reset,
        reset,
        "429",
    )
    assert v.refund_attempt and not v.needs_reauth


def test_throttling_without_a_time_holds_for_the_policy_and_never_into_the_past():
    v = verdict(RateLimited("429"))
    assert v.due_at == v.hold_until == NOW + timedelta(seconds=300)
    past = verdict(RateLimited("429", retry_at=NOW - timedelta(minutes=1)))
    assert past.due_at == past.hold_until == NOW


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_harmless_failure_is_retried_with_backoff_while_attempts_remain(attempts):
    v = verdict(Transient("503"), attempts=attempts)
    assert v.status == Status.SCHEDULED and not v.refund_attempt
    low = POLICY.base_s * 2 ** (attempts - 1) * 0.5
    high = POLICY.base_s * 2 ** (attempts - 1)
    assert NOW + timedelta(seconds=low) <= v.due_at <= NOW + timedelta(seconds=high)


def test_the_last_allowed_failure_gives_up_with_the_count():
    v = verdict(Transient("503"), attempts=3)
    assert (v.status, v.error) == (Status.FAILED, "503")
    assert v.note == "gave up after 3 attempts: 503"


def test_backoff_is_capped():
    for attempt in range(1, 12):
        assert POLICY.backoff(attempt) <= timedelta(seconds=POLICY.cap_s)


def test_a_thread_stopped_midway_keeps_the_parts_out_and_follows_its_cause():
    cause = Transient("503")
    v = verdict(PartlyPublished(("1", "2"), cause, total=3))
    assert v.part_ids == ("1", "2") and v.status == Status.SCHEDULED
    assert "after part 2 of 3 went out" in v.error
    unknown = verdict(PartlyPublished(("1",), OutcomeUnknown("t"), total=3), status=Status.UNKNOWN)
    assert unknown.status is None and unknown.part_ids == ("1",)
    refused = verdict(PartlyPublished(("1",), Rejected("no"), total=2))
    assert (refused.status, refused.part_ids) == (Status.FAILED, ("1",))


def test_a_very_long_reason_is_cut_for_the_row_not_for_the_log():
    v = verdict(Rejected("x" * 5000))
    assert len(v.error) == 2000 and len(v.note) == 5000
