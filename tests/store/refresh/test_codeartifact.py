"""The codeartifact provider: URL parsing (pure) and real botocore against a loopback
endpoint that speaks GetAuthorizationToken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token, get_provider
from store.refresh.providers.codeartifact import parse_index_url, spec_for_index
from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

URL = "https://my-domain-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/my-repo/simple/"
EXPIRY = datetime(2030, 1, 1, 12, tzinfo=UTC)
FAKE_KEY_ID = "AKIDLOOPBACKTEST"


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "loopback-secret-key")


def codeartifact(request: Request) -> Reply:
    if request.method != "POST" or request.path != "/v1/authorization-token":
        return Reply(404, b"{}")
    if FAKE_KEY_ID not in request.headers.get("authorization", ""):
        return Reply(403, b'{"message": "unsigned"}')
    query = {k: v[0] for k, v in request.query.items()}
    if query.get("domain") != "my-domain":
        return Reply(404, b'{"message": "Domain not found"}', "application/json")
    return Reply.json(
        {
            "authorizationToken": f"ca-token-{query.get('duration')}",
            "expiration": EXPIRY.timestamp(),
        }
    )


@pytest.fixture
def endpoint(aws_env: None) -> Iterator[Loopback]:
    with serve(codeartifact) as server:
        yield server


def test_parse_index_url() -> None:
    repo = parse_index_url(URL)
    assert (repo.domain, repo.owner, repo.region, repo.repository) == (
        "my-domain",
        "111122223333",
        "eu-west-1",
        "my-repo",
    )
    assert (
        parse_index_url(
            "https://d-123456789012.d.codeartifact.us-gov-west-1.amazonaws.com/"
        ).repository
        is None
    )


@given(
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    owner=st.from_regex(r"[0-9]{12}", fullmatch=True),
    region=st.sampled_from(["us-east-1", "eu-central-1", "ap-southeast-2", "cn-north-1"]),
    repo=st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True),
)
def test_parse_index_url_property(domain: str, owner: str, region: str, repo: str) -> None:
    url = f"https://{domain}-{owner}.d.codeartifact.{region}.amazonaws.com/pypi/{repo}/simple/"
    parsed = parse_index_url(url)
    assert (parsed.domain, parsed.owner, parsed.region, parsed.repository) == (
        domain,
        owner,
        region,
        repo,
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://my-domain-111122223333.d.codeartifact.eu-west-1.amazonaws.com/pypi/r/simple/",
        "https://my-domain.d.codeartifact.eu-west-1.amazonaws.com/pypi/r/simple/",
        "https://pypi.org/simple/",
        "https://my-domain-111122223333.d.codeartifact.eu-west-1.amazonaws.com.evil.example/",
    ],
)
def test_parse_rejects_other_urls(url: str) -> None:
    with pytest.raises(ProviderConfigError, match="not a CodeArtifact index URL"):
        parse_index_url(url)


def test_spec_for_index_and_username() -> None:
    spec = spec_for_index(URL, duration=3600)
    assert spec.to_flat() == {
        "provider": "codeartifact",
        "domain": "my-domain",
        "domain-owner": "111122223333",
        "region": "eu-west-1",
        "duration": "3600",
    }
    assert get_provider("codeartifact").default_username == "aws"
    for bad in (60, 43201):
        with pytest.raises(ProviderConfigError, match="15 minutes to 12 hours"):
            spec_for_index(URL, duration=bad)


def test_real_botocore_gets_a_token(endpoint: Loopback) -> None:
    spec = spec_for_index(URL, duration=1800, endpoint_url=endpoint.url)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    tok = fetch_token(spec, FetchContext(now=now))
    assert tok.secret == "ca-token-1800"
    assert tok.expires_at == EXPIRY and tok.issued_at == now
    request = endpoint.requests[-1]
    assert request.query["domain-owner"] == ["111122223333"]
    # SigV4 with the region from the URL.
    assert "/eu-west-1/codeartifact/aws4_request" in request.headers["authorization"]


def test_denied_names_the_domain_and_the_fix(endpoint: Loopback) -> None:
    endpoint.handler = lambda request: Reply(
        403, b'{"message": "User is not authorized"}', "application/json"
    )
    spec = spec_for_index(URL, endpoint_url=endpoint.url)
    with pytest.raises(TokenFetchError, match="codeartifact:GetAuthorizationToken") as info:
        fetch_token(spec, FetchContext(now=EXPIRY - timedelta(hours=1)))
    assert "my-domain" in str(info.value)
    assert "loopback-secret-key" not in str(info.value)


def test_server_errors_and_garbage(endpoint: Loopback) -> None:
    spec = spec_for_index(URL, endpoint_url=endpoint.url)
    endpoint.handler = lambda request: Reply(500, b"<html>oops</html>", "text/html")
    with pytest.raises(TokenFetchError, match=r"CodeArtifact failed .* HTTP 500"):
        fetch_token(spec, FetchContext(now=EXPIRY))
    endpoint.handler = lambda request: Reply.json({"expiration": 1})
    with pytest.raises(TokenFetchError, match="without a token"):
        fetch_token(spec, FetchContext(now=EXPIRY))


def test_no_credentials(endpoint: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    spec = spec_for_index(URL, endpoint_url=endpoint.url)
    with pytest.raises(TokenFetchError, match="no AWS credentials found"):
        fetch_token(spec, FetchContext(now=EXPIRY))


def test_unknown_profile(endpoint: Loopback) -> None:
    spec = spec_for_index(URL, endpoint_url=endpoint.url, profile="nope")
    with pytest.raises(TokenFetchError, match="profile 'nope' does not exist"):
        fetch_token(spec, FetchContext(now=EXPIRY))


def test_unreachable(aws_env: None) -> None:
    with serve(codeartifact) as server:
        url = server.url
    spec = spec_for_index(URL, endpoint_url=url)
    with pytest.raises(TokenFetchError, match="cannot reach CodeArtifact in eu-west-1"):
        fetch_token(spec, FetchContext(now=EXPIRY))


def test_missing_settings() -> None:
    with pytest.raises(ProviderConfigError, match="'domain' is missing"):
        fetch_token(ProviderSpec.build("codeartifact"), FetchContext(now=EXPIRY))
