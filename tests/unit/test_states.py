from __future__ import annotations

import pytest

from publisher.core.errors import InvalidTransition
from publisher.core.states import FINAL, TRANSITIONS, Status, can_transition, check_transition

S = Status

LEGAL = [
    (S.DRAFT, S.IN_REVIEW),
    (S.IN_REVIEW, S.APPROVED),
    (S.IN_REVIEW, S.CHANGES_REQUESTED),
    (S.IN_REVIEW, S.REJECTED),
    (S.CHANGES_REQUESTED, S.IN_REVIEW),
    (S.APPROVED, S.SCHEDULED),
    (S.SCHEDULED, S.QUEUED),
    (S.QUEUED, S.PUBLISHING),
    (S.SCHEDULED, S.PUBLISHING),
    (S.PUBLISHING, S.PUBLISHED),
    (S.PUBLISHING, S.FAILED),
    (S.PUBLISHING, S.UNKNOWN),
    (S.UNKNOWN, S.PUBLISHED),
    (S.UNKNOWN, S.FAILED),
    (S.SCHEDULED, S.PAUSED),
    (S.PAUSED, S.SCHEDULED),
    (S.QUEUED, S.IN_REVIEW),
    (S.SCHEDULED, S.CANCELLED),
]
ILLEGAL = [
    (S.DRAFT, S.APPROVED),
    (S.DRAFT, S.PUBLISHING),
    (S.IN_REVIEW, S.SCHEDULED),
    (S.REJECTED, S.APPROVED),
    (S.PUBLISHED, S.PUBLISHING),
    (S.PUBLISHING, S.CANCELLED),
    (S.FAILED, S.SCHEDULED),
    (S.CANCELLED, S.SCHEDULED),
    (S.UNKNOWN, S.PUBLISHING),
    (S.APPROVED, S.PUBLISHING),
    (S.CHANGES_REQUESTED, S.APPROVED),
]


@pytest.mark.parametrize("current,target", LEGAL)
def test_legal_transitions(current, target):
    assert check_transition(current, target) is target


@pytest.mark.parametrize("current,target", ILLEGAL)
def test_illegal_transitions_raise_with_the_current_state(current, target):
    assert not can_transition(current, target)
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current.value, target.value)
    assert caught.value.extra == {"current": current.value, "target": target.value}
    assert caught.value.status == 409


def test_every_state_is_in_the_table_and_final_states_lead_nowhere():
    assert set(TRANSITIONS) == set(Status)
    assert {S.DELETED, S.FAILED, S.CANCELLED, S.REJECTED, S.EXPIRED} == FINAL
    assert TRANSITIONS[S.PUBLISHED] == {S.DELETED}  # published stays published, or comes down


def test_nothing_reaches_publishing_without_passing_approval():
    """Walk the graph: every path from draft to publishing goes through approved."""
    reachable_without_approval = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        state = frontier.pop()
        for nxt in TRANSITIONS[state]:
            if nxt != S.APPROVED and nxt not in reachable_without_approval:
                reachable_without_approval.add(nxt)
                frontier.append(nxt)
    assert S.PUBLISHING not in reachable_without_approval
    assert S.SCHEDULED not in reachable_without_approval
