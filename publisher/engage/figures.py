"""A report's vocabulary: the figures of a window, what a goal is measured by, changes.
Pure: publisher/engage/reports.py fills them from the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

from adapters.types import METRICS
from publisher.core.models import Campaign

# What counts as engaging with a post: every reaction a person makes on it.
ENGAGEMENTS = ("likes", "shares", "replies", "quotes", "bookmarks")
BASE_METRICS = tuple(m for m in METRICS if not m.startswith("organic_"))
# Goal names a report can measure, besides the metrics: conversions by kind, people.
KIND_GOALS = {
    "signups": "signup",
    "subscriptions": "subscription",
    "purchases": "purchase",
}


def label(kind: str, name: str | None) -> str:
    """A result's kind as reports count it: a custom event by its own name."""
    return f"custom:{name}" if kind == "custom" else kind


BUCKET_S = 300  # clicks and results are grouped by five minutes, then put in local days
# (every time zone's offset is a whole number of five minutes: Kathmandu's +5:45 too)


def bucket_of(at: datetime) -> datetime:
    """The start of the five minutes (UTC) `at` falls in."""
    at = at.astimezone(UTC)
    return at.replace(second=0, microsecond=0, minute=at.minute - at.minute % (BUCKET_S // 60))


@dataclass
class Figures:
    """The totals of one window."""

    publications: int = 0
    metrics: dict[str, int] = field(default_factory=dict)
    clicks: int = 0
    bot_clicks: int = 0
    # Clicks on the publications counted here (the rest went to earlier ones): the
    # click-through rate's numerator, over these publications' impressions.
    clicks_on_these: int = 0
    conversions: dict[str, int] = field(default_factory=dict)
    value_cents: dict[str, int] = field(default_factory=dict)
    # Recruits: sign-ups that named a member's referral code, and results reported as
    # referrals (each once).
    referrals: int = 0
    new_members: int = 0
    returning_members: int = 0

    def add(self, other: Figures) -> None:
        """Add `other`'s counts to these, every field (a workspace's sum of its campaigns:
        a field summed by hand was once left out, and the total's click-through rate read
        0)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, dict):
                for key, value in theirs.items():
                    mine[key] = mine.get(key, 0) + value
            else:
                setattr(self, f.name, mine + theirs)

    @property
    def engagements(self) -> int:
        return sum(self.metrics.get(name, 0) for name in ENGAGEMENTS)

    @property
    def engagement_rate(self) -> float | None:
        return _ratio(self.engagements, self.metrics.get("impressions", 0))

    @property
    def click_through_rate(self) -> float | None:
        return _ratio(self.clicks_on_these, self.metrics.get("impressions", 0))

    def measure(self, goal: str) -> int | None:
        """The figure a goal of this name is measured by, or None if none is."""
        if goal in self.metrics or goal in BASE_METRICS:
            if goal not in self.metrics and self.publications:
                return None  # out, and no platform of theirs counts it (X: no reach)
            return self.metrics.get(goal, 0)
        if goal in KIND_GOALS:
            return self.conversions.get(KIND_GOALS[goal], 0)
        known = {
            "publications": self.publications,
            "engagements": self.engagements,
            "clicks": self.clicks,
            "conversions": sum(self.conversions.values()),
            "referrals": self.referrals,
            "new_members": self.new_members,
            "returning_members": self.returning_members,
            "members": self.new_members + self.returning_members,
        }
        if goal in known:
            return known[goal]
        return self.conversions.get(f"custom:{goal}")


@dataclass
class PublicationFigures:
    publication_id: int
    channel_id: int
    platform: str
    published_at: datetime
    metrics: dict[str, int]
    clicks: int
    conversions: dict[str, int] = field(default_factory=dict)  # through its links, by kind

    @property
    def engagements(self) -> int:
        return sum(self.metrics.get(name, 0) for name in ENGAGEMENTS)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def goals(campaign: Campaign, figures: Figures) -> list[dict]:
    """Each of the campaign's goals with the figure it is measured by and the progress."""
    out = []
    for name, target in sorted((campaign.goals or {}).items()):
        actual = figures.measure(name)
        out.append(
            {
                "name": name,
                "target": target,
                "actual": actual,
                "progress": round(actual / target, 6) if actual is not None and target else None,
            }
        )
    return out


def change(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, float | None]:
    """The relative change of each figure from `before` to `now` (None from 0)."""
    return {name: _ratio(now[name] - before.get(name, 0), before.get(name, 0)) for name in now}
