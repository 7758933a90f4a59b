"""The one way to a stored credential: ask the agent, else read the store file, refresh if due.

Every consumer calls :func:`get_credential`: the keyring backend, the resolver (and through it
``idx-auth doctor``'s probes), ``idx-auth token`` and ``idx-auth run``. Which entry answers is
decided by :func:`store.lookup.find` wherever the lookup runs (here on the file, or inside the
agent), so every caller sees the same rules: index URLs with uv's prefix rule, the host forms
``host[:port]`` / ``scheme://host[:port]``, and plain keyring names.

Cheap to import and cheap when there is nothing to find: the standard library only at import
time; a missing agent socket or store file is found with a ``stat`` before the agent client or
the vault (cryptography) is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from store.dirs import Dirs
    from store.model import Ambiguous, Credential
    from store.vault import Vault

__all__ = ["AGENT_TIMEOUT", "get_credential"]

#: Seconds to wait for the agent's reply before giving up on it (a lookup never hangs).
AGENT_TIMEOUT = 2.0


def get_credential(
    service: str,
    username: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dirs: Dirs | None = None,
    vault: Vault | Callable[[], Vault] | None = None,
    use_agent: bool = True,
    agent_timeout: float = AGENT_TIMEOUT,
    now: datetime | None = None,
) -> Credential | Ambiguous | None:
    """The stored credential that answers ``service`` for ``username`` (None: any username).

    ``service`` is whatever a client asks for: an index or request URL, ``host[:port]``,
    ``scheme://host[:port]`` or a plain keyring name (see :mod:`store.lookup`).

    1. The agent, when its socket exists and ``use_agent``: its answer is final (it holds the
       key and refreshes tokens itself), except that no agent answering means step 2.
    2. The store file, through ``vault``: by default a :class:`~store.vault.Vault` over
       ``dirs`` (itself from ``env``); or a callable returning a vault over ``dirs``, called
       only when the file exists and must be read (for callers that keep one vault, and its
       unwrapped key, across many lookups without importing it when the agent answers).
       The matched entry's secret is decrypted; an entry with a token provider whose token
       is expired or nearly so is refreshed first, once, under the store lock
       (:func:`store.refresh.entries.fresh_credential`); ``now`` (default: the clock)
       decides what is due.

    Returns a :class:`~store.model.Credential` (``username`` None for an entry stored without
    one, such as a bearer token; ``secret`` never None), the :class:`~store.model.Ambiguous`
    value when only a username could tell several stored ones apart, or None when nothing
    matches (or the agent failed: it logs why).

    Raises :class:`~store.errors.AgentLockedError` (exit 3) when the agent runs with its store
    locked: the file is not read then, so nothing prompts for a passphrase behind the agent's
    back. Raises other :class:`~store.errors.StoreError` subclasses when the file cannot be
    read or decrypted, and :class:`~store.refresh.errors.RefreshError` when a due token could
    not be refreshed and nothing valid is left.
    """
    if dirs is None:
        from store.dirs import resolve_dirs

        dirs = resolve_dirs(os.environ if env is None else env)
    if use_agent and not _missing(dirs.socket):
        from store.agent import client

        answer = client.get(service, username, agent_timeout, path=str(dirs.socket))
        if answer is client.LOCKED:
            from store.errors import AgentLockedError

            raise AgentLockedError(
                f"the agent on {dirs.socket} holds the store locked; run `idx-auth unlock`"
            )
        if not isinstance(answer, client.Agent):
            return answer
    if vault is None or callable(vault):
        if _missing(dirs.store_file):
            return None  # what the vault would read from a missing file: an empty store
        if vault is None:
            from store.vault import Vault

            vault = Vault(dirs, env=env)
        else:
            vault = vault()
    return _from_file(vault, service, username, now)


def _from_file(
    vault: Vault, service: str, username: str | None, now: datetime | None
) -> Credential | Ambiguous | None:
    from store import lookup
    from store.model import Ambiguous

    doc = vault.read()
    found = lookup.find(doc.entries, service, username)
    if found is None or isinstance(found, Ambiguous):
        return found
    if found.refresh:
        from datetime import UTC, datetime

        from store.refresh import entries

        when = now if now is not None else datetime.now(UTC)
        cred = entries.fresh_credential(vault, doc, found, now=when)
    else:
        cred = vault.reveal(doc, found)
    if cred is None or cred.secret is None:
        return None
    return cred


def _missing(path: Path) -> bool:
    """True only when ``path`` certainly does not exist; other failures are left to the reader."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False
