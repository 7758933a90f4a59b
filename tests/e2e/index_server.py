"""Loopback package indexes for tests: PEP 503 HTML, PEP 691 JSON or flat, with basic auth,
forced statuses and redirects, over plain http or TLS (optionally requiring a client cert).

Files are tiny but real wheels (zip with dist-info) and sdists (see :mod:`tests.e2e.dists`),
so uv can read them too; optionally with PEP 658 ``.metadata`` files and HTTP range support.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from packaging.utils import canonicalize_name

from demo.wheels import make_wheel
from tests.e2e.dists import BACKEND, BACKEND_VERSION, backend_wheel, make_sdist

__all__ = ["IndexServer", "IndexSpec", "Release", "serve"]

Format = Literal["json", "html", "both", "flat"]


@dataclass
class Release:
    version: str
    requires_python: str | None = None
    yanked: bool = False
    tag: str = "py3-none-any"
    requires: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    wheel: bool = True
    sdist: Literal["static", "dynamic"] | None = None
    page_requires_python: bool = True  # False: only the file's metadata says requires-python
    uploaded: str | None = None  # PEP 700 upload-time (RFC 3339), JSON pages only


@dataclass
class IndexSpec:
    """One index under ``/<key>/simple/`` (or ``/<key>/`` listing, when flat)."""

    key: str
    packages: Mapping[str, list[Release]]
    format: Format = "both"
    auth: tuple[str, str] | None = None
    status: Mapping[str, int] = field(default_factory=dict)  # project -> forced status
    redirect: Mapping[str, str] = field(default_factory=dict)  # project -> absolute URL
    root_status: int | None = None  # forced status of the /<key>/simple/ project list
    metadata: bool = False  # serve and advertise PEP 658 .metadata files
    ranges: bool = False  # answer Range requests on files with 206
    backend: bool = False  # also serve the tinybuild build backend

    def filename(self, name: str, release: Release) -> str:
        return f"{name.replace('-', '_')}-{release.version}-{release.tag}.whl"

    def sdist_name(self, name: str, release: Release) -> str:
        return f"{name.replace('-', '_')}-{release.version}.tar.gz"

    def all_packages(self) -> dict[str, list[Release]]:
        packages: dict[str, list[Release]] = {
            canonicalize_name(n): list(rs) for n, rs in self.packages.items()
        }
        if self.backend:
            packages[BACKEND] = [Release(BACKEND_VERSION)]
        return packages

    def dist_files(self, name: str, release: Release) -> list[str]:
        out = [self.filename(name, release)] if release.wheel else []
        return out + ([self.sdist_name(name, release)] if release.sdist else [])


@dataclass(frozen=True)
class Seen:
    path: str
    authorization: str | None
    accept: str | None
    range: str | None = None
    method: str = "GET"


class IndexServer:
    def __init__(self, specs: list[IndexSpec], tls: ssl.SSLContext | None = None) -> None:
        self.specs = {s.key: s for s in specs}
        self.files: dict[str, bytes] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._tls = tls
        self.metadata: dict[str, bytes] = {}
        for spec in specs:
            for name, releases in spec.all_packages().items():
                for r in releases:
                    base = f"/{spec.key}/files/"
                    if name == BACKEND:
                        self.files[base + spec.filename(name, r)] = backend_wheel()
                        continue
                    if r.wheel:
                        wheel = make_wheel(name, r.version, r.requires_python, r.requires, r.extras)
                        self.files[base + spec.filename(name, r)] = wheel
                        self.metadata[base + spec.filename(name, r)] = _member(wheel)
                    if r.sdist:
                        self.files[base + spec.sdist_name(name, r)] = make_sdist(
                            name,
                            r.version,
                            r.requires,
                            static=r.sdist == "static",
                            requires_python=r.requires_python,
                        )
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def url(self, key: str) -> str:
        spec = self.specs[key]
        return f"{self.base}/{key}/" if spec.format == "flat" else f"{self.base}/{key}/simple"

    def requests_for(self, key: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(f"/{key}/")]

    def start(self) -> IndexServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    # -- pages -------------------------------------------------------------------------------
    def _file_entries(self, spec: IndexSpec, name: str) -> list[dict[str, object]]:
        entries: list[dict[str, object]] = []
        for r in spec.all_packages().get(name, []):
            for fn in spec.dist_files(name, r):
                path = f"/{spec.key}/files/{fn}"
                entry: dict[str, object] = {
                    "filename": fn,
                    "url": path,
                    "hashes": {"sha256": hashlib.sha256(self.files[path]).hexdigest()},
                    "requires-python": r.requires_python if r.page_requires_python else None,
                    "yanked": r.yanked,
                }
                if r.uploaded is not None:
                    entry["upload-time"] = r.uploaded
                if spec.metadata and path in self.metadata:
                    digest = hashlib.sha256(self.metadata[path]).hexdigest()
                    entry["core-metadata"] = {"sha256": digest}
                entries.append(entry)
        return entries

    def _html(self, entries: list[dict[str, object]]) -> bytes:
        links = []
        for e in entries:
            hashes = e["hashes"]
            assert isinstance(hashes, dict)
            attrs = f'href="{e["url"]}#sha256={hashes["sha256"]}"'
            if e["requires-python"]:
                attrs += f' data-requires-python="{html.escape(str(e["requires-python"]))}"'
            if e["yanked"]:
                attrs += ' data-yanked=""'
            meta = e.get("core-metadata")
            if isinstance(meta, dict):
                attrs += f' data-core-metadata="sha256={meta["sha256"]}"'
            links.append(f"<a {attrs}>{e['filename']}</a><br/>")
        return ("<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>").encode()

    def _root_html(self, spec: IndexSpec) -> bytes:
        links = "".join(f'<a href="{n}/">{n}</a><br/>' for n in sorted(spec.all_packages()))
        return f"<!DOCTYPE html><html><body>{links}</body></html>".encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", ctype: str = "text/html") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.end_headers()
                self.wfile.write(body)

            def _file(self, spec: IndexSpec, data: bytes) -> None:
                wanted = self.headers.get("Range", "")
                if not spec.ranges or not wanted.startswith("bytes="):
                    return self._send(200, data, "application/octet-stream")
                first, _, last = wanted[len("bytes=") :].partition("-")
                if not first:
                    start, end = max(0, len(data) - int(last)), len(data) - 1
                else:
                    start, end = int(first), min(len(data) - 1, int(last or len(data) - 1))
                body = data[start : end + 1]
                self.send_response(206)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

            def do_HEAD(self) -> None:
                # uv asks HEAD first to learn whether a wheel can be read by ranges.
                path = _local_path(self.path)
                spec = server.specs.get(path.strip("/").split("/", 1)[0])
                data = server.files.get(path)
                auth = self.headers.get("Authorization")
                with server._lock:
                    server.seen.append(Seen(path, auth, self.headers.get("Accept"), None, "HEAD"))
                if spec is not None and spec.auth is not None:
                    expected = "Basic " + base64.b64encode(":".join(spec.auth).encode()).decode()
                    if auth != expected:
                        data, status = None, 401
                status = 200 if data is not None else locals().get("status", 404)
                self.send_response(status)
                self.send_header("Content-Length", str(len(data) if data is not None else 0))
                if data is not None and spec is not None and spec.ranges:
                    self.send_header("Accept-Ranges", "bytes")
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.end_headers()

            def do_GET(self) -> None:
                # An absolute URL: the server is used as a forward proxy (HTTP_PROXY), and
                # serves every host's /<key>/... paths itself, as if it were that host.
                path = _local_path(self.path)
                auth = self.headers.get("Authorization")
                with server._lock:
                    seen = Seen(path, auth, self.headers.get("Accept"), self.headers.get("Range"))
                    server.seen.append(seen)
                key = path.strip("/").split("/", 1)[0]
                spec = server.specs.get(key)
                if spec is None:
                    return self._send(404)
                if spec.auth is not None:
                    expected = "Basic " + base64.b64encode(":".join(spec.auth).encode()).decode()
                    if auth != expected:
                        return self._send(401)
                if path in server.files:
                    return self._file(spec, server.files[path])
                if spec.metadata and path.endswith(".metadata"):
                    meta = server.metadata.get(path[: -len(".metadata")])
                    if meta is not None:
                        return self._send(200, meta, "application/octet-stream")
                if spec.format == "flat":
                    if path.rstrip("/") != f"/{key}":
                        return self._send(404)
                    names = spec.all_packages()
                    entries = [e for n in names for e in server._file_entries(spec, n)]
                    return self._send(200, server._html(entries))
                parts = path.strip("/").split("/")
                if parts == [key, "simple"]:
                    if spec.root_status is not None:
                        return self._send(spec.root_status)
                    return self._send(200, server._root_html(spec))
                if len(parts) != 3 or parts[1] != "simple":
                    return self._send(404)
                name = canonicalize_name(parts[2])
                if name in spec.redirect:
                    self.send_response(302)
                    self.send_header("Location", spec.redirect[name])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if name in spec.status:
                    return self._send(spec.status[name])
                if name not in spec.all_packages():
                    return self._send(404)
                entries = server._file_entries(spec, name)
                accept = self.headers.get("Accept") or ""
                want_json = spec.format == "json" or (
                    spec.format == "both" and "vnd.pypi.simple.v1+json" in accept
                )
                if want_json:
                    doc = {"meta": {"api-version": "1.0"}, "name": name, "files": entries}
                    return self._send(
                        200, json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"
                    )
                if spec.format == "json":
                    return self._send(406)
                return self._send(200, server._html(entries))

        return Handler


def _member(wheel: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name)


def _local_path(target: str) -> str:
    if target.startswith(("http://", "https://")):
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    return target.split("?", 1)[0]


@contextmanager
def serve(specs: list[IndexSpec], tls: ssl.SSLContext | None = None) -> Iterator[IndexServer]:
    server = IndexServer(specs, tls).start()
    try:
        yield server
    finally:
        server.stop()
