"""uv's own plaintext ``credentials.toml`` (``uv auth login``), which uv searches before keyring.

Read once, on the first lookup. uv silently ignores a file it cannot parse, so a broken file
counts as empty here too; ``problem`` keeps the reason for ``--explain``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from store.dirs import uv_credentials_file
from store.errors import StoreError

if TYPE_CHECKING:
    from store.credential import Credential


class UvPlaintextStore:
    """uv's plaintext store as a :class:`~keyring_idx.resolver.credentials.CredentialSource`."""

    def __init__(self, env: Mapping[str, str]) -> None:
        home = Path(env.get("HOME") or Path.home())
        self.path = uv_credentials_file(env, home)
        self.problem: str | None = None
        self._entries: list[Credential] | None = None
        self._lock = threading.Lock()

    def _load(self) -> list[Credential]:
        with self._lock:
            if self._entries is None:
                self._entries = []
                try:
                    text = self.path.read_text(encoding="utf-8")
                    from store import plaintext  # only when uv has a store: it costs imports

                except FileNotFoundError:
                    return self._entries
                except OSError as exc:
                    self.problem = f"uv's {self.path} cannot be read ({exc.strerror})"
                    return self._entries
                try:
                    self._entries = plaintext.decode(text)
                except plaintext.PlaintextError as exc:
                    self.problem = f"uv ignores its {self.path}: {exc}"
            return self._entries

    def lookup(self, url: str, username: str | None) -> tuple[str | None, str] | None:
        from store.credential import Ambiguous
        from store.service import select

        entries = self._load()
        if not entries:
            return None
        try:
            hit = select(entries, url, username, key=lambda c: (c.service, c.username))
        except (StoreError, ValueError):
            return None
        if hit is None or isinstance(hit, Ambiguous) or hit.secret is None:
            return None  # uv errors on an ambiguous lookup: it sends nothing
        return (None, hit.secret) if hit.scheme == "bearer" else (hit.username, hit.secret)
