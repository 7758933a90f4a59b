"""Loopback package indexes for tests: PEP 503 HTML, PEP 691 JSON or flat, with basic auth,
forced statuses and redirects, over plain http or TLS (optionally requiring a client cert).

Files are tiny but real wheels (zip with dist-info), so uv can read them too.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import ssl
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from packaging.utils import canonicalize_name

Format = Literal["json", "html", "both", "flat"]


def make_metadata(name: str, version: str, requires_python: str | None = None) -> str:
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        meta += f"Requires-Python: {requires_python}\n"
    return meta


def make_wheel(name: str, version: str, requires_python: str | None = None) -> bytes:
    dist = f"{name.replace('-', '_')}-{version}"
    meta = make_metadata(name, version, requires_python)
    wheel = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{name.replace('-', '_')}/__init__.py", "")
        zf.writestr(f"{dist}.dist-info/METADATA", meta)
        zf.writestr(f"{dist}.dist-info/WHEEL", wheel)
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return buf.getvalue()


@dataclass
class Release:
    version: str
    requires_python: str | None = None
    yanked: bool = False
    tag: str = "py3-none-any"
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

    def filename(self, name: str, release: Release) -> str:
        return f"{name.replace('-', '_')}-{release.version}-{release.tag}.whl"


@dataclass(frozen=True)
class Seen:
    path: str
    authorization: str | None
    accept: str | None


class IndexServer:
    def __init__(self, specs: list[IndexSpec], tls: ssl.SSLContext | None = None) -> None:
        self.specs = {s.key: s for s in specs}
        self.files: dict[str, bytes] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._tls = tls
        for spec in specs:
            for name, releases in spec.packages.items():
                for r in releases:
                    path = f"/{spec.key}/files/{spec.filename(name, r)}"
                    self.files[path] = make_wheel(name, r.version, r.requires_python)
                    # PEP 658 metadata, so `uv lock` reads it without fetching the wheel
                    self.files[path + ".metadata"] = make_metadata(
                        name, r.version, r.requires_python
                    ).encode()
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
        for r in spec.packages.get(name, []):
            fn = spec.filename(name, r)
            data = self.files[f"/{spec.key}/files/{fn}"]
            meta = self.files[f"/{spec.key}/files/{fn}.metadata"]
            entry: dict[str, object] = {
                "filename": fn,
                "url": f"/{spec.key}/files/{fn}",
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                "requires-python": r.requires_python,
                "yanked": r.yanked,
                "core-metadata": {"sha256": hashlib.sha256(meta).hexdigest()},
            }
            if r.uploaded is not None:
                entry["upload-time"] = r.uploaded
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
            meta = e["core-metadata"]
            assert isinstance(meta, dict)
            attrs += f' data-core-metadata="sha256={meta["sha256"]}"'
            links.append(f"<a {attrs}>{e['filename']}</a><br/>")
        return ("<!DOCTYPE html><html><body>" + "".join(links) + "</body></html>").encode()

    def _root_html(self, spec: IndexSpec) -> bytes:
        links = "".join(f'<a href="{n}/">{n}</a><br/>' for n in sorted(spec.packages))
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

            def do_HEAD(self) -> None:
                path = _local_path(self.path)
                data = server.files.get(path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()

            def do_GET(self) -> None:
                # An absolute URL: the server is used as a forward proxy (HTTP_PROXY), and
                # serves every host's /<key>/... paths itself, as if it were that host.
                path = _local_path(self.path)
                auth = self.headers.get("Authorization")
                with server._lock:
                    server.seen.append(Seen(path, auth, self.headers.get("Accept")))
                key = path.strip("/").split("/", 1)[0]
                spec = server.specs.get(key)
                if spec is None:
                    return self._send(404)
                if spec.auth is not None:
                    expected = "Basic " + base64.b64encode(":".join(spec.auth).encode()).decode()
                    if auth != expected:
                        return self._send(401)
                if path in server.files:
                    return self._send(200, server.files[path], "application/octet-stream")
                if spec.format == "flat":
                    if path.rstrip("/") != f"/{key}":
                        return self._send(404)
                    entries = [e for n in spec.packages for e in server._file_entries(spec, n)]
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
                if name not in spec.packages:
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
