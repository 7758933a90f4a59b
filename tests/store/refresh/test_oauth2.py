"""The oauth2 provider against a real token endpoint on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import trustme

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token
from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SECRET = "cl!ent s3cret"


def grant(request: Request) -> Reply:
    if request.path != "/oauth/token":
        return Reply(404, b"not here", "text/plain")
    form = request.form()
    auth = request.headers.get("authorization", "")
    basic = base64.b64encode(b"my-client:cl%21ent+s3cret").decode()
    posted = form.get("client_id") == "my-client" and form.get("client_secret") == SECRET
    if form.get("grant_type") != "client_credentials":
        return Reply.json({"error": "unsupported_grant_type"}, 400)
    if auth != f"Basic {basic}" and not posted:
        return Reply.json({"error": "invalid_client", "error_description": "bad secret"}, 401)
    return Reply.json(
        {
            "access_token": f"at-{len(request.body)}",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": form.get("scope", ""),
        }
    )


@pytest.fixture
def endpoint() -> Iterator[Loopback]:
    with serve(grant) as server:
        yield server


def spec(server: Loopback, secret: str = SECRET, **extra: str) -> ProviderSpec:
    return ProviderSpec.build(
        "oauth2",
        {"token-url": f"{server.url}/oauth/token", "client-id": "my-client", **extra},
        {"client-secret": secret},
    )


def test_client_credentials_with_basic_auth(endpoint: Loopback) -> None:
    tok = fetch_token(spec(endpoint, scope="read:packages"), FetchContext(now=T0))
    assert tok.secret.startswith("at-")
    assert tok.expires_at == T0 + timedelta(seconds=300)
    form = endpoint.requests[-1].form()
    assert form == {"grant_type": "client_credentials", "scope": "read:packages"}


def test_client_secret_post(endpoint: Loopback) -> None:
    tok = fetch_token(spec(endpoint, **{"auth-method": "post"}), FetchContext(now=T0))
    assert tok.secret.startswith("at-")
    assert "authorization" not in endpoint.requests[-1].headers


def test_injected_client_is_used_and_left_open(endpoint: Loopback) -> None:
    with httpx.Client() as client:
        fetch_token(spec(endpoint), FetchContext(now=T0, http_client=client))
        assert not client.is_closed
        fetch_token(spec(endpoint), FetchContext(now=T0, http_client=client))
    assert len(endpoint.requests) == 2


def test_refused_credentials_name_the_error_not_the_secret(endpoint: Loopback) -> None:
    with pytest.raises(TokenFetchError) as info:
        fetch_token(spec(endpoint, secret="wrong-secret-value"), FetchContext(now=T0))
    message = str(info.value)
    assert "HTTP 401, invalid_client" in message
    assert "wrong-secret-value" not in message and SECRET not in message
    assert message.startswith("oauth2 provider: ")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(500, b"oops", "text/plain"), "failed with HTTP 500"),
        (Reply(503, b"{}"), "failed with HTTP 503"),
        (Reply(200, b"<html>login</html>", "text/html"), "not JSON"),
        (Reply(200, b"\xff\xfe garbage"), "not JSON"),
        (Reply.json(["a"]), "not JSON"),
        (Reply.json({"token_type": "Bearer"}), "without an 'access_token'"),
        (Reply.json({"access_token": "x", "expires_in": "soon"}), "invalid 'expires_in'"),
        (Reply.json({"access_token": "x", "expires_in": -1}), "invalid 'expires_in'"),
        (Reply(302, b""), "answered HTTP 302"),
        (Reply.json({"error": "invalid_scope"}, 400), "invalid_scope"),
    ],
)
def test_failure_modes(reply: Reply, message: str) -> None:
    with serve(lambda request: reply) as server, pytest.raises(TokenFetchError, match=message):
        fetch_token(spec(server), FetchContext(now=T0))


def test_time_out() -> None:
    with (
        serve(lambda request: Reply(delay=30)) as server,
        pytest.raises(TokenFetchError, match=r"did not answer within 0\.3 s"),
    ):
        fetch_token(spec(server, timeout="0.3"), FetchContext(now=T0))


def test_unreachable() -> None:
    with serve(grant) as server:
        url = server.url
    gone = ProviderSpec.build(
        "oauth2", {"token-url": f"{url}/oauth/token", "client-id": "c"}, {"client-secret": "s"}
    )
    with pytest.raises(TokenFetchError, match="cannot reach the token endpoint"):
        fetch_token(gone, FetchContext(now=T0))


def test_expires_in_missing_falls_back_to_ttl() -> None:
    with serve(lambda request: Reply.json({"access_token": "x"})) as server:
        tok = fetch_token(spec(server, ttl="42"), FetchContext(now=T0))
    assert tok.expires_at == T0 + timedelta(seconds=42)


@pytest.mark.parametrize(
    ("settings", "secret", "message"),
    [
        ({"token-url": "http://idp.example/token", "client-id": "c"}, "s", "plain http"),
        ({"token-url": "ftp://idp.example/token", "client-id": "c"}, "s", "not an http"),
        ({"token-url": "https://idp.example/token"}, "s", "'client-id' is missing"),
        ({"token-url": "https://idp.example/token", "client-id": "c"}, None, "secret is missing"),
        (
            {"token-url": "https://idp.example/t?k=v", "client-id": "c", "auth-method": "x"},
            "s",
            "auth-method",
        ),
        # Secrets in the URL: it is stored in clear and shown by status.
        ({"token-url": "https://u:pw@idp.example/t", "client-id": "c"}, "s", "user name or pass"),
        ({"token-url": "https://pw@idp.example/t", "client-id": "c"}, "s", "user name or pass"),
        (
            {"token-url": "https://idp.example/t?client_secret=pw@", "client-id": "c"},
            "s",
            r"secret in its query \(client_secret\)",
        ),
        (
            {"token-url": "https://idp.example/t?a=1&API_KEY=pw@", "client-id": "c"},
            "s",
            r"secret in its query \(api_key\)",
        ),
    ],
)
def test_bad_settings(settings: dict[str, str], secret: str | None, message: str) -> None:
    bad = ProviderSpec.build("oauth2", settings, {"client-secret": secret})
    with pytest.raises(ProviderConfigError, match=message) as info:
        fetch_token(bad, FetchContext(now=T0))
    assert "pw@" not in str(info.value)


@pytest.mark.parametrize("host", ["127.1", "[::1]", "LOCALHOST"])
def test_plain_http_is_for_the_loopback_hosts_uv_allows(host: str) -> None:
    # One meaning of loopback (store.service.is_loopback_host): 127.1 once failed here while a
    # service URL accepted it; 127.0.0.2 fails in both.
    ok = ProviderSpec.build(
        "oauth2", {"token-url": f"http://{host}:9/token", "client-id": "c"}, {"client-secret": "s"}
    )
    with pytest.raises(TokenFetchError, match="cannot reach the token endpoint"):
        fetch_token(ok, FetchContext(now=T0))
    other = ProviderSpec.build(
        "oauth2",
        {"token-url": "http://127.0.0.2:9/token", "client-id": "c"},
        {"client-secret": "s"},
    )
    with pytest.raises(ProviderConfigError, match="plain http"):
        fetch_token(other, FetchContext(now=T0))


def test_https_token_endpoint_with_company_ca_and_client_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider uses the shared client factory: SSL_CERT_FILE and SSL_CLIENT_CERT apply to
    # token endpoints as they do to indexes.
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    bundle = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    client_pem = tmp_path / "client.pem"
    ca.issue_cert("ci-bot@example.com").private_key_and_cert_chain_pem.write_to_path(
        str(client_pem)
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with serve(grant, tls=server_context) as server:
        assert server.url.startswith("https://")
        with pytest.raises(TokenFetchError):
            fetch_token(spec(server), FetchContext(now=T0))  # no client certificate yet
        monkeypatch.setenv("SSL_CLIENT_CERT", str(client_pem))
        tok = fetch_token(spec(server), FetchContext(now=T0))
        assert tok.secret.startswith("at-")


@pytest.mark.parametrize(
    "body",
    [
        # An endpoint that echoes what it was sent, in the description or as the "code".
        {"error": "invalid_client", "error_description": f"bad secret {SECRET}"},
        {"error": f"invalid_client {SECRET}"},
        {"error": "invalid_client\x1b[2J\nFAKE: all good"},
    ],
)
def test_the_endpoints_own_text_is_not_kept(body: dict[str, str]) -> None:
    with (
        serve(lambda request: Reply.json(body, 401)) as server,
        pytest.raises(TokenFetchError) as info,
    ):
        fetch_token(spec(server), FetchContext(now=T0))
    message = str(info.value)
    assert SECRET not in message and "s3cret" not in message
    assert "\x1b" not in message and "\n" not in message and "FAKE" not in message
    assert "HTTP 401" in message


def test_httpx_request_log_never_shows_the_full_token_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def endpoint(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "at", "expires_in": 60})

    caplog.set_level(logging.DEBUG)
    url = "https://idp.example/oauth/token?tenant=t-private-42"
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
        settings = {"token-url": url, "client-id": "c"}
        oauth = ProviderSpec.build("oauth2", settings, {"client-secret": "s"})
        assert fetch_token(oauth, FetchContext(now=T0, http_client=client)).secret == "at"
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("httpx")]
    assert logged, "httpx logged no request: the check would be empty"
    assert all("t-private-42" not in line for line in logged)
    assert any("https://idp.example/oauth/token" in line for line in logged)


def test_a_huge_answer_is_refused_without_reading_it_all() -> None:
    huge = b'{"access_token": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    with (
        serve(lambda request: Reply(200, huge)) as server,
        pytest.raises(TokenFetchError, match="answered more than 64 KiB"),
    ):
        fetch_token(spec(server), FetchContext(now=T0))


def test_a_token_too_long_to_be_one_is_refused() -> None:
    body = {"access_token": "y" * 40_000, "expires_in": 60}
    with (
        serve(lambda request: Reply.json(body)) as server,
        pytest.raises(TokenFetchError, match="token of 40000 characters"),
    ):
        fetch_token(spec(server), FetchContext(now=T0))
