"""What makes an entry storable: the one check every writer runs before a write, and every
reader runs on each entry it reads. Pure.

A rule that only readers enforced let a writer (``keyring set "" u``, an agent ``login`` with a
bearer scheme and a username, a service that is not an index URL) store an entry that made the
whole file unreadable for every later command. Writers now refuse such an entry with a one-line
error (exit 2); readers that meet one written by an older version skip it, name it, and serve
the others (:mod:`store.codec`).
"""

from __future__ import annotations

from store.errors import StoreError
from store.model import SCHEMES, Entry

# Bounds on names: a keyring service or username is a short line, not a payload.
MAX_SERVICE = 2048
MAX_USERNAME = 1024


class InvalidEntryError(StoreError):
    """An entry no reader would accept; the message names it and the rule it breaks."""


def entry_problem(entry: Entry) -> str | None:
    """Why ``entry`` cannot be stored, or None when it can."""
    if entry.scheme not in SCHEMES:
        return f"unknown scheme {entry.scheme!r} (expected basic or bearer)"
    if not entry.service:
        return "the service is empty"
    if len(entry.service) > MAX_SERVICE:
        return f"the service is longer than {MAX_SERVICE} characters"
    if entry.username is not None and len(entry.username) > MAX_USERNAME:
        return f"the username is longer than {MAX_USERNAME} characters"
    # Control characters are allowed in plain names and usernames (keyring's own contract
    # stores any text); everything that shows them escapes them (store.redaction).
    if entry.scheme == "bearer" and entry.username is not None:
        return "a bearer entry takes no username (drop the username, or use the basic scheme)"
    if entry.scheme == "basic" and entry.username is None and not entry.plain:
        return "a basic entry needs a username"
    if not entry.plain:
        return _url_problem(entry.service)
    return None


def check_entry(entry: Entry) -> None:
    """Raise InvalidEntryError naming ``entry`` if it cannot be stored."""
    problem = entry_problem(entry)
    if problem is not None:
        raise InvalidEntryError(f"refusing to store {describe(entry)}: {problem}")


def describe(entry: Entry) -> str:
    """The entry for a one-line message: printable, bounded, no secret."""
    from store.redaction import printable

    who = f"{entry.username}@{entry.service}" if entry.username else entry.service
    return repr(printable(who, 200))


def _url_problem(key: str) -> str | None:
    from store import service

    if not key.lower().startswith(("https://", "http://")):
        return "the service is not an http(s) URL (plain keyring names go through keyring)"
    try:
        url = service.parse_service(key)
    except StoreError as exc:
        return str(exc)
    if url.username is not None or url.password is not None:
        return "the service URL carries a user name or password"
    return None
