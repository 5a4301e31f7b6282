"""An adapter's problems: English sentences (logs, the API's field errors) that keep their
key and values, so the review page can say them in French."""

from __future__ import annotations

import copy
import pickle
from string import Formatter

import pytest
from flask import Flask

from adapters.types import PROBLEMS, Problem
from api.review.words import WORDS, problem_said

# Values of the kind each problem is made with (adapters/base.py and the adapters).
VALUES = {
    "count": 7,
    "limit": 4,
    "length": 312,
    "unit": "weighted characters",
    "platform": "X",
    "file": 2,
    "type": "video/webm",
    "size_mb": 5.25,
    "limit_mb": 5.0,
    "seconds": 150.5,
}


def _problem(key: str, **more) -> Problem:
    needed = {field for _, field, _, _ in Formatter().parse(PROBLEMS[key]) if field}
    return Problem(key, **{name: VALUES[name] for name in needed}, **more)


def test_a_problem_is_its_english_sentence():
    problem = Problem("too_long", length=312, limit=280, unit="weighted characters", platform="X")
    assert problem == "312 of 280 weighted characters on X"
    assert (problem.key, problem.part) == ("too_long", None)
    parted = Problem("empty_text", part=2, parts=3)
    assert (parted, parted.part) == ("text is empty (part 2 of 3)", 2)


@pytest.mark.parametrize("kept", [copy.deepcopy, lambda p: pickle.loads(pickle.dumps(p))])
def test_a_problem_keeps_its_key_and_values_when_copied(kept):
    problem = Problem(
        "media_size", file=1, type="image/png", size_mb=6.0, limit_mb=5.0, platform="X"
    )
    again = kept(problem)
    assert (again, again.key, dict(again.params)) == (problem, "media_size", dict(problem.params))


@pytest.mark.parametrize("key", sorted(PROBLEMS))
def test_every_problem_reads_in_french(key):
    app = Flask(__name__)
    problem = _problem(key, part=2, parts=3)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        said = problem_said(problem)
    assert f"problem_{key}" in WORDS["fr"]
    assert said != str(problem) and "{" not in said and said.endswith("(partie 2 sur 3)")
    for name, value in problem.params.items():
        if isinstance(value, int) and name not in ("part", "parts"):
            assert str(value) in said


def test_numbers_are_written_the_french_way():
    app = Flask(__name__)
    problem = _problem("media_size")
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert "5,2 Mo" in problem_said(problem) and "5 Mo" in problem_said(problem)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert (
            problem_said(problem)
            == str(problem)
            == ("file 2 (video/webm): 5.2 MB; X takes at most 5.0 MB")
        )


def test_a_sentence_the_page_has_no_words_for_stays_as_said():
    app = Flask(__name__)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert problem_said("an adapter's own words") == "an adapter's own words"


def test_a_short_link_readers_address_is_not_on_the_access_line():
    """The API's own /l/{code} logs no IP address (a click keeps none); other requests
    keep theirs."""
    from api.http.serving import DeadlineHandler

    handler = object.__new__(DeadlineHandler)
    handler.client_address = ("203.0.113.9", 51000)
    handler.path = "/l/abcdefghij"
    assert handler.address_string() == "-"
    handler.path = "/v1/posts"
    assert handler.address_string() == "203.0.113.9"
