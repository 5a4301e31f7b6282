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


def test_the_architecture_page_says_the_states_as_the_table_has_them():
    """docs/architecture.md's table of states: every state, and for each the states it is
    entered from (the backquoted names of its last column), as TRANSITIONS has them."""
    import re
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    section = page.split("## A publication's states", 1)[1]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]
    said = {
        re.fullmatch(r" `(\w+)` ", state).group(1): set(re.findall(r"`(\w+)`", entered_from))
        for state, _means, entered_from in rows
    }
    entered_from: dict[str, set[str]] = {s.value: set() for s in Status}
    for source, targets in TRANSITIONS.items():
        for target in targets:
            entered_from[target.value].add(source.value)
    assert said == entered_from
