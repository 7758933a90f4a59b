"""An in-memory store for testing the agent's mechanics without the real vault."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from store.agent.store_view import Found
from store.errors import KeyUnavailableError
from store.listing import EntryInfo
from store.model import Ambiguous, Scheme

PASSPHRASE = "correct horse battery staple"


class MemoryStore:
    def __init__(
        self,
        entries: dict[tuple[str, str | None], tuple[str, str]] | None = None,
        *,
        passphrase: str | None = None,
        store_path: str = "/fake/credentials.toml",
    ) -> None:
        self._saved = dict(entries or {})  # what the "file" holds: survives lock()
        self._passphrase = passphrase
        self._path = store_path
        self._unlocked = False
        self._mutex = threading.Lock()
        self.unlock_calls = 0

    @property
    def store_path(self) -> str:
        return self._path

    @property
    def needs_passphrase(self) -> bool:
        return self._passphrase is not None

    @property
    def unlocked(self) -> bool:
        return self._unlocked

    def unlock(self, passphrase: str | None) -> None:
        with self._mutex:
            self.unlock_calls += 1
            if self._passphrase is not None and passphrase != self._passphrase:
                raise KeyUnavailableError("wrong passphrase for /fake/credentials.toml")
            self._unlocked = True

    def lock(self) -> None:
        with self._mutex:
            self._unlocked = False

    def _require(self) -> None:
        if not self._unlocked:
            raise KeyUnavailableError("store is locked")

    def get(self, service: str, username: str | None) -> Found | Ambiguous | None:
        with self._mutex:
            self._require()
            if username is not None:
                hit = self._saved.get((service, username))
                return None if hit is None else Found(service, username, _scheme(hit[0]), hit[1])
            matches = [(k, v) for k, v in self._saved.items() if k[0] == service]
            if len(matches) > 1:
                return Ambiguous(service, tuple(sorted(str(k[1]) for k, _ in matches)))
            if not matches:
                return None
            (svc, user), (scheme, secret) = matches[0]
            return Found(svc, user, _scheme(scheme), secret)

    def entries(self) -> Sequence[EntryInfo]:
        with self._mutex:
            return [EntryInfo(s, u, v[0]) for (s, u), v in sorted(self._saved.items(), key=str)]

    def login(self, service: str, username: str | None, scheme: str, secret: str) -> None:
        with self._mutex:
            self._require()
            self._saved[(service, username)] = (scheme, secret)

    def logout(self, service: str, username: str | None) -> bool:
        with self._mutex:
            self._require()
            return self._saved.pop((service, username), None) is not None


def _scheme(text: str) -> Scheme:
    return "bearer" if text == "bearer" else "basic"
