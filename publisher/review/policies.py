"""Review policies: how many approvals, from whom, and by when.

The workspace has one policy; a campaign may override it. With neither, one approval
from anyone who may decide is enough (the embedded default). A policy is read when a
vote is counted, so a change applies to every publication still waiting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from publisher.core.errors import NotFound, ValidationFailed, field_error
from publisher.core.models import ReviewPolicy
from publisher.core.workspaces import Actor, Permission, reviewer_problem
from publisher.plan.campaigns import get_campaign
from publisher.record import events
from publisher.review.schemas import PolicyIn, PolicyRead

DEFAULT = PolicyIn(approvals=1, allow_self_approval=True)


@dataclass(frozen=True)
class Policy:
    rules: PolicyIn
    source: str  # default | workspace | campaign
    campaign_id: int | None = None

    def deadline(self, scheduled_at: datetime) -> datetime | None:
        minutes = self.rules.review_deadline_minutes
        return None if minutes is None else scheduled_at - timedelta(minutes=minutes)

    def expires_at(self, due_at: datetime) -> datetime:
        """Past this instant an approval comes too late: the publication expires. `due_at`
        is its scheduled time, or later when a resume sent it back to review."""
        return due_at + timedelta(seconds=self.rules.late_approval_grace_seconds)

    def read(self) -> PolicyRead:
        return PolicyRead(
            **self.rules.model_dump(), source=self.source, campaign_id=self.campaign_id
        )


@dataclass(frozen=True)
class Tally:
    approvals: int
    needed: int
    missing: tuple[str, ...]
    # The same in numbers: approvals short of the total, and per group (count, name).
    short: int = 0
    groups: tuple[tuple[int, str], ...] = ()

    @property
    def satisfied(self) -> bool:
        return not self.missing


def _row(session: Session, workspace_id: int, campaign_id: int | None) -> ReviewPolicy | None:
    return session.exec(
        select(ReviewPolicy).where(
            ReviewPolicy.workspace_id == workspace_id, ReviewPolicy.campaign_id == campaign_id
        )
    ).first()


def effective(session: Session, workspace_id: int, campaign_id: int | None) -> Policy:
    """The campaign's override, else the workspace's policy, else the default."""
    if campaign_id is not None and (row := _row(session, workspace_id, campaign_id)):
        return Policy(PolicyIn.model_validate(row.rules), "campaign", campaign_id)
    if row := _row(session, workspace_id, None):
        return Policy(PolicyIn.model_validate(row.rules), "workspace")
    return Policy(DEFAULT, "default")


def get_policy(session: Session, actor: Actor, campaign_id: int | None = None) -> Policy:
    if campaign_id is not None:
        get_campaign(session, actor, campaign_id)
    return effective(session, actor.workspace_id, campaign_id)


def update_policy(
    session: Session, actor: Actor, data: PolicyIn, *, campaign_id: int | None = None, now: datetime
) -> Policy:
    """Write the workspace's policy, or a campaign's override; the change is audited."""
    actor.require(Permission.MANAGE_POLICY)
    if campaign_id is not None:
        get_campaign(session, actor, campaign_id)
    _check_reviewers(session, actor, data)
    row = _row(session, actor.workspace_id, campaign_id)
    if row is None:
        row = ReviewPolicy(workspace_id=actor.workspace_id, campaign_id=campaign_id, rules={})
        session.add(row)
    row.rules = data.model_dump(mode="json")
    row.updated_by, row.updated_at = actor.label, now
    _audit(session, actor, campaign_id, now=now, rules=row.rules)
    session.flush()
    return effective(session, actor.workspace_id, campaign_id)


def delete_policy(session: Session, actor: Actor, campaign_id: int, *, now: datetime) -> Policy:
    """Drop a campaign's override: the workspace's policy applies again."""
    actor.require(Permission.MANAGE_POLICY)
    get_campaign(session, actor, campaign_id)
    row = _row(session, actor.workspace_id, campaign_id)
    if row is None:
        raise NotFound(f"campaign {campaign_id} has no policy of its own")
    session.delete(row)
    _audit(session, actor, campaign_id, now=now, rules=None)
    session.flush()
    return effective(session, actor.workspace_id, campaign_id)


def _audit(
    session: Session, actor: Actor, campaign_id: int | None, *, now: datetime, rules: Any
) -> None:
    scope = f"campaign {campaign_id}" if campaign_id else "workspace"
    events.record(
        session,
        workspace_id=actor.workspace_id,
        kind="policy.changed" if rules is not None else "policy.removed",
        actor=actor.label,
        now=now,
        reason=f"review policy of the {scope}",
        data={"campaign_id": campaign_id, "rules": rules},
    )


def _check_reviewers(session: Session, actor: Actor, data: PolicyIn) -> None:
    """Named reviewers must be live keys of this workspace that may decide."""
    errors = []
    for r, requirement in enumerate(data.requirements):
        for i, key_id in enumerate(requirement.reviewer_ids):
            if problem := reviewer_problem(session, actor.workspace_id, key_id):
                errors.append(field_error(["requirements", r, "reviewer_ids", i], problem))
    if errors:
        raise ValidationFailed("the policy names reviewers who cannot vote", errors)


def tally(policy: Policy, approvers: Iterable[int], roles: dict[int, str]) -> Tally:
    """Count distinct approvals against the policy; `roles` maps key id to role."""
    people = set(approvers)
    rules = policy.rules
    groups = []  # (approvals still needed from the group, its name)
    for requirement in rules.requirements:
        group = (
            people & set(requirement.reviewer_ids)
            if requirement.reviewer_ids
            else {p for p in people if roles.get(p) == requirement.role}
        )
        if len(group) < requirement.min:
            groups.append((requirement.min - len(group), requirement.name))
    short = rules.approvals - len(people)
    return Tally(len(people), rules.approvals, _missing(short, groups), short, tuple(groups))


# How what is missing reads, per language (the review page follows the reviewer's).
MISSING_WORDS = {
    "en": {
        "approvals": ("{n} approval", "{n} approvals"),
        "more": ("{n} more approval", "{n} more approvals"),
        "from": "{n} from {group}",
        "including": "{more}, including {groups}",
        "and": " and ",
    },
    "fr": {
        "approvals": ("{n} approbation", "{n} approbations"),
        "more": ("{n} approbation de plus", "{n} approbations de plus"),
        "from": "{n} de {group}",
        "including": "{more}, dont {groups}",
        "and": " et ",
    },
}


def _missing(short: int, groups: Sequence[tuple[int, str]], lang: str = "en") -> tuple[str, ...]:
    """What is still needed, counted once: the groups' approvals are part of the total, so
    "2 more approvals, including 1 from legal", never "1 from legal" and "2 more"."""
    w = MISSING_WORDS.get(lang, MISSING_WORDS["en"])

    def counted(kind: str, n: int) -> str:
        return w[kind][n > 1].format(n=n)

    from_groups = sum(n for n, _ in groups)
    if short > from_groups:
        more = counted("more", short)
        if not groups:
            return (more,)
        listed = w["and"].join(w["from"].format(n=n, group=g) for n, g in groups)
        return (w["including"].format(more=more, groups=listed),)
    return tuple(w["from"].format(n=counted("approvals", n), group=g) for n, g in groups)


def missing_in(tally: Tally, lang: str) -> tuple[str, ...]:
    """`tally.missing` in another language."""
    return _missing(tally.short, tally.groups, lang) if tally.missing else ()


def missing_words(details: dict, lang: str) -> tuple[str, ...]:
    """A review item's tally (`short`, `groups`, as the API shows it) in words of `lang`."""
    if not details.get("missing"):
        return ()
    return _missing(details["short"], [(n, g) for n, g in details["groups"]], lang)


def could_count(policy: Policy, reviewer_id: int, role: str, roles: dict[int, str]) -> bool:
    """Whether an approval from this reviewer would bring the tally closer; `roles` maps
    each reviewer who already approved to their role."""
    if reviewer_id in roles:
        return False
    if len(roles) < policy.rules.approvals:
        return True
    for requirement in policy.rules.requirements:
        ids = set(requirement.reviewer_ids)
        members = {p for p, r in roles.items() if (p in ids if ids else r == requirement.role)}
        mine = reviewer_id in ids if ids else role == requirement.role
        if mine and len(members) < requirement.min:
            return True
    return False


_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@\w+")


def findings(policy: Policy, parts: list[str]) -> list[dict[str, Any]]:
    """What the text (every part, as sent) breaks of the content rules: the rule, a
    sentence, and the term or the count and limit (for a page to word it)."""
    rules = policy.rules.content_rules
    text = "\n".join(parts)
    folded = text.casefold()
    found = [
        {"rule": "banned_terms", "detail": f"contains {term!r}", "term": term}
        for term in rules.banned_terms
        if term.casefold() in folded
    ]
    found += [
        {"rule": "required_terms", "detail": f"does not contain {term!r}", "term": term}
        for term in rules.required_terms
        if term.casefold() not in folded
    ]
    for rule, pattern, limit, what in (
        ("max_hashtags", _HASHTAG, rules.max_hashtags, "hashtags"),
        ("max_mentions", _MENTION, rules.max_mentions, "mentions"),
    ):
        count = len(pattern.findall(text))
        if limit is not None and count > limit:
            detail = f"{count} {what}, more than {limit}"
            found.append({"rule": rule, "detail": detail, "count": count, "limit": limit})
    return found
