"""Sealing and opening entries with an unwrapped data key. Pure (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from store import crypto
from store.model import Credential, Entry, Header, Scheme

REFRESH_SECRET_PREFIX = "secret-"
"""Keys of an entry's ``refresh`` table that start with this hold sealed values."""


@dataclass(frozen=True, slots=True)
class Sealer:
    header: Header
    key: bytes = field(repr=False)

    def _aad(self, service: str, username: str | None, scheme: str, name: str) -> bytes:
        h = self.header
        return crypto.entry_aad(h.format, h.key_id, service, username, scheme, name)

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
        name = "token" if scheme == "bearer" else "password"
        if plain:
            name = "plain." + name
        sealed = None
        if secret is not None:
            sealed = crypto.seal(
                self.key, secret.encode(), self._aad(service, username, scheme, name)
            )
        pairs: list[tuple[str, str]] = []
        for k, v in sorted((refresh or {}).items()):
            if k.startswith(REFRESH_SECRET_PREFIX):
                v = crypto.seal(self.key, v.encode(), self._aad(service, username, scheme, k))
            pairs.append((k, v))
        return Entry(
            service=service,
            username=username,
            scheme=scheme,
            secret=sealed,
            plain=plain,
            expires_at=expires_at,
            refresh=tuple(pairs),
        )

    def secret(self, entry: Entry) -> str | None:
        """The entry's secret in clear; raises crypto.CryptoError when it fails to open."""
        if entry.secret is None:
            return None
        name = ("plain." if entry.plain else "") + entry.field_name
        aad = self._aad(entry.service, entry.username, entry.scheme, name)
        return crypto.unseal(self.key, entry.secret, aad).decode()

    def refresh_settings(self, entry: Entry) -> dict[str, str]:
        """The entry's refresh table with its secret values opened."""
        out: dict[str, str] = {}
        for k, v in entry.refresh:
            if k.startswith(REFRESH_SECRET_PREFIX):
                aad = self._aad(entry.service, entry.username, entry.scheme, k)
                v = crypto.unseal(self.key, v, aad).decode()
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
