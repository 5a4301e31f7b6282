from __future__ import annotations

import pytest

from adapters.types import Content
from adapters.x import XAdapter
from adapters.x_text import urls_in, weighted_length

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


def test_long_dotted_runs_are_text_not_urls_and_cost_a_linear_pass():
    """twitter-text's URL pattern is quadratic on a run of dotted labels ("x."*400 took 2 s,
    "x."*2000 over a minute, under the database's write lock at submit). A run longer than
    any host name is text; a text whose lower bound is over the limit is not counted on."""
    assert weighted_length("x." * 5000) == 10000  # returns at once: one linear pass
    assert weighted_length(("x." * 200 + " ") * 10) == 4010
    run = "a." * 40 + "com"  # 41 labels: no host has that many
    assert weighted_length(f"see {run}") == 4 + len(run)
    assert urls_in(f"see {run}") == []
    # A long real host (a load balancer's, 78 characters, 6 labels) is a link as before.
    elb = "https://internal-marketing-campaign-lb-1234567890.eu-central-1.elb.amazonaws.com/spring"
    assert [u["url"] for u in urls_in(f"see {elb}")] == [elb]
    assert weighted_length(f"see {elb}") == 4 + 23
    # Real links around them are found as before, with the text's own characters.
    text = f"{run} https://lumiere-asso.fr/p.q.r?utm=1. www.lumiere.paris"
    assert [u["url"] for u in urls_in(text)] == [
        "https://lumiere-asso.fr/p.q.r?utm=1",
        "www.lumiere.paris",
    ]
    assert weighted_length(text) == len(run) + 1 + 23 + 2 + 23


def test_the_lower_bound_never_exceeds_the_count():
    from adapters.x_text import _lower_bound

    for text in (
        "1️⃣ ©️ ‼️ 👩🏽‍💻 Ça commence",
        "https://example.com/a-very-long-path-that-is-one-url?with=query&and=more " * 3,
        "日本語のテキスト と English",
        "a.b c.d e.f",
        "#️⃣#️⃣#️⃣#️⃣ 🇫🇷🇫🇷",
    ):
        assert 0 < _lower_bound(text) <= weighted_length(text), text


@pytest.mark.parametrize(
    "code_point,weight",
    [
        # twitter-text v3's weight table: these ranges weigh 1, everything else 2.
        (0x10FF, 1),
        (0x1100, 2),
        (0x1FFF, 2),
        (0x2000, 1),
        (0x200D, 1),
        (0x200E, 2),
        (0x2010, 1),
        (0x201F, 1),
        (0x2020, 2),
        (0x2032, 1),
        (0x2037, 1),
        (0x2038, 2),
    ],
)
def test_the_weight_table_at_its_range_boundaries(code_point, weight):
    """Issue 13: a mutant moving a range boundary survived."""
    assert weighted_length("a" + chr(code_point) + "a") == 2 + weight


def test_a_url_without_a_scheme_weighs_23():
    assert weighted_length("see lumiere.paris now") == len("see  now") + 23
