"""The agent's store: :class:`store.vault.Vault` with the key unlocked and the file cached.

Holds the unwrapped data key (inside its Vault) and a parsed snapshot of the file. Before each
lookup it stats the file (inode, size, mtime_ns, ctime_ns); a different signature -- another
process wrote -- means re-read. Because timestamps are coarse, a file modified within the last
two seconds is also compared byte for byte with the snapshot, so two quick writes that happen to
leave the same signature are still seen. Writes go through Vault.login/logout, under the same
flock as the CLI.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from store import lookup
from store.agent.store_view import Found
from store.dirs import Dirs
from store.errors import InvalidServiceError, KeyUnavailableError, StoreFileError
from store.listing import EntryInfo, entry_info
from store.model import SCHEMES, Ambiguous, Credential, Document, Entry, entry_key
from store.refresh.state import RefreshState, stored_state
from store.vault import Vault

log = logging.getLogger("idx-auth.agent")
Signature = tuple[int, int, int, int]
_RACY = 2.0  # seconds: a file this fresh may share its signature with its successor


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """The store file as last read, and what was revealed from it."""

    signature: Signature | None  # None: the file does not exist
    raw: bytes = field(repr=False)
    doc: Document
    revealed: dict[tuple[str, str | None, bool], Credential] = field(
        default_factory=dict, repr=False
    )


class CachedStore:
    """The real :class:`~store.agent.store_view.StoreView`."""

    def __init__(self, dirs: Dirs) -> None:
        self.dirs = dirs
        self._vault: Vault | None = None
        self._snapshot: _Snapshot | None = None
        self._mutex = threading.RLock()
        self._key_source = self._read_key_source()

    # --- state ---------------------------------------------------------------------------------

    @property
    def store_path(self) -> str:
        return str(self.dirs.store_file)

    @property
    def needs_passphrase(self) -> bool:
        return self._key_source == "passphrase"

    @property
    def unlocked(self) -> bool:
        return self._vault is not None

    def _read_key_source(self) -> str:
        try:
            doc = Vault(self.dirs).peek()  # only the key source: no key needed yet
        except StoreFileError:
            return os.environ.get("IDX_AUTH_KEY_SOURCE") or "file"
        if doc.header is None:
            return os.environ.get("IDX_AUTH_KEY_SOURCE") or "file"
        return doc.header.key_source

    def unlock(self, passphrase: str | None) -> None:
        given = [passphrase]

        def reader(confirm: bool) -> str:
            # Used once, to derive the key-encryption key; the agent keeps the data key only.
            value = given[0]
            given[0] = None
            if not value:
                raise KeyUnavailableError(
                    f"{self.store_path} needs its passphrase: run `idx-auth unlock`"
                )
            return value

        vault = Vault(self.dirs, passphrase=reader)
        snapshot = self._load(vault)
        if snapshot.doc.header is not None:
            vault.sealer(snapshot.doc.header)  # unwraps and caches the data key, or raises
            self._key_source = snapshot.doc.header.key_source
        with self._mutex:
            self._vault = vault
            self._snapshot = snapshot

    def lock(self) -> None:
        with self._mutex:
            self._vault = None
            self._snapshot = None

    # --- reading -------------------------------------------------------------------------------

    def _signature(self) -> Signature | None:
        try:
            st = os.stat(self.dirs.store_file)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreFileError(f"cannot stat {self.store_path}: {exc.strerror}") from None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _load(self, vault: Vault) -> _Snapshot:
        # Signature first: if a writer replaces the file after it, the next stat differs.
        signature = self._signature()
        raw, doc = vault.read_snapshot()  # every field authenticated with the key
        if raw is None:
            return _Snapshot(None, b"", Document())
        for skipped in doc.skipped:
            log.warning("%s in %s is not used: %s", skipped.where, self.store_path, skipped.problem)
        return _Snapshot(signature, raw, doc)

    def _current(self) -> tuple[Vault, _Snapshot]:
        vault, snapshot = self._vault, self._snapshot
        if vault is None or snapshot is None:
            raise KeyUnavailableError("the credential store is locked; run `idx-auth unlock`")
        signature = self._signature()
        if signature == snapshot.signature and not self._racy(snapshot):
            return vault, snapshot
        with self._mutex:
            vault, current = self._vault, self._snapshot
            if vault is None or current is None:
                raise KeyUnavailableError("the credential store is locked; run `idx-auth unlock`")
            if current is snapshot:
                current = self._load(vault)
                if current.raw == snapshot.raw:
                    # Same bytes: keep the decrypted cache.
                    current = _Snapshot(
                        current.signature, current.raw, snapshot.doc, snapshot.revealed
                    )
                self._snapshot = current
            return vault, current

    def _racy(self, snapshot: _Snapshot) -> bool:
        if snapshot.signature is None:
            return False
        return time.time_ns() - snapshot.signature[2] < _RACY * 1e9

    def _reveal(self, vault: Vault, snapshot: _Snapshot, entry: Entry) -> Credential:
        key = (entry.service, entry.username, entry.plain)
        cred = snapshot.revealed.get(key)
        if cred is None:
            cred = vault.reveal(snapshot.doc, entry)
            snapshot.revealed[key] = cred
        return cred

    def get(self, service: str, username: str | None) -> Found | Ambiguous | None:
        # The rules every reader of the store uses (store.lookup): index URLs, host forms,
        # plain names; an ambiguous username-less lookup is answered with the usernames.
        vault, snapshot = self._current()
        entry = lookup.find(snapshot.doc.entries, service, username)
        if entry is None or isinstance(entry, Ambiguous):
            return entry
        cred = self._reveal(vault, snapshot, entry)
        if cred.secret is None:
            return None
        if not entry.refresh:
            return Found(cred.service, cred.username, cred.scheme, cred.secret)
        token = stored_state(entry).token
        return Found(
            cred.service,
            cred.username,
            cred.scheme,
            cred.secret,
            refreshable=True,
            expires_at=token.expires_at if token is not None else None,
            issued_at=token.issued_at if token is not None else None,
        )

    def refresh_view(self) -> tuple[Vault, dict[tuple[str, str | None], RefreshState]] | None:
        """For the refresh thread: the unlocked vault and each refreshable entry's stored
        state (placeholder secrets), from a snapshot that follows other processes' writes."""
        if self._vault is None:
            return None
        try:
            vault, snapshot = self._current()
        except KeyUnavailableError:
            return None
        states = {
            entry_key(e): stored_state(e) for e in snapshot.doc.entries if e.refresh and not e.plain
        }
        return vault, states

    def entries(self) -> Sequence[EntryInfo]:
        snapshot = self._snapshot
        if self._vault is not None and snapshot is not None:
            doc = self._current()[1].doc
        else:
            doc = Vault(self.dirs).read_for_listing()  # names and usernames are not encrypted
        return [entry_info(e) for e in doc.entries]

    # --- writing -------------------------------------------------------------------------------

    def login(self, service: str, username: str | None, scheme: str, secret: str) -> None:
        vault, _ = self._current()
        if scheme not in SCHEMES:
            raise InvalidServiceError(f"unknown scheme {scheme!r}; use basic or bearer")
        vault.login(service, username, secret, "bearer" if scheme == "bearer" else "basic")

    def logout(self, service: str, username: str | None) -> bool:
        from store.errors import NotFoundError

        vault, _ = self._current()
        try:
            vault.logout(service, username)
        except NotFoundError:
            return False
        return True
