"""Service URLs: parsing, normalisation and matching, exactly as uv 0.13.9 does them.

A *service* is the key a credential is stored under (``credentials.toml``'s ``service``). uv parses
it as a WHATWG URL (the Rust ``url`` crate), so two spellings of the same index end up under one
key. We reproduce that normalisation for the two schemes a service may use (``http`` only for
loopback hosts, ``https`` everywhere) and uv's lookup rules: exact key first, then the longest
stored path that is a whole-segment prefix of the request path.

One deliberate difference: uv keeps URL userinfo inside the stored key (a known defect); here it
always moves to :attr:`ServiceUrl.username` / :attr:`ServiceUrl.password` and never reaches
:attr:`ServiceUrl.service`.

Pure module: no I/O. The low-level WHATWG pieces live in :mod:`store._whatwg`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import NewType, TypeVar

from store._whatwg import DEFAULT_PORTS, UrlSyntaxError, split_url
from store.credential import Ambiguous
from store.errors import InvalidServiceError

__all__ = [
    "DEFAULT_PORTS",
    "LOOPBACK_HOSTS",
    "Service",
    "ServiceUrl",
    "covers",
    "is_loopback_host",
    "may_be_on_origin",
    "origin",
    "parse_login_service",
    "parse_service",
    "parse_stored",
    "select",
]

Service = NewType("Service", str)

#: Hosts for which uv accepts plain ``http`` (compared after normalisation).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

_EXAMPLE_FIX = "give an index URL such as https://pypi.example.com/simple"


@dataclass(frozen=True, slots=True)
class ServiceUrl:
    """A parsed, normalised service URL.

    ``query`` and ``fragment`` are kept in :attr:`service` because uv keeps them in its key
    (``https://h/a?x=1`` is stored as such); they play no part in matching, which looks at
    scheme, host, port and path only.
    """

    scheme: str
    host: str
    port: int | None
    path: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    query: str | None = None
    fragment: str | None = None

    @property
    def service(self) -> Service:
        """The normalised key: ``scheme://host[:port]path[?query][#fragment]``, no userinfo."""
        text = f"{self.scheme}://{self.host}"
        if self.port is not None:
            text += f":{self.port}"
        text += self.path
        if self.query is not None:
            text += f"?{self.query}"
        if self.fragment is not None:
            text += f"#{self.fragment}"
        return Service(text)

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def without_userinfo(self) -> ServiceUrl:
        return replace(self, username=None, password=None)

    def __str__(self) -> str:
        return self.service


def origin(raw: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an ``http(s)`` URL as uv's URL parser reads it (host
    normalised, the default port filled in); None for any other scheme or an unparsable URL.

    The resolver compares request origins with this, so deciding where a credential may go
    and which stored credential answers read a request URL the same way.
    """
    try:
        parts = split_url(raw)
    except UrlSyntaxError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        return None
    return parts.scheme, parts.host, parts.port or DEFAULT_PORTS[parts.scheme]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is one for which plain ``http`` is accepted: ``localhost``,
    ``127.0.0.1`` or ``[::1]`` in any spelling the URL parser reads as one of them
    (``LOCALHOST``, ``127.1``, ``::1`` without brackets). The only meaning of "loopback" here:
    service URLs, the resolver's credentials and token endpoints all use it."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    try:
        parts = split_url(f"http://{host}/")
    except UrlSyntaxError:
        return False
    return parts.host in LOOPBACK_HOSTS and parts.path == "/"


def _redact(raw: str) -> str:
    """The input as it may appear in a one-line message: anything that could be userinfo
    masked, control characters escaped."""
    at = raw.rfind("@")
    if at >= 0:
        sep = raw.find("://")
        start = sep + 3 if 0 <= sep < at else 0
        raw = f"{raw[:start]}***{raw[at:]}"
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in raw)


def _invalid(raw: str, problem: str, fix: str) -> InvalidServiceError:
    return InvalidServiceError(f"invalid service URL '{_redact(raw)}': {problem}; {fix}")


def parse_service(raw: str) -> ServiceUrl:
    """Parse and normalise a service URL the way uv parses a ``SERVICE`` argument.

    No scheme means ``https://``; ``http`` is accepted only for loopback hosts. Raises
    :class:`~store.errors.InvalidServiceError` with a one-line message naming the input and the fix.
    """
    try:
        parts = split_url(raw)
    except UrlSyntaxError as exc:
        raise _invalid(raw, exc.problem, exc.fix or _EXAMPLE_FIX) from None
    if parts.scheme not in ("http", "https"):
        if parts.scheme_looks_like_host:
            raise _invalid(
                raw,
                f"{parts.scheme!r} is read as a URL scheme (host:port needs a scheme in front)",
                f"write https://{_redact(raw.strip())}",
            )
        raise _invalid(
            raw,
            f"unsupported scheme {parts.scheme!r}",
            "use https:// (or http:// for localhost, 127.0.0.1, [::1])",
        )
    url = ServiceUrl(
        scheme=parts.scheme,
        host=parts.host,
        port=parts.port,
        path=parts.path,
        username=parts.username,
        password=parts.password,
        query=parts.query,
        fragment=parts.fragment,
    )
    if url.scheme == "http" and not url.is_loopback:
        secure = replace(url, scheme="https", port=None if url.port == 443 else url.port)
        raise _invalid(
            raw,
            "HTTPS is required for non-local hosts",
            f"use {secure.service} (plain http only for localhost, 127.0.0.1, [::1])",
        )
    return url


def _strip_simple(path: str) -> str:
    """uv's index "root": drop a final ``simple``/``+simple`` segment (one trailing slash
    ignored) and the slash before it. Any other path is returned unchanged."""
    segments = path[1:].split("/")
    if segments[-1] == "" and len(segments) > 1:
        segments.pop()
    last = segments[-1]
    if not (last.isascii() and last.lower() in ("simple", "+simple")):
        return path
    segments.pop()
    return "/" + "/".join(segments)


def parse_login_service(raw: str) -> ServiceUrl:
    """:func:`parse_service` plus the ``login``/``logout`` rule: a last path segment ``simple``
    or ``+simple`` (any ASCII case, one trailing slash allowed) is dropped together with the
    slash before it, so ``https://h/api/simple/`` is stored as ``https://h/api``."""
    url = parse_service(raw)
    return replace(url, path=_strip_simple(url.path))


@functools.lru_cache(maxsize=65536)
def parse_stored(raw: str) -> ServiceUrl | None:
    """A stored service string parsed (cached, userinfo dropped), or None if it is invalid."""
    try:
        return parse_service(raw).without_userinfo()
    except InvalidServiceError:
        return None


def _path_prefix(prefix: str, path: str) -> bool:
    if path == prefix:
        return True
    if not path.startswith(prefix):
        return False
    return prefix.endswith("/") or path[len(prefix)] == "/"


def covers(stored: ServiceUrl, request: ServiceUrl) -> bool:
    """Whether a credential stored for ``stored`` applies to ``request``.

    Same scheme, host and port, and the stored path a whole-segment prefix of the request
    path: ``/api`` covers ``/api``, ``/api/`` and ``/api/x`` but not ``/apiary``; ``/foo/``
    does not cover ``/foo``. Query, fragment and userinfo are ignored.
    """
    return (
        stored.scheme == request.scheme
        and stored.host == request.host
        and stored.port == request.port
        and _path_prefix(stored.path, request.path)
    )


T = TypeVar("T")

# A stored service whose authority is already in normal form: lower-case scheme and host, a
# port that is neither default nor zero-padded. Only such text can be judged without parsing.
_NORMAL_AUTHORITY = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(?=[/?#]|\Z)"
)


def may_be_on_origin(raw: str, scheme: str | None, host: str, port: int | None) -> bool:
    """A cheap superset test: False only when ``raw`` (a stored service) certainly lives on
    another origin than ``scheme://host:port`` (``scheme=None``: any scheme; ``port=None``:
    the default port, or any port when ``scheme`` is None too).

    Only text in normal form is judged; anything the URL parser could rewrite (upper case,
    IPv4 shorthands such as ``0x7f.1``, IPv6, userinfo, percent-encoding, Unicode, a default
    port written out) answers True and is left to the full parse, so skipping never changes a
    lookup's result. It saves parsing most entries of a large store.
    """
    m = _NORMAL_AUTHORITY.match(raw)
    if m is None or not _is_normal_host(m.group(2)):
        return True
    stored_scheme, stored_host, stored_port_text = m.groups()
    if stored_host != host or (scheme is not None and stored_scheme != scheme):
        return False
    stored_port = int(stored_port_text) if stored_port_text else None
    if stored_port is not None and stored_port == DEFAULT_PORTS[stored_scheme]:
        return True  # not normal after all
    if scheme is not None:
        return stored_port == port
    return port is None or stored_port in (port, None)


def _is_normal_host(host: str) -> bool:
    """Whether the WHATWG host parser would return ``host`` unchanged (a domain or IPv4)."""
    last = host.rsplit(".", 1)[-1]
    hexish = last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])
    if not (last.isdigit() or hexish):
        return True
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and str(int(p)) == p and int(p) < 256 for p in parts)


def select(
    entries: Iterable[T],
    url: str | ServiceUrl,
    username: str | None,
    key: Callable[[T], tuple[str, str | None]],
) -> T | Ambiguous | None:
    """uv's credential lookup for a request URL.

    1. An entry whose stored service normalises to the request's service and whose username is
       ``username`` (``None`` matches only entries without one) wins outright.
    2. Otherwise every entry whose stored service :func:`covers` the request qualifies, provided
       its username equals ``username`` when one is given; the longest stored path wins.
    3. Two different keys tied on that longest path: :class:`~store.model.Ambiguous` (for the
       request's service, with the tied entries' usernames).

    ``username=None`` falls back to the username in the request URL's userinfo. ``key(entry)``
    gives the stored ``(service, username)``; stored services that fail to parse are skipped.
    When the same key occurs twice the later entry wins, as in uv's map. Filtering out expired
    entries is the caller's business.
    """
    request = parse_service(url) if isinstance(url, str) else url
    if username is None:
        username = request.username
    target = request.service

    exact: T | None = None
    best_len = -1
    best: dict[tuple[str, str | None], T] = {}
    scheme, host, port = request.scheme, request.host, request.port
    for entry in entries:
        raw_service, stored_username = key(entry)
        if not may_be_on_origin(raw_service, scheme, host, port):
            continue  # cheap: most entries of a large store are for other hosts
        stored = parse_stored(raw_service)
        if stored is None:
            continue
        if stored_username == username and stored.service == target:
            exact = entry
            continue
        if exact is not None or not covers(stored, request):
            continue
        if username is not None and stored_username != username:
            continue
        length = len(stored.path)
        if length < best_len:
            continue
        if length > best_len:
            best_len = length
            best = {}
        best[(stored.service, stored_username)] = entry
    if exact is not None:
        return exact
    if len(best) > 1:
        return Ambiguous(target, tuple(sorted({name for _, name in best if name is not None})))
    return next(iter(best.values()), None)
