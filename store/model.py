"""Credential records: what the store file holds and what a lookup returns.

Pure values. Secrets on an :class:`Entry` are sealed (``enc:v1:...`` ciphertext); only a
:class:`Credential` carries a secret in clear, and its repr never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

# What a lookup answers lives in its own small module (the agent client imports it on every
# lookup); it is part of the model all the same.
from store.credential import SCHEMES, Ambiguous, Credential, Scheme

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_FORMAT",
    "SCHEMES",
    "SEAL_FORMAT",
    "TOKEN_USERNAME",
    "Ambiguous",
    "Credential",
    "Document",
    "Entry",
    "Header",
    "KdfParams",
    "Scheme",
    "entry_key",
]

FORMAT_VERSION = 2
"""Format 2 authenticates every field (entry MACs, a header MAC over them, a generation
counter); format 1 sealed only the secrets and is migrated on the next write."""
LEGACY_FORMAT = 1
SEAL_FORMAT = 1
"""The version bound into each secret's associated data and the key wrapping. It stays 1 across
store formats, so a migration rewrites no ciphertext and needs no passphrase."""
TOKEN_USERNAME = "__token__"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters for a passphrase store (salt base64-encoded)."""

    salt: str
    memory_kib: int
    iterations: int
    lanes: int


@dataclass(frozen=True, slots=True)
class Header:
    """The store's ``[idx-auth]`` table: format, which key seals the entries, how it is wrapped."""

    key_id: str
    key_source: str  # "file" or "passphrase"
    wrapped_key: str  # the data key, sealed by the key-encryption key
    kdf: KdfParams | None = None
    format: int = FORMAT_VERSION
    # Format 2: which store this is (kept across rekeys) and how many writes it has seen, so
    # an older copy put back in its place is recognised (see store.generations).
    store_id: str | None = None
    generation: int = 0
    # Format 2: MAC over the header's fields and every entry's MAC (store.sealing).
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored credential, secrets sealed.

    ``plain`` entries carry keyring service names that are not index URLs; they live in a table
    uv ignores. ``refresh`` holds a token provider's settings as string pairs; values that are
    secrets are sealed like the main secret.
    """

    service: str
    username: str | None
    scheme: Scheme
    secret: str | None
    plain: bool = False
    expires_at: datetime | None = None
    refresh: tuple[tuple[str, str], ...] = ()
    mac: str | None = None  # format 2: authenticates every field above (store.sealing)

    @property
    def field_name(self) -> str:
        return "token" if self.scheme == "bearer" else "password"

    def matches_key(self, service: str, username: str | None) -> bool:
        return self.service == service and self.username == username


@dataclass(frozen=True, slots=True)
class Document:
    """A whole store file: header (None until the first secret is stored) and entries."""

    header: Header | None = None
    entries: tuple[Entry, ...] = ()

    def find(self, service: str, username: str | None, *, plain: bool = False) -> Entry | None:
        for entry in self.entries:
            if entry.plain == plain and entry.matches_key(service, username):
                return entry
        return None

    def put(self, entry: Entry) -> tuple[Document, bool]:
        """The document with ``entry`` stored, replacing one with the same key; and whether it
        replaced one."""
        kept = tuple(
            e
            for e in self.entries
            if not (e.plain == entry.plain and e.matches_key(entry.service, entry.username))
        )
        return replace(self, entries=(*kept, entry)), len(kept) != len(self.entries)

    def remove(
        self, service: str, username: str | None, *, plain: bool = False
    ) -> tuple[Document, bool]:
        kept = tuple(
            e for e in self.entries if not (e.plain == plain and e.matches_key(service, username))
        )
        return replace(self, entries=kept), len(kept) != len(self.entries)


def entry_key(entry: Entry) -> tuple[str, str | None]:
    """The key an entry is stored under: ``(service, username)``, as uv keys its store."""
    return entry.service, entry.username
