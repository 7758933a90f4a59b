"""The gcp provider: real google-auth service-account credentials whose token_uri is a
loopback server that checks the signed assertion."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token, get_provider
from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

NOW = datetime(2030, 1, 1, tzinfo=UTC)
EMAIL = "reader@my-project.iam.gserviceaccount.com"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenServer:
    """Google's OAuth token endpoint for the JWT bearer grant, enough to test against."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.public = key.public_key()

    def __call__(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        header, claims, signature = form["assertion"].split(".")
        try:
            self.public.verify(
                b64decode(signature),
                f"{header}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            return Reply.json({"error": "invalid_grant", "error_description": "bad signature"}, 400)
        payload = json.loads(b64decode(claims))
        if payload["iss"] != EMAIL:
            return Reply.json({"error": "invalid_grant"}, 400)
        return Reply.json(
            {
                "access_token": f"ya29.{payload['scope'].split('/')[-1]}",
                "expires_in": 3599,
                "token_type": "Bearer",
            }
        )


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    return tmp_path


@pytest.fixture
def account(google_env: Path, key: rsa.RSAPrivateKey) -> Iterator[tuple[Path, Loopback]]:
    with serve(TokenServer(key)) as server:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = google_env / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "my-project",
                    "private_key_id": "k1",
                    "private_key": pem,
                    "client_email": EMAIL,
                    "client_id": "1234",
                    "token_uri": f"{server.url}/token",
                }
            )
        )
        yield path, server


def test_application_default_credentials(
    account: tuple[Path, Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, server = account
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    before = datetime.now(UTC)
    tok = fetch_token(ProviderSpec.build("gcp"), FetchContext(now=NOW))
    assert tok.secret == "ya29.cloud-platform"
    # google-auth stamps expiry with its own clock (minus a small safety margin).
    assert before < tok.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert server.requests[-1].path == "/token"
    assert get_provider("gcp").default_username == "oauth2accesstoken"


def test_credentials_file_setting_and_scopes(account: tuple[Path, Loopback]) -> None:
    path, _ = account
    spec = ProviderSpec.build(
        "gcp",
        {
            "credentials-file": str(path),
            "scopes": "https://www.googleapis.com/auth/cloud-platform.read-only",
        },
    )
    tok = fetch_token(spec, FetchContext(now=NOW))
    assert tok.secret == "ya29.cloud-platform.read-only"


def test_refused(account: tuple[Path, Loopback]) -> None:
    path, server = account
    server.handler = lambda request: Reply.json(
        {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
    )
    spec = ProviderSpec.build("gcp", {"credentials-file": str(path)})
    with pytest.raises(TokenFetchError, match=r"Google refused .*invalid_grant") as info:
        fetch_token(spec, FetchContext(now=NOW))
    assert "PRIVATE KEY" not in str(info.value)


def test_server_failure_and_garbage(account: tuple[Path, Loopback]) -> None:
    path, server = account
    spec = ProviderSpec.build("gcp", {"credentials-file": str(path), "timeout": "2"})
    for reply in (Reply(500, b"oops", "text/plain"), Reply(200, b"<html>", "text/html")):
        server.handler = lambda request, reply=reply: reply  # type: ignore[misc]
        with pytest.raises(TokenFetchError, match="gcp provider: "):
            fetch_token(spec, FetchContext(now=NOW))


def test_no_application_default_credentials(google_env: Path) -> None:
    with pytest.raises(TokenFetchError, match="gcloud auth application-default login"):
        fetch_token(ProviderSpec.build("gcp"), FetchContext(now=NOW))


def test_unreachable(account: tuple[Path, Loopback], monkeypatch: pytest.MonkeyPatch) -> None:
    path, server = account
    server.handler = lambda request: Reply(delay=30)
    spec = ProviderSpec.build("gcp", {"credentials-file": str(path), "timeout": "0.5"})
    with pytest.raises(TokenFetchError, match="gcp provider: "):
        fetch_token(spec, FetchContext(now=NOW))


def test_credentials_file_of_another_kind(google_env: Path) -> None:
    odd = google_env / "odd.json"
    odd.write_text('{"type": "external_account"}')
    spec = ProviderSpec.build("gcp", {"credentials-file": str(odd)})
    with pytest.raises(ProviderConfigError, match="'external_account' credentials"):
        fetch_token(spec, FetchContext(now=NOW))
    missing = ProviderSpec.build("gcp", {"credentials-file": str(google_env / "none.json")})
    with pytest.raises(TokenFetchError, match="No such file"):
        fetch_token(missing, FetchContext(now=NOW))
