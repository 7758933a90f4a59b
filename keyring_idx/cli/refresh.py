"""``idx-auth refresh`` and the ``--provider`` options of ``idx-auth login``.

``login`` (in :mod:`keyring_idx.cli.auth`) calls :func:`add_provider_arguments` on its parser
and hands over to :func:`login_with_provider` when ``--provider`` is given: the first token is
fetched at once, and the entry is stored with the provider settings so it can be refreshed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keyring_idx.cli.base import CliError, Sub, emit_json, say
from keyring_idx.cli.secrets import from_flag
from store.refresh import PROVIDER_NAMES

if TYPE_CHECKING:
    from store.refresh.spec import ProviderSpec
    from store.service import ServiceUrl

REFRESH_TIMEOUT = 180.0


def add_provider_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "token refresh",
        "Mint short-lived tokens instead of storing a fixed password (docs/refresh.md).",
    )
    g.add_argument("--provider", choices=PROVIDER_NAMES, help="where fresh tokens come from")
    g.add_argument(
        "--command",
        metavar="CMDLINE",
        help="command: program and arguments (split like a shell, run without one) that print "
        "the token, or JSON with token and expires_in/expires_at",
    )
    g.add_argument(
        "--ttl", type=int, metavar="SECONDS", help="command/oauth2: lifetime when none is given"
    )
    g.add_argument("--token-url", metavar="URL", help="oauth2: the token endpoint")
    g.add_argument("--client-id", metavar="ID", help="oauth2/azure: the client (application) id")
    g.add_argument(
        "--client-secret", metavar="-", help="oauth2/azure: '-' reads the client secret from stdin"
    )
    g.add_argument("--scope", help="oauth2/azure: the scope to ask for")
    g.add_argument(
        "--auth-method",
        choices=("basic", "post"),
        help="oauth2: client authentication (default: basic)",
    )
    g.add_argument(
        "--duration",
        type=int,
        metavar="SECONDS",
        help="codeartifact: token lifetime, 900..43200 (default 43200)",
    )
    g.add_argument("--profile", help="codeartifact: AWS profile (default: the usual chain)")
    g.add_argument("--endpoint-url", metavar="URL", help="codeartifact: a VPC endpoint URL")
    g.add_argument("--credentials-file", metavar="PATH", help="gcp: a key file instead of ADC")
    g.add_argument("--tenant-id", metavar="ID", help="azure: the tenant of a service principal")
    g.add_argument("--authority", metavar="HOST", help="azure: a sovereign cloud's authority")
    add_vault_arguments(p)


# --vault-KEY flags; KEY is the setting's name (store.refresh.providers.vault.SETTINGS) and the
# key of a [tool.idx-auth.indexes.NAME] table.
VAULT_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("addr", "URL", "the Vault / OpenBao server (default: $VAULT_ADDR)"),
    ("path", "PATH", "the secret, as 'kv get' / 'vault read' take it (secret/team/pypi)"),
    ("field", "F", "the field holding the password or token (default: password)"),
    ("username-field", "F", "the field holding the username (default: -u / the URL)"),
    ("kv-version", "auto|1|2|none", "the engine: KV v1/v2, none for a leased path (default auto)"),
    ("kv-mount", "MOUNT", "KV v2 with --vault-kv-version 2: the mount (default: first segment)"),
    ("refresh-interval", "SECONDS", "KV: read Vault again this often (default 300)"),
    ("ttl", "SECONDS", "KV: serve the last value this long while Vault is down (default 86400)"),
    ("timeout", "SECONDS", "a request's time-out (default 10)"),
    ("namespace", "NS", "Vault Enterprise namespace (default: $VAULT_NAMESPACE)"),
    ("ca-cert", "PATH", "CA bundle for Vault's TLS (default: $VAULT_CACERT)"),
    ("ca-path", "DIR", "CA directory for Vault's TLS (default: $VAULT_CAPATH)"),
    ("client-cert", "PATH", "client certificate (default: $VAULT_CLIENT_CERT)"),
    ("client-key", "PATH", "its key (default: $VAULT_CLIENT_KEY)"),
    ("proxy", "URL", "proxy for Vault only (default: $VAULT_PROXY_ADDR, else HTTPS_PROXY)"),
    ("auth", "token|approle|jwt|kubernetes", "how to log in to Vault (default: token)"),
    ("auth-mount", "PATH", "where the auth method is mounted (default: its name)"),
    (
        "token-file",
        "PATH",
        "token: a file holding the Vault token (default: $VAULT_TOKEN, else ~/.vault-token)",
    ),
    ("role-id", "ID", "approle: the role id"),
    ("role-secret-id-file", "PATH", "approle: a file holding the secret id"),
    ("role", "ROLE", "jwt/kubernetes: the role to log in as"),
    (
        "jwt-file",
        "PATH",
        "jwt/kubernetes: a file holding the JWT (kubernetes default: the service-account token)",
    ),
    (
        "jwt-env",
        "VAR",
        "jwt: a variable holding the JWT (default: GitHub Actions' or GitLab's VAULT_ID_TOKEN)",
    ),
    ("jwt-audience", "AUD", "jwt: the audience to ask GitHub Actions for"),
)
VAULT_PATH_SETTINGS = frozenset(
    {
        "token-file",
        "role-secret-id-file",
        "jwt-file",
        "ca-cert",
        "ca-path",
        "client-cert",
        "client-key",
    }
)


def add_vault_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "vault provider",
        "--provider vault: read the secret from HashiCorp Vault / OpenBao (docs/vault.md). "
        "Only settings and file paths are stored, never a Vault token, secret id or JWT.",
    )
    for key, metavar, help_text in VAULT_FLAGS:
        g.add_argument(f"--vault-{key}", dest=_dest(key), metavar=metavar, help=help_text)


def _dest(key: str) -> str:
    return "vault_" + key.replace("-", "_")


def vault_settings(
    given: Mapping[str, object], env: Mapping[str, str], base: Path | None = None
) -> dict[str, str | None]:
    """The vault settings from flags (or a project table), with the connection settings the
    environment has filled in and file paths made absolute (the agent runs elsewhere)."""
    from store.refresh.providers.vault import ENV_SETTINGS
    from store.refresh.providers.vault_auth import env_value

    settings: dict[str, str | None] = {}
    for key, _metavar, _help in VAULT_FLAGS:
        value = given.get(key)
        if value is None:
            value = env_value(env, ENV_SETTINGS[key]) if key in ENV_SETTINGS else None
        if value is None:
            continue
        text = str(value)
        if key in VAULT_PATH_SETTINGS:
            path = Path(text).expanduser()
            text = str(path if path.is_absolute() else (base or Path.cwd()) / path)
        settings[key] = text
    return settings


def build_spec(args: argparse.Namespace, service_url: str) -> ProviderSpec:
    from store.refresh.providers import codeartifact, get_provider
    from store.refresh.spec import ProviderSpec

    name: str = args.provider
    ttl = None if args.ttl is None else str(args.ttl)
    if name == "command":
        if not args.command:
            raise CliError("--provider command needs --command 'PROGRAM ARGS...'")
        spec = ProviderSpec.build(name, {"command": args.command, "ttl": ttl})
    elif name == "oauth2":
        if not args.token_url or not args.client_id:
            raise CliError("--provider oauth2 needs --token-url and --client-id")
        secret = from_flag(args.client_secret, "--client-secret", "client secret: ")
        spec = ProviderSpec.build(
            name,
            {
                "token-url": args.token_url,
                "client-id": args.client_id,
                "scope": args.scope,
                "auth-method": args.auth_method,
                "ttl": ttl,
            },
            {"client-secret": secret},
        )
    elif name == "codeartifact":
        spec = codeartifact.spec_for_index(
            service_url,
            duration=args.duration,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
        )
    elif name == "gcp":
        spec = ProviderSpec.build(name, {"credentials-file": args.credentials_file})
    elif name == "vault":
        given = {key: getattr(args, _dest(key), None) for key, _m, _h in VAULT_FLAGS}
        settings = vault_settings(given, os.environ)
        if not settings.get("addr") or not settings.get("path"):
            raise CliError("--provider vault needs --vault-addr (or VAULT_ADDR) and --vault-path")
        spec = ProviderSpec.build(name, settings)
    else:
        secret = None
        if args.client_secret is not None:
            secret = from_flag(args.client_secret, "--client-secret", "client secret: ")
        spec = ProviderSpec.build(
            name,
            {
                "tenant-id": args.tenant_id,
                "client-id": args.client_id,
                "scope": args.scope,
                "authority": args.authority,
            },
            {"client-secret": secret},
        )
    get_provider(name).check(spec)
    return spec


def login_with_provider(args: argparse.Namespace, target: ServiceUrl) -> int:
    """``idx-auth login SERVICE [-u USER] --provider NAME ...``."""
    from store.refresh import entries
    from store.refresh.providers import get_provider
    from store.vault import Vault

    if args.password is not None or args.token is not None:
        raise CliError("--provider mints the secret itself; drop --password / --token")
    if args.username is not None and target.username is not None:
        raise CliError(
            "Cannot specify a username both via the URL and CLI; found "
            f"`--username {args.username}` and `{target.username}`"
        )
    username = args.username or target.username or get_provider(args.provider).default_username
    from_vault = args.provider == "vault" and args.vault_username_field
    if not username and not from_vault:
        raise CliError(f"--provider {args.provider} needs --username (the index's user name)")
    spec = build_spec(args, args.service)
    now = datetime.now(UTC)
    if from_vault:
        spec, username = with_vault_username(spec, username, now)
    assert username is not None
    token, _ = entries.login(Vault(), target.service, username, spec, now=now)
    until = token.expires_at.isoformat(timespec="seconds")
    if token.refresh_by is not None:
        again = token.refresh_by.isoformat(timespec="seconds")
        say(
            f"Stored credentials for {username}@{target.service}: a {args.provider} secret, "
            f"read again by {again} and served until {until} while the source is unreachable"
        )
        return 0
    say(
        f"Stored credentials for {username}@{target.service}: a {args.provider} token valid "
        f"until {until}, refreshed before it expires"
    )
    return 0


def with_vault_username(
    spec: ProviderSpec, given: str | None, now: datetime
) -> tuple[ProviderSpec, str]:
    """The username read from Vault, and the spec that checks on every refresh that it is
    still the one stored (an entry is keyed by its username)."""
    from store.refresh.providers import FetchContext, vault
    from store.refresh.spec import ProviderSpec

    username = vault.username_of(spec, FetchContext(now=now))
    if given is not None and given != username:
        raise CliError(
            f"the username in Vault is {username!r}, not {given!r}; drop -u or "
            "--vault-username-field"
        )
    settings = {**dict(spec.settings), "expected-username": username}
    return ProviderSpec.build(spec.provider, settings, dict(spec.secrets)), username


def register(sub: Sub) -> None:
    p = sub.add_parser(
        "refresh",
        help="Fetch fresh tokens for entries that have a provider",
        description="Refresh now every entry with a token provider, or only SERVICE's. "
        "With --due only those past three quarters of their token's lifetime (what the "
        "systemd timer runs).",
    )
    p.add_argument("service", metavar="SERVICE", nargs="?")
    p.add_argument("-u", "--username", help="only this username's entry")
    p.add_argument("--due", action="store_true", help="only entries that are due")
    p.add_argument("--json", action="store_true", help="a JSON array on stdout")
    p.set_defaults(func=cmd_refresh)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Through the agent when one runs (its in-memory plan follows), else in this process.
    ``--due`` (the timer) always runs here: it is for people without the agent."""
    from store import service

    key: str | None = None
    if args.service is not None:
        key = service.parse_login_service(args.service).service
    results = None if args.due else _through_agent(key, args.username)
    if results is None:
        results = _in_process(key, args.username, due=args.due)
    if args.json:
        emit_json(results)
    else:
        for r in results:
            say(_line(r))
    if not results:
        if not args.json:
            say("No entry with a token provider" + (f" for {args.service}" if key else ""))
        return 1
    return 2 if any(r.get("error") for r in results) else 0


def _through_agent(key: str | None, username: str | None) -> list[dict[str, Any]] | None:
    """The agent's results, or None when no agent (of this protocol) runs."""
    from keyring_idx.cli.agent import AGENT_DOWN
    from store.agent import client
    from store.agent import protocol as p
    from store.dirs import resolve_dirs

    dirs = resolve_dirs()
    try:
        # A provider may take its full time-out (a command runs up to 60 s).
        reply = client.request(
            p.Refresh(key, username),
            timeout=REFRESH_TIMEOUT,
            path=str(dirs.socket),
            store=str(dirs.store_file),
        )
    except client.AgentUnavailable:
        return None
    if reply.status == p.UNSUPPORTED:
        return None  # an agent without refresh: do it here
    if reply.status == p.LOCKED:
        raise CliError(f"the agent is locked: {reply.message}", AGENT_DOWN)
    if not reply.ok:
        raise CliError(f"the agent could not refresh: {reply.message}")
    results = reply.data.get("results")
    if not isinstance(results, list):
        raise CliError("the agent sent a malformed refresh reply")
    return [r for r in results if isinstance(r, dict)]


def _in_process(key: str | None, username: str | None, *, due: bool) -> list[dict[str, Any]]:
    from store.model import Entry
    from store.refresh import entries
    from store.refresh.schedule import Reason
    from store.vault import Vault

    def matches(entry: Entry) -> bool:
        if entry.plain:
            return False
        return (key is None or entry.service == key) and (
            username is None or entry.username == username
        )

    results = entries.refresh_entries(
        Vault(),
        now=datetime.now(UTC),
        reason=Reason.DUE if due else Reason.FORCE,
        matches=matches,
    )
    return [r.describe() for r in results]


def _line(r: dict[str, Any]) -> str:
    who = f"{r.get('username')}@{r.get('service')}" if r.get("username") else str(r.get("service"))
    expires = r.get("expires_at")
    until = f"valid until {_seconds(expires)}" if expires else ""
    if r.get("error"):
        kept = f"; kept the current token, {until}" if expires and r.get("attempted") else ""
        return f"failed    {who}: {r['error']}{kept}"
    if r.get("refreshed"):
        return f"refreshed {who}, {until}"
    return f"not due   {who}, {until}"


def _seconds(text: object) -> str:
    try:
        return datetime.fromisoformat(str(text)).isoformat(timespec="seconds")
    except ValueError:
        return str(text)
