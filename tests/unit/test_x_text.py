from __future__ import annotations

import pytest

from adapters.base import Content
from adapters.x import XAdapter
from adapters.x_text import weighted_length

CASES = [
    ("hello", 5),
    ("café", 4),  # precomposed
    ("cafe\u0301", 4),  # decomposed: NFC first
    ("日本語", 6),  # CJK weighs 2
    ("한국어", 6),
    ("👍", 2),
    ("👍🏽", 2),  # skin tone modifier joins
    ("👩‍💻", 2),  # ZWJ sequence counts once
    ("👨‍👩‍👧‍👦", 2),
    ("🇫🇷🇩🇪", 4),  # two flags
    ("see https://example.com/a/very/long/path/that/is/long", 4 + 23),
    ("http://a.co", 23),
    ("—", 1),  # em dash sits in a light range
    ("a" * 280, 280),
    # Keycap and emoji-presentation sequences are one emoji each (issue 11, item 7).
    ("1️⃣", 2),
    ("©️", 2),
    ("‼️", 2),
    # Trailing punctuation is not part of the URL; every real top-level domain is a URL.
    ("https://lumiere-asso.fr/x.", 24),
    ("lumiere.paris", 23),
    ("lumiere.eu", 23),
    ("Rendez-vous sur lumiere.paris !", len("Rendez-vous sur ") + 23 + 2),
    # twitter-text conformance/validate.yml, lengths: "Count multiple URLs correctly".
    ("Test https://test.com test https://test.com test.com test", 86),
    ("test.com", 23),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_weighted_length(text, expected):
    assert weighted_length(text) == expected


def test_x_appends_the_link_and_counts_it_as_23():
    content = Content(text="Join us", link="https://example.org/" + "x" * 80)
    assert XAdapter.render_text(content).endswith(content.link)
    assert XAdapter.measure(content) == len("Join us ") + 23


def test_x_validation_message_is_readable():
    problems = XAdapter.validate(Content(text="日" * 141))
    assert problems == ["282 of 280 weighted characters on X"]
    assert XAdapter.validate(Content(text="日" * 140)) == []
