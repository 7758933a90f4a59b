"""``declared[NAME]``: does each index the project declares in ``[tool.idx-auth.indexes]``
have a working credential in the store? Pure: declarations, uv's indexes, store entries, now.

"Working" as far as the store can tell without the network: an entry covers the index URL
(under the declared username, if one is declared), it was made by the declared provider, and
its secret has not expired (a provider entry whose refresh keeps failing is named with its
last error). Whether the index accepts it is the ``probe`` check's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from keyring_idx.declared import Declared
from keyring_idx.doctor.model import Check
from keyring_idx.resolver.config import Index, strip_userinfo
from store import lookup
from store.errors import StoreError
from store.model import Ambiguous, Entry

FIX = "idx-auth login --project"


def check_declared(
    declared: Sequence[Declared],
    indexes: Mapping[str, Index],
    entries: Sequence[Entry],
    now: datetime,
    *,
    store_error: str | None = None,
) -> list[Check]:
    return [_one(d, indexes, entries, now, store_error) for d in declared]


def _one(
    d: Declared,
    indexes: Mapping[str, Index],
    entries: Sequence[Entry],
    now: datetime,
    store_error: str | None,
) -> Check:
    name = f"declared[{d.name}]"
    index = indexes.get(d.name)
    if index is None:
        return Check(
            name,
            "fail",
            f"declared in [tool.idx-auth.indexes.{d.name}], but no uv index has that name",
            f'add [[tool.uv.index]] with name = "{d.name}", or rename the table',
        )
    url = strip_userinfo(index.url)
    if store_error is not None:
        return Check(name, "fail", f"{url}: the store cannot be read ({store_error})", FIX)
    username = d.get("username")
    try:
        found = lookup.find(entries, url, username)
    except StoreError as exc:
        return Check(name, "fail", f"{url}: {exc}", FIX)
    who = f" for {username}" if username else ""
    if found is None:
        return Check(name, "fail", f"{url}: no credential stored{who}", FIX)
    if isinstance(found, Ambiguous):
        return Check(
            name,
            "fail",
            f"{url}: several stored usernames could answer; none is declared",
            f"declare username in [tool.idx-auth.indexes.{d.name}], then {FIX}",
        )
    return _entry_verdict(name, d, url, found, now)


def _entry_verdict(name: str, d: Declared, url: str, entry: Entry, now: datetime) -> Check:
    who = f"{entry.username}@{entry.service}" if entry.username else entry.service
    refresh = dict(entry.refresh)
    stored = refresh.get("provider")
    wanted = d.provider
    if entry.secret is None:
        return Check(name, "fail", f"{who} has no secret", FIX)
    if entry.expires_at is not None and entry.expires_at <= now:
        error = refresh.get("last-error")
        why = f"; last refresh error: {error}" if error else ""
        return Check(name, "fail", f"{who}: its {stored or 'token'} secret has expired{why}", FIX)
    if wanted != stored:
        return Check(
            name,
            "warn",
            f"{who} was stored {_how(stored)}, the project declares {_how(wanted)}",
            f"{FIX} to store it as declared",
        )
    if refresh.get("last-error"):
        return Check(
            name,
            "warn",
            f"{who}: valid, but its last refresh failed: {refresh['last-error']}",
            "fix what the error names; the current secret is served until it expires",
        )
    return Check(name, "ok", f"{who} ({_how(stored)}) covers {url}")


def _how(provider: str | None) -> str:
    return f"with the {provider} provider" if provider else "with a typed password"
