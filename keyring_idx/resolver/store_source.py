"""Our encrypted store as a :class:`~keyring_idx.resolver.credentials.CredentialSource`.

Every lookup goes through :func:`store.access.get_credential`, the keyring backend's path: the
agent first, else the store file (a token that is due is refreshed before it is sent), with the
same matching rules. This adapter adds what a run of many lookups needs: the agent is asked
until it is found missing once; one vault is opened on the first lookup that reads the file
(a passphrase is asked, and the key derived, once per run); a store that cannot be read counts
as empty, with the reason kept in ``problem`` for ``--explain`` and ``doctor``.

Every 401/403/404 answered without credentials asks here (uv's rule), so a run over public or
mixed indexes asks often: a missing agent socket or store file is found with a ``stat`` before
anything heavier is imported (the agent client, and the vault with cryptography, cost more
than a dozen page requests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from store.access import get_credential
from store.dirs import Dirs, resolve_dirs
from store.errors import StoreError

if TYPE_CHECKING:
    from store.vault import Vault


class StoreSource:
    """Adapter from :func:`store.access.get_credential` to the resolver's lookup protocol."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        opener: Callable[[], Vault] | None = None,
        use_agent: bool = True,
    ) -> None:
        self._env = os.environ if env is None else env
        self._opener = opener
        self._use_agent = use_agent
        self._vault: Vault | None = None
        self._unusable = False  # opening the vault failed: the store is empty for this run
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._dirs: Dirs | None = None

    def _paths(self) -> Dirs:
        if self._dirs is None:
            self._dirs = resolve_dirs(self._env)
        return self._dirs

    def _open(self) -> Vault:
        with self._lock:
            if self._vault is None:
                self._unusable = True  # until it opened
                if self._opener is not None:
                    self._vault = self._opener()
                else:
                    from store.vault import Vault

                    self._vault = Vault(self._paths(), env=self._env)
                self._unusable = False
            return self._vault

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None:
        """``(username, secret)``, username None for a bearer token; None when nothing
        (usable) is stored for ``url``."""
        dirs = self._paths()
        if self._use_agent and not os.path.exists(dirs.socket):
            self._use_agent = False  # ask once per run, like uv caches its keyring calls
        if self._unusable and not self._use_agent:
            return None  # the store could not be opened: it stays empty for this run
        try:
            found = get_credential(
                url,
                username,
                env=self._env,
                dirs=dirs,
                vault=self._vault or self._open,
                use_agent=self._use_agent,
            )
        except (StoreError, OSError) as exc:
            self.problem = f"the credential store could not be read: {exc}"
            return None
        from store.model import Ambiguous

        if found is None:
            return None
        if isinstance(found, Ambiguous):
            self.problem = found.message
            return None
        assert found.secret is not None  # get_credential never returns one without
        if found.scheme == "bearer":
            return None, found.secret
        return found.username, found.secret
