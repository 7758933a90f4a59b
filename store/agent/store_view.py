"""The agent's view of the store: a small Protocol, so the server is testable on a fake.

The real implementation, over :mod:`store.vault`, is
:class:`store.agent.cached_store.CachedStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from store.listing import EntryInfo
from store.model import Ambiguous, Scheme


@dataclass(frozen=True, slots=True)
class Found:
    """The answer to a lookup."""

    service: str
    username: str | None
    scheme: Scheme
    secret: str = field(repr=False)
    # For entries with a token provider: when the token expires and when it was obtained, so
    # the agent can refuse to hand out an expired token and refresh first.
    refreshable: bool = False
    expires_at: datetime | None = None
    issued_at: datetime | None = None


class StoreView(Protocol):
    """The store as the agent sees it.

    Methods may be called from two threads: lookups from the server loop, writes and unlocks
    from one worker thread; an implementation keeps its state consistent across them. Errors
    are :class:`store.errors.StoreError` subclasses (KeyUnavailableError, InvalidServiceError,
    StoreFileError).
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

    def get(self, service: str, username: str | None) -> Found | Ambiguous | None:
        """Lookup with :func:`store.lookup.find`'s rules, after picking up changes other
        processes made to the file."""
        ...

    def entries(self) -> Sequence[EntryInfo]: ...

    def login(self, service: str, username: str | None, scheme: str, secret: str) -> None:
        """Store or replace an entry under the store lock."""
        ...

    def logout(self, service: str, username: str | None) -> bool:
        """Remove the exact entry under the store lock; False when there was none."""
        ...
