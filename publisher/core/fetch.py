"""Fetching a URL a client gave us, without letting it reach inside our network (SSRF).

Every connection, the first and each redirect's, resolves its host itself, refuses the
whole host if any of its addresses is private, loopback, link-local, multicast or
otherwise not global, and connects to the address it checked (so a DNS answer that
changes between check and connect cannot slip through). At most a few redirects are
followed, and the body is read in chunks up to a size limit.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 3
TIMEOUT_S = 15.0
CHUNK = 64 * 1024


class FetchRefused(Exception):
    """The URL cannot be fetched; `reason` says why in words a client can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddress(OSError):
    pass


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix


def address_problem(ip: str) -> str | None:
    """Why we will not connect to `ip`, or None if it is a public address."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one reaches that IPv4 host: judge that one
        # (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002:aabb:ccdd::, Teredo's client, NAT64).
        embedded = [address.ipv4_mapped, address.sixtofour]
        embedded += list(address.teredo or ())
        if address in NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        for inner in embedded:
            if inner is not None and (problem := address_problem(str(inner))):
                return f"{ip} carries {inner}: {problem}"
        if address.ipv4_mapped:
            address = address.ipv4_mapped
    for kind in ("unspecified", "loopback", "link_local", "private", "multicast", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not address.is_global:
        return f"{ip} is not a public address"
    return None


def _guarded(base: type[HTTPConnection], allow_private: bool) -> type[HTTPConnection]:
    class Guarded(base):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            if not allow_private:
                for *_, sockaddr in infos:
                    if problem := address_problem(str(sockaddr[0])):
                        raise BlockedAddress(f"refused {self.host}: {problem}")
            last: OSError | None = None
            for family, kind, proto, _, sockaddr in infos:
                sock = socket.socket(family, kind, proto)
                try:
                    sock.settimeout(self.timeout if isinstance(self.timeout, float) else TIMEOUT_S)
                    sock.connect(sockaddr)  # the address just checked, not a new lookup
                    return sock
                except OSError as exc:
                    sock.close()
                    last = exc
            raise last or OSError(f"no address for {self.host}")

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        allow = self.allow_private

        class Http(HTTPConnectionPool):
            ConnectionCls = _guarded(HTTPConnection, allow)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _guarded(HTTPSConnection, allow)

        self.poolmanager.pool_classes_by_scheme = {"http": Http, "https": Https}


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str | None
    chunks: Iterator[bytes]


@contextmanager
def fetch(url: str, *, max_bytes: int, allow_private: bool = False) -> Iterator[Fetched]:
    """GET `url` safely; the body arrives through `chunks`, which raises FetchRefused once
    more than `max_bytes` came."""
    session = _guarded_session(allow_private)
    try:
        try:
            response = session.get(url, stream=True, timeout=TIMEOUT_S)
        except requests.TooManyRedirects as exc:
            raise FetchRefused(f"more than {MAX_REDIRECTS} redirects") from exc
        except requests.RequestException as exc:
            raise FetchRefused(_why(exc)) from exc
        with response:
            if response.status_code >= 400:
                raise FetchRefused(f"the URL answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"{int(declared)} bytes, more than the {max_bytes} allowed")

            def chunks() -> Iterator[bytes]:
                total = 0
                try:
                    for chunk in response.iter_content(CHUNK):
                        total += len(chunk)
                        if total > max_bytes:
                            raise FetchRefused(f"more than the {max_bytes} bytes allowed")
                        yield chunk
                except requests.RequestException as exc:
                    raise FetchRefused(_why(exc)) from exc

            yield Fetched(response.url, response.headers.get("Content-Type"), chunks())
    finally:
        session.close()


def _guarded_session(allow_private: bool) -> requests.Session:
    session = requests.Session()
    session.max_redirects = MAX_REDIRECTS
    session.trust_env = False  # no proxy from the environment: it would bypass the check
    adapter = _GuardedAdapter(allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first few hundred characters, for a delivery log


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_private: bool
) -> Answer:
    """POST `body` to `url` under the same address checks as `fetch`; redirects are not
    followed (a webhook receiver answers where it was registered). FetchRefused when no
    answer came."""
    with _guarded_session(allow_private) as session:
        try:
            response = session.post(
                url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise FetchRefused(_why(exc)) from exc
        with response:
            return Answer(response.status_code, response.text[:500])


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why a URL given for later calls (a webhook) points where we will not go, or None.
    Checked again at every connection: this is the early, friendly answer."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http(s) URL with a host"
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"{parts.hostname} does not resolve"
    for *_, sockaddr in infos:
        if problem := address_problem(str(sockaddr[0])):
            return f"{parts.hostname}: {problem}"
    return None


def _why(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return str(seen)
        seen = (
            seen.__cause__
            or seen.__context__
            or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        )
    if isinstance(exc, requests.Timeout):
        return "the URL did not answer in time"
    return f"the URL could not be fetched ({type(exc).__name__})"
