"""Reading this machine's state for doctor: the store, the agent, uv's settings, netrc.

Never prompts: a passphrase store is opened only with ``IDX_AUTH_PASSPHRASE_FILE``; without
it doctor reports the store locked (or unlocked in the agent) instead of asking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from keyring_idx.doctor.model import AgentFacts, FileFacts, StoreFacts, UvPlaintextFacts
from keyring_idx.resolver.config import Layer, Settings
from keyring_idx.resolver.config_files import Project, read_project
from keyring_idx.resolver.plan import lock_scope
from store import keys
from store.agent import client
from store.agent import protocol as p
from store.credential import Credential
from store.crypto import CryptoError
from store.dirs import resolve_dirs
from store.errors import KeyUnavailableError, StoreError
from store.model import Document, Entry
from store.vault import Vault

AGENT_TIMEOUT = 3.0


def no_prompt(env: Mapping[str, str]) -> keys.PassphraseReader:
    """The passphrase from IDX_AUTH_PASSPHRASE_FILE, never from a terminal."""
    from_file = keys.passphrase_reader(env)

    def read(confirm: bool) -> str:
        if not env.get("IDX_AUTH_PASSPHRASE_FILE"):
            raise KeyUnavailableError("the store is locked (doctor never asks for a passphrase)")
        return from_file(confirm)

    return read


def file_facts(env: Mapping[str, str]) -> FileFacts:
    """The private-file rule over every directory and file of ours that exists."""
    from store import files
    from store.dirs import private_paths

    paths = private_paths(resolve_dirs(env), env)
    problems = tuple(
        problem
        for path, what, is_dir in paths
        if (problem := (files.inspect_dir if is_dir else files.inspect_file)(path, what))
    )
    return FileFacts(len(paths), problems)


def open_vault(env: Mapping[str, str]) -> Vault:
    return Vault(resolve_dirs(env), passphrase=no_prompt(env), env=env)


def uv_plaintext_facts(env: Mapping[str, str]) -> UvPlaintextFacts:
    """What uv's own plaintext store holds: names only, never secrets."""
    from store import plaintext

    home = Path(env.get("HOME") or Path.home())
    path = plaintext.uv_store_path(env, home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UvPlaintextFacts(str(path))
    except (OSError, UnicodeDecodeError) as exc:
        return UvPlaintextFacts(str(path), error=type(exc).__name__)
    try:
        creds = plaintext.decode(text)
    except plaintext.PlaintextError as exc:
        return UvPlaintextFacts(str(path), error=str(exc))
    names = tuple(f"{c.username}@{c.service}" if c.username else c.service for c in creds)
    return UvPlaintextFacts(str(path), names, differing=_differing(env, creds))


def _differing(env: Mapping[str, str], creds: Sequence[Credential]) -> tuple[str, ...]:
    """uv's plaintext entries whose secret differs from the one stored for the same key in
    ours: uv sends theirs and never asks keyring. Empty when ours cannot be opened without a
    prompt; only names come back, never a secret."""
    from store import service

    try:
        vault = open_vault(env)
        doc = vault.read()
        if doc.header is None:
            return ()
        sealer = vault.sealer(doc.header)
    except StoreError:
        return ()
    out: list[str] = []
    for c in creds:
        try:
            url = service.parse_service(c.service)
        except StoreError:
            continue
        username = None if c.scheme == "bearer" else (c.username or url.username)
        ours = doc.find(url.service, username)
        if ours is None:
            continue
        try:
            same = ours.scheme == c.scheme and sealer.secret(ours) == c.secret
        except CryptoError:  # a secret that fails to open differs; the store check names it
            same = False
        if not same:
            out.append(f"{username}@{url.service}" if username else url.service)
    return tuple(out)


def agent_facts(env: Mapping[str, str]) -> AgentFacts:
    path = client.socket_path(env)
    try:
        reply = client.request(
            p.Status(), timeout=AGENT_TIMEOUT, path=path, store=str(resolve_dirs(env).store_file)
        )
    except client.OtherStore as exc:
        # Lookups here skip it and read the file: worth saying, it is not this store's agent.
        return AgentFacts(socket=path, running=False, problem=str(exc))
    except client.AgentUnavailable as exc:
        text = str(exc)
        # A socket of another user is worth saying; a missing one is just "not running".
        problem = text if "belongs to uid" in text else None
        return AgentFacts(socket=path, running=False, problem=problem)
    if not reply.ok:
        return AgentFacts(
            socket=path, running=True, problem=f"the agent answered {reply.status}: {reply.message}"
        )
    data = reply.data
    pid = data.get("pid")
    error = data.get("last_error")
    return AgentFacts(
        socket=path,
        running=True,
        locked=bool(data.get("locked")),
        pid=pid if isinstance(pid, int) else None,
        last_error=error if isinstance(error, str) and error else None,
    )


def _who(entry: Entry) -> str:
    return f"{entry.username}@{entry.service}" if entry.username else entry.service


def store_facts(env: Mapping[str, str], now: datetime) -> tuple[StoreFacts, Document]:
    """Read the store and unwrap its data key (and every secret, to catch tampering).

    The document comes back even when the key is unavailable: services and usernames are not
    encrypted, so doctor can still say which index has a credential."""
    vault = open_vault(env)
    path = str(vault.path)
    exists = vault.path.exists()
    try:
        doc = vault.read_for_listing()
    except StoreError as exc:
        return StoreFacts(path, exists, error=str(exc)), Document()
    header = doc.header
    if header is None:
        return StoreFacts(path, exists, entries=len(doc.entries)), doc
    expired = tuple(
        _who(e) for e in doc.entries if e.expires_at is not None and e.expires_at <= now
    )
    base = StoreFacts(
        path, exists, key_source=header.key_source, entries=len(doc.entries), expired=expired
    )
    if header.key_source == "passphrase" and not env.get("IDX_AUTH_PASSPHRASE_FILE"):
        return replace(base, locked=True), doc
    try:
        doc = vault.read()  # unwraps the key and authenticates every field
    except StoreError as exc:
        return replace(base, error=str(exc)), doc
    bad: list[str] = []
    for entry in doc.entries:
        try:
            vault.reveal(doc, entry)
        except StoreError:
            bad.append(_who(entry))
    return replace(base, unreadable_secrets=tuple(bad)), doc


@dataclass(frozen=True, slots=True)
class UvSettings:
    """uv's settings for a project, with the layers they were read from."""

    settings: Settings
    layers: tuple[Layer, ...]
    project: Project
    roots: tuple[str, ...]  # what the project's lock resolves: the graph the audit checks


def uv_settings(project_dir: Path, env: Mapping[str, str]) -> UvSettings:
    """uv's settings as ``idx-auth resolve`` reads them (raises ConfigError on a broken file):
    see :func:`~keyring_idx.resolver.plan.lock_scope`."""
    project = read_project(project_dir)
    settings, layers, roots = lock_scope(project_dir, env, project)
    return UvSettings(settings, layers, project, roots)
