"""Which stored entry answers a keyring lookup. Pure: entries in, a decision out.

uv and pip ask ``keyring`` for a *service* string in several shapes, most specific first:

- the index URL as configured (``https://h/api/simple/``, with or without ``/simple`` and the
  trailing slash) or, for other requests, the full request URL: uv's own rules apply
  (:func:`store.service.select`: exact key, else the longest whole-segment path prefix), so a
  token stored for ``/team-a`` never answers ``/team-b`` and never crosses ports;
- ``host`` or ``host:port`` (no scheme), and ``scheme://host[:port]`` (no path): answered only
  by an entry stored for the whole host (path ``/``) on that port, since one stored for
  ``/team-a`` must not reach requests elsewhere on the host (uv asks the host form after the
  index URL found nothing);
- anything else is a plain keyring name (``keyring set myapp alice``), matched exactly.

A plain entry whose name is exactly the service string is tried first, whatever its shape,
so ``keyring set pypi.example.com alice`` (stored as a plain name) answers uv's host lookup.

A lookup without a username that several usernames would answer equally well is
:class:`~store.model.Ambiguous`: the caller returns nothing and tells the user which usernames
exist.

This is the only matcher: :func:`store.access.get_credential` (the keyring backend, the
resolver, ``idx-auth token``), the agent and ``idx-auth doctor`` all decide with :func:`find`.

Lookups over many entries stay cheap: an entry whose stored service is already in normal form
and names another origin is skipped on a string check, without a URL parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from store import service as svc
from store.errors import InvalidServiceError
from store.model import Ambiguous, Entry, entry_key

__all__ = ["find"]


_NOT_IN_BARE_HOST = frozenset("/\\?#@")


class _Query(NamedTuple):
    """A service string classified: ``url`` for URLs with a path; ``host`` (with ``port``, and
    ``scheme`` when one was given) for the host-only forms; neither for a plain name."""

    raw: str
    url: svc.ServiceUrl | None = None
    host: str | None = None
    port: int | None = None
    scheme: str | None = None


def _parse_query(raw: str) -> _Query:
    if "://" in raw:
        try:
            url = svc.parse_service(raw)
        except InvalidServiceError:
            return _Query(raw)
        if url.path == "/" and _has_no_path(raw):
            return _Query(raw, host=url.host, port=url.port, scheme=url.scheme)
        return _Query(raw, url=url)
    if not raw or any(c in _NOT_IN_BARE_HOST or c.isspace() for c in raw):
        return _Query(raw)
    host_part, port = raw, None
    head, sep, tail = raw.rpartition(":")
    if sep and tail.isascii() and tail.isdigit():
        host_part, port = head, int(tail)
        if not 0 < port < 65536:
            return _Query(raw)
    try:
        url = svc.parse_service("https://" + host_part)
    except InvalidServiceError:
        return _Query(raw)
    if url.port is not None or url.path != "/":
        return _Query(raw)
    return _Query(raw, host=url.host, port=port)


def _has_no_path(raw: str) -> bool:
    rest = raw.strip().split("://", 1)[1]
    return not any(c in rest for c in "/\\?#")


def find(entries: Sequence[Entry], service: str, username: str | None) -> Entry | Ambiguous | None:
    """The entry that answers ``service`` (and ``username`` when given), :class:`Ambiguous`
    when only a username could tell, or None."""
    plain = _find_plain(entries, service, username)
    if plain is not None:
        return plain
    query = _parse_query(service)
    if query.url is not None:
        return _find_url(entries, query.url, username)
    if query.host is not None:
        return _find_host(entries, query, username)
    return None


def _find_plain(
    entries: Iterable[Entry], name: str, username: str | None
) -> Entry | Ambiguous | None:
    hits = {
        e.username: e
        for e in entries
        if e.plain and e.service == name and (username is None or e.username == username)
    }
    if len(hits) > 1:
        return Ambiguous(name, _names(hits))
    return next(iter(hits.values()), None)


def _find_url(
    entries: Sequence[Entry], url: svc.ServiceUrl, username: str | None
) -> Entry | Ambiguous | None:
    # select skips other origins itself (service.may_be_on_origin), cheaply.
    candidates = [e for e in entries if not e.plain]
    return svc.select(candidates, url, username, key=entry_key)


def _find_host(
    entries: Sequence[Entry], query: _Query, username: str | None
) -> Entry | Ambiguous | None:
    assert query.host is not None
    by_key: dict[tuple[str, str | None], Entry] = {}
    for entry in _on_origin(entries, query.scheme, query.host, query.port):
        stored = svc.parse_stored(entry.service)
        # Only an entry for the whole host answers a host lookup: one stored for a path
        # (/team-a) must not reach requests elsewhere on that host.
        if stored is None or stored.path != "/" or not _same_host(stored, query):
            continue
        if username is None or entry.username == username:
            by_key[(stored.service, entry.username)] = entry
    if len(by_key) > 1:
        if username is not None:
            return None  # the same user under two spellings of one key; no guessing
        return Ambiguous(query.raw, _names({k[1]: None for k in by_key}))
    return next(iter(by_key.values()), None)


def _same_host(stored: svc.ServiceUrl, query: _Query) -> bool:
    if stored.host != query.host:
        return False
    if query.scheme is not None:
        return stored.scheme == query.scheme and stored.port == query.port
    if query.port is None:
        return stored.port is None
    return (stored.port or svc.DEFAULT_PORTS[stored.scheme]) == query.port


def _on_origin(
    entries: Iterable[Entry], scheme: str | None, host: str, port: int | None
) -> list[Entry]:
    """Index entries that may live on this origin; a cheap superset (see the module doc)."""
    return [
        e for e in entries if not e.plain and svc.may_be_on_origin(e.service, scheme, host, port)
    ]


def _names(keyed: Mapping[str | None, object]) -> tuple[str, ...]:
    return tuple(sorted(n for n in keyed if n is not None))
