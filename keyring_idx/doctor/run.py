"""The shell of ``idx-auth doctor``: gather the facts, run the checks, in the chain's order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from keyring_idx import declared
from keyring_idx.doctor import (
    declared_checks,
    gather,
    index_checks,
    keyring_cmd,
    local_checks,
    network,
    pip_checks,
)
from keyring_idx.doctor.audit_check import check_audit
from keyring_idx.doctor.facts import configured_indexes, index_facts, is_local, provider_facts
from keyring_idx.doctor.index_checks import known_username
from keyring_idx.doctor.model import OURS, Check, IndexFacts
from keyring_idx.resolver.client import IndexClient
from keyring_idx.resolver.config import Index, Settings
from keyring_idx.resolver.credentials import Netrc, read_netrc
from keyring_idx.resolver.errors import ConfigError
from keyring_idx.resolver.store_source import StoreSource
from store.model import Entry
from store.network import NetworkSettings


def diagnose(
    project_dir: Path,
    env: Mapping[str, str],
    *,
    probe: bool = True,
    keyring_timeout: float = keyring_cmd.DEFAULT_TIMEOUT,
    ours: str = OURS,
    now: datetime | None = None,
) -> list[Check]:
    """Every check, in the order uv depends on them. Never prompts, never prints."""
    now = now or datetime.now(UTC)
    agent = gather.agent_facts(env)
    store, doc = gather.store_facts(env, now)
    checks = [
        local_checks.check_files(gather.file_facts(env)),
        local_checks.check_store(store, agent),
        local_checks.check_agent(agent, store),
        local_checks.check_uv_plaintext(gather.uv_plaintext_facts(env)),
    ]
    checks.append(
        local_checks.check_keyring(
            keyring_cmd.keyring_facts(env, timeout=keyring_timeout),
            ours=ours,
            this_install=keyring_cmd.this_install(),
        )
    )
    try:
        uv = gather.uv_settings(project_dir, env)
    except ConfigError as exc:
        checks.append(local_checks.check_provider(provider_facts(env, [], [])))
        checks.append(Check("uv-config", "fail", str(exc), "fix the file the message names"))
        return checks + _pip(env, probe)
    indexes = configured_indexes(uv.settings)
    netrc_data, netrc_note = read_netrc(env)
    facts = [index_facts(index, env, doc.entries, netrc_data) for index in indexes]
    provider = replace(
        provider_facts(env, uv.layers, indexes),
        store_indexes=sum(1 for f in facts if _needs_store(f)),
    )
    checks.append(local_checks.check_provider(provider))
    if netrc_note:
        checks.append(Check("netrc", "warn", netrc_note, "fix or remove the netrc file"))
    usernames = [index_checks.check_username(f) for f in facts]
    checks += usernames
    checks += _declared(project_dir, uv.settings, doc.entries, now, store.error)
    if probe:
        checks += _probes(uv, facts, usernames, env, netrc_data)
    else:
        checks.append(index_checks.check_strategy(uv.settings.strategy))
    return checks + _pip(env, probe)


def _pip(env: Mapping[str, str], probe: bool) -> list[Check]:
    """pip's index URLs with a username and no password (they may never reach keyring)."""
    home = pip_checks.home_of(env)
    if not probe:
        return pip_checks.checks(env, home, None)
    import httpx

    from store.http import NetworkConfigError, make_client

    try:
        client = make_client(NetworkSettings.from_env(env))
    except NetworkConfigError:
        return pip_checks.checks(env, home, None)

    def get(url: str, authorization: str) -> int | None:
        try:
            return client.get(url, headers={"Authorization": authorization}).status_code
        except httpx.HTTPError:
            return None

    with client:
        return pip_checks.checks(env, home, get)


def _declared(
    project_dir: Path,
    settings: Settings,
    entries: Sequence[Entry],
    now: datetime,
    store_error: str | None,
) -> list[Check]:
    """One check per index the project declares in [tool.idx-auth.indexes] (none without)."""
    try:
        decl = declared.read(project_dir)
    except ConfigError as exc:
        return [Check("declared", "fail", str(exc), "fix the file the message names")]
    named: dict[str, Index] = {}
    for index in settings.indexes:
        if index.name is not None:
            named.setdefault(index.name, index)
    return declared_checks.check_declared(
        decl.indexes, named, entries, now, store_error=store_error
    )


def _needs_store(f: IndexFacts) -> bool:
    """The index's credential is in the store and nothing else gives uv one."""
    _user, _source, password = known_username(f)
    return bool(f.store) and not password and f.authenticate != "never" and not is_local(f.index)


def _has_credentials(f: IndexFacts) -> bool:
    user, _source, password = known_username(f)
    return bool(f.store) or password or user is not None or f.netrc_login is not None


def _probes(
    uv: gather.UvSettings,
    facts: list[IndexFacts],
    usernames: list[Check],
    env: Mapping[str, str],
    netrc_data: Netrc | None,
) -> list[Check]:
    settings = uv.settings
    names = network.dependency_names(uv.roots)
    source = StoreSource(env, opener=lambda: gather.open_vault(env))
    checks: list[Check] = []
    with IndexClient.for_settings(settings, env, store=source, netrc_data=netrc_data) as client:
        for f, username in zip(facts, usernames, strict=True):
            if is_local(f.index):
                continue  # a directory: nothing to authenticate
            target = network.probe_target(f.index, settings, names)
            several = tuple(c.username or "(token)" for c in f.store) if f.store_ambiguous else ()
            result = network.probe(
                client,
                f.index,
                f.label,
                target,
                has_credentials=_has_credentials(f),
                stored_usernames=several,
            )
            checks.append(
                index_checks.check_probe(result, uv_sends_store=username.verdict != "fail")
            )
        checks.append(index_checks.check_strategy(settings.strategy))
        found, checked, pinned = network.collisions(client, settings, names)
        checks += index_checks.check_confusion(found, checked, pinned, settings.strategy)
        checks += check_audit(client, settings, uv.roots)
    return checks
