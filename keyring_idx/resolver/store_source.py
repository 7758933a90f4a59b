"""Our encrypted store as a :class:`~keyring_idx.resolver.credentials.CredentialSource`.

The agent first (it holds the unlocked key and answers in well under a millisecond); when no
agent answers, the store file through :class:`store.vault.Vault`, opened on the first lookup
only (most runs never need it). A store that cannot be read counts as empty; the reason is
kept in ``problem`` for ``--explain`` and ``doctor``.

Every 401/403/404 answered without credentials asks here (uv's rule), so a run over public or
mixed indexes asks often: a missing agent socket or store file is found with a ``stat`` before
anything heavier is imported (the agent client, and the vault with cryptography, cost more
than a dozen page requests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from store.dirs import Dirs, resolve_dirs
from store.errors import StoreError

if TYPE_CHECKING:
    from store.model import Credential
    from store.vault import Vault


class _Lookup(Protocol):
    def lookup(self, url: str, username: str | None) -> Credential | None: ...


class _Refreshing:
    """The store as the keyring backend reads it without an agent: a token with a provider
    that is expired or nearly so is refreshed once, under the store lock, before it is used
    (``store.refresh.entries.lookup``), so the resolver never sends a stale token."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def lookup(self, url: str, username: str | None) -> Credential | None:
        from datetime import UTC, datetime

        from store.refresh import entries

        return entries.lookup(self._vault, url, username, now=datetime.now(UTC))


class StoreSource:
    """Adapter from the agent and ``store.vault.Vault`` to the resolver's lookup protocol."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        opener: Callable[[], _Lookup] | None = None,
        use_agent: bool = True,
    ) -> None:
        self._env = os.environ if env is None else env
        self._opener = opener
        self._use_agent = use_agent
        self._agent_down = not use_agent
        self._vault: _Lookup | None = None
        self._opened = False
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._dirs: Dirs | None = None

    def _paths(self) -> Dirs:
        if self._dirs is None:
            self._dirs = resolve_dirs(self._env)
        return self._dirs

    def _open(self) -> _Lookup | None:
        with self._lock:
            if not self._opened:
                self._opened = True
                try:
                    if self._opener is not None:
                        self._vault = self._opener()
                    else:
                        from store.vault import Vault

                        self._vault = _Refreshing(Vault(env=self._env))
                except (StoreError, OSError) as exc:
                    self.problem = f"the credential store could not be opened: {exc}"
            return self._vault

    def _from_agent(
        self, url: str, username: str | None
    ) -> tuple[str | None, str] | Literal[False] | None:
        """The agent's answer; False when no agent answered (then read the file)."""
        if self._agent_down:
            return False
        socket = self._paths().socket
        if _missing(socket):  # what connecting would find, for the price of a stat
            self._agent_down = True
            return False
        from store.agent import client

        reply = client.get(url, username, path=str(socket))
        if reply is client.NOT_RUNNING:
            self._agent_down = True  # ask once per run, like uv caches its keyring calls
            return False
        if reply is None or isinstance(reply, client.Agent | client.Ambiguous):
            return None
        user, secret = reply
        return (user or None, secret)  # a bearer entry comes back without a username

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None:
        answer = self._from_agent(url, username)
        if answer is not False:
            return answer
        if self._opener is None and _missing(self._paths().store_file):
            return None  # what the vault reads from a missing file: an empty store
        vault = self._open()
        if vault is None:
            return None
        try:
            cred = vault.lookup(url, username)
        except StoreError as exc:  # e.g. ambiguous usernames: report, treat as not found
            self.problem = str(exc)
            return None
        if cred is None or cred.secret is None:
            return None
        if cred.scheme == "bearer":
            return None, cred.secret
        return cred.username, cred.secret


def _missing(path: Path) -> bool:
    """True only when ``path`` certainly does not exist; other failures are left to the reader."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False
