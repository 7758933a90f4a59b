"""The HTTP client factory against a real TLS index on 127.0.0.1 whose CA (made with trustme)
is trusted only through the settings under test."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
import trustme

from store.http import NetworkConfigError, NetworkSettings, make_client, ssl_context
from tests.e2e.index_server import IndexServer, IndexSpec, Release, serve


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(ca: trustme.CA, require_client_cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def tls_index(ca: trustme.CA) -> Iterator[IndexServer]:
    with serve([IndexSpec("a", {"foo": [Release("1.0")]})], tls=_server_context(ca)) as s:
        yield s


def _get(settings: NetworkSettings, url: str, insecure: bool = False, tls: bool = True) -> int:
    with make_client(settings, insecure=insecure, tls=tls) as client:
        return client.get(url).status_code


def test_default_roots_do_not_trust_the_test_ca(tls_index: IndexServer) -> None:
    with pytest.raises(httpx.ConnectError):
        _get(NetworkSettings(), tls_index.url("a") + "/foo/")


def test_ssl_cert_file_trusts_the_ca(tls_index: IndexServer, ca_file: str) -> None:
    settings = NetworkSettings.from_env({"SSL_CERT_FILE": ca_file})
    assert _get(settings, tls_index.url("a") + "/foo/") == 200


def test_ssl_cert_dir_trusts_the_ca(tls_index: IndexServer, ca_file: str, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not available to hash the CA directory")
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", ca_file],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / f"{digest}.0").write_bytes(Path(ca_file).read_bytes())
    settings = NetworkSettings.from_env({"SSL_CERT_DIR": str(tmp_path)})
    assert _get(settings, tls_index.url("a") + "/foo/") == 200


def test_system_certs_use_truststore_plus_extra_roots(tls_index: IndexServer, ca_file: str) -> None:
    alone = NetworkSettings.from_env({"UV_SYSTEM_CERTS": "1"})
    assert alone.system_certs
    with pytest.raises(httpx.ConnectError):
        _get(alone, tls_index.url("a") + "/foo/")
    both = NetworkSettings.from_env({"SSL_CERT_FILE": ca_file}, system_certs=True)
    assert _get(both, tls_index.url("a") + "/foo/") == 200


def test_missing_truststore_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "truststore", None)
    with pytest.raises(NetworkConfigError, match=r"keyring-idx\[system-certs\]"):
        ssl_context(NetworkSettings(system_certs=True))


def test_allow_insecure_host_skips_verification(tls_index: IndexServer) -> None:
    assert _get(NetworkSettings(), tls_index.url("a") + "/foo/", insecure=True) == 200


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(NetworkConfigError, match="SSL_CERT_FILE"):
        ssl_context(NetworkSettings(ca_file=str(missing)))


def test_client_certificate_from_ssl_client_cert(
    ca: trustme.CA, ca_file: str, tmp_path: Path
) -> None:
    client_pem = tmp_path / "client.pem"
    ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    spec = IndexSpec("a", {"foo": [Release("1.0")]})
    with serve([spec], tls=_server_context(ca, require_client_cert=True)) as s:
        url = s.url("a") + "/foo/"
        without = NetworkSettings.from_env({"SSL_CERT_FILE": ca_file})
        with pytest.raises(httpx.HTTPError):
            _get(without, url)
        with_cert = NetworkSettings.from_env(
            {"SSL_CERT_FILE": ca_file, "SSL_CLIENT_CERT": str(client_pem)}
        )
        assert _get(with_cert, url) == 200


class _Proxy(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        _Proxy.seen.append(self.path)  # absolute-form target: we were used as a proxy
        with httpx.Client(trust_env=False) as upstream:
            r = upstream.get(self.path)
        self.send_response(r.status_code)
        self.send_header("Content-Length", str(len(r.content)))
        self.send_header("Content-Type", r.headers.get("content-type", "text/html"))
        self.end_headers()
        self.wfile.write(r.content)


def test_proxy_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        with serve([IndexSpec("a", {"foo": [Release("1.0")]})]) as s:
            for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
            url = s.url("a") + "/foo/"
            assert _get(NetworkSettings(), url, tls=False) == 200
            assert url in _Proxy.seen
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
