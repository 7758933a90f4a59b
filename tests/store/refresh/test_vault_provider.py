"""The vault provider against a real OpenBao dev server (fixture ``openbao``)."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from store.refresh.errors import ProviderConfigError, RefreshError, TokenFetchError
from store.refresh.providers import FetchContext, fetch_token, get_provider, vault
from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve
from tests.store.refresh.openbao import AUDIENCE, OpenBao, running, unique_path


def now() -> datetime:
    return datetime.now(UTC)


def acl(path: str) -> str:
    """The ACL path of a KV v2 secret written at ``path``."""
    mount, _, rest = path.partition("/")
    return f"{mount}/data/{rest}"


def fetch(spec: ProviderSpec, when: datetime | None = None) -> str:
    return fetch_token(spec, FetchContext(now=when or now())).secret


def error_of(spec: ProviderSpec) -> str:
    with pytest.raises(RefreshError) as info:
        fetch_token(spec, FetchContext(now=now()))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


class Team:
    """A KV v2 secret and an AppRole that may read it, with its secret id in a file."""

    def __init__(self, bao: OpenBao, tmp_path: Path, **role_options: Any) -> None:
        self.bao = bao
        self.path = unique_path()
        bao.put_kv2(self.path, password="first-pw", username="ci-bot")
        self.role_id, self.secret_id = bao.approle(bao.reader(acl(self.path)), **role_options)
        self.secret_file = tmp_path / "secret-id"
        self.secret_file.write_text(self.secret_id + "\n")

    def spec(self, **extra: str) -> ProviderSpec:
        settings = {
            "addr": self.bao.addr,
            "path": self.path,
            "auth": "approle",
            "role-id": self.role_id,
            "role-secret-id-file": str(self.secret_file),
            **extra,
        }
        return ProviderSpec.build("vault", settings)


@pytest.fixture
def team(openbao: OpenBao, tmp_path: Path) -> Team:
    return Team(openbao, tmp_path)


def test_kv2_with_approle_serves_until_ttl_and_asks_again_by_the_interval(team: Team) -> None:
    t0 = now()
    spec = team.spec(**{"refresh-interval": "120", "ttl": "3600"})
    get_provider("vault").check(spec)
    token = fetch_token(spec, FetchContext(now=t0))
    assert token.secret == "first-pw"
    assert token.refresh_by == t0 + timedelta(seconds=120)
    assert token.expires_at == t0 + timedelta(seconds=3600)
    assert "first-pw" not in repr(token)


def test_username_field_is_read_and_checked_on_refresh(team: Team) -> None:
    spec = team.spec(**{"username-field": "username"})
    assert vault.username_of(spec, FetchContext(now=now())) == "ci-bot"
    checked = ProviderSpec.build("vault", {**dict(spec.settings), "expected-username": "ci-bot"})
    assert fetch(checked) == "first-pw"
    team.bao.put_kv2(team.path, password="pw", username="other-bot")
    message = error_of(checked)
    assert "'other-bot'" in message and "idx-auth login again" in message


def test_rotation_is_read_on_the_next_fetch(team: Team) -> None:
    spec = team.spec()
    assert fetch(spec) == "first-pw"
    team.bao.put_kv2(team.path, password="second-pw", username="ci-bot")
    assert fetch(spec) == "second-pw"


def test_kv1_with_a_token_file(openbao: OpenBao, tmp_path: Path) -> None:
    path = unique_path("kv1")
    openbao.put_kv1(path, token="kv1-token")
    token_file = tmp_path / "vault-token"
    token_file.write_text(openbao.token(openbao.reader(path)) + "\n")
    spec = ProviderSpec.build(
        "vault",
        {"addr": openbao.addr, "path": path, "field": "token", "token-file": str(token_file)},
    )
    got = fetch_token(spec, FetchContext(now=now()))
    assert got.secret == "kv1-token" and got.refresh_by is not None


def test_token_from_the_environment_then_home(
    openbao: OpenBao, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = unique_path()
    openbao.put_kv2(path, password="env-pw")
    token = openbao.token(openbao.reader(acl(path)))
    spec = ProviderSpec.build("vault", {"addr": openbao.addr, "path": path})
    (isolated_home / ".vault-token").write_text(token)
    assert fetch(spec) == "env-pw"
    vault.forget_all()
    (isolated_home / ".vault-token").write_text("not-a-valid-token")
    monkeypatch.setenv("VAULT_TOKEN", token)
    assert fetch(spec) == "env-pw"  # VAULT_TOKEN wins over ~/.vault-token, as for the CLI


def test_a_leased_path_lives_for_its_lease(openbao: OpenBao, tmp_path: Path) -> None:
    # A KV v1 secret with a ttl field answers with that lease; read as a plain path, the
    # lease decides the lifetime (what a dynamic secrets engine does).
    path = unique_path("kv1")
    openbao.put_kv1(path, password="leased", ttl="90s")
    spec = ProviderSpec.build(
        "vault",
        {"addr": openbao.addr, "path": path, "kv-version": "none"},
    )
    token_file = tmp_path / "t"
    token_file.write_text(openbao.token(openbao.reader(path)))
    spec = ProviderSpec.build("vault", {**dict(spec.settings), "token-file": str(token_file)})
    t0 = now()
    got = fetch_token(spec, FetchContext(now=t0))
    assert got.secret == "leased" and got.refresh_by is None
    assert got.expires_at == t0 + timedelta(seconds=90)


def test_explicit_kv2_mount(openbao: OpenBao, tmp_path: Path) -> None:
    path = unique_path()
    openbao.put_kv2(path, password="explicit")
    token_file = tmp_path / "t"
    token_file.write_text(openbao.token(openbao.reader(acl(path))))
    spec = ProviderSpec.build(
        "vault",
        {"addr": openbao.addr, "path": path, "kv-version": "2", "token-file": str(token_file)},
    )
    assert fetch(spec) == "explicit"


def jwt_spec(bao: OpenBao, path: str, role: str, **extra: str) -> ProviderSpec:
    settings = {"addr": bao.addr, "path": path, "auth": "jwt", "role": role, **extra}
    return ProviderSpec.build("vault", settings)


@pytest.fixture
def jwt_team(openbao: OpenBao) -> tuple[str, str]:
    path = unique_path()
    openbao.put_kv2(path, password="jwt-pw")
    role = openbao.jwt_role(openbao.reader(acl(path)), repository="acme/app")
    return path, role


def test_jwt_from_a_file(openbao: OpenBao, jwt_team: tuple[str, str], tmp_path: Path) -> None:
    path, role = jwt_team
    jwt = tmp_path / "id-token"
    jwt.write_text(openbao.jwt.sign({"sub": "repo:acme/app", "repository": "acme/app"}))
    assert fetch(jwt_spec(openbao, path, role, **{"jwt-file": str(jwt)})) == "jwt-pw"
    # A JWT whose claims the role does not accept: Vault's reason, on one line.
    jwt.write_text(openbao.jwt.sign({"sub": "repo:evil/app", "repository": "evil/app"}))
    vault.forget_all()
    message = error_of(jwt_spec(openbao, path, role, **{"jwt-file": str(jwt)}))
    assert "jwt login" in message and "HTTP 400 (the JWT's claims do not match" in message
    assert jwt.read_text() not in message


def test_jwt_from_gitlab_id_token_variable(
    openbao: OpenBao, jwt_team: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, role = jwt_team
    monkeypatch.setenv("VAULT_ID_TOKEN", openbao.jwt.sign({"sub": "p", "repository": "acme/app"}))
    assert fetch(jwt_spec(openbao, path, role)) == "jwt-pw"


@pytest.fixture
def actions_token_service(openbao: OpenBao) -> Iterator[Loopback]:
    """GitHub Actions' ID-token service as a runner sees it: bearer-authenticated GET with an
    audience parameter, answering {"value": JWT}."""

    def answer(request: Request) -> Reply:
        if request.headers.get("authorization") != "bearer runner-request-token":
            return Reply.json({"message": "unauthorized"}, 401)
        audience = request.query.get("audience", ["https://github.com/acme"])[0]
        claims = {"sub": "repo:acme/app:ref:refs/heads/main", "repository": "acme/app"}
        return Reply.json({"value": openbao.jwt.sign({**claims, "aud": audience})})

    with serve(answer) as server:
        yield server


def test_jwt_from_github_actions(
    openbao: OpenBao,
    jwt_team: tuple[str, str],
    actions_token_service: Loopback,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, role = jwt_team
    url = f"{actions_token_service.url}/token?api-version=2.0"
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
    spec = jwt_spec(openbao, path, role, **{"jwt-audience": AUDIENCE})
    assert fetch(spec) == "jwt-pw"
    asked = actions_token_service.requests[-1]
    assert asked.query["audience"] == [AUDIENCE] and asked.query["api-version"] == ["2.0"]
    # Without the audience the role is bound to, Vault says no.
    vault.forget_all()
    assert "HTTP 400 (the JWT's audience is not one" in error_of(jwt_spec(openbao, path, role))


def test_no_jwt_anywhere_says_where_one_comes_from(
    openbao: OpenBao, jwt_team: tuple[str, str]
) -> None:
    path, role = jwt_team
    message = error_of(jwt_spec(openbao, path, role))
    assert "id-token: write" in message and "VAULT_ID_TOKEN" in message


def test_a_revoked_login_is_replaced_by_a_new_login(team: Team) -> None:
    spec = team.spec()
    assert fetch(spec) == "first-pw"
    # Every token AppRole handed out is revoked (an operator's reaction to a leak).
    team.bao.api("PUT", "sys/leases/revoke-prefix/auth/approle/login")
    team.bao.put_kv2(team.path, password="after-revoke", username="ci-bot")
    assert fetch(spec) == "after-revoke"


def test_a_revoked_token_file_says_log_in_again(openbao: OpenBao, tmp_path: Path) -> None:
    path = unique_path()
    openbao.put_kv2(path, password="pw")
    token = openbao.token(openbao.reader(acl(path)))
    token_file = tmp_path / "t"
    token_file.write_text(token)
    spec = ProviderSpec.build(
        "vault", {"addr": openbao.addr, "path": path, "token-file": str(token_file)}
    )
    assert fetch(spec) == "pw"
    openbao.api("POST", "auth/token/revoke", {"token": token})
    message = error_of(spec)
    assert "expired or revoked" in message and str(token_file) in message
    assert token not in message
    # A new token written to the file (by `bao login`, or Vault Agent) is picked up.
    token_file.write_text(openbao.token(openbao.reader(acl(path))))
    assert fetch(spec) == "pw"


def test_a_renewable_token_is_renewed_two_thirds_into_its_ttl(
    openbao: OpenBao, tmp_path: Path
) -> None:
    path = unique_path()
    openbao.put_kv2(path, password="pw")
    token = openbao.token(openbao.reader(acl(path)), ttl="60s", renewable=True)
    token_file = tmp_path / "t"
    token_file.write_text(token)
    spec = ProviderSpec.build(
        "vault", {"addr": openbao.addr, "path": path, "token-file": str(token_file)}
    )

    def renewed() -> bool:
        found = openbao.api("POST", "auth/token/lookup", {"token": token})["data"]
        return bool(found.get("last_renewal_time"))

    t0 = now()
    assert fetch(spec, t0) == "pw"
    assert fetch(spec, t0 + timedelta(seconds=30)) == "pw"
    assert not renewed()  # half-way: nothing to do
    # Our clock two thirds into the TTL (the server's is not): the fetch renews it first.
    assert fetch(spec, t0 + timedelta(seconds=45)) == "pw"
    assert renewed() and openbao.token_ttl(token) > 50


def test_a_login_past_its_ttl_is_replaced_by_a_new_login(openbao: OpenBao, tmp_path: Path) -> None:
    role = f"short-{uuid.uuid4().hex[:8]}"
    team = Team(openbao, tmp_path, name=role, token_ttl="10s", token_max_ttl="10s")
    spec = team.spec()
    t0 = now()
    assert fetch(spec, t0) == "first-pw"
    assert openbao.role_tokens(role) == 1
    team.bao.put_kv2(team.path, password="later", username="ci-bot")
    # By our clock the login's token has run out (max TTL: no renewal): log in again.
    assert fetch(spec, t0 + timedelta(seconds=11)) == "later"
    assert openbao.role_tokens(role) == 2


def test_permission_denied_names_the_path_and_the_policy(team: Team, openbao: OpenBao) -> None:
    other = unique_path()
    openbao.put_kv2(other, password="not-yours")
    message = error_of(team.spec(path=other))
    assert "permission denied" in message and acl(other) in message
    assert "not-yours" not in message and team.secret_id not in message


def test_wrong_path_field_and_role_are_one_line_errors(team: Team, tmp_path: Path) -> None:
    # Vault does not tell a token whether a path it may not read exists.
    missing = error_of(team.spec(path=team.path + "-nope"))
    assert "permission denied reading" in missing
    field = error_of(team.spec(field="token"))
    assert "no field 'token'" in field and "password, username" in field
    assert "first-pw" not in field
    role = error_of(team.spec(**{"role-id": "not-a-role"}))
    assert "AppRole login" in role and "HTTP 400 (invalid role id" in role
    assert team.secret_id not in role
    (tmp_path / "bad").write_text("wrong-secret-id")
    secret = error_of(team.spec(**{"role-secret-id-file": str(tmp_path / "bad")}))
    assert "HTTP 400" in secret and "wrong-secret-id" not in secret
    nofile = error_of(team.spec(**{"role-secret-id-file": str(tmp_path / "absent")}))
    assert "cannot read the AppRole secret id file" in nofile


def test_a_missing_secret_with_permission_is_not_found(openbao: OpenBao, tmp_path: Path) -> None:
    token_file = tmp_path / "t"
    token_file.write_text(openbao.root)
    spec = ProviderSpec.build(
        "vault",
        {"addr": openbao.addr, "path": unique_path(), "token-file": str(token_file)},
    )
    message = error_of(spec)
    assert "no secret at" in message and "without data/" in message


def test_a_deleted_kv2_version_says_so(openbao: OpenBao, tmp_path: Path) -> None:
    path = unique_path()
    openbao.put_kv2(path, password="gone")
    mount, _, rest = path.partition("/")
    openbao.api("DELETE", f"{mount}/data/{rest}")
    token_file = tmp_path / "t"
    token_file.write_text(openbao.root)
    spec = ProviderSpec.build(
        "vault", {"addr": openbao.addr, "path": path, "token-file": str(token_file)}
    )
    assert "is deleted" in error_of(spec)


def test_vault_down_is_a_retryable_one_line_error(tmp_path: Path) -> None:
    from demo.localindex import free_port

    token_file = tmp_path / "t"
    token_file.write_text("whatever")
    spec = ProviderSpec.build(
        "vault",
        {
            "addr": f"http://127.0.0.1:{free_port()}",
            "path": "secret/x",
            "token-file": str(token_file),
        },
    )
    with pytest.raises(TokenFetchError, match=r"cannot reach Vault at http://127\.0\.0\.1:\d+"):
        fetch_token(spec, FetchContext(now=now()))


@pytest.mark.parametrize(
    ("settings", "wanted"),
    [
        ({"path": "secret/x"}, "'addr' is missing"),
        ({"addr": "http://vault.example.com", "path": "x"}, "plain http"),
        ({"addr": "https://u:p@vault.example.com", "path": "x"}, "nothing more"),
        ({"addr": "https://v", "path": "a/../b"}, "not a usable path"),
        ({"addr": "https://v", "path": "a", "auth": "ldap"}, "auth must be one of"),
        ({"addr": "https://v", "path": "a", "auth": "approle"}, "--vault-role-id"),
        ({"addr": "https://v", "path": "a", "auth": "jwt"}, "--vault-role"),
        ({"addr": "https://v", "path": "a", "kv-version": "3"}, "kv-version must be"),
        (
            {"addr": "https://v", "path": "a", "refresh-interval": "600", "ttl": "60"},
            "at least the refresh-interval",
        ),
    ],
)
def test_settings_are_checked_without_io(settings: dict[str, str], wanted: str) -> None:
    with pytest.raises(ProviderConfigError, match=wanted):
        get_provider("vault").check(ProviderSpec.build("vault", settings))


# --- TLS, client certificates and proxies, through the shared HTTP client factory ------------


@pytest.fixture(scope="module")
def tls_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    with running(tmp_path_factory.mktemp("tls-bao"), tls=True) as server:
        yield server


def test_vault_ca_from_the_setting_or_the_environment(
    tls_bao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_bao.ca is not None and tls_bao.addr.startswith("https://")
    path = unique_path()
    tls_bao.put_kv2(path, password="over-tls")
    token_file = tmp_path / "t"
    token_file.write_text(tls_bao.token(tls_bao.reader(acl(path))))
    settings = {"addr": tls_bao.addr, "path": path, "token-file": str(token_file)}
    # The server's CA is nobody's default: refused, with the fix in the message.
    message = error_of(ProviderSpec.build("vault", settings))
    assert "is not trusted" in message and "VAULT_CACERT" in message
    assert fetch(ProviderSpec.build("vault", {**settings, "ca-cert": tls_bao.ca})) == "over-tls"
    vault.forget_all()
    monkeypatch.setenv("VAULT_CACERT", tls_bao.ca)
    assert fetch(ProviderSpec.build("vault", settings)) == "over-tls"
    monkeypatch.delenv("VAULT_CACERT")
    monkeypatch.setenv("BAO_CAPATH", str(_hashed_dir(tls_bao.ca, tmp_path / "capath")))
    vault.forget_all()
    assert fetch(ProviderSpec.build("vault", settings)) == "over-tls"


def _hashed_dir(ca: str, directory: Path) -> Path:
    """A CA directory as VAULT_CAPATH takes it (OpenSSL's subject-hash names)."""
    import subprocess

    directory.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", ca], capture_output=True, text=True
    ).stdout.strip()
    if not subject_hash:
        pytest.skip("openssl is not installed to name a hashed CA directory")
    (directory / f"{subject_hash}.0").write_bytes(Path(ca).read_bytes())
    return directory


def fake_vault(request: Request) -> Reply:
    """Enough of Vault's API for a token-file read of a KV v2 secret."""
    if request.path.endswith("/lookup-self"):
        return Reply.json({"data": {"ttl": 0, "renewable": False}})
    if "/sys/internal/ui/mounts/" in request.path:
        return Reply.json({"data": {"path": "secret/", "type": "kv", "options": {"version": "2"}}})
    return Reply.json({"data": {"data": {"password": "via-" + request.headers["host"]}}})


def test_client_certificate_with_a_separate_key(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED  # like Vault's tls_require_and_verify_client_cert
    client = ca.issue_cert("runner-7.example")
    cert, key, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    key.write_bytes(client.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(ca_file))
    token_file = tmp_path / "t"
    token_file.write_text("s.token")
    with serve(fake_vault, tls=server_ctx) as server:
        base = {"addr": server.url, "path": "secret/a", "token-file": str(token_file)}
        spec = ProviderSpec.build(
            "vault",
            {**base, "ca-cert": str(ca_file), "client-cert": str(cert), "client-key": str(key)},
        )
        assert fetch(spec).startswith("via-127.0.0.1")
        vault.forget_all()
        without = ProviderSpec.build("vault", {**base, "ca-cert": str(ca_file)})
        assert "not trusted (or a client certificate was refused)" in error_of(without)
    bad_key = ProviderSpec.build(
        "vault", {**base, "client-cert": str(cert), "client-key": str(tmp_path / "none.pem")}
    )
    with pytest.raises(ProviderConfigError, match="cannot load them"):
        fetch_token(bad_key, FetchContext(now=now()))


def test_vault_proxy_is_used_for_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from demo.localindex import free_port

    token_file = tmp_path / "t"
    token_file.write_text("s.token")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: only the proxy can answer
    with serve(fake_vault) as proxy:
        monkeypatch.setenv("VAULT_PROXY_ADDR", proxy.url)
        spec = ProviderSpec.build(
            "vault", {"addr": nowhere, "path": "secret/a", "token-file": str(token_file)}
        )
        assert fetch(spec) == "via-" + nowhere.removeprefix("http://")
        assert proxy.requests and proxy.requests[-1].headers["x-vault-token"] == "s.token"


def test_a_username_that_is_not_one_is_refused(team: Team) -> None:
    team.bao.put_kv2(team.path, password="pw", username="ci bot\n\x1b[2J")
    spec = team.spec(**{"username-field": "username"})
    with pytest.raises(TokenFetchError, match="does not hold a username") as info:
        vault.username_of(spec, FetchContext(now=now()))
    assert "\x1b" not in str(info.value)


def test_namespace_from_the_setting_or_vault_namespace(
    openbao: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = f"team-{uuid.uuid4().hex[:6]}"
    openbao.api("POST", f"sys/namespaces/{namespace}", {})
    inside = OpenBao(openbao.addr, openbao.root, openbao.process, namespace=namespace)
    inside.api("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}})
    inside.put_kv2("kv/pypi", password="in-namespace")
    token_file = tmp_path / "t"
    token_file.write_text(openbao.root)
    base = {"addr": openbao.addr, "path": "kv/pypi", "token-file": str(token_file)}
    assert fetch(ProviderSpec.build("vault", {**base, "namespace": namespace})) == "in-namespace"
    vault.forget_all()
    monkeypatch.setenv("VAULT_NAMESPACE", namespace)
    assert fetch(ProviderSpec.build("vault", base)) == "in-namespace"
    vault.forget_all()
    monkeypatch.delenv("VAULT_NAMESPACE")
    assert "kv/pypi" in error_of(ProviderSpec.build("vault", base))  # not in the root namespace
