"""What the agent needs from the store: a small Protocol, so the server is testable on a fake.

The real implementation, over :mod:`store.vault`, is
:class:`store.agent.vault_backend.VaultBackend`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Found:
    """The answer to a lookup."""

    service: str
    username: str | None
    scheme: str
    secret: str = field(repr=False)
    # For entries with a token provider: when the token expires and when it was obtained, so
    # the agent can refuse to hand out an expired token and refresh first.
    refreshable: bool = False
    expires_at: datetime | None = None
    issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """One entry as `list` and `status` show it: never the secret."""

    service: str
    username: str | None
    scheme: str
    expires_at: str | None = None  # RFC 3339, set by token refresh
    refresh: str | None = None  # refresh provider kind, if any
    refreshed_at: str | None = None  # last successful refresh (RFC 3339)
    last_error: str | None = None  # why the last attempt failed, if it did (one line)
    failures: int = 0  # failed attempts since the last success
    next_refresh: str | None = None  # the agent's next planned attempt (RFC 3339)
    last_attempt: str | None = None  # the agent's last attempt, this run (RFC 3339)
    kind: str = "index"  # "keyring" for a plain keyring name (`keyring set myapp alice`)
    has_secret: bool = True  # False for a username-only entry


class Backend(Protocol):
    """The store as the agent sees it.

    Methods may be called from two threads: lookups from the server loop, writes and unlocks
    from one worker thread; an implementation keeps its state consistent across them. Errors
    are :class:`store.errors.StoreError` subclasses (AmbiguousCredentialError,
    KeyUnavailableError, InvalidServiceError, StoreFileError).
    """

    @property
    def store_path(self) -> str: ...

    @property
    def needs_passphrase(self) -> bool:
        """True when unlocking needs a passphrase (otherwise a key file or similar)."""
        ...

    @property
    def unlocked(self) -> bool: ...

    def unlock(self, passphrase: str | None) -> None:
        """Unwrap the data key and load the entries; may take a second (KDF)."""
        ...

    def lock(self) -> None:
        """Forget the data key and every decrypted secret."""
        ...

    def get(self, service: str, username: str | None) -> Found | None:
        """Lookup with uv's rules, after picking up changes other processes made to the file."""
        ...

    def entries(self) -> Sequence[EntryInfo]: ...

    def login(self, service: str, username: str | None, scheme: str, secret: str) -> None:
        """Store or replace an entry under the store lock."""
        ...

    def logout(self, service: str, username: str | None) -> bool:
        """Remove the exact entry under the store lock; False when there was none."""
        ...
