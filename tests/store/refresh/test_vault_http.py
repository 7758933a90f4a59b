"""The vault provider's HTTP conversation, on httpx.MockTransport: what is sent where."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from store.refresh.errors import TokenFetchError
from store.refresh.providers import FetchContext, fetch_token
from store.refresh.providers import vault as vault_module
from store.refresh.providers.vault_auth import Session
from store.refresh.spec import ProviderSpec

T0 = datetime(2030, 1, 1, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def mounts(request: httpx.Request) -> httpx.Response | None:
    if "/sys/internal/ui/mounts/" in request.url.path:
        body = {"data": {"path": "secret/", "type": "kv", "options": {"version": "2"}}}
        return httpx.Response(200, json=body)
    return None


def client(handler: Handler) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return mounts(request) or handler(request)

    return httpx.Client(transport=httpx.MockTransport(record)), seen


def kv(password: str = "pw") -> httpx.Response:
    return httpx.Response(200, json={"data": {"data": {"password": password}, "metadata": {}}})


def login_answer(token: str = "s.login", ttl: int = 600) -> httpx.Response:
    return httpx.Response(
        200, json={"auth": {"client_token": token, "lease_duration": ttl, "renewable": True}}
    )


def test_kubernetes_login_sends_the_service_account_token(tmp_path: Path) -> None:
    sa = tmp_path / "token"
    sa.write_text("k8s.jwt.value\n")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/k8s-prod/login":
            assert json.loads(request.content) == {"role": "ci", "jwt": "k8s.jwt.value"}
            return login_answer()
        assert request.headers["x-vault-token"] == "s.login"
        return kv()

    http, seen = client(handler)
    spec = ProviderSpec.build(
        "vault",
        {
            "addr": "https://vault.example.com",
            "path": "secret/team/pypi",
            "auth": "kubernetes",
            "auth-mount": "k8s-prod",
            "role": "ci",
            "jwt-file": str(sa),
        },
    )
    assert fetch_token(spec, FetchContext(now=T0, http_client=http)).secret == "pw"
    assert [r.url.path for r in seen] == [
        "/v1/auth/k8s-prod/login",
        "/v1/sys/internal/ui/mounts/secret/team/pypi",
        "/v1/secret/data/team/pypi",
    ]


def test_namespace_and_request_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "s.user")
    monkeypatch.setenv("VAULT_NAMESPACE", "team-a")

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-vault-namespace"] == "team-a"
        assert request.headers["x-vault-request"] == "true"
        if request.url.path.endswith("lookup-self"):
            return httpx.Response(200, json={"data": {"ttl": 0, "renewable": False}})
        return kv()

    http, seen = client(handler)
    spec = ProviderSpec.build("vault", {"addr": "https://v.example", "path": "secret/a"})
    assert fetch_token(spec, FetchContext(now=T0, http_client=http)).secret == "pw"
    assert all(r.headers["x-vault-token"] == "s.user" for r in seen)
    # A namespace stored at login wins over the environment.
    spec = ProviderSpec.build(
        "vault", {"addr": "https://v.example", "path": "secret/a", "namespace": "team-a"}
    )
    monkeypatch.setenv("VAULT_NAMESPACE", "elsewhere")
    assert fetch_token(spec, FetchContext(now=T0, http_client=http)).secret == "pw"


def test_kept_login_renewed_when_due_and_replaced_when_renewal_fails(tmp_path: Path) -> None:
    secret_id = tmp_path / "sid"
    secret_id.write_text("the-secret-id")
    logins: list[str] = []
    renew_ok = [True]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/auth/approle/login":
            logins.append(path)
            return login_answer(f"s.login{len(logins)}", ttl=600)
        if path == "/v1/auth/token/renew-self":
            if not renew_ok[0]:
                return httpx.Response(403, json={"errors": ["permission denied"]})
            return login_answer(request.headers["x-vault-token"], ttl=600)
        return kv()

    http, seen = client(handler)
    spec = ProviderSpec.build(
        "vault",
        {
            "addr": "https://v.example",
            "path": "secret/a",
            "auth": "approle",
            "role-id": "r",
            "role-secret-id-file": str(secret_id),
        },
    )

    def at(seconds: float) -> None:
        fetch_token(spec, FetchContext(now=T0 + timedelta(seconds=seconds), http_client=http))

    at(0)
    at(100)  # well inside the TTL: the kept token, nothing else
    assert len(logins) == 1 and not any("renew" in r.url.path for r in seen)
    at(450)  # past two thirds of 600 s: renewed, no new login
    assert len(logins) == 1 and sum("renew-self" in r.url.path for r in seen) == 1
    renew_ok[0] = False
    at(900)  # due again, renewal refused: a new login
    assert len(logins) == 2
    assert seen[-1].headers["x-vault-token"] == "s.login2"


def test_a_refused_kept_token_is_replaced_once_and_a_fresh_refusal_is_final(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_JWT", "header.payload.sig")
    revoked: set[str] = set()
    denied = [False]
    logins: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/jwt/login":
            logins.append(f"s.{len(logins) + 1}")
            return login_answer(logins[-1])
        if request.headers["x-vault-token"] in revoked or denied[0]:
            return httpx.Response(403, json={"errors": ["permission denied"]})
        return kv()

    http, seen = client(handler)
    spec = ProviderSpec.build(
        "vault",
        {
            "addr": "https://v.example",
            "path": "secret/a",
            "auth": "jwt",
            "role": "ci",
            "jwt-env": "MY_JWT",
        },
    )
    fetch_token(spec, FetchContext(now=T0, http_client=http))
    revoked.add("s.1")
    assert fetch_token(spec, FetchContext(now=T0, http_client=http)).secret == "pw"
    assert logins == ["s.1", "s.2"] and seen[-1].headers["x-vault-token"] == "s.2"
    # Refused right after a login: the policy's answer, no login loop.
    denied[0] = True
    vault_module.forget_all()
    with pytest.raises(TokenFetchError, match="permission denied reading secret/data/a"):
        fetch_token(spec, FetchContext(now=T0, http_client=http))
    assert len(logins) == 3


def test_server_trouble_is_retryable_and_names_no_secret(tmp_path: Path) -> None:
    token_file = tmp_path / "t"
    token_file.write_text("s.very-secret-token")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("lookup-self"):
            return httpx.Response(200, json={"data": {"ttl": 0}})
        return httpx.Response(503, json={"errors": ["Vault is sealed"]})

    http, _ = client(handler)
    spec = ProviderSpec.build(
        "vault", {"addr": "https://v.example", "path": "secret/a", "token-file": str(token_file)}
    )
    with pytest.raises(TokenFetchError) as info:
        fetch_token(spec, FetchContext(now=T0, http_client=http))
    message = str(info.value)
    assert "HTTP 503 (Vault is sealed)" in message and "retried" in message
    assert "very-secret" not in message


def test_hostile_answers_are_refused_in_one_line(tmp_path: Path) -> None:
    token_file = tmp_path / "t"
    token_file.write_text("s.t")
    bodies = iter(
        [
            b"<html>not json</html>",
            json.dumps({"data": {"data": {"password": 42}}}).encode(),
            json.dumps({"errors": ["line one\nline two\x1b[31m"]}).encode(),
        ]
    )
    statuses = iter([200, 200, 400])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("lookup-self"):
            return httpx.Response(200, json={"data": {"ttl": 0}})
        return httpx.Response(next(statuses), content=next(bodies))

    http, _ = client(handler)
    spec = ProviderSpec.build(
        "vault", {"addr": "https://v.example", "path": "secret/a", "token-file": str(token_file)}
    )
    messages = []
    for _ in range(3):
        with pytest.raises(TokenFetchError) as info:
            fetch_token(spec, FetchContext(now=T0, http_client=http))
        messages.append(str(info.value))
    assert "without data" in messages[0]
    assert "not a non-empty string" in messages[1]
    # Vault's free text is not passed on: the status, and our words for what we recognise.
    assert "HTTP 400;" in messages[2] and "line" not in messages[2]
    assert all("\n" not in m for m in messages)


def test_session_margin_scales_with_short_tokens() -> None:
    short = Session("t", T0, T0 + timedelta(seconds=3), True, "x")
    assert short.usable(T0 + timedelta(seconds=2.5))
    assert not short.usable(T0 + timedelta(seconds=2.8))
    long = Session("t", T0, T0 + timedelta(hours=1), True, "x")
    assert not long.usable(T0 + timedelta(minutes=59, seconds=56))
    assert long.renewal_due(T0 + timedelta(minutes=40))
    assert not long.renewal_due(T0 + timedelta(minutes=39))


def test_the_engine_is_asked_again_after_a_failed_read(tmp_path: Path) -> None:
    token_file = tmp_path / "t"
    token_file.write_text("s.t")
    version = ["1"]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("lookup-self"):
            return httpx.Response(200, json={"data": {"ttl": 0}})
        if "/sys/internal/ui/mounts/" in path:
            options = {"version": version[0]}
            return httpx.Response(
                200, json={"data": {"path": "kv/", "type": "kv", "options": options}}
            )
        if version[0] == "1" and path == "/v1/kv/a":
            return httpx.Response(200, json={"data": {"password": "v1"}})
        if version[0] == "2" and path == "/v1/kv/data/a":
            return httpx.Response(200, json={"data": {"data": {"password": "v2"}}})
        return httpx.Response(404, json={"errors": []})

    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(record))
    spec = ProviderSpec.build(
        "vault", {"addr": "https://v.example", "path": "kv/a", "token-file": str(token_file)}
    )
    ctx = FetchContext(now=T0, http_client=http)
    assert fetch_token(spec, ctx).secret == "v1"
    assert fetch_token(spec, ctx).secret == "v1"
    assert sum("/mounts/" in p for p in seen) == 1  # remembered
    version[0] = "2"  # the mount was upgraded to KV v2
    with pytest.raises(TokenFetchError, match="no secret at kv/a"):
        fetch_token(spec, ctx)
    assert fetch_token(spec, ctx).secret == "v2"


@pytest.mark.parametrize(
    ("value", "wanted"), [("", "is empty"), ("a.b.c\nextra", "does not hold a JWT")]
)
def test_a_jwt_variable_must_hold_one_jwt(
    value: str, wanted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_JWT", value)
    http, seen = client(lambda request: login_answer())
    spec = ProviderSpec.build(
        "vault",
        {"addr": "https://v.example", "path": "secret/a", "auth": "jwt", "role": "ci",
         "jwt-env": "MY_JWT"},
    )  # fmt: skip
    with pytest.raises(TokenFetchError, match=wanted):
        fetch_token(spec, FetchContext(now=T0, http_client=http))
    assert seen == []  # nothing was sent
