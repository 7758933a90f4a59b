"""Where a request's credentials come from, as the uv 0.13.9 binary takes them.

1. Eager, before any request: the userinfo of the index URL, else ``UV_INDEX_<NAME>_USERNAME``
   / ``_PASSWORD`` (the URL wins even when it is wrong; a password without a username is
   sent as Basic with an empty username).
2. Searched (see :mod:`keyring_idx.resolver.client` for when): netrc (host match), then uv's
   own plaintext ``credentials.toml``, then ``keyring`` -- our store, through the keyring
   backend -- but only with ``keyring-provider = "subprocess"`` and a known username (or
   ``authenticate = "always"``). Never with ``authenticate = "never"``.

Pure except :func:`read_netrc` and whatever the injected sources do.
"""

from __future__ import annotations

import base64
import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from keyring_idx.resolver.config import Index, env_name

CredentialKind = Literal["url", "env", "netrc", "uv-store", "store", "none"]


class CredentialSource(Protocol):
    """Our store, seen from the resolver.

    ``lookup`` returns ``(username, secret)`` for the longest stored service that is a prefix
    of ``url`` (and has ``username``, when given); a None username means a bearer token.
    """

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None: ...


@dataclass(frozen=True, slots=True)
class RequestAuth:
    """What a request to an index carries, and where it came from (``kind``). The store's
    own record is :class:`store.credential.Credential`."""

    kind: CredentialKind
    username: str | None
    secret: str | None = field(repr=False)
    bearer: bool = False  # a token entry of a store: sent as ``Bearer``

    @property
    def complete(self) -> bool:
        return self.secret is not None

    def header(self) -> str:
        if self.bearer and self.secret is not None:
            return f"Bearer {self.secret}"
        # uv sends what it has: a password without a username as ":password", a username
        # without a password as "username:"
        raw = f"{self.username or ''}:{self.secret or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def describe(self) -> str:
        who = "a bearer token" if self.bearer else f"user {self.username or '(empty)'}"
        return f"{self.kind} ({who})"


def eager_credential(index: Index, env: Mapping[str, str]) -> RequestAuth | None:
    """What uv attaches before the first request; may hold only a username."""
    if index.authenticate == "never":
        return None
    parts = urlsplit(index.url)
    if parts.username is not None or parts.password is not None:
        password = unquote(parts.password) if parts.password is not None else None
        return RequestAuth("url", unquote(parts.username or ""), password)
    if index.name is not None:
        stem = f"UV_INDEX_{env_name(index.name)}_"
        user, password = env.get(stem + "USERNAME"), env.get(stem + "PASSWORD")
        if user is not None or password is not None:
            return RequestAuth("env", user, password)
    return None


@dataclass(frozen=True, slots=True)
class NetrcEntry:
    """One machine (or default) line of a netrc file."""

    login: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Netrc:
    """A parsed netrc file, looked up as uv does."""

    hosts: Mapping[str, NetrcEntry]
    default: NetrcEntry | None = None

    def lookup(self, host: str, username: str | None) -> RequestAuth | None:
        entry = self.hosts.get(host.lower(), self.default)
        if entry is None or (username is not None and entry.login != username):
            return None
        return RequestAuth("netrc", entry.login, entry.password)


def read_netrc(env: Mapping[str, str]) -> tuple[Netrc | None, str | None]:
    """The user's netrc (``NETRC`` or ``~/.netrc``) and a note when it exists but can't be used."""
    path = Path(env["NETRC"]) if env.get("NETRC") else Path(env.get("HOME", "~")) / ".netrc"
    path = path.expanduser()
    if not path.is_file():
        return None, None
    try:
        parsed = netrc.netrc(os.fspath(path))
    except (netrc.NetrcParseError, OSError) as exc:
        return None, f"netrc {path} ignored: {exc.__class__.__name__}"
    hosts: dict[str, NetrcEntry] = {}
    default = None
    for host, (login, _account, password) in parsed.hosts.items():
        entry = NetrcEntry(login or "", password or "")
        if host == "default":
            default = entry
        else:
            hosts[host.lower()] = entry
    return Netrc(hosts, default), None


def search(
    url: str,
    username: str | None,
    netrc_data: Netrc | None,
    store: CredentialSource | None,
    uv_store: CredentialSource | None = None,
    keyring_skipped: str | None = None,
) -> tuple[RequestAuth | None, list[str]]:
    """netrc, then uv's plaintext store, then keyring (our store); returns what was found and
    one note per source asked. ``keyring_skipped`` says why uv would not run keyring (then
    ``store`` is not asked)."""
    notes: list[str] = []
    host = urlsplit(url).hostname or ""
    if netrc_data is not None:
        found = netrc_data.lookup(host, username)
        notes.append(f"netrc: {'entry for ' + host if found else 'no entry'}")
        if found is not None:
            return found, notes
    else:
        notes.append("netrc: none")
    if uv_store is not None:
        hit = uv_store.lookup(url, username)
        notes.append(f"uv's credentials.toml: {'found' if hit else 'nothing for this URL'}")
        if hit is not None:
            return RequestAuth("uv-store", hit[0], hit[1], bearer=hit[0] is None), notes
    if keyring_skipped is not None:
        notes.append(f"keyring (our store): not asked, {keyring_skipped}")
    elif store is not None:
        hit = store.lookup(url, username)
        notes.append(f"keyring (our store): {'found' if hit else 'nothing for this URL'}")
        if hit is not None:
            return RequestAuth("store", hit[0], hit[1], bearer=hit[0] is None), notes
    else:
        notes.append("keyring (our store): not available")
    return None, notes
