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


def weighted_length(text: str) -> int:
    """The length X counts for `text` (limit: 280)."""
    return parse_tweet(unicodedata.normalize("NFC", text)).weightedLength


_TCO = re.compile(r"https?://t\.co/\w+")


def _squeeze(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def comparable_sent(text: str) -> str:
    """Text as sent, with every link X would shorten taken out (X's own URL rules, from
    twitter-text), to compare with what X hands back."""
    cut, cursor = [], 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        cut.append(text[cursor:start])
        cursor = end
    cut.append(text[cursor:])
    return _squeeze(" ".join(cut))


def comparable_returned(text: str) -> str:
    """Text as X returns it (docs.x.com data dictionary: `&`, `<`, `>` escaped, every URL
    a t.co link, attached media one more t.co link at the end), links taken out."""
    return _squeeze(_TCO.sub(" ", html.unescape(text)))
