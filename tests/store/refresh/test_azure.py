"""The azure provider: real azure-identity (msal) against an https authority on 127.0.0.1
whose certificate comes from a test CA trusted through REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token, get_provider
from store.refresh.providers.azure import DEVOPS_SCOPE
from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

NOW = datetime(2030, 1, 1, tzinfo=UTC)
TENANT = "my-tenant"
CLIENT_SECRET = "az-client-secret-value"


class Authority:
    """Microsoft Entra's v2.0 endpoints, enough for the client credentials grant."""

    def __init__(self) -> None:
        self.base = ""

    def __call__(self, request: Request) -> Reply:
        tenant = f"{self.base}/{TENANT}"
        if request.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return Reply.json(
                {
                    "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
                    "device_authorization_endpoint": f"{tenant}/oauth2/v2.0/devicecode",
                    "issuer": f"{tenant}/v2.0",
                }
            )
        if request.path == f"/{TENANT}/oauth2/v2.0/token":
            form = request.form()
            if form.get("client_secret") != CLIENT_SECRET or form.get("client_id") != "app-id":
                return Reply.json(
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                    401,
                )
            return Reply.json(
                {
                    "access_token": f"az.{form['scope'].split('/')[0]}",
                    "expires_in": 3599,
                    "ext_expires_in": 3599,
                    "token_type": "Bearer",
                }
            )
        return Reply(404, b"{}")


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Loopback]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ):
        monkeypatch.delenv(var, raising=False)
    handler = Authority()
    with serve(handler, tls=server_context) as server:
        handler.base = server.url
        yield server


def principal(server: Loopback, secret: str = CLIENT_SECRET, **extra: str) -> ProviderSpec:
    return ProviderSpec.build(
        "azure",
        {"tenant-id": TENANT, "client-id": "app-id", "authority": server.url, **extra},
        {"client-secret": secret},
    )


def test_service_principal_gets_a_devops_token(authority: Loopback) -> None:
    before = datetime.now(UTC)
    tok = fetch_token(principal(authority), FetchContext(now=NOW))
    assert tok.secret == f"az.{DEVOPS_SCOPE.split('/')[0]}"
    assert before + timedelta(seconds=3000) < tok.expires_at
    assert tok.issued_at == NOW
    assert get_provider("azure").default_username == "VssSessionToken"


def test_default_credential_reads_the_environment(
    authority: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", "app-id")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    spec = ProviderSpec.build("azure", {"authority": authority.url, "scope": "api://x/.default"})
    assert fetch_token(spec, FetchContext(now=NOW)).secret == "az.api:"


def test_wrong_secret_is_refused_without_echoing_it(authority: Loopback) -> None:
    with pytest.raises(TokenFetchError, match="AADSTS7000215") as info:
        fetch_token(principal(authority, secret="wrong-secret-xyz"), FetchContext(now=NOW))
    assert "wrong-secret-xyz" not in str(info.value)
    assert str(info.value).startswith("azure provider: ")


def test_server_failure(authority: Loopback) -> None:
    authority.handler = lambda request: Reply(500, b"<html>", "text/html")
    with pytest.raises(TokenFetchError, match="azure provider: "):
        fetch_token(principal(authority), FetchContext(now=NOW))


def test_untrusted_certificate(authority: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(TokenFetchError, match="azure provider: "):
        fetch_token(principal(authority), FetchContext(now=NOW))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"client-id": "a"}, "'tenant-id' too"),
        ({"tenant-id": "t", "client-id": "a", "authority": "http://login.example"}, "https"),
    ],
)
def test_bad_settings(settings: dict[str, str], message: str) -> None:
    spec = ProviderSpec.build("azure", settings, {"client-secret": "s"})
    with pytest.raises(ProviderConfigError, match=message):
        fetch_token(spec, FetchContext(now=NOW))
