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
    # Capabilities in query strings: API keys, OAuth codes and states, signed links.
    r"""|(?P<qsep>[?&])(?P<qkey>api_key|apikey|key|token|code|state|sig|signature|password)"""
    r"""=(?P<qvalue>[^&\s"']+)"""
    r"""|(?P<scheme>Bearer)\s+(?P<cred>[^\s"',]+)"""
    # A review link's path is its capability token (api/review_page.py).
    r"""|(?P<page>/review/)(?P<link>[^/\s?"]+)""",
    re.IGNORECASE,
)


# Credential values this process holds (adapters register theirs): whatever a library
# logs them inside (oauthlib's "Collected params: [('oauth_token', ...)]", a percent-encoded
# signature base string), the value itself is replaced.
_KNOWN_SECRETS: set[str] = set()
_KNOWN_LOCK = threading.Lock()
_SHORTEST_SECRET = 8  # shorter values are too likely to be ordinary words


def remember_secrets(*values: object) -> None:
    """Register credential values so that `redact` hides them wherever they appear."""
    forms = set()
    for value in values:
        if isinstance(value, str) and len(value) >= _SHORTEST_SECRET:
            encoded = quote(value, safe="")
            forms |= {value, encoded, quote(encoded, safe="")}
    if forms - _KNOWN_SECRETS:
        with _KNOWN_LOCK:
            _KNOWN_SECRETS.update(forms)


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
    for secret in sorted(_KNOWN_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text
