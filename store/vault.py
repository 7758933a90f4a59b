"""The store as the rest of the program sees it: read, look up, change under the lock.

This is the I/O shell around the pure parts (codec, service, sealing). Reads need no lock
(writers replace the file atomically); every read-modify-write holds the store lock from the
read to the rename, so concurrent writers lose nothing.

A read authenticates the whole file with the key before anything in it is used (format 2; see
:mod:`store.sealing`) and compares its generation with the one this machine last wrote
(:mod:`store.generations`). A format-1 file is read as before and migrated by the next write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from store import codec, crypto, files, generations, keys
from store.dirs import Dirs, resolve_dirs
from store.errors import KeyUnavailableError, NotFoundError, StoreFileError
from store.model import FORMAT_VERSION, SEAL_FORMAT, Credential, Document, Entry, Header, Scheme
from store.sealing import IntegrityError, Sealer
from store.validation import check_entry

READ_ATTEMPTS = 4
"""A reader that read the store just before a rekey replaced it (and its key) reads again."""

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
        # The highest generation seen per store id, so a long-lived process (the agent) also
        # notices a rollback when the config dir's record is missing.
        self._highest: dict[str, int] = {}

    @property
    def path(self) -> Path:
        return self.dirs.store_file

    # -- reading -----------------------------------------------------------------------------

    def read(self) -> Document:
        """The store, every field authenticated (the key is unwrapped for it, so a passphrase
        store asks for its passphrase once per process)."""
        return self.read_snapshot()[1]

    def read_snapshot(self) -> tuple[bytes | None, Document]:
        """The file's bytes (None: no file) and the document they authenticate."""
        raw = self._read_raw()
        for attempt in range(READ_ATTEMPTS):
            doc = self._decode(raw)
            try:
                return raw, self._authenticate(doc)
            except (KeyUnavailableError, StoreFileError):
                # Read just before a rekey replaced the file, then found only the new key?
                # The file has changed since: read it again. Otherwise the error stands.
                again = self._read_raw()
                if again == raw or attempt == READ_ATTEMPTS - 1:
                    raise
                raw = again
        raise AssertionError("unreachable")  # pragma: no cover

    def peek(self) -> Document:
        """The store as the file says, NOT authenticated: only to learn the key source, or to
        show names when the key is not at hand (a locked passphrase store)."""
        return self._decode(self._read_raw())

    def read_for_listing(self) -> Document:
        """For `list`-like displays: authenticated when the key is at hand without asking
        (a key file, or a data key this process already holds), else as :meth:`peek`."""
        doc = self.peek()
        header = doc.header
        if header is None:
            return self.read()
        if header.key_source == "passphrase" and header.key_id not in self._data_keys:
            return doc
        try:
            return self.read()
        except KeyUnavailableError:
            return doc

    def _read_raw(self) -> bytes | None:
        files.check_dir(self.dirs.data, "data directory")
        return files.read_private_bytes(self.path, "store")

    def _decode(self, raw: bytes | None) -> Document:
        if raw is None:
            return Document()
        try:
            return codec.decode(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "it is not UTF-8 text"
        except codec.CodecError as exc:
            problem = str(exc)
        raise StoreFileError(
            f"{self.path} is not a valid store: {problem}; it was left untouched: "
            "restore it from a backup or move it aside"
        )

    def _record_path(self) -> Path:
        return generations.record_path(self.dirs.config, self.path)

    def _authenticate(self, doc: Document) -> Document:
        header = doc.header
        if header is not None and header.format == FORMAT_VERSION:
            try:
                self.sealer(header).verify(doc)
            except IntegrityError as exc:
                raise StoreFileError(
                    f"{self.path} failed authentication: {exc}; nothing in it was used. "
                    "Restore it from a backup, or move it aside and log in again"
                ) from None
            assert header.store_id is not None  # the codec guarantees it for format 2
            if header.generation < self._highest.get(header.store_id, 0):
                raise generations.refuse(
                    self.path,
                    f"it is generation {header.generation}, but this process already read "
                    f"generation {self._highest[header.store_id]}; restore the newer file, or, "
                    "if you put this copy back on purpose, restart this process (the agent: "
                    "idx-auth agent) after deleting the generation record in the config dir",
                )
        record = self._record_path()
        if record.parent.is_dir():
            # The record is only as safe as its directory (a passphrase store reads nothing
            # else from there, so this is where the rule is applied for it).
            files.check_dir(record.parent, "config directory")
            problem = generations.judge(header, bool(doc.entries), generations.load(record), record)
            if problem is not None:
                raise generations.refuse(self.path, problem)
        if header is not None and header.store_id is not None:
            self._highest[header.store_id] = max(
                header.generation, self._highest.get(header.store_id, 0)
            )
        return doc

    def sealer(self, header: Header) -> Sealer:
        return Sealer(header, self._data_key(header))

    def _data_key(self, header: Header) -> bytes:
        cached = self._data_keys.get(header.key_id)
        if cached is not None:
            return cached
        aad = crypto.wrap_aad(SEAL_FORMAT, header.key_id)
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
        files.check_dir(self.dirs.config, "config directory")
        # The key file holds the current key first and, during a rekey, the previous one; a
        # key.next beside it is what a rekey of an older version left when it was cut short.
        for file_key in (*keys.load_key_ring(key_file), *_legacy_next_keys(key_file)):
            try:
                return crypto.unseal(file_key, header.wrapped_key, aad)
            except crypto.CryptoError:
                continue
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

        The file is parsed and authenticated before anything is written, so a store that fails
        to read is never overwritten. The write is in the current format: a format-1 store is
        migrated by its first change.
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
            sealer = self.sealer(header)
            new_doc, result = change(doc, sealer)
            if (fresh and not new_doc.entries) or (new_doc == doc and not fresh):
                return result  # nothing to write; an empty store is not created
            # Every writer (CLI, keyring backend, agent, refresh) comes through here: what a
            # reader would refuse is refused before it reaches the file.
            before = set(doc.entries)
            for entry in new_doc.entries:
                if entry not in before:
                    check_entry(entry)
            if file_key is not None:
                # The key goes to disk before any store that needs it.
                keys.write_key_file(self.dirs.key_file, file_key)
            self._write(new_doc, sealer, previous=None if fresh else header)
            return result

    def _write(self, doc: Document, sealer: Sealer, previous: Header | None) -> Header:
        """Authenticate ``doc`` as the next generation after ``previous`` and replace the file;
        then record the generation (after: a crash between leaves the record behind)."""
        store_id = (previous.store_id if previous else None) or crypto.new_key_id()
        generation = (previous.generation if previous and previous.store_id else 0) + 1
        sealed = sealer.seal_document(doc, generation, store_id)
        files.remove_stale_temps(self.path)
        files.atomic_write(self.path, codec.encode(sealed).encode())
        files.ensure_private_dir(self.dirs.config, "config directory")
        generations.save(self._record_path(), generations.Seen(store_id, generation), self.path)
        self._highest[store_id] = max(generation, self._highest.get(store_id, 0))
        assert sealed.header is not None
        return sealed.header

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
        wrapped = crypto.seal(kek, data_key, crypto.wrap_aad(SEAL_FORMAT, key_id))
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

        With the file source the key file rotates too, in three atomic replacements, each of
        which leaves every reader a key for the store file it reads:

        1. the key file holds the new key and the old one(s);
        2. the store is replaced, wrapped under the new key;
        3. the key file holds the new key only.

        A crash after 1 or 2 leaves a key file with a spare key and a store that opens; a
        reader that read the old store just before 2 and the key file after 3 reads the store
        again (:meth:`read_snapshot`). Readers never write the key file.
        """
        with files.locked(self.dirs.lock_file):
            doc = self.read()
            old = self.sealer(doc.header) if doc.header else None
            target = source or (doc.header.key_source if doc.header else None)
            target = target or self._source_for_new_store()
            header, file_key = self._make_header(target, rotate_file_key=True)
            new = self.sealer(header)
            entries = tuple(new.reseal(e, old) for e in doc.entries) if old else ()
            key_file = self.dirs.key_file
            if file_key is not None:
                previous = (*keys.load_key_ring(key_file), *_legacy_next_keys(key_file))
                keys.write_key_file(key_file, file_key, *previous)
            # Entries no reader can use go along unchanged (their secrets, if any, stay
            # under the old key: they were unusable before and are not lost).
            written = self._write(Document(header, entries, doc.skipped), new, previous=doc.header)
            if file_key is not None:
                keys.write_key_file(key_file, file_key)
                files.remove(_next_key_path(key_file))
            return written


def _next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def _legacy_next_keys(key_file: Path) -> tuple[bytes, ...]:
    return keys.load_key_ring(_next_key_path(key_file))
