"""A private index on 127.0.0.1 that accepts only unexpired tokens its token endpoint issued.

PEP 503 HTML for one project with one small real wheel. Every request needs HTTP basic auth:
any username, the password a token that :class:`~tests.store.refresh.authority.Authority`
issued and that has not expired; anything else is a 401. The server counts both, so a test can
assert that no client was ever turned away.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from demo.wheels import make_wheel
from tests.store.refresh.authority import Authority

PROJECT = "privpkg"
VERSION = "1.0"
WHEEL = f"{PROJECT}-{VERSION}-py3-none-any.whl"


@dataclass
class TokenIndex:
    authority: Authority
    url: str = ""
    accepted: int = 0
    refused: list[str] = field(default_factory=list)  # path and why, never the token
    _lock: threading.Lock = field(default_factory=threading.Lock)
    wheel: bytes = field(default_factory=lambda: make_wheel(PROJECT, VERSION))

    def check(self, authorization: str | None, path: str) -> bool:
        why = "no credentials"
        if authorization and authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                decoded = ""
            _user, _, token = decoded.partition(":")
            if self.authority.is_valid(token):
                with self._lock:
                    self.accepted += 1
                return True
            if not token:
                why = "no credentials"  # a username alone: uv's first try before keyring
            else:
                why = "expired token" if token in self.authority.issued else "unknown token"
        with self._lock:
            self.refused.append(f"{path}: {why}")
        return False

    def page(self) -> bytes:
        digest = hashlib.sha256(self.wheel).hexdigest()
        return (
            "<!DOCTYPE html><html><body>"
            f'<a href="/files/{WHEEL}#sha256={digest}">{WHEEL}</a>'
            "</body></html>"
        ).encode()


@contextmanager
def token_index(authority: Authority) -> Iterator[TokenIndex]:
    index = TokenIndex(authority)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if not index.check(self.headers.get("Authorization"), path):
                challenge = {"WWW-Authenticate": 'Basic realm="private"'}
                self._send(401, b"token required", "text/plain", challenge)
                return
            if path in ("/simple/", "/simple"):
                body = f'<html><body><a href="/simple/{PROJECT}/">{PROJECT}</a></body></html>'
                self._send(200, body.encode(), "text/html", {})
            elif path in (f"/simple/{PROJECT}/", f"/simple/{PROJECT}"):
                self._send(200, index.page(), "text/html", {})
            elif path == f"/files/{WHEEL}":
                self._send(200, index.wheel, "application/octet-stream", {})
            else:
                self._send(404, b"not found", "text/plain", {})

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    index.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
