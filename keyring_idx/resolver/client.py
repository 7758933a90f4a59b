"""Fetching project pages over HTTP with uv's credential flow.

Requests go through a :class:`~keyring_idx.resolver.connections.Transport` (pooled keep-alive
connections per origin). Redirects are followed here, hop by hop, so credentials go only to the
index's own origin and never over plain http to a host other than loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from packaging.utils import NormalizedName

from keyring_idx.resolver.config import Index, Settings, strip_userinfo
from keyring_idx.resolver.connections import (
    MAX_BODY,
    MAX_DOWNLOAD,
    Connections,
    Reply,
    Transport,
)
from keyring_idx.resolver.credentials import (
    CredentialKind,
    CredentialSource,
    Netrc,
    RequestAuth,
    eager_credential,
    search,
)
from keyring_idx.resolver.errors import IndexRequestError, MissingCredentialsError
from keyring_idx.resolver.simple import ACCEPT, DistFile, parse_html, parse_page
from store import service
from store.network import NetworkSettings

MAX_REDIRECTS = 10
_RETRY_STATUSES = frozenset({401, 403, 404})
Origin = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class PageResult:
    """One index's answer for one project (or a flat index's whole listing)."""

    index: Index
    url: str  # the page URL, without userinfo
    status: int
    files: tuple[DistFile, ...]
    credential: CredentialKind
    notes: tuple[str, ...] = ()
    advice: str | None = None  # on a 401/403: why uv did not reach our store, and the fix


# URL parsing is a fair share of Python's work per page; these pure functions are asked the
# same few index URLs (and each page URL several times) over and over, so they are cached.


def page_url(index: Index, name: str) -> str:
    """``<index>/<normalized-name>/`` with userinfo removed, as uv builds it."""
    head, path, query = _page_base(index.url)
    return urlunsplit((head[0], head[1], path + f"/{name}/", query, ""))


@lru_cache(maxsize=256)
def _page_base(index_url: str) -> tuple[tuple[str, str], str, str]:
    parts = urlsplit(strip_userinfo(index_url))
    return (parts.scheme, parts.netloc), parts.path.rstrip("/"), parts.query


@lru_cache(maxsize=4096)
def origin(url: str) -> Origin | None:
    """The request's origin as the store's lookup reads the same URL (uv's URL parser)."""
    return service.origin(url)


def may_send(url: str, index_url: str) -> str | None:
    """Why credentials must not go with a request to ``url`` (None: they may)."""
    where = origin(url)
    if where is None:
        return "not sent: not an http(s) URL"
    if where != origin(index_url):
        return f"not sent to {where[1]}: another origin than the index"
    scheme, host, _ = where
    if scheme != "https" and not service.is_loopback_host(host):
        return "not sent: plain http to a non-loopback host"
    return None


class IndexClient:
    """Fetches project pages (and flat listings) and remembers what authenticated where."""

    def __init__(
        self,
        network: NetworkSettings,
        *,
        env: Mapping[str, str],
        store: CredentialSource | None = None,
        netrc_data: Netrc | None = None,
        insecure_hosts: tuple[str, ...] = (),
        transport: Transport | None = None,
        uv_store: CredentialSource | None = None,
        keyring_provider: str | None = None,
    ) -> None:
        """``keyring_provider`` is uv's setting: our store is asked (through keyring) only when
        it is ``"subprocess"`` and uv knows a username or the index says ``authenticate =
        "always"``, as uv does; None asks our store whenever a search runs (``doctor``'s
        probe of what the store holds). ``transport`` replaces the network (tests)."""
        self._transport: Transport = transport or Connections(
            network, env, frozenset(h.lower() for h in insecure_hosts)
        )
        self._env = env
        self._store = store
        self._netrc = netrc_data
        self._uv_store = uv_store
        self._provider = keyring_provider
        self._found: dict[str, RequestAuth] = {}  # index URL -> credential that worked
        self._flat: dict[str, PageResult] = {}
        self._lock = threading.Lock()
        self._flat_locks: dict[str, threading.Lock] = {}

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        env: Mapping[str, str],
        *,
        store: CredentialSource | None = None,
        netrc_data: Netrc | None = None,
        uv_store: CredentialSource | None = None,
        keyring_provider: str | None = None,
    ) -> IndexClient:
        """A client on the network ``settings`` and ``env`` describe: trust roots (and
        ``system-certs``), client certificate, proxies, ``allow-insecure-host``."""
        return cls(
            NetworkSettings.from_env(env, system_certs=settings.system_certs),
            env=env,
            store=store,
            netrc_data=netrc_data,
            insecure_hosts=settings.allow_insecure_host,
            uv_store=uv_store,
            keyring_provider=keyring_provider,
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def page(self, index: Index, name: NormalizedName) -> PageResult:
        """The project page of ``name`` on ``index``; flat indexes give their filtered listing."""
        if index.format == "flat":
            listing = self._flat_listing(index)
            return listing
        return self._fetch(index, page_url(index, name), parse_page)

    def root(self, index: Index) -> PageResult:
        """The index's own URL (its project list), with the same credential flow; the listing
        is not parsed. ``idx-auth doctor`` uses it to test a credential."""
        return self._fetch(index, strip_userinfo(index.url), lambda _ct, _body, _url: ())

    def download(self, index: Index, url: str, byte_range: str | None = None) -> Reply:
        """A file that ``index``'s page links (wheel, sdist, ``.metadata``), read whole, with
        the credential that worked for the index's pages (sent to the index's origin only).
        ``byte_range`` is a ``Range`` header value such as ``bytes=-65536``."""
        if url.startswith("file:"):
            return _local_file(url)
        with self._lock:
            cred = self._found.get(index.url)
        if cred is None and index.authenticate != "never":
            eager = eager_credential(index, self._env)
            cred = eager if eager is not None and eager.complete else None
        headers = {"Accept": "*/*"} | ({"Range": byte_range} if byte_range else {})
        response, _, _ = self._get(url, index.url, cred, headers, MAX_DOWNLOAD)
        if response.status in (401, 403) and cred is None and index.authenticate == "auto":
            found = self._search(index, url, None, [])
            if found is not None:
                response, _, _ = self._get(url, index.url, found, headers, MAX_DOWNLOAD)
        return response

    def _flat_listing(self, index: Index) -> PageResult:
        with self._lock:
            lock = self._flat_locks.setdefault(index.url, threading.Lock())
        with lock:
            cached = self._flat.get(index.url)
            if cached is None and index.url.startswith("file:"):
                from keyring_idx.resolver.local import list_directory

                cached = PageResult(index, index.url, 200, list_directory(index.url), "none")
                self._flat[index.url] = cached
            if cached is None:
                url = strip_userinfo(index.url)
                cached = self._fetch(index, url, lambda _ct, body, u: parse_html(body, u))
                self._flat[index.url] = cached
            return cached

    def _keyring_skipped(self, index: Index, username: str | None) -> str | None:
        """Why uv would not run ``keyring`` for this search (None: it would)."""
        if self._provider is None:
            return None
        if self._provider != "subprocess":
            return f"keyring-provider is {self._provider!r}"
        if username is None and index.authenticate != "always":
            return "uv knows no username for the index"
        return None

    def _search(
        self, index: Index, url: str, username: str | None, notes: list[str]
    ) -> RequestAuth | None:
        found, steps = search(
            url,
            username,
            self._netrc,
            self._store,
            self._uv_store,
            self._keyring_skipped(index, username),
        )
        notes += steps
        return found

    def _fetch(
        self,
        index: Index,
        url: str,
        parse: Callable[[str | None, bytes, str], tuple[DistFile, ...]],
    ) -> PageResult:
        """One page with uv's credential flow (uv 0.13.9, checked against the binary):

        - a complete credential (URL userinfo, else ``UV_INDEX_<NAME>_*``) is sent as it is,
          with no search and no retry, even when it is wrong;
        - a username from the URL, or ``authenticate = "always"``: search first, send what is
          found (else the bare username, ``user:``), no retry;
        - a username from ``UV_INDEX_<NAME>_USERNAME``: send ``user:``; on 401/403/404 search
          with that username and retry once;
        - nothing: send no credential; on 401/403/404 search without a username (so keyring is
          not asked) and retry once.
        """
        notes: list[str] = []
        with self._lock:
            cred = self._found.get(index.url)
        if cred is None:
            cred = eager_credential(index, self._env)
        may_retry = index.authenticate == "auto"
        incomplete = index.authenticate != "never" and not (cred is not None and cred.complete)
        if incomplete and (
            index.authenticate == "always" or (cred is not None and cred.kind == "url")
        ):
            may_retry = False
            found = self._search(index, url, cred.username if cred else None, notes)
            if found is not None:
                cred = found
            elif index.authenticate == "always":
                raise MissingCredentialsError(
                    f"Missing credentials for {url}: index "
                    f'{index.name or index.display_url!r} has authenticate = "always" and '
                    "netrc, uv's credentials.toml and keyring have nothing for it; run "
                    '`idx-auth login` for it and set keyring-provider = "subprocess"'
                )
        if cred is not None and cred.complete:
            may_retry = False
        response, final_url, why_not = self._get(url, index.url, cred)
        notes += why_not
        sent = cred
        if response.status in _RETRY_STATUSES and may_retry:
            notes.append(f"{response.status} without a complete credential")
            found = self._search(index, url, cred.username if cred else None, notes)
            if found is not None:
                sent = found
                response, final_url, why_not = self._get(url, index.url, sent)
                notes += why_not
                notes.append(f"retried with {found.describe()}: {response.status}")
        used: CredentialKind = "none"
        if sent is not None and may_send(url, strip_userinfo(index.url)) is None:
            used = sent.kind
        if sent is not None and response.is_success:
            with self._lock:  # a bare username that worked (``tok3n:``) is sent again too
                self._found.setdefault(index.url, sent)
        files: tuple[DistFile, ...] = ()
        if response.is_success:
            files = parse(response.headers.get("content-type"), response.content, final_url)
        advice = None
        if response.status in (401, 403) and self._provider is not None:
            advice = self._advice(index, url, sent)
        return PageResult(
            index=index,
            url=url,
            status=response.status,
            files=files,
            credential=used,
            notes=tuple(notes),
            advice=advice,
        )

    def _advice(self, index: Index, url: str, sent: RequestAuth | None) -> str | None:
        """When our store holds a credential uv did not send: why, and how to fix it."""
        if self._store is None or (sent is not None and sent.kind == "store"):
            return None
        username = sent.username if sent is not None and sent.username else None
        hit = self._store.lookup(url, username)
        if hit is None:
            return None
        stored_user = hit[0]
        if sent is not None and sent.complete:
            return (
                f"uv sends the credential from {sent.kind} and never asks keyring after it; "
                "our store has another one for this URL: remove or fix the "
                + {
                    "url": "credentials in the index URL",
                    "env": f"UV_INDEX_{_env(index)}_PASSWORD variable",
                    "netrc": "netrc entry",
                    "uv-store": "entry in uv's credentials.toml (uv auth logout URL)",
                }.get(sent.kind, "credential")
            )
        fixes = []
        if self._provider != "subprocess":
            fixes.append('set keyring-provider = "subprocess" (or UV_KEYRING_PROVIDER=subprocess)')
        if username is None and index.authenticate != "always":
            who = stored_user or "__token__"
            if index.name is not None:
                fixes.append(
                    f"give uv the username: UV_INDEX_{_env(index)}_USERNAME={who} or "
                    f"https://{who}@... in the index URL"
                )
            else:
                fixes.append(f"put the username in the index URL (https://{who}@host/...)")
        return (
            "our store has a credential for this index, but uv does not ask keyring for it: "
            + "; ".join(fixes)
        )

    def _get(
        self,
        url: str,
        index_url: str,
        cred: RequestAuth | None,
        base_headers: Mapping[str, str] | None = None,
        max_bytes: int = MAX_BODY,
    ) -> tuple[Reply, str, list[str]]:
        refused: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            headers = dict(base_headers or {"Accept": ACCEPT})
            if cred is not None:
                why = may_send(url, strip_userinfo(index_url))
                if why is None:
                    headers["Authorization"] = cred.header()
                elif why not in refused:
                    refused.append(why)
            response = self._transport.get(url, headers, max_bytes=max_bytes)
            if response.location is not None:
                url = strip_userinfo(urljoin(url, response.location))
                continue
            return response, url, refused
        raise IndexRequestError(f"too many redirects starting at {url}; check the index URL")


def _local_file(url: str) -> Reply:
    """A file of a local flat index or find-links directory, as a download would answer."""
    from pathlib import Path
    from urllib.request import url2pathname

    try:
        data = Path(url2pathname(urlsplit(url).path)).read_bytes()
    except OSError:
        return Reply(404, {})
    return Reply(200, {}, data)


def _env(index: Index) -> str:
    from keyring_idx.resolver.config import env_name

    return env_name(index.name or "")
