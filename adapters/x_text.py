"""X's weighted text length, after twitter-text's v3 configuration.

Docs: https://docs.x.com/fundamentals/counting-characters and
https://github.com/twitter/twitter-text/blob/master/config/v3.json
Text is NFC-normalised; code points in the light ranges weigh 1, all others 2; every URL
weighs 23 whatever its length; an emoji sequence (with modifiers, ZWJ joins) weighs 2.
"""

from __future__ import annotations

import html
import re
import unicodedata

from twitter_text import extract_urls_with_indices

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(
    r"https?://[^\s]+|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|fr|de|co|uk|ly)\b[^\s]*", re.IGNORECASE
)
_ZWJ = 0x200D
_JOINERS = {0xFE0E, 0xFE0F, 0x20E3}


def _is_modifier(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F or cp in _JOINERS


def _is_emoji(cp: int) -> bool:
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or 0x1F1E6 <= cp <= 0x1F1FF
    )


def _char_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _plain_weight(text: str) -> int:
    total = 0
    previous_emoji = False
    joined = False
    open_flag = False  # a regional indicator waiting for its pair
    for ch in text:
        cp = ord(ch)
        is_ri = 0x1F1E6 <= cp <= 0x1F1FF
        if is_ri and open_flag:
            open_flag = False
            continue  # the second letter of a flag
        open_flag = is_ri
        if previous_emoji and (_is_modifier(cp) or cp == _ZWJ):
            joined = cp == _ZWJ
            continue  # part of the emoji already counted
        if previous_emoji and joined and _is_emoji(cp):
            joined = False
            continue  # a ZWJ sequence counts once
        previous_emoji = _is_emoji(cp)
        joined = False
        total += 2 if previous_emoji else _char_weight(cp)
    return total


def weighted_length(text: str) -> int:
    """The length X counts for `text` (limit: 280)."""
    text = unicodedata.normalize("NFC", text)
    total, last = 0, 0
    for match in _URL.finditer(text):
        total += _plain_weight(text[last : match.start()]) + URL_WEIGHT
        last = match.end()
    return total + _plain_weight(text[last:])


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
