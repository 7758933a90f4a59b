"""Sealing, opening and authenticating entries with an unwrapped data key. Pure (no I/O).

Secrets are sealed one by one (AES-256-GCM, bound to their place by associated data). Since
format 2 everything else is authenticated too, with an HMAC under a key derived from the data
key:

- each entry carries ``mac`` over all of its fields (service, username, scheme, the sealed
  secret, ``expires-at``, every ``refresh`` setting and state, and whether it is a plain
  keyring name), so a planted ``command`` or an edited ``token-url`` is refused like a
  tampered ciphertext;
- the header carries ``mac`` over its own fields (format, key id and source, wrapped key, KDF
  parameters, store id, generation) and the entries' MACs in file order, so an entry removed,
  added, reordered or copied in from an older file is refused too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from store import crypto
from store.errors import InvalidInputError
from store.model import (
    FORMAT_VERSION,
    SEAL_FORMAT,
    Credential,
    Document,
    Entry,
    Header,
    Scheme,
)

REFRESH_SECRET_PREFIX = "secret-"
"""Keys of an entry's ``refresh`` table that start with this hold sealed values."""


class IntegrityError(crypto.CryptoError):
    """A field changed without the key; the message names where (never a value)."""


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def entry_fields(entry: Entry) -> list[object]:
    """What an entry's MAC covers: every field the file carries for it."""
    return [
        "entry",
        entry.plain,
        entry.service,
        entry.username,
        entry.scheme,
        entry.secret,
        _time(entry.expires_at),
        [list(pair) for pair in entry.refresh],
    ]


def header_fields(header: Header, entries: Sequence[Entry]) -> list[object]:
    """What the header's MAC covers: its fields and the entries' MACs in the order the file
    holds them (index entries, then plain names)."""
    kdf = header.kdf
    ordered = [e for e in entries if not e.plain] + [e for e in entries if e.plain]
    return [
        "header",
        header.format,
        header.key_id,
        header.key_source,
        header.wrapped_key,
        None if kdf is None else [kdf.salt, kdf.memory_kib, kdf.iterations, kdf.lanes],
        header.store_id,
        header.generation,
        [e.mac for e in ordered],
    ]


def _who(entry: Entry) -> str:
    return f"{entry.username}@{entry.service}" if entry.username else entry.service


@dataclass(frozen=True, slots=True)
class Sealer:
    """Seals and opens entries under one store key and header."""

    header: Header
    key: bytes = field(repr=False)
    _mac_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mac_key", crypto.mac_key(self.key))

    def _aad(self, service: str, username: str | None, scheme: str, name: str) -> bytes:
        return crypto.entry_aad(SEAL_FORMAT, self.header.key_id, service, username, scheme, name)

    def entry(
        self,
        service: str,
        username: str | None,
        scheme: Scheme,
        secret: str | None,
        *,
        plain: bool = False,
        expires_at: datetime | None = None,
        refresh: dict[str, str] | None = None,
    ) -> Entry:
        _utf8(service, "the service")
        if username is not None:
            _utf8(username, "the username")
        for k, v in (refresh or {}).items():
            _utf8(k + v, f"refresh setting {k!r}")
        name = "token" if scheme == "bearer" else "password"
        if plain:
            name = "plain." + name
        sealed = None
        if secret is not None:
            sealed = crypto.seal(
                self.key, _utf8(secret, "the secret"), self._aad(service, username, scheme, name)
            )
        pairs: list[tuple[str, str]] = []
        for k, v in sorted((refresh or {}).items()):
            if k.startswith(REFRESH_SECRET_PREFIX):
                v = crypto.seal(
                    self.key,
                    _utf8(v, f"refresh setting {k}"),
                    self._aad(service, username, scheme, k),
                )
            pairs.append((k, v))
        if expires_at is not None:
            # The file keeps whole seconds in UTC; the MAC must cover what the file will say.
            expires_at = expires_at.astimezone(UTC).replace(microsecond=0)
        return self.authenticated(
            Entry(
                service=service,
                username=username,
                scheme=scheme,
                secret=sealed,
                plain=plain,
                expires_at=expires_at,
                refresh=tuple(pairs),
            )
        )

    def authenticated(self, entry: Entry) -> Entry:
        """``entry`` with its MAC (re)computed: only for entries read through :meth:`verify`
        or a format-1 store being migrated."""
        return replace(entry, mac=crypto.mac(self._mac_key, entry_fields(entry)))

    def seal_document(self, doc: Document, generation: int, store_id: str) -> Document:
        """``doc`` ready to be written in the current format: every entry's MAC, then the
        header's over them, for the given generation."""
        entries = tuple(self.authenticated(e) for e in doc.entries)
        header = replace(
            self.header, format=FORMAT_VERSION, store_id=store_id, generation=generation, mac=None
        )
        header = replace(header, mac=crypto.mac(self._mac_key, header_fields(header, entries)))
        # Skipped entries (none a reader can use) are written back as they were read.
        return Document(header=header, entries=entries, skipped=doc.skipped)

    def verify(self, doc: Document) -> None:
        """Raise :class:`IntegrityError` unless every field of ``doc`` (format 2) is as this
        key wrote it. The message names the first entry that was changed, if one was."""
        header = doc.header
        assert header is not None and header.format == FORMAT_VERSION
        for index, entry in enumerate(doc.entries):
            if entry.mac is None or not crypto.mac_matches(
                self._mac_key, entry_fields(entry), entry.mac
            ):
                raise IntegrityError(
                    f"the entry for {_who(entry)} (number {index + 1}) was changed without the key"
                )
        if header.mac is None or not crypto.mac_matches(
            self._mac_key, header_fields(header, doc.entries), header.mac
        ):
            raise IntegrityError(
                "the header or the list of entries was changed without the key "
                "(an entry removed, added, reordered or copied from another file)"
            )

    def secret(self, entry: Entry) -> str | None:
        """The entry's secret in clear; raises crypto.CryptoError when it fails to open."""
        if entry.secret is None:
            return None
        name = ("plain." if entry.plain else "") + entry.field_name
        aad = self._aad(entry.service, entry.username, entry.scheme, name)
        return _text(crypto.unseal(self.key, entry.secret, aad))

    def refresh_settings(self, entry: Entry) -> dict[str, str]:
        """The entry's refresh table with its secret values opened."""
        out: dict[str, str] = {}
        for k, v in entry.refresh:
            if k.startswith(REFRESH_SECRET_PREFIX):
                aad = self._aad(entry.service, entry.username, entry.scheme, k)
                v = _text(crypto.unseal(self.key, v, aad))
            out[k] = v
        return out

    def credential(self, entry: Entry) -> Credential:
        return Credential(
            service=entry.service,
            username=entry.username,
            scheme=entry.scheme,
            secret=self.secret(entry),
            expires_at=entry.expires_at,
        )

    def reseal(self, entry: Entry, old: Sealer) -> Entry:
        """``entry`` sealed under this sealer's key, opened with ``old``'s."""
        return self.entry(
            entry.service,
            entry.username,
            entry.scheme,
            old.secret(entry),
            plain=entry.plain,
            expires_at=entry.expires_at,
            refresh=old.refresh_settings(entry),
        )


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: bytes that were not UTF-8 in argv or on stdin (surrogateescape).
        raise InvalidInputError(
            f"{what} is not valid UTF-8 text (undecodable bytes in the input); give it as UTF-8"
        ) from None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise crypto.CryptoError("a sealed value is not UTF-8 text") from None
