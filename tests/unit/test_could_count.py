"""Whether one more approval from a reviewer would bring a publication's tally closer to
its policy (what the review queue's "waiting for you" is made of), case by case."""

from __future__ import annotations

import pytest

from publisher.review.policies import Policy, could_count
from publisher.review.schemas import PolicyIn, RequirementIn


def _policy(approvals: int, *requirements: RequirementIn) -> Policy:
    return Policy(PolicyIn(approvals=approvals, requirements=list(requirements)), "workspace")


LEGAL = RequirementIn(name="legal", reviewer_ids=[7, 8], min=2)
ADMINS = RequirementIn(name="board", role="admin", min=1)


@pytest.mark.parametrize(
    "policy, reviewer, role, approved, counts",
    [
        (_policy(2), 5, "reviewer", {}, True),  # approvals still missing
        (_policy(2), 5, "reviewer", {5: "reviewer"}, False),  # voted already
        (_policy(1), 5, "reviewer", {4: "reviewer"}, False),  # enough, and no group
        # Enough approvals, but legal has one of its two: only legal's other member counts.
        (_policy(2, LEGAL), 8, "reviewer", {7: "reviewer", 4: "reviewer"}, True),
        (_policy(2, LEGAL), 5, "reviewer", {7: "reviewer", 4: "reviewer"}, False),
        (_policy(2, LEGAL), 9, "reviewer", {7: "reviewer", 8: "reviewer"}, False),  # legal met
        # A group by role: an admin counts until one admin approved.
        (_policy(1, ADMINS), 3, "admin", {4: "reviewer"}, True),
        (_policy(1, ADMINS), 3, "reviewer", {4: "reviewer"}, False),
        (_policy(1, ADMINS), 3, "admin", {2: "admin"}, False),
        # A reviewer in no group, once the number is reached, does not.
        (_policy(2, ADMINS), 6, "reviewer", {2: "admin", 4: "reviewer"}, False),
    ],
)
def test_an_approval_counts_only_where_the_tally_is_short(policy, reviewer, role, approved, counts):
    assert could_count(policy, reviewer, role, approved) is counts
