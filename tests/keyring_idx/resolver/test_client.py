from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from packaging.utils import canonicalize_name

from keyring_idx.resolver.client import IndexClient, may_send, page_url
from keyring_idx.resolver.config import Index
from keyring_idx.resolver.credentials import Netrc, NetrcEntry
from keyring_idx.resolver.errors import MissingCredentialsError
from keyring_idx.resolver.simple import ACCEPT
from store.network import NetworkSettings
from tests.keyring_idx.resolver.handler_transport import HandlerTransport

FOO = canonicalize_name("foo")
BAR = canonicalize_name("bar")
PAGE = b'<a href="foo-1.0-py3-none-any.whl#sha256=aa">foo</a>'


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeStore:
    def __init__(self, answer: tuple[str | None, str] | None) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str | None]] = []

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None:
        self.calls.append((url, username))
        return self.answer


Handler = Callable[[httpx.Request], httpx.Response]


def client(
    handler: Handler,
    *,
    env: dict[str, str] | None = None,
    store: FakeStore | None = None,
    uv_store: FakeStore | None = None,
    netrc: Netrc | None = None,
    provider: str | None = None,
) -> tuple[IndexClient, list[httpx.Request]]:
    """A client answered by ``handler``, and the requests it made. ``provider`` None: our
    store is asked whenever a search runs (doctor's probe); else uv's keyring-provider."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    c = IndexClient(
        NetworkSettings(),
        env=env or {},
        store=store,
        netrc_data=netrc,
        transport=HandlerTransport(record),
        uv_store=uv_store,
        keyring_provider=provider,
    )
    return c, seen


def needs(expected: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != expected:
            return httpx.Response(401)
        return httpx.Response(200, content=PAGE, headers={"content-type": "text/html"})

    return handler


NETRC = Netrc({"h": NetrcEntry("u", "p")})


def test_auto_retries_once_with_netrc_then_sends_eagerly() -> None:
    c, seen = client(needs(basic("u", "p")), netrc=NETRC, store=FakeStore(None))
    index = Index(url="https://h/simple")
    first = c.page(index, FOO)
    assert (first.status, first.credential) == (200, "netrc")
    assert [r.headers.get("authorization") for r in seen] == [None, basic("u", "p")]
    assert seen[0].headers["accept"] == ACCEPT
    second = c.page(index, BAR)
    assert second.credential == "netrc"
    assert len(seen) == 3  # the credential that worked went along at once
    assert first.files[0].filename == "foo-1.0-py3-none-any.whl"


def test_store_after_netrc_and_bearer_tokens() -> None:
    store = FakeStore((None, "tok"))
    c, _ = client(needs("Bearer tok"), netrc=Netrc({}), store=store)
    page = c.page(Index(url="https://h/simple"), FOO)
    assert (page.status, page.credential) == (200, "store")
    assert store.calls == [("https://h/simple/foo/", None)]


def test_complete_eager_credentials_are_not_followed_by_a_search() -> None:
    store = FakeStore(("u", "p"))
    env = {"UV_INDEX_PRIV_USERNAME": "u", "UV_INDEX_PRIV_PASSWORD": "wrong"}
    c, seen = client(needs(basic("u", "p")), env=env, store=store)
    page = c.page(Index(url="https://h/simple", name="priv"), FOO)
    assert (page.status, page.credential) == (401, "env")
    assert store.calls == []
    assert len(seen) == 1


def test_username_only_looks_up_the_secret_first() -> None:
    store = FakeStore(("aws", "s3"))
    c, seen = client(needs(basic("aws", "s3")), store=store)
    page = c.page(Index(url="https://aws@h/simple"), FOO)
    assert (page.status, page.credential) == (200, "store")
    assert store.calls == [("https://h/simple/foo/", "aws")]
    assert len(seen) == 1
    assert "aws@" not in page.url


def test_always_without_credentials_is_an_error() -> None:
    c, seen = client(needs("x"), store=FakeStore(None))
    with pytest.raises(MissingCredentialsError, match="Missing credentials"):
        c.page(Index(url="https://h/simple", authenticate="always"), FOO)
    assert seen == []


def test_never_sends_nothing_and_does_not_search() -> None:
    store = FakeStore(("u", "p"))
    c, seen = client(needs(basic("u", "p")), netrc=NETRC, store=store)
    page = c.page(Index(url="https://h/simple", authenticate="never", name="n"), FOO)
    assert page.status == 401
    assert store.calls == []
    assert all("authorization" not in r.headers for r in seen)


def test_redirects_keep_credentials_on_the_origin_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "h" and request.url.path == "/simple/foo/":
            return httpx.Response(302, headers={"location": "/moved/foo/"})
        if request.url.host == "h":
            return httpx.Response(302, headers={"location": "https://cdn/foo/"})
        return httpx.Response(200, content=PAGE, headers={"content-type": "text/html"})

    c, seen = client(handler, env={"UV_INDEX_P_USERNAME": "u", "UV_INDEX_P_PASSWORD": "p"})
    page = c.page(Index(url="https://h/simple", name="p"), FOO)
    assert page.status == 200
    assert [(r.url.host, "authorization" in r.headers) for r in seen] == [
        ("h", True),
        ("h", True),
        ("cdn", False),
    ]
    assert page.files[0].url == "https://cdn/foo/foo-1.0-py3-none-any.whl"


def test_no_credentials_over_plain_http_to_remote_hosts() -> None:
    c, seen = client(needs(basic("u", "p")))
    page = c.page(Index(url="http://u:p@remote.example/simple"), FOO)
    assert page.credential == "none"
    assert "authorization" not in seen[0].headers
    assert may_send("http://127.0.0.1:8/x", "http://127.0.0.1:8/") is None
    assert may_send("http://localhost/x", "http://localhost/") is None
    assert may_send("http://[::1]/x", "http://[::1]/") is None


def test_loopback_and_origins_read_as_the_store_reads_them() -> None:
    # One meaning of loopback (uv's: localhost, 127.0.0.1, [::1], in any spelling) and one URL
    # parser (store.service.origin) for a request: 127.0.0.2 once counted as loopback here.
    assert may_send("http://127.1/x", "http://127.0.0.1/") is None
    assert may_send("http://LOCALHOST:80/x", "http://localhost/") is None
    assert may_send("http://127.0.0.2/x", "http://127.0.0.2/") == (
        "not sent: plain http to a non-loopback host"
    )
    assert may_send("https://H.example:443/a", "https://h.example/") is None
    assert may_send("https://h.example:8443/a", "https://h.example/") is not None
    assert may_send("ftp://h.example/a", "https://h.example/") == "not sent: not an http(s) URL"


def test_flat_index_is_fetched_once() -> None:
    listing = b'<a href="foo-1.0.tar.gz">a</a><a href="bar-2.0.tar.gz">b</a>'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=listing, headers={"content-type": "text/html"})

    c, seen = client(handler)
    flat = Index(url="https://h/wheels/", format="flat")
    assert len(c.page(flat, FOO).files) == 2
    assert len(c.page(flat, BAR).files) == 2
    assert len(seen) == 1


def test_page_url() -> None:
    assert page_url(Index(url="https://u:p@h/simple"), "foo") == "https://h/simple/foo/"
    assert page_url(Index(url="https://h/simple/"), "foo") == "https://h/simple/foo/"


def _uv_client(
    handler: Handler,
    *,
    env: dict[str, str] | None = None,
    store: FakeStore | None = None,
    uv_store: FakeStore | None = None,
    netrc: Netrc | None = None,
    provider: str = "disabled",
) -> tuple[IndexClient, list[httpx.Request]]:
    return client(handler, env=env, store=store, uv_store=uv_store, netrc=netrc, provider=provider)


def test_url_userinfo_beats_env_and_is_not_merged_with_it() -> None:
    index = Index(url="https://u@h/simple", name="a")
    c, seen = _uv_client(needs(basic("u", "p")), env={"UV_INDEX_A_PASSWORD": "p"})
    assert c.page(index, FOO).status == 401
    assert [r.headers.get("authorization") for r in seen] == [basic("u", "")]


def test_env_password_without_username_is_basic_with_an_empty_username() -> None:
    c, _ = _uv_client(needs(basic("", "tok")), env={"UV_INDEX_A_PASSWORD": "tok"})
    result = c.page(Index(url="https://h/simple", name="a"), FOO)
    assert (result.status, result.credential) == (200, "env")


def test_env_username_is_sent_bare_then_searched_once() -> None:
    netrc = Netrc({"h": NetrcEntry("u", "p")})
    c, seen = _uv_client(needs(basic("u", "p")), env={"UV_INDEX_A_USERNAME": "u"}, netrc=netrc)
    result = c.page(Index(url="https://h/simple", name="a"), FOO)
    assert (result.status, result.credential) == (200, "netrc")
    assert [r.headers.get("authorization") for r in seen] == [basic("u", ""), basic("u", "p")]


def test_keyring_only_with_subprocess_provider_and_a_username() -> None:
    store = FakeStore(("u", "p"))
    index = Index(url="https://h/simple", name="a")
    c, _ = _uv_client(needs(basic("u", "p")), store=store, provider="subprocess")
    result = c.page(index, FOO)
    assert result.status == 401 and store.calls == [("https://h/simple/foo/", None)]
    assert result.advice is not None and "UV_INDEX_A_USERNAME=u" in result.advice
    store.calls.clear()
    c, _ = _uv_client(needs(basic("u", "p")), store=store, env={"UV_INDEX_A_USERNAME": "u"})
    result = c.page(index, FOO)
    assert result.status == 401
    assert result.advice is not None and "keyring-provider" in result.advice
    c, _ = _uv_client(
        needs(basic("u", "p")),
        store=store,
        env={"UV_INDEX_A_USERNAME": "u"},
        provider="subprocess",
    )
    assert (c.page(index, FOO).credential, c.page(index, BAR).status) == ("store", 200)


def test_uv_plaintext_store_comes_before_keyring_and_shadows_it() -> None:
    store, uv_store = FakeStore(("u", "p")), FakeStore(("u", "old"))
    c, seen = _uv_client(
        needs(basic("u", "p")), store=store, uv_store=uv_store, provider="subprocess"
    )
    result = c.page(Index(url="https://u@h/simple"), FOO)
    assert result.status == 401
    assert [r.headers.get("authorization") for r in seen] == [basic("u", "old")]
    assert result.advice is not None and "credentials.toml" in result.advice
