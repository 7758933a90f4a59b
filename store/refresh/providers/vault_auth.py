"""How the vault provider gets a Vault token, and keeps it alive.

Methods (``auth`` setting):

* ``token`` -- an existing token: the ``token-file`` setting, else ``VAULT_TOKEN`` (or
  ``BAO_TOKEN``), else ``~/.vault-token`` (what ``vault login`` / ``bao login`` write);
* ``approle`` -- ``role-id`` and the secret id read from ``role-secret-id-file``;
* ``jwt`` -- a JWT/OIDC ID token for ``role``: from ``jwt-file``, from the variable ``jwt-env``
  names, from GitHub Actions (``ACTIONS_ID_TOKEN_REQUEST_URL`` / ``_TOKEN``, audience
  ``jwt-audience``) or from GitLab CI (``id_tokens: VAULT_ID_TOKEN``);
* ``kubernetes`` -- the pod's service-account token (``jwt-file``, default the standard path).

The store keeps only these settings -- file paths and variable names, never a secret id, JWT
or Vault token. The token a login returns lives in this process's memory (:class:`Session`):
the agent reuses it for every refresh, renews it (``renew-self``) two thirds into its TTL, and
logs in again when it cannot be renewed or Vault stops accepting it (revoked, expired). A
process without the agent logs in once per refresh.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers.vault_http import (
    LOOPBACK_HOSTS,
    NAME,
    Answer,
    VaultHttp,
    number,
)
from store.refresh.spec import ProviderSpec

if TYPE_CHECKING:
    import httpx

AUTH_METHODS = ("token", "approle", "jwt", "kubernetes")
K8S_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
GITLAB_JWT_VARIABLE = "VAULT_ID_TOKEN"  # the name GitLab's Vault documentation uses
MAX_FILE = 64 * 1024  # a token, secret id or JWT is far smaller
RENEW_FRACTION = 2 / 3
EXPIRY_MARGIN = timedelta(seconds=5)  # a token this close to its end is not worth sending


def env_value(env: Mapping[str, str], name: str) -> str | None:
    """``VAULT_<name>``, else OpenBao's ``BAO_<name>``."""
    return env.get(f"VAULT_{name}") or env.get(f"BAO_{name}") or None


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """The auth part of a vault spec: hashable, so it keys the in-memory session."""

    method: str = "token"
    mount: str = ""
    token_file: str | None = None
    role_id: str | None = None
    secret_id_file: str | None = None
    role: str | None = None
    jwt_file: str | None = None
    jwt_env: str | None = None
    jwt_audience: str | None = None

    @classmethod
    def from_spec(cls, spec: ProviderSpec) -> AuthSettings:
        method = spec.get("auth", "token") or "token"
        if method not in AUTH_METHODS:
            raise ProviderConfigError(
                NAME, f"auth must be one of {', '.join(AUTH_METHODS)}, not {method!r}"
            )
        mount = (spec.get("auth-mount") or method).strip("/")
        auth = cls(
            method=method,
            mount=mount,
            token_file=spec.get("token-file"),
            role_id=spec.get("role-id"),
            secret_id_file=spec.get("role-secret-id-file"),
            role=spec.get("role"),
            jwt_file=spec.get("jwt-file"),
            jwt_env=spec.get("jwt-env"),
            jwt_audience=spec.get("jwt-audience"),
        )
        auth.check()
        return auth

    def check(self) -> None:
        if self.method == "approle" and not (self.role_id and self.secret_id_file):
            raise ProviderConfigError(
                NAME, "AppRole needs --vault-role-id and --vault-role-secret-id-file"
            )
        if self.method in ("jwt", "kubernetes") and not self.role:
            raise ProviderConfigError(NAME, f"{self.method} login needs --vault-role")
        if self.mount and any(part in (".", "..") for part in self.mount.split("/")):
            raise ProviderConfigError(NAME, f"the auth mount {self.mount!r} is not a usable path")

    @property
    def describe(self) -> str:
        if self.method == "approle":
            return f"AppRole login (role id {self.role_id}) at auth/{self.mount}"
        if self.method in ("jwt", "kubernetes"):
            return f"{self.method} login (role {self.role}) at auth/{self.mount}"
        return "token"


@dataclass(frozen=True, slots=True)
class Session:
    """A Vault token held in memory, with what decides when to renew it."""

    token: str = field(repr=False)
    obtained: datetime
    expires_at: datetime | None  # None: the token has no TTL
    renewable: bool
    source: str  # where it came from, for messages: "AppRole login", "the token in X"

    def usable(self, now: datetime) -> bool:
        if self.expires_at is None:
            return True
        margin = min(EXPIRY_MARGIN, (self.expires_at - self.obtained) / 10)
        return now < self.expires_at - margin

    def renewal_due(self, now: datetime) -> bool:
        if self.expires_at is None:
            return False
        return now >= self.obtained + (self.expires_at - self.obtained) * RENEW_FRACTION


SessionKey = tuple[str, str | None, AuthSettings]
_sessions: dict[SessionKey, Session] = {}
_lock = threading.Lock()


def session(
    http: VaultHttp,
    auth: AuthSettings,
    env: Mapping[str, str],
    now: datetime,
    *,
    github: httpx.Client | None = None,
) -> tuple[Session, bool]:
    """A token to send, and whether it was obtained just now (a login, not the kept one).

    The kept token is renewed when due; one that cannot be renewed is replaced by a login."""
    key: SessionKey = (http.addr, http.namespace, auth)
    with _lock:
        kept = _sessions.get(key)
    if kept is not None and kept.usable(now):
        if not kept.renewal_due(now):
            return kept, False
        renewed = _renew(http, kept, now) if kept.renewable else None
        if renewed is not None:
            _keep(key, renewed)
            return renewed, False
    fresh = login(http, auth, env, now, github=github)
    _keep(key, fresh)
    return fresh, True


def forget(http: VaultHttp, auth: AuthSettings) -> None:
    """Drop the kept token (Vault refused it): the next :func:`session` logs in again."""
    with _lock:
        _sessions.pop((http.addr, http.namespace, auth), None)


def forget_all() -> None:
    with _lock:
        _sessions.clear()


def _keep(key: SessionKey, value: Session) -> None:
    with _lock:
        _sessions[key] = value


def login(
    http: VaultHttp,
    auth: AuthSettings,
    env: Mapping[str, str],
    now: datetime,
    *,
    github: httpx.Client | None = None,
) -> Session:
    if auth.method == "token":
        return _existing_token(http, auth, env, now)
    if auth.method == "approle":
        assert auth.role_id is not None and auth.secret_id_file is not None
        secret_id = read_secret_file(auth.secret_id_file, "AppRole secret id")
        body: dict[str, Any] = {"role_id": auth.role_id, "secret_id": secret_id}
        hint = "check --vault-role-id and that the secret id in the file is current"
    elif auth.method == "jwt":
        body = {"role": auth.role, "jwt": _ci_jwt(auth, env, github)}
        hint = "check --vault-role and that the role's bound audiences/claims match this JWT"
    else:
        jwt_file = auth.jwt_file or K8S_TOKEN_FILE
        body = {"role": auth.role, "jwt": read_secret_file(jwt_file, "service-account token")}
        hint = "check --vault-role and the role's bound service accounts and namespaces"
    answer = http.call("POST", f"auth/{auth.mount}/login", body=body)
    if answer.status != 200:
        raise http.failure(answer, auth.describe, hint)
    return _session_from_auth(answer, now, auth.describe, http)


def _session_from_auth(answer: Answer, now: datetime, source: str, http: VaultHttp) -> Session:
    info = answer.data.get("auth")
    token = info.get("client_token") if isinstance(info, dict) else None
    if not isinstance(info, dict) or not isinstance(token, str) or not token:
        raise TokenFetchError(
            NAME, f"{source}: Vault at {http.addr} answered without a client token"
        )
    ttl = number(info.get("lease_duration")) or 0.0
    return Session(
        token=token,
        obtained=now,
        expires_at=now + timedelta(seconds=ttl) if ttl > 0 else None,
        renewable=info.get("renewable") is True,
        source=source,
    )


def _renew(http: VaultHttp, kept: Session, now: datetime) -> Session | None:
    """The kept token renewed, or None if Vault would not (then the caller logs in again)."""
    try:
        answer = http.call("POST", "auth/token/renew-self", token=kept.token, body={})
    except TokenFetchError:
        return None
    if answer.status != 200:
        return None
    try:
        renewed = _session_from_auth(answer, now, kept.source, http)
    except TokenFetchError:
        return None
    if renewed.token != kept.token:  # renew-self keeps the token; anything else is odd
        return None
    return renewed


def _existing_token(
    http: VaultHttp, auth: AuthSettings, env: Mapping[str, str], now: datetime
) -> Session:
    if auth.token_file:
        token, source = (
            read_secret_file(auth.token_file, "Vault token"),
            f"the token in {auth.token_file}",
        )
    elif env_value(env, "TOKEN"):
        token, source = env_value(env, "TOKEN") or "", "the token in VAULT_TOKEN"
    else:
        path = str(Path.home() / ".vault-token")
        token, source = read_secret_file(path, "Vault token"), f"the token in {path}"
    answer = http.call("GET", "auth/token/lookup-self", token=token)
    if answer.status == 403:
        raise TokenFetchError(
            NAME,
            f"Vault refused {source} (expired or revoked); log in to Vault again "
            "(vault login / bao login), or use --vault-auth approle|jwt on machines",
        )
    data = answer.data.get("data")
    if answer.status != 200 or not isinstance(data, dict):
        # Some policies leave out lookup-self; the token may still read the secret.
        return Session(token, now, None, False, source)
    ttl = number(data.get("ttl")) or 0.0
    return Session(
        token=token,
        obtained=now,
        expires_at=now + timedelta(seconds=ttl) if ttl > 0 else None,
        renewable=data.get("renewable") is True,
        source=source,
    )


def read_secret_file(path: str, what: str) -> str:
    """The one-line secret in ``path`` (a token, secret id or JWT), checked."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE + 1)
    except OSError as exc:
        raise TokenFetchError(
            NAME, f"cannot read the {what} file {path} ({exc.strerror}); check the path"
        ) from None
    if len(raw) > MAX_FILE:
        raise TokenFetchError(NAME, f"the {what} file {path} is too large to hold a {what}")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise TokenFetchError(
            NAME, f"the {what} file {path} does not hold a {what} (not ASCII text)"
        ) from None
    if not text or any(not ch.isprintable() or ch.isspace() for ch in text):
        raise TokenFetchError(
            NAME, f"the {what} file {path} must hold the {what} alone on one line"
        )
    return text


def _ci_jwt(auth: AuthSettings, env: Mapping[str, str], github: httpx.Client | None) -> str:
    if auth.jwt_file:
        return read_secret_file(auth.jwt_file, "JWT")
    if auth.jwt_env:
        return _jwt_variable(env, auth.jwt_env)
    if env.get("ACTIONS_ID_TOKEN_REQUEST_URL") and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        return _github_jwt(env, auth.jwt_audience, github)
    if env.get(GITLAB_JWT_VARIABLE):
        return _jwt_variable(env, GITLAB_JWT_VARIABLE)
    raise TokenFetchError(
        NAME,
        "no JWT to log in with: give --vault-jwt-file or --vault-jwt-env, or run in GitHub "
        "Actions with 'permissions: id-token: write', or in GitLab CI with "
        f"'id_tokens: {GITLAB_JWT_VARIABLE}'",
    )


def _jwt_variable(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise TokenFetchError(NAME, f"the variable {name} that should hold the JWT is empty")
    if len(value) > MAX_FILE or any(not ch.isprintable() or ch.isspace() for ch in value):
        raise TokenFetchError(
            NAME, f"the variable {name} does not hold a JWT (one line, no spaces)"
        )
    return value


def _github_jwt(env: Mapping[str, str], audience: str | None, client: httpx.Client | None) -> str:
    """An ID token from the GitHub Actions runner's token service."""
    import httpx

    url = env["ACTIONS_ID_TOKEN_REQUEST_URL"]
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    ):
        raise TokenFetchError(NAME, "ACTIONS_ID_TOKEN_REQUEST_URL is not an https URL")
    # The URL carries api-version already; the audience joins it.
    target = httpx.URL(url)
    if audience:
        target = target.copy_merge_params({"audience": audience})
    own = client is None
    if client is None:
        from store.http import NetworkSettings, make_client

        client = make_client(NetworkSettings.from_env(), tls=parts.scheme == "https", timeout=30)
    try:
        response = client.get(
            target,
            headers={"Authorization": f"bearer {env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"},
        )
    except httpx.HTTPError as exc:
        raise TokenFetchError(
            NAME, f"cannot get an ID token from GitHub Actions ({type(exc).__name__})"
        ) from None
    finally:
        if own:
            client.close()
    try:
        value = response.json().get("value") if response.status_code == 200 else None
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str) or not value:
        raise TokenFetchError(
            NAME,
            f"GitHub Actions gave no ID token (HTTP {response.status_code}); the job needs "
            "'permissions: id-token: write'",
        )
    return value
