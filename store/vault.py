"""The store as the rest of the program sees it: read, look up, change under the lock.

This is the I/O shell around the pure parts (codec, service, sealing). Reads need no lock
(writers replace the file atomically); every read-modify-write holds the store lock from the
read to the rename, so concurrent writers lose nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from store import codec, crypto, files, keys
from store.dirs import Dirs, resolve_dirs
from store.errors import KeyUnavailableError, NotFoundError, StoreFileError
from store.model import Credential, Document, Entry, Header, Scheme
from store.sealing import Sealer

R = TypeVar("R")
Change = Callable[[Document, Sealer], tuple[Document, R]]


class Vault:
    def __init__(
        self,
        dirs: Dirs | None = None,
        *,
        passphrase: keys.PassphraseReader | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.env = os.environ if env is None else env
        self.dirs = dirs or resolve_dirs(self.env)
        self._passphrase = passphrase or keys.passphrase_reader(self.env)
        # Data keys by key id: a passphrase is asked and derived once per process.
        self._data_keys: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        return self.dirs.store_file

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> Document:
        text = files.read_private_text(self.path, "store")
        if text is None:
            return Document()
        try:
            return codec.decode(text)
        except codec.CodecError as exc:
            raise StoreFileError(
                f"{self.path} is not a valid store: {exc}; it was left untouched: "
                "restore it from a backup or move it aside"
            ) from None

    def sealer(self, header: Header) -> Sealer:
        return Sealer(header, self._data_key(header))

    def _data_key(self, header: Header) -> bytes:
        cached = self._data_keys.get(header.key_id)
        if cached is not None:
            return cached
        aad = crypto.wrap_aad(header.format, header.key_id)
        key = self._unwrap(header, aad)
        self._data_keys[header.key_id] = key
        return key

    def _unwrap(self, header: Header, aad: bytes) -> bytes:
        if header.key_source == "passphrase":
            assert header.kdf is not None  # the codec guarantees it
            kek = keys.derive_passphrase_key(self._passphrase(False), header.kdf)
            try:
                return crypto.unseal(kek, header.wrapped_key, aad)
            except crypto.CryptoError:
                raise KeyUnavailableError(
                    f"wrong passphrase for {self.path}; try again "
                    "(IDX_AUTH_PASSPHRASE_FILE must hold the passphrase on its first line)"
                ) from None
        key_file = self.dirs.key_file
        for candidate in (key_file, _next_key_path(key_file)):
            file_key = keys.load_key_file(candidate)
            if file_key is None:
                continue
            try:
                data_key = crypto.unseal(file_key, header.wrapped_key, aad)
            except crypto.CryptoError:
                continue
            if candidate != key_file:
                # A rekey stopped between writing the store and promoting its new key file.
                os.replace(candidate, key_file)
            return data_key
        if not key_file.exists():
            raise KeyUnavailableError(
                f"the key file {key_file} is missing, so {self.path} cannot be decrypted; "
                "restore the key file from a backup, or move the store aside and log in again"
            )
        raise StoreFileError(
            f"{self.path} cannot be decrypted with the key in {key_file} (wrong key file, or "
            "the store's header was altered); restore the matching key file or store from a backup"
        )

    def reveal(self, doc: Document, entry: Entry) -> Credential:
        if doc.header is None or entry.secret is None:
            return Credential(entry.service, entry.username, entry.scheme, None, entry.expires_at)
        sealer = self.sealer(doc.header)
        try:
            return sealer.credential(entry)
        except crypto.CryptoError:
            raise StoreFileError(
                f"{self.path}: the secret of {entry.username or ''}@{entry.service} failed "
                "authentication (tampered or corrupted); log in to it again to replace it"
            ) from None

    # -- changing ----------------------------------------------------------------------------

    def update(self, change: Change[R]) -> R:
        """Apply ``change`` to the current document under the lock and write the result.

        The file is parsed and its key checked before anything is written, so a store that
        fails to read is never overwritten.
        """
        with files.locked(self.dirs.lock_file):
            doc = self.read()
            file_key: bytes | None = None
            fresh = doc.header is None
            if doc.header is None:
                header, file_key = self._make_header(
                    self._source_for_new_store(), rotate_file_key=False
                )
                doc = replace(doc, header=header)
            else:
                header = doc.header
            new_doc, result = change(doc, self.sealer(header))
            if (fresh and not new_doc.entries) or (new_doc == doc and not fresh):
                return result  # nothing to write; an empty store is not created
            if file_key is not None:
                # The key goes to disk before any store that needs it.
                keys.write_key_file(self.dirs.key_file, file_key)
            files.remove_stale_temps(self.path)
            files.atomic_write(self.path, codec.encode(new_doc).encode())
            return result

    def _source_for_new_store(self) -> str:
        source = self.env.get("IDX_AUTH_KEY_SOURCE") or "file"
        if source not in keys.SOURCES:
            raise KeyUnavailableError(
                f"unknown key source {source!r} (IDX_AUTH_KEY_SOURCE); use 'file' or 'passphrase'"
            )
        return source

    def _make_header(self, source: str, *, rotate_file_key: bool) -> tuple[Header, bytes | None]:
        """A fresh data key wrapped by ``source``'s key; and the key for a new key file when
        one must be written."""
        new_file_key: bytes | None = None
        kdf = None
        if source == "file":
            kek = None if rotate_file_key else keys.load_key_file(self.dirs.key_file)
            if kek is None:
                kek = new_file_key = crypto.new_key()
        else:
            kdf = crypto.new_kdf_params()
            kek = keys.derive_passphrase_key(self._passphrase(True), kdf)
        data_key, key_id = crypto.new_key(), crypto.new_key_id()
        wrapped = crypto.seal(kek, data_key, crypto.wrap_aad(1, key_id))
        self._data_keys[key_id] = data_key
        return Header(key_id, source, wrapped, kdf), new_file_key

    def login(
        self,
        service_key: str,
        username: str | None,
        secret: str | None,
        scheme: Scheme = "basic",
        *,
        plain: bool = False,
        expires_at: datetime | None = None,
        refresh: dict[str, str] | None = None,
    ) -> bool:
        """Store a credential under its exact key; True when it replaced one."""

        def change(doc: Document, sealer: Sealer) -> tuple[Document, bool]:
            entry = sealer.entry(
                service_key,
                username,
                scheme,
                secret,
                plain=plain,
                expires_at=expires_at,
                refresh=refresh,
            )
            return doc.put(entry)

        return self.update(change)

    def logout(self, service_key: str, username: str | None, *, plain: bool = False) -> None:
        def change(doc: Document, sealer: Sealer) -> tuple[Document, bool]:
            return doc.remove(service_key, username, plain=plain)

        if not self.update(change):
            who = f"{username}@{service_key}" if username else service_key
            raise NotFoundError(f"No matching entry found for {who}")

    def rekey(self, source: str | None = None) -> Header:
        """Re-encrypt every entry under a new data key, optionally switching the key source.

        With the file source the key file rotates too: the new one is written beside the old
        as ``key.next``, the store is replaced, then ``key.next`` becomes ``key``; a crash in
        between is repaired on the next read.
        """
        with files.locked(self.dirs.lock_file):
            doc = self.read()
            old = self.sealer(doc.header) if doc.header else None
            target = source or (doc.header.key_source if doc.header else None)
            target = target or self._source_for_new_store()
            header, file_key = self._make_header(target, rotate_file_key=True)
            new = self.sealer(header)
            entries = tuple(new.reseal(e, old) for e in doc.entries) if old else ()
            next_path = _next_key_path(self.dirs.key_file)
            if file_key is not None:
                keys.write_key_file(next_path, file_key)
            files.atomic_write(self.path, codec.encode(Document(header, entries)).encode())
            if file_key is not None:
                os.replace(next_path, self.dirs.key_file)
            return header


def _next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")
