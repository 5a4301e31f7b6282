"""No credential in any text the engine writes: known shapes (query strings, headers,
OAuth fields, JSON bodies, review links) and the values adapters hold, by value."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

# Credential fields that are not secret (registered values are redacted from every log).
NOT_SECRET = frozenset({"expires_at"})

# Where credentials show up in text: a Graph API URL's query string (facebook-sdk sends
# the token as `access_token=` on GET), Authorization headers, OAuth 1.0a header fields,
# and JSON bodies of credentials. Longest alternatives first.
_SECRET = re.compile(
    r"""(?<![A-Za-z0-9_])(?P<key>(?:page_)?access_token(?:_secret)?|consumer_(?:key|secret)"""
    r"""|client_secret|oauth_(?:token|signature|consumer_key)|appsecret_proof"""
    r"""|refresh_token|fb_exchange_token|code_verifier)"""
    r"""(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^&\s"',)]+)"""
    # Capabilities in query strings: any parameter whose name says key, token, secret,
    # auth, signature, password, JWT, session or credential, and OAuth codes and states.
    r"""|(?P<qsep>[?&])(?P<qkey>[\w.-]*?(?:key|token|secret|auth|sig|password|passwd|pwd"""
    r"""|jwt|session|credential)[\w.-]*|code|state)"""
    r"""=(?P<qvalue>[^&\s"']+)"""
    r"""|(?P<scheme>Bearer)\s+(?P<cred>[^\s"',]+)"""
    # A review link's path is its capability token (api/review/page.py).
    r"""|(?P<page>/review/)(?P<link>[^/\s?"]+)""",
    re.IGNORECASE,
)


# Credential values this process holds (adapters register theirs): whatever a library
# logs them inside (oauthlib's "Collected params: [('oauth_token', ...)]", a percent-encoded
# signature base string), the value itself is replaced.
# The values in use, per holder (an account), the latest few sets each: a refreshed
# token replaces the oldest; two channels of one account keep theirs apart.
_KNOWN: dict[str, list[frozenset[str]]] = {}
_PER_HOLDER = 4
_KNOWN_LOCK = threading.Lock()
_KNOWN_PATTERN: re.Pattern[str] | None = None  # one alternation of them all, longest first
_SHORTEST_SECRET = 8  # shorter values are too likely to be ordinary words


def remember_secrets(*values: object, holder: str = "") -> None:
    """Register credential values so that `redact` hides them wherever they appear; the
    set stays as large as the credentials in use."""
    global _KNOWN_PATTERN
    forms = set()
    for value in values:
        if isinstance(value, str) and len(value) >= _SHORTEST_SECRET:
            encoded = quote(value, safe="")
            forms |= {value, encoded, quote(encoded, safe="")}
    frozen = frozenset(forms)
    with _KNOWN_LOCK:
        sets = _KNOWN.setdefault(holder, [])
        if not frozen or frozen in sets:
            return
        sets.append(frozen)
        del sets[:-_PER_HOLDER]
        known = sorted(set().union(*(f for held in _KNOWN.values() for f in held)), key=len)
        _KNOWN_PATTERN = re.compile("|".join(map(re.escape, reversed(known))))


def redact(text: str) -> str:
    """`text` with every credential value it carries replaced by `[redacted]`."""

    def hide(match: re.Match[str]) -> str:
        if match.group("key"):
            return f"{match.group('key')}{match.group('sep')}[redacted]"
        if match.group("page"):
            return f"{match.group('page')}[redacted]"
        if match.group("qkey"):
            return f"{match.group('qsep')}{match.group('qkey')}=[redacted]"
        return f"{match.group('scheme')} [redacted]"

    text = _SECRET.sub(hide, text)
    pattern = _KNOWN_PATTERN
    return pattern.sub("[redacted]", text) if pattern is not None else text
