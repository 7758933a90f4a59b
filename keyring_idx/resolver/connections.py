"""The resolver's GETs: pooled HTTP/1.1 connections over the standard library's ``http.client``.

A resolution makes hundreds of small requests (project pages, ``.metadata`` files) on a few
origins. On this path httpx cost more than the rest of the run: about 80 ms to import and
0.4 ms of Python per request, against none and 0.1 ms here. Everything else that speaks HTTP
(token refresh, Vault, doctor's pip probe) keeps httpx (:mod:`store.http`).

What the network settings mean is shared with :mod:`store.http`: the same trust roots and client
certificate (:func:`store.network.ssl_context`), no verification for ``--allow-insecure-host``
hosts, proxies from ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` (lower case first) minus
``NO_PROXY``. Redirects are not followed: the caller decides per hop what goes along. Every
body is bounded (``max_bytes``, after decompression too).
"""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from keyring_idx.resolver.errors import IndexRequestError
from store.network import DEFAULT_TIMEOUT, NetworkSettings

if TYPE_CHECKING:
    import ssl

MAX_BODY = 256 * 1024 * 1024  # a page or a metadata file; the largest real simple pages are MBs
MAX_DOWNLOAD = 16 * 1024 * 1024 * 1024  # a whole wheel or sdist (hashing it for a lock)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "keyring-idx"
_CHUNK = 1024 * 1024
# An idle keep-alive connection the server has closed fails on its next use like this; the
# request is sent again once on a new connection (a GET is safe to repeat).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class TransportError(IndexRequestError):
    """A request that got no HTTP answer: no connection, TLS refused, a broken or too large
    reply. The message says what failed, never with credentials."""


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, its body read whole and decoded."""

    status: int
    headers: Mapping[str, str]  # names in lower case; repeated fields joined with ", "
    content: bytes = b""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def location(self) -> str | None:
        """Where a redirect points (None: not a redirect)."""
        return self.headers.get("location") if self.status in REDIRECTS else None


class Transport(Protocol):
    def get(self, url: str, headers: Mapping[str, str], *, max_bytes: int = MAX_BODY) -> Reply:
        """One GET of ``url`` (no userinfo) with ``headers``; raises :class:`TransportError`."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL's request goes: the origin, the request line's target, and the proxy."""

    scheme: str
    host: str
    port: int
    path: str  # the request target: /path?query, or the absolute URL through an http proxy
    proxy: Proxy | None


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http proxy from the environment."""

    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value from the proxy URL's userinfo


def proxies_from(env: Mapping[str, str]) -> dict[str, str]:
    """``{"http": url, "https": url, "all": url, "no": hosts}`` from the environment; lower case
    names win over upper case ones, as in curl and urllib."""
    found: dict[str, str] = {}
    for lower_wins in (False, True):
        for name, value in env.items():
            if not value or not name.lower().endswith("_proxy") or name.islower() != lower_wins:
                continue
            found[name[: -len("_proxy")].lower()] = value
    return found


def parse_proxy(value: str) -> Proxy:
    """The proxy a ``*_PROXY`` value names; a bare ``host:port`` means http."""
    parts = urlsplit(value if "://" in value else f"http://{value}")
    if parts.scheme != "http":
        raise TransportError(
            f"proxy {parts.scheme}://{parts.hostname or ''}: only http:// proxies are supported "
            "(HTTPS_PROXY, HTTP_PROXY, ALL_PROXY); point it at the proxy's http:// address"
        )
    try:
        port = parts.port or 80
    except ValueError:
        port = -1
    if not parts.hostname or not 0 < port < 65536:
        raise TransportError(
            f"proxy {parts.hostname or value.split('@')[-1]!r} is not a host[:port]; check "
            "HTTPS_PROXY, HTTP_PROXY and ALL_PROXY"
        )
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


def target(url: str, proxies: Mapping[str, str]) -> Target:
    """Pure: how a GET of ``url`` is sent, given :func:`proxies_from`'s answer."""
    parts = _split(url)
    scheme = parts[0]
    if scheme not in ("http", "https"):
        raise TransportError(f"{url}: not an http(s) URL; check the index URL")
    host, port, path, netloc = parts[1], parts[2], parts[3], parts[4]
    chosen = proxies.get(scheme) or proxies.get("all")
    proxy = None
    if chosen and not _bypassed(f"[{host}]:{port}" if ":" in host else f"{host}:{port}", proxies):
        proxy = parse_proxy(chosen)
        if scheme == "http":
            path = f"http://{netloc}{path}"  # a plain-http request goes to the proxy whole
    return Target(scheme, host, port, path, proxy)


@lru_cache(maxsize=4096)
def _split(url: str) -> tuple[str, str, int, str, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TransportError(f"{url}: the port is not a number in 1-65535") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise TransportError(f"{url}: no host in the URL; check the index URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    netloc = parts.netloc.rpartition("@")[2]
    return scheme, host, port, path, netloc


def _bypassed(host_port: str, proxies: Mapping[str, str]) -> bool:
    no = proxies.get("no", "")
    if not no:
        return False
    if no.strip() == "*":
        return True
    import urllib.request  # only when a proxy is configured

    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return bool(bypass(host_port, {"no": no}))


class Connections:
    """One pool of idle keep-alive connections per origin (and proxy), shared by threads."""

    def __init__(
        self,
        network: NetworkSettings,
        env: Mapping[str, str],
        insecure_hosts: frozenset[str] = frozenset(),
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.network = network
        self.insecure_hosts = insecure_hosts
        self.timeout = timeout
        self._proxies = proxies_from(env)
        self._idle: dict[Target, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._contexts: dict[bool, ssl.SSLContext] = {}

    def get(self, url: str, headers: Mapping[str, str], *, max_bytes: int = MAX_BODY) -> Reply:
        where = target(url, self._proxies)
        sent = {"User-Agent": USER_AGENT, **headers}
        # Ranges count bytes of the file as stored: no compression for them.
        sent["Accept-Encoding"] = "identity" if "Range" in headers else "gzip, deflate"
        if where.proxy is not None and where.proxy.authorization and where.scheme == "http":
            sent["Proxy-Authorization"] = where.proxy.authorization
        key = _pool_key(where)
        conn, reused = self._take(key, where)
        while True:
            try:
                conn.request("GET", where.path, headers=sent)
                response = conn.getresponse()
                reply = _read(response, max_bytes, url)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if reused and isinstance(exc, _STALE):
                    conn, reused = self._connect(where), False
                    continue
                raise TransportError(_failed(url, where, exc)) from None
            except TransportError:
                conn.close()
                raise
            if response.will_close or not response.isclosed():
                conn.close()
            else:
                self._give(key, conn)
            return reply

    def close(self) -> None:
        with self._lock:
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()

    def _take(self, key: Target, where: Target) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        return self._connect(where), False

    def _give(self, key: Target, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def _connect(self, where: Target) -> http.client.HTTPConnection:
        proxy = where.proxy
        host, port = (proxy.host, proxy.port) if proxy is not None else (where.host, where.port)
        if where.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        conn = http.client.HTTPSConnection(
            host, port, timeout=self.timeout, context=self._context(where)
        )
        if proxy is not None:  # CONNECT through the proxy, then TLS to the index itself
            auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
            conn.set_tunnel(where.host, where.port, headers=auth)
        return conn

    def _context(self, where: Target) -> ssl.SSLContext:
        insecure = (
            where.host in self.insecure_hosts or f"{where.host}:{where.port}" in self.insecure_hosts
        )
        with self._lock:
            ctx = self._contexts.get(insecure)
            if ctx is None:
                ctx = self._contexts[insecure] = _make_context(self.network, insecure)
            return ctx


def _pool_key(where: Target) -> Target:
    """Connections are shared by origin and proxy, whatever the path."""
    return Target(where.scheme, where.host, where.port, "", where.proxy)


def _make_context(network: NetworkSettings, insecure: bool) -> ssl.SSLContext:
    import ssl

    from store.network import ssl_context

    if not insecure:
        return ssl_context(network)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if network.client_cert:  # the user allowed the host, not anonymity
        ctx.load_cert_chain(network.client_cert, network.client_key)
    return ctx


def _read(response: http.client.HTTPResponse, max_bytes: int, url: str) -> Reply:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        name = name.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    declared = response.length
    if declared is not None:
        if declared > max_bytes:
            raise TransportError(_too_large(url, max_bytes))
        body = response.read()
    else:  # chunked, or until the server closes: in pieces, never more than max_bytes
        chunks: list[bytes] = []
        total = 0
        while part := response.read(min(_CHUNK, max_bytes + 1 - total)):
            chunks.append(part)
            total += len(part)
            if total > max_bytes:
                raise TransportError(_too_large(url, max_bytes))
        body = b"".join(chunks)
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        body = _decompress(body, encoding, max_bytes, url)
        del headers["content-encoding"]
    elif encoding not in ("", "identity"):
        raise TransportError(
            f"{url}: the server sent content-encoding {encoding!r}, which was not asked for"
        )
    return Reply(response.status, headers, body)


def _decompress(body: bytes, encoding: str, max_bytes: int, url: str) -> bytes:
    # 47: a gzip or zlib header, detected; some servers send deflate raw, without one (-15).
    for wbits in (47, -15) if encoding == "deflate" else (47,):
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, max_bytes + 1)
        except zlib.error:
            continue
        if len(data) > max_bytes or inflater.unconsumed_tail:
            raise TransportError(_too_large(url, max_bytes))
        return data
    raise TransportError(f"{url}: the {encoding} body is corrupt")


def _failed(url: str, where: Target, exc: BaseException) -> str:
    if where.proxy is not None:
        return (
            f"request to {url} through the proxy {where.proxy.host}:{where.proxy.port} failed: "
            f"{describe(exc)}; check the proxy settings (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, "
            "NO_PROXY) and the TLS settings (SSL_CERT_FILE, --system-certs, --allow-insecure-host)"
        )
    return (
        f"request to {url} failed: {describe(exc)}; check the URL, the network and the TLS "
        "settings (SSL_CERT_FILE, --system-certs, --allow-insecure-host)"
    )


def _too_large(url: str, max_bytes: int) -> str:
    return f"{url}: the reply is larger than {max_bytes // (1024 * 1024)} MiB; not read"


def describe(exc: BaseException) -> str:
    """A short reason for a failed request, without anything the server sent."""
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS error: certificate verify failed ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or type(exc).__name__}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    text = str(exc)
    if text.startswith("Tunnel connection failed:"):  # http.client's CONNECT refusal
        code = text.split(":", 1)[1].split()[:1]
        return f"the proxy refused the tunnel ({code[0] if code else 'no status'})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
