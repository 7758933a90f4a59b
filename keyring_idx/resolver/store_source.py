"""Our encrypted store as a :class:`~keyring_idx.resolver.credentials.CredentialSource`.

Opened lazily on the first lookup (most runs never need it) and only once; a store that cannot
be opened counts as empty, with the reason kept for ``--explain`` and ``doctor``.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any


class StoreSource:
    """Adapter from ``store.vault.Vault`` to the resolver's lookup protocol."""

    def __init__(self, opener: Any = None) -> None:
        self._opener = opener
        self._vault: Any = None
        self._opened = False
        self.problem: str | None = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        with self._lock:
            if not self._opened:
                self._opened = True
                try:
                    opener = self._opener
                    if opener is None:
                        opener = importlib.import_module("store.vault").Vault.open
                    self._vault = opener()
                except ImportError:
                    self.problem = "the credential store is not available in this build"
                except Exception as exc:  # a broken store must not stop resolving
                    self.problem = f"the credential store could not be opened: {exc}"
            return self._vault

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None:
        vault = self._open()
        if vault is None:
            return None
        try:
            cred = vault.lookup(url, username)
        except Exception as exc:  # e.g. ambiguous usernames: report, treat as not found
            self.problem = str(exc)
            return None
        if cred is None:
            return None
        if getattr(cred, "scheme", "basic") == "bearer":
            return None, str(cred.secret)
        return cred.username, str(cred.secret)
