"""The resolver's HTTP connections against real servers on 127.0.0.1: keep-alive, compression,
bounds, stale connections, proxies (plain and CONNECT) and TLS."""

from __future__ import annotations

import base64
import gzip
import select
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from keyring_idx.resolver.connections import (
    Connections,
    Proxy,
    TransportError,
    parse_proxy,
    proxies_from,
    target,
)
from store.network import NetworkSettings


@dataclass
class Seen:
    lines: list[str] = field(default_factory=list)  # request lines, in order
    headers: list[dict[str, str]] = field(default_factory=list)
    peers: list[int] = field(default_factory=list)  # client ports: one per connection used

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        self.lines.append(handler.requestline)
        self.headers.append({k.lower(): v for k, v in handler.headers.items()})
        self.peers.append(handler.client_address[1])


Answer = Callable[[BaseHTTPRequestHandler], None]


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def running(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """``handler`` served on a free 127.0.0.1 port; the base URL. Stopped on the way out."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def server(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(Quiet):
        def do_GET(self) -> None:
            seen.record(self)
            answer(self)

    with running(Handler, tls) as url:
        yield url, seen


def send(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    if "Content_Length" not in headers and "Transfer_Encoding" not in headers:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def chunked(handler: BaseHTTPRequestHandler, pieces: list[bytes]) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for piece in pieces:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


def conns(env: dict[str, str] | None = None, **kw: object) -> Connections:
    return Connections(NetworkSettings(), env or {}, **kw)  # type: ignore[arg-type]


def test_one_connection_serves_many_requests() -> None:
    with server(lambda h: send(h, b"page " + h.path.encode())) as (url, seen):
        c = conns()
        replies = [c.get(f"{url}/simple/p{i}/?x=1", {"Accept": "text/html"}) for i in range(5)]
        c.close()
    assert [r.content for r in replies] == [f"page /simple/p{i}/?x=1".encode() for i in range(5)]
    assert len(set(seen.peers)) == 1
    assert seen.headers[0]["accept"] == "text/html"
    assert seen.headers[0]["accept-encoding"] == "gzip, deflate"
    assert seen.lines[0] == "GET /simple/p0/?x=1 HTTP/1.1"


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the RFC says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw, as some servers send it
    ],
)
def test_compressed_bodies_are_decoded(encoding: str, pack: Callable[[bytes], bytes]) -> None:
    body = b"<a href='x'>x</a>" * 500
    with server(lambda h: send(h, pack(body), Content_Encoding=encoding)) as (url, _):
        reply = conns().get(f"{url}/", {})
    assert reply.content == body
    assert "content-encoding" not in reply.headers


def test_a_range_request_asks_for_the_bytes_as_stored() -> None:
    with server(lambda h: send(h, b"tail", 206)) as (url, seen):
        conns().get(f"{url}/f.whl", {"Range": "bytes=-4"})
    assert seen.headers[0]["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    "answer",
    [
        lambda h: send(h, b"x" * 2000),  # Content-Length says too much
        lambda h: chunked(h, [b"x" * 600] * 4),  # no length, more than allowed
        lambda h: send(h, gzip.compress(b"\0" * 100_000), Content_Encoding="gzip"),  # a bomb
    ],
)
def test_bodies_are_bounded(answer: Answer) -> None:
    with server(answer) as (url, _), pytest.raises(TransportError, match="larger than"):
        conns().get(f"{url}/", {}, max_bytes=1024)


def test_a_chunked_body_within_the_bound_is_read_whole() -> None:
    with server(lambda h: chunked(h, [b"ab", b"cd", b"e"])) as (url, seen):
        c = conns()
        assert c.get(f"{url}/", {}).content == b"abcde"
        assert c.get(f"{url}/", {}).content == b"abcde"
    assert len(set(seen.peers)) == 1  # the connection was left clean and used again


def test_an_encoding_nobody_asked_for_is_refused() -> None:
    brotli = server(lambda h: send(h, b"??", Content_Encoding="br"))
    with brotli as (url, _), pytest.raises(TransportError, match="content-encoding 'br'"):
        conns().get(f"{url}/", {})


def test_a_corrupt_compressed_body_is_an_error() -> None:
    broken = server(lambda h: send(h, b"not gzip at all", Content_Encoding="gzip"))
    with broken as (url, _), pytest.raises(TransportError, match="gzip body is corrupt"):
        conns().get(f"{url}/", {})


def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    def close_after(handler: BaseHTTPRequestHandler) -> None:
        send(handler, b"ok")
        handler.close_connection = True  # no "Connection: close": the client cannot know

    with server(close_after) as (url, seen):
        c = conns()
        assert [c.get(f"{url}/{i}", {}).content for i in range(3)] == [b"ok"] * 3
    assert len(set(seen.peers)) == 3


def test_no_server_is_a_one_line_error_with_advice() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError) as info:
        conns().get(f"http://127.0.0.1:{port}/simple/", {})
    message = str(info.value)
    assert "connection refused" in message and "check the URL" in message
    assert "\n" not in message


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


def test_tls_is_verified_against_the_configured_roots(tmp_path: Path, ca: trustme.CA) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with server(lambda h: send(h, b"secure"), tls=tls_server_context(ca)) as (url, _):
        with pytest.raises(TransportError, match="TLS error: certificate verify failed"):
            conns().get(f"{url}/", {})
        trusted = Connections(NetworkSettings(ca_file=str(bundle)), {})
        assert trusted.get(f"{url}/", {}).content == b"secure"
        allowed = conns(insecure_hosts=frozenset({"127.0.0.1"}))
        assert allowed.get(f"{url}/", {}).content == b"secure"


# --- proxies -----------------------------------------------------------------------------------


def test_proxy_settings_lower_case_names_win() -> None:
    env = {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2", "NO_PROXY": "a"}
    assert proxies_from(env) == {"http": "http://lower:2", "no": "a"}
    assert proxies_from({"HTTPS_PROXY": "", "PATH": "/bin"}) == {}


def test_parse_proxy() -> None:
    auth = "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert parse_proxy("http://me:p%40ss@proxy:3128") == Proxy("proxy", 3128, auth)
    assert parse_proxy("proxy.internal:8080") == Proxy("proxy.internal", 8080, None)
    with pytest.raises(TransportError, match="only http:// proxies"):
        parse_proxy("socks5://proxy:1080")
    with pytest.raises(TransportError, match="not a host"):
        parse_proxy("http://proxy:99999")


def test_target_through_a_proxy_and_around_it() -> None:
    proxies = {"http": "http://p:3128", "https": "http://p:3128", "no": "internal.example"}
    plain = target("http://idx.example:8080/simple/foo/?a=1", proxies)
    assert (plain.path, plain.proxy) == (
        "http://idx.example:8080/simple/foo/?a=1",
        Proxy("p", 3128, None),
    )
    tunnel = target("https://idx.example/simple/", proxies)
    assert (tunnel.host, tunnel.port, tunnel.path) == ("idx.example", 443, "/simple/")
    assert tunnel.proxy == Proxy("p", 3128, None)
    assert target("https://pkgs.internal.example/simple/", proxies).proxy is None
    assert target("http://[::1]:9/x", {"all": "http://p:1"}).proxy == Proxy("p", 1, None)
    assert target("http://[::1]:9/x", {"all": "http://p:1", "no": "*"}).proxy is None
    with pytest.raises(TransportError, match="not an http"):
        target("ftp://idx.example/", {})


@contextmanager
def proxy_server() -> Iterator[tuple[str, Seen]]:
    """A forwarding proxy: absolute-form GETs are answered by the proxy itself; CONNECT opens
    a tunnel to the named 127.0.0.1 port."""
    seen = Seen()

    class Handler(Quiet):
        def do_GET(self) -> None:
            seen.record(self)
            send(self, b"via proxy: " + self.path.encode())

        def do_CONNECT(self) -> None:
            seen.record(self)
            port = self.path.rpartition(":")[2]
            upstream = socket.create_connection(("127.0.0.1", int(port)))
            self.send_response(200)
            self.end_headers()
            relay(self.connection, upstream)
            self.close_connection = True

    with running(Handler) as url:
        yield url, seen


def relay(a: socket.socket, b: socket.socket) -> None:
    with b:
        while True:
            ready, _, _ = select.select([a, b], [], [], 5)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)


def test_plain_http_goes_to_the_proxy_whole_with_its_credentials() -> None:
    with proxy_server() as (proxy, seen):
        env = {"HTTP_PROXY": proxy.replace("http://", "http://me:pw@")}
        reply = conns(env).get("http://idx.example/simple/foo/", {"Accept": "text/html"})
    assert reply.content == b"via proxy: http://idx.example/simple/foo/"
    assert seen.lines == ["GET http://idx.example/simple/foo/ HTTP/1.1"]
    assert seen.headers[0]["host"] == "idx.example"
    assert seen.headers[0]["proxy-authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()


def test_a_proxy_that_cannot_be_reached_is_named_in_the_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HTTPS_PROXY": f"http://me:pw@127.0.0.1:{port}"}
    with pytest.raises(TransportError) as info:
        conns(env).get("https://idx.example/simple/", {})
    message = str(info.value)
    assert f"through the proxy 127.0.0.1:{port} failed: connection refused" in message
    assert "HTTPS_PROXY" in message and "pw" not in message


def test_no_proxy_hosts_are_reached_directly() -> None:
    with proxy_server() as (proxy, proxy_seen), server(lambda h: send(h, b"direct")) as (url, _):
        env = {"HTTP_PROXY": proxy, "NO_PROXY": "127.0.0.1"}
        assert conns(env).get(f"{url}/", {}).content == b"direct"
    assert proxy_seen.lines == []


def test_https_is_tunnelled_through_connect(tmp_path: Path, ca: trustme.CA) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    tls = tls_server_context(ca)
    index = server(lambda h: send(h, b"tunnelled"), tls=tls)
    with index as (url, seen), proxy_server() as (proxy, proxy_seen):
        env = {"HTTPS_PROXY": proxy.replace("http://", "http://me:pw@")}
        c = Connections(NetworkSettings(ca_file=str(bundle)), env)
        assert c.get(f"{url}/simple/", {}).content == b"tunnelled"
    port = url.rsplit(":", 1)[1]
    assert [line.rsplit(" ", 1)[0] for line in proxy_seen.lines] == [f"CONNECT 127.0.0.1:{port}"]
    assert proxy_seen.headers[0]["proxy-authorization"].startswith("Basic ")
    assert seen.lines == ["GET /simple/ HTTP/1.1"]
    assert "proxy-authorization" not in seen.headers[0]  # never past the proxy
