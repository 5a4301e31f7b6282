"""The committee's arithmetic, alone: distinct approvals against a policy, groups named by
key or by role, what is missing counted once, in English and French."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from publisher.review.policies import Policy, missing_in, tally
from publisher.review.schemas import PolicyIn, RequirementIn

ROLES = {1: "reviewer", 2: "reviewer", 3: "admin", 4: "reviewer", 5: "admin"}


def _policy(approvals: int, *requirements: RequirementIn) -> Policy:
    return Policy(PolicyIn(approvals=approvals, requirements=list(requirements)), "workspace")


LEGAL = RequirementIn(name="legal", reviewer_ids=[4])
ADMINS = RequirementIn(name="management", role="admin")


def test_distinct_people_count_once():
    counted = tally(_policy(2), [1, 1, 1], ROLES)
    assert (counted.approvals, counted.short, counted.satisfied) == (1, 1, False)
    assert counted.missing == ("1 more approval",)
    assert tally(_policy(2), [1, 2], ROLES).satisfied


def test_a_named_group_is_part_of_the_total_not_on_top_of_it():
    counted = tally(_policy(2, LEGAL), [], ROLES)
    assert counted.missing == ("2 more approvals, including 1 from legal",)
    assert missing_in(counted, "fr") == ("2 approbations de plus, dont 1 de legal",)
    after_two = tally(_policy(2, LEGAL), [1, 2], ROLES)  # enough people, none from legal
    assert after_two.missing == ("1 approval from legal",) and after_two.short == 0
    assert tally(_policy(2, LEGAL), [1, 4], ROLES).satisfied


def test_a_role_group_is_met_by_that_role_only():
    assert tally(_policy(1, ADMINS), [1], ROLES).missing == ("1 approval from management",)
    assert tally(_policy(1, ADMINS), [3], ROLES).satisfied
    assert not tally(_policy(1, ADMINS), [99], ROLES).satisfied  # unknown role: not admin


def test_two_groups_read_as_one_sentence():
    counted = tally(_policy(4, LEGAL, ADMINS), [2], ROLES)
    assert counted.missing == ("3 more approvals, including 1 from legal and 1 from management",)
    assert counted.groups == ((1, "legal"), (1, "management"))
    # When the groups are all that is missing, each is said on its own.
    exact = tally(_policy(3, LEGAL, ADMINS), [2], ROLES)
    assert exact.missing == ("1 approval from legal", "1 approval from management")


@given(
    approvals=st.integers(1, 5),
    legal_min=st.integers(0, 1),
    admin_min=st.integers(0, 2),
    voters=st.lists(st.sampled_from(sorted(ROLES)), max_size=8),
)
def test_satisfied_exactly_when_a_brute_force_count_says_so(
    approvals, legal_min, admin_min, voters
):
    assume(admin_min <= approvals and legal_min <= approvals)
    requirements = []
    if legal_min:
        requirements.append(LEGAL)
    if admin_min:
        requirements.append(RequirementIn(name="management", role="admin", min=admin_min))
    counted = tally(_policy(approvals, *requirements), voters, ROLES)
    people = set(voters)
    expected = (
        len(people) >= approvals
        and (not legal_min or 4 in people)
        and len({p for p in people if ROLES[p] == "admin"}) >= admin_min
    )
    assert counted.satisfied == expected
    assert counted.approvals == len(people) and counted.needed == approvals


def _rules(**rules) -> Policy:
    from publisher.review.schemas import ContentRules

    return Policy(PolicyIn(approvals=1, content_rules=ContentRules(**rules)), "workspace")


def test_findings_read_every_part_whatever_the_case():
    policy = _rules(banned_terms=["Guaranteed"], required_terms=["#ad"])
    assert policy_findings(policy, ["GUARANTEED fun", "thread part #AD"]) == [
        ("banned_terms", "contains 'Guaranteed'", "Guaranteed"),
    ]
    # A term that only appears across the join of two parts is not in the text.
    assert policy_findings(_rules(required_terms=["fun #ad"]), ["fun", "#ad"]) == [
        ("required_terms", "does not contain 'fun #ad'", "fun #ad"),
    ]


def test_counts_at_their_limit_pass_and_one_over_is_a_finding():
    at_limit = _rules(max_hashtags=2, max_mentions=1)
    assert policy_findings(at_limit, ["#one #two @acme"]) == []
    found = _findings_raw(at_limit, ["#one #two", "#three @acme @friends"])
    assert found == [
        {"rule": "max_hashtags", "detail": "3 hashtags, more than 2", "count": 3, "limit": 2},
        {"rule": "max_mentions", "detail": "2 mentions, more than 1", "count": 2, "limit": 1},
    ]


def _findings_raw(policy, parts):
    from publisher.review.policies import findings

    return findings(policy, parts)


def policy_findings(policy, parts):
    return [(f["rule"], f["detail"], f.get("term")) for f in _findings_raw(policy, parts)]
