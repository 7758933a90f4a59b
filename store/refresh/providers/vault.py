"""``vault``: the index secret (and optionally its username) read from HashiCorp Vault / OpenBao.

Settings (the entry's ``refresh`` table; ``idx-auth login --provider vault --vault-...``):

* ``addr`` and ``path`` -- the server and the secret's path as ``vault read`` / ``kv get``
  take it (``secret/team/pypi``, no ``data/`` for KV v2); ``field`` (default ``password``)
  and ``username-field``;
* ``kv-version`` -- ``auto`` (ask Vault which engine serves the path, as ``vault kv`` does),
  ``1``, ``2`` (mount ``kv-mount``, default the first path segment) or ``none`` (any other
  engine: the path is read as it is);
* ``refresh-interval`` (KV: read again this often, default 5 min) and ``ttl`` (KV: serve the
  last value this long without reaching Vault, default 24 h). A secret that comes with a lease
  (a dynamic secrets engine) lives for its ``lease_duration`` and is refreshed three quarters
  into it;
* the auth settings of :mod:`store.refresh.providers.vault_auth`; ``namespace``, ``ca-cert``,
  ``ca-path``, ``client-cert``, ``client-key``, ``proxy`` -- each falling back to ``VAULT_*``
  (or ``BAO_*``) in the environment of the process that fetches, through the shared HTTP client
  factory (:mod:`store.http`).

A 403 with a kept Vault token is answered by logging in again once: a revoked or expired token
is replaced without anyone noticing; a 403 right after a login is the policy's answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from store.redaction import printable
from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers import vault_auth
from store.refresh.providers.base import FetchContext, error_code, seconds_setting
from store.refresh.providers.vault_auth import AuthSettings, env_value
from store.refresh.providers.vault_http import (
    NAME,
    Answer,
    VaultHttp,
    api_path,
    check_addr,
    number,
)
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

if TYPE_CHECKING:
    import httpx

DEFAULT_FIELD = "password"
DEFAULT_REFRESH_INTERVAL = 300.0
DEFAULT_TTL = 86400.0
DEFAULT_TIMEOUT = 10.0
KV_VERSIONS = ("auto", "1", "2", "none")
MAX_SECONDS = 366 * 86400
# Settings a person may put in [tool.idx-auth.indexes.NAME] or give as --vault-NAME.
SETTINGS = (
    "addr",
    "path",
    "field",
    "username-field",
    "kv-version",
    "kv-mount",
    "refresh-interval",
    "ttl",
    "timeout",
    "namespace",
    "ca-cert",
    "ca-path",
    "client-cert",
    "client-key",
    "proxy",
    "auth",
    "auth-mount",
    "token-file",
    "role-id",
    "role-secret-id-file",
    "role",
    "jwt-file",
    "jwt-env",
    "jwt-audience",
)
# Environment variables captured into the settings at login, so the agent (started by systemd,
# without the shell's environment) connects the way the person's shell does.
ENV_SETTINGS = {
    "addr": "ADDR",
    "namespace": "NAMESPACE",
    "ca-cert": "CACERT",
    "ca-path": "CAPATH",
    "client-cert": "CLIENT_CERT",
    "client-key": "CLIENT_KEY",
    "proxy": "PROXY_ADDR",
}


@dataclass(frozen=True, slots=True)
class Engine:
    """The secrets engine a Vault path is mounted on."""

    kind: str  # "kv1", "kv2" or "other"
    mount: str = ""  # kv2: the mount's API path, without a trailing slash


@dataclass(frozen=True, slots=True)
class Secret:
    """What one read returned: the secret's fields, its lease, how it was read."""

    values: Mapping[str, Any]
    lease_seconds: float
    engine: Engine
    path: str


_engines: dict[tuple[str, str | None, str], Engine] = {}
_engines_lock = threading.Lock()


def intervals(spec: ProviderSpec) -> tuple[float, float]:
    """KV: (refresh-interval, ttl), checked."""
    interval = seconds_setting(
        spec, "refresh-interval", DEFAULT_REFRESH_INTERVAL, low=1, high=MAX_SECONDS
    )
    ttl = seconds_setting(spec, "ttl", max(DEFAULT_TTL, interval), low=1, high=MAX_SECONDS)
    if ttl < interval:
        raise ProviderConfigError(
            NAME,
            f"ttl ({ttl:g} s) must be at least the refresh-interval ({interval:g} s): it is how "
            "long the last value read is served when Vault cannot be reached",
        )
    return interval, ttl


class VaultProvider:
    name = NAME
    default_username: str | None = None

    def check(self, spec: ProviderSpec) -> None:
        check_addr(spec.require("addr"))
        api_path(spec.require("path"))
        AuthSettings.from_spec(spec)
        version = spec.get("kv-version", "auto")
        if version not in KV_VERSIONS:
            raise ProviderConfigError(
                NAME, f"kv-version must be one of {', '.join(KV_VERSIONS)}, not {version!r}"
            )
        if spec.get("kv-mount"):
            api_path(spec.get("kv-mount") or "")
        intervals(spec)
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        secret = read(spec, ctx)
        value = _field(secret, spec.get("field") or DEFAULT_FIELD, "--vault-field")
        expected = spec.get("expected-username")
        username_field = spec.get("username-field")
        if username_field and expected is not None:
            username = _field(secret, username_field, "--vault-username-field")
            if username != expected:
                raise TokenFetchError(
                    NAME,
                    f"the username in {secret.path} (field {username_field!r}) is now "
                    f"{printable(username, 64)!r}, not {expected!r} as stored; run idx-auth "
                    "login again to "
                    "store the credential under the new name",
                )
        now = ctx.now
        if secret.engine.kind == "other" and secret.lease_seconds > 0:
            return Token(value, now + timedelta(seconds=secret.lease_seconds), issued_at=now)
        interval, ttl = intervals(spec)
        return Token(
            value,
            now + timedelta(seconds=ttl),
            issued_at=now,
            refresh_by=now + timedelta(seconds=interval),
        )


def username_of(spec: ProviderSpec, ctx: FetchContext) -> str:
    """The username the secret at ``path`` holds in ``username-field`` (for login)."""
    field = spec.require("username-field")
    secret = read(spec, ctx)
    username = _field(secret, field, "--vault-username-field")
    if len(username) > 256 or not username.isprintable() or any(c.isspace() for c in username):
        raise TokenFetchError(
            NAME,
            f"the field {field!r} of {secret.path} does not hold a username (one line of "
            "printable text without spaces); check --vault-username-field",
        )
    return username


def read(spec: ProviderSpec, ctx: FetchContext, env: Mapping[str, str] | None = None) -> Secret:
    """The secret at ``path``, logging in (again) as needed; every failure a TokenFetchError."""
    env = os.environ if env is None else env
    auth = AuthSettings.from_spec(spec)
    http, owned = _connect(spec, ctx, env)
    try:
        kept, fresh = vault_auth.session(http, auth, env, ctx.now)
        answer, engine, path = _read(http, spec, kept.token)
        if answer.status == 403 and not fresh:
            # The kept token may have been revoked or outlived: log in once more.
            vault_auth.forget(http, auth)
            kept, fresh = vault_auth.session(http, auth, env, ctx.now)
            answer, engine, path = _read(http, spec, kept.token)
        if answer.status != 200:
            # The mount may have been moved or upgraded (KV v1 to v2): ask again next time.
            _forget_engine(http, spec)
        if answer.status == 403:
            raise _denied(http, auth, kept, engine, path)
        if answer.status == 404:
            raise _missing(http, answer, engine, path)
        if answer.status != 200 or engine is None:
            raise http.failure(answer, f"reading {path}", "check --vault-path")
        lease = number(answer.data.get("lease_duration")) or 0.0
        return Secret(_values(answer, engine, path), lease, engine, path)
    finally:
        if owned is not None:
            owned.close()


def _connect(
    spec: ProviderSpec, ctx: FetchContext, env: Mapping[str, str]
) -> tuple[VaultHttp, httpx.Client | None]:
    """The server as configured, and the client to close afterwards (None: the caller's)."""
    addr = check_addr(spec.require("addr"))
    namespace = spec.get("namespace") or env_value(env, "NAMESPACE")
    timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
    if ctx.http_client is not None:
        return VaultHttp(ctx.http_client, addr, namespace, timeout), None
    from store.http import NetworkConfigError, NetworkSettings, make_client

    def setting(key: str) -> str | None:
        return spec.get(key) or env_value(env, ENV_SETTINGS[key])

    network = NetworkSettings.from_env(env)
    network = replace(
        network,
        ca_file=setting("ca-cert") or network.ca_file,
        ca_dir=setting("ca-path") or network.ca_dir,
        client_cert=setting("client-cert") or network.client_cert,
        client_key=setting("client-key"),
    )
    proxy = setting("proxy") or env_value(env, "HTTP_PROXY")
    try:
        client = make_client(
            network,
            tls=addr.lower().startswith("https:"),
            timeout=timeout,
            max_connections=2,
            proxy=proxy,
        )
    except NetworkConfigError as exc:
        raise ProviderConfigError(NAME, str(exc)) from None
    return VaultHttp(client, addr, namespace, timeout), client


def _read(http: VaultHttp, spec: ProviderSpec, token: str) -> tuple[Answer, Engine | None, str]:
    """The answer to reading the secret (after finding its engine), the engine, the API path.
    A 403 from either step is returned, not raised: the caller may log in again."""
    path = api_path(spec.require("path"))
    engine, refused = _engine(http, spec, path, token)
    if engine is None:
        assert refused is not None
        return refused, None, path
    if engine.kind == "kv2":
        rest = path[len(engine.mount) :].strip("/")
        if not rest:
            raise ProviderConfigError(
                NAME, f"the Vault path {path} is the KV mount itself; name a secret inside it"
            )
        path = f"{engine.mount}/data/{rest}"
    return http.call("GET", path, token=token), engine, path


def _forget_engine(http: VaultHttp, spec: ProviderSpec) -> None:
    with _engines_lock:
        _engines.pop((http.addr, http.namespace, api_path(spec.require("path"))), None)


def _engine(
    http: VaultHttp, spec: ProviderSpec, path: str, token: str
) -> tuple[Engine | None, Answer | None]:
    version = spec.get("kv-version", "auto")
    if version == "none":
        return Engine("other"), None
    if version == "1":
        return Engine("kv1"), None
    if version == "2":
        mount = spec.get("kv-mount") or path.split("/")[0]
        mount = api_path(mount)
        if not (path + "/").startswith(mount + "/"):
            raise ProviderConfigError(NAME, f"the Vault path {path} is not inside {mount}")
        return Engine("kv2", mount), None
    key = (http.addr, http.namespace, path)
    with _engines_lock:
        known = _engines.get(key)
    if known is not None:
        return known, None
    # What `vault kv get` asks: which mount serves the path, of which type and version.
    answer = http.call("GET", f"sys/internal/ui/mounts/{path}", token=token)
    if answer.status == 403:
        return None, answer
    data = answer.data.get("data")
    if answer.status != 200 or not isinstance(data, dict):
        raise http.failure(
            answer,
            f"finding the secrets engine of {path}",
            "check --vault-path, or give --vault-kv-version 1, 2 or none",
        )
    served_by = data.get("path")
    kind = data.get("type")
    options = data.get("options")
    version_found = options.get("version") if isinstance(options, dict) else None
    if not isinstance(served_by, str) or not isinstance(kind, str):
        raise TokenFetchError(NAME, f"Vault answered the mount lookup of {path} without a mount")
    if kind in ("kv", "generic"):
        engine = Engine("kv2", api_path(served_by)) if version_found == "2" else Engine("kv1")
    else:
        engine = Engine("other")
    with _engines_lock:
        _engines[key] = engine
    return engine, None


def _denied(
    http: VaultHttp,
    auth: AuthSettings,
    kept: vault_auth.Session,
    engine: Engine | None,
    path: str,
) -> TokenFetchError:
    if auth.method == "token":
        check = http.call("GET", "auth/token/lookup-self", token=kept.token)
        if check.status == 403:
            vault_auth.forget(http, auth)
            return TokenFetchError(
                NAME,
                f"Vault refused {kept.source} (expired or revoked); log in to Vault again "
                "(vault login / bao login), or use --vault-auth approle|jwt on machines",
            )
    acl = path if engine is not None else f"{path} (or its KV v2 data/ path)"
    return TokenFetchError(
        NAME,
        f"permission denied reading {path} with {kept.source}; the token's policy must "
        f'grant capabilities = ["read"] on {acl}',
    )


def _missing(http: VaultHttp, answer: Answer, engine: Engine | None, path: str) -> TokenFetchError:
    if engine is not None and engine.kind == "kv2":
        data = answer.data.get("data")
        metadata = data.get("metadata") if isinstance(data, dict) else None
        if isinstance(metadata, dict) and (
            metadata.get("deletion_time") or metadata.get("destroyed")
        ):
            return TokenFetchError(
                NAME,
                f"the current version of {path} is deleted; undelete it or write a new version",
            )
        return TokenFetchError(
            NAME,
            f"no secret at {path} in Vault at {http.addr}; check --vault-path (give it as for "
            "'kv get', without data/)",
        )
    return TokenFetchError(NAME, f"no secret at {path} in Vault at {http.addr}; check --vault-path")


def _values(answer: Answer, engine: Engine, path: str) -> Mapping[str, Any]:
    data = answer.data.get("data")
    if engine.kind == "kv2" and isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, dict):
        raise TokenFetchError(NAME, f"Vault answered the read of {path} without data")
    return data


def _field(secret: Secret, name: str, flag: str) -> str:
    value = secret.values.get(name)
    if value is None:
        names = sorted(error_code(k, "?") for k in secret.values)
        fields = ", ".join(names[:20]) or "none"
        raise TokenFetchError(
            NAME,
            f"the secret at {secret.path} has no field {name!r} (its fields: {fields}); "
            f"check {flag}",
        )
    if not isinstance(value, str) or not value:
        raise TokenFetchError(
            NAME, f"the field {name!r} of {secret.path} is not a non-empty string; check {flag}"
        )
    return value


def forget_all() -> None:
    """Forget every kept Vault login and engine lookup (tests; a process that changes user)."""
    with _engines_lock:
        _engines.clear()
    vault_auth.forget_all()


PROVIDER = VaultProvider()
