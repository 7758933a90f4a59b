"""Facts derived from values: uv's keyring-provider setting, what each index has, which
interpreter a ``keyring`` script runs. Pure; the gathering shell feeds them what it read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from keyring_idx.doctor.model import IndexFacts, ProviderFacts, StoredCredential
from keyring_idx.resolver.config import PYPI_URL, Index, Layer, Settings, env_name
from keyring_idx.resolver.credentials import Netrc
from store import lookup
from store.errors import StoreError
from store.model import Ambiguous, Entry

PROVIDERS = ("disabled", "subprocess")


def configured_indexes(settings: Settings) -> tuple[Index, ...]:
    """Every index uv may ask: the search order, then explicit indexes (first of each name)."""
    order = list(settings.search_order())
    names = {i.name for i in order if i.name is not None}
    for index in settings.indexes:
        if index.explicit and index.name is not None and index.name not in names:
            names.add(index.name)
            order.append(index)
    return tuple(order)


def is_pypi(index: Index) -> bool:
    return index.display_url.rstrip("/") == PYPI_URL


def is_local(index: Index) -> bool:
    """A ``file://`` index: a directory, nothing to authenticate or probe."""
    return urlsplit(index.url).scheme == "file"


def provider_facts(
    env: Mapping[str, str], layers: Sequence[Layer], indexes: Iterable[Index]
) -> ProviderFacts:
    """uv's ``keyring-provider``: ``UV_KEYRING_PROVIDER``, else the first configuration layer
    that sets it (top level before ``[pip]``, which only ``uv pip`` reads)."""
    private = sum(1 for i in indexes if not (is_pypi(i) or is_local(i)))
    value = env.get("UV_KEYRING_PROVIDER")
    if value:
        return ProviderFacts(value, "UV_KEYRING_PROVIDER", private_indexes=private)
    for layer in layers:
        top = layer.table.get("keyring-provider")
        if isinstance(top, str):
            return ProviderFacts(top, layer.origin, private_indexes=private)
        pip: Any = layer.table.get("pip")
        if isinstance(pip, Mapping) and isinstance(pip.get("keyring-provider"), str):
            return ProviderFacts(
                pip["keyring-provider"],
                f"[pip] in {layer.origin}",
                pip_only=True,
                private_indexes=private,
            )
    return ProviderFacts(None, private_indexes=private)


def index_facts(
    index: Index,
    env: Mapping[str, str],
    entries: Sequence[Entry],
    netrc_data: Netrc | None = None,
) -> IndexFacts:
    """What uv knows about ``index`` before it sends a request, and what our store holds."""
    env_user = env_pass = None
    if index.name is not None:
        stem = f"UV_INDEX_{env_name(index.name)}_"
        env_user, env_pass = env.get(stem + "USERNAME"), env.get(stem + "PASSWORD")
    parts = urlsplit(index.url)
    url_user = unquote(parts.username) if parts.username else None
    netrc_login = None
    if netrc_data is not None and parts.hostname:
        found = netrc_data.lookup(parts.hostname, None)
        netrc_login = found.username if found is not None else None
    stored, ambiguous, error = (
        ((), False, None) if is_local(index) else store_coverage(index.display_url, entries)
    )
    return IndexFacts(
        index=index,
        env_username=env_user or None,
        env_password=env_pass is not None,
        url_username=url_user,
        url_password=parts.password is not None,
        netrc_login=netrc_login,
        store=stored,
        store_ambiguous=ambiguous,
        store_error=error,
    )


def store_coverage(
    url: str, entries: Sequence[Entry]
) -> tuple[tuple[StoredCredential, ...], bool, str | None]:
    """What the keyring backend answers when uv asks for ``url``: per stored username, the
    entry a lookup with that username finds, and the entry (or ambiguity) of a lookup without
    one; whether that is ambiguous; and why the store could not be searched, if it could not.

    uv asks for the index URL as configured, then for ``host[:port]``; the backend answers
    each with :func:`store.lookup.find`, as here."""
    parts = urlsplit(url)
    queries = [url, parts.netloc.rpartition("@")[2]]

    def ask(username: str | None) -> Entry | Ambiguous | None:
        for query in queries:
            hit = lookup.find(entries, query, username)
            if hit is not None:
                return hit
        return None

    found: dict[tuple[str, str | None], StoredCredential] = {}
    try:
        for username in sorted({e.username for e in entries if e.username is not None}):
            hit = ask(username)
            if isinstance(hit, Entry):
                found[(hit.service, hit.username)] = _shown(hit)
        anonymous = ask(None)
    except StoreError as exc:
        return (), False, str(exc)
    if isinstance(anonymous, Entry):
        found.setdefault((anonymous.service, anonymous.username), _shown(anonymous))
    return tuple(found.values()), isinstance(anonymous, Ambiguous), None


def _shown(entry: Entry) -> StoredCredential:
    return StoredCredential(entry.service, entry.username, entry.scheme)


# --- the keyring script -------------------------------------------------------------------

# pip's (distlib's) launcher for interpreter paths a shebang cannot hold (long, with spaces):
#   #!/bin/sh
#   '''exec' "/path with space/python" "$0" "$@"
_TRAMPOLINE = re.compile(r"""^'''exec' (?P<python>"[^"]+"|\S+) "\$0" "\$@"\s*$""")


def interpreter(head: str, which: Callable[[str], str | None]) -> list[str] | None:
    """The argv prefix that runs a script whose first lines are ``head``; None if there is no
    Python interpreter to be found there (a binary, no shebang). ``which`` resolves
    ``/usr/bin/env NAME``."""
    lines = head.splitlines()
    if not lines or not lines[0].startswith("#!"):
        return None
    try:
        words = shlex.split(lines[0][2:].strip())
    except ValueError:
        return None
    if not words:
        return None
    if words[0].endswith("/sh") and len(lines) > 1:
        match = _TRAMPOLINE.match(lines[1])
        return [match.group("python").strip('"')] if match else None
    if words[0].endswith("/env"):
        rest = [w for w in words[1:] if w != "-S"]
        while rest and "=" in rest[0]:  # env VAR=value python
            rest.pop(0)
        if not rest:
            return None
        found = which(rest[0])
        return [found, *rest[1:]] if found else None
    return words
