"""Figures summed: a workspace's totals are its campaigns' figures added field by field,
every field (the click-through rate's numerator was once left out of the sum)."""

from __future__ import annotations

from dataclasses import fields

from publisher.engage.figures import Figures


def test_adding_figures_sums_every_field_and_keeps_the_rates_right():
    one = Figures(
        publications=2,
        metrics={"impressions": 1000, "likes": 30},
        clicks=50,
        bot_clicks=7,
        clicks_on_these=40,
        conversions={"signup": 3},
        value_cents={"EUR": 900},
        referrals=1,
        new_members=2,
        returning_members=1,
    )
    other = Figures(
        publications=1,
        metrics={"impressions": 3000, "shares": 4},
        clicks=20,
        bot_clicks=1,
        clicks_on_these=20,
        conversions={"signup": 1, "purchase": 2},
        value_cents={"EUR": 100, "USD": 500},
        referrals=2,
        new_members=1,
        returning_members=4,
    )
    total = Figures()
    total.add(one)
    total.add(other)
    assert total == Figures(
        publications=3,
        metrics={"impressions": 4000, "likes": 30, "shares": 4},
        clicks=70,
        bot_clicks=8,
        clicks_on_these=60,
        conversions={"signup": 4, "purchase": 2},
        value_cents={"EUR": 1000, "USD": 500},
        referrals=3,
        new_members=3,
        returning_members=5,
    )
    assert total.click_through_rate == 60 / 4000
    assert total.engagement_rate == 34 / 4000
    # A field added to Figures later is summed too (this test lists them all).
    assert {f.name for f in fields(Figures)} == {
        "publications", "metrics", "clicks", "bot_clicks", "clicks_on_these",
        "conversions", "value_cents", "referrals", "new_members", "returning_members",
    }  # fmt: skip
