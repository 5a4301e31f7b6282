"""X's weighted text length, and text as X hands it back.

Counting follows X's published rules (docs.x.com/fundamentals/counting-characters,
twitter-text's v3 configuration: NFC first; code points in the light ranges weigh 1, others
2; every URL, with or without a scheme and on any real top-level domain, weighs 23,
trailing punctuation apart; an emoji sequence weighs 2) through twitter-text-parser, the
maintained Python port of twitter-text with its conformance cases, instead of our own
approximation (which counted keycap sequences as more than 2, a trailing full stop as
part of the URL and missed most top-level domains).
"""

from __future__ import annotations

import html
import re
import unicodedata

from twitter_text import extract_urls_with_indices, parse_tweet

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23


# twitter-text's URL pattern takes time quadratic in the labels of a dotted run ("x."*400
# took 2 s, ten such words 9 s; it ran under the database's write lock at submit). A run
# longer than any host name (253 characters) or with more labels than real hosts have is
# text: its dots read as commas (same weight, no URL), so every run costs a bounded
# moment. (A long real host, say a load balancer's, has few labels: it stays a link.)
LONGEST_HOST, MOST_LABELS = 253, 16
# Starts only where a run starts; possessive: linear however long the text.
_DOTTED_RUN = re.compile(r"(?<![\w-])[\w-]++(?:\.[\w-]++){2,}")


def _runs_defused(text: str) -> str:
    """`text` with every dotted run longer than any host name made dot-free (same length,
    same weights), so the URL pattern never scans it."""

    def defuse(run: re.Match[str]) -> str:
        found = run.group()
        if len(found) > LONGEST_HOST or found.count(".") >= MOST_LABELS:
            return found.replace(".", ",")
        return found

    return _DOTTED_RUN.sub(defuse, text)


def _lower_bound(text: str) -> int:
    """What `text` weighs at least, in one linear pass: every whitespace character 1; a
    word, its code points below U+2000 (each weighs 1, and an emoji sequence, which
    weighs 2, holds at most one of them), but no more than a URL's 23 when it has a dot
    (only then can it hold one), and never less than 1."""
    least = sum(1 for c in text if c.isspace())
    for word in text.split():
        low = sum(1 for c in word if ord(c) < 0x2000)
        least += max(min(low, URL_WEIGHT) if "." in word else low, 1)
    return least


def weighted_length(text: str) -> int:
    """The length X counts for `text` (limit: 280). A text whose lower bound is already
    over the limit is not counted further: the bound is what it weighs at least."""
    text = unicodedata.normalize("NFC", text)
    if (least := _lower_bound(text)) > MAX_WEIGHTED_LENGTH:
        return least
    return parse_tweet(_runs_defused(text)).weightedLength


def urls_in(text: str) -> list[dict]:
    """twitter-text's URLs in `text` with their code point indices (`url`, `indices`),
    dotted runs longer than any host name left out (see LONGEST_HOST)."""
    found = extract_urls_with_indices(_runs_defused(text))
    # Defusing keeps every index: each URL is the text's own, dots and all.
    return [{**f, "url": text[f["indices"][0] : f["indices"][1]]} for f in found]


_TCO = re.compile(r"https?://t\.co/\w+")


def _squeeze(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def comparable_sent(text: str) -> str:
    """Text as sent, with every link X would shorten taken out (X's own URL rules, from
    twitter-text), to compare with what X hands back."""
    cut, cursor = [], 0
    for found in urls_in(text):
        start, end = found["indices"]
        cut.append(text[cursor:start])
        cursor = end
    cut.append(text[cursor:])
    return _squeeze(" ".join(cut))


def comparable_returned(text: str) -> str:
    """Text as X returns it (docs.x.com data dictionary: `&`, `<`, `>` escaped, every URL
    a t.co link, attached media one more t.co link at the end), links taken out."""
    return _squeeze(_TCO.sub(" ", html.unescape(text)))
