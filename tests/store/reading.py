"""Reading a credential back from a store file in tests: the one access path, file only."""

from __future__ import annotations

from datetime import datetime

from store.access import get_credential
from store.errors import AmbiguousCredentialError
from store.model import Ambiguous, Credential
from store.vault import Vault


def read_credential(
    vault: Vault, service: str, username: str | None = None, *, now: datetime | None = None
) -> Credential | None:
    """What :func:`store.access.get_credential` finds in ``vault``'s file (no agent asked; a
    due token refreshed first); an ambiguous answer raises, as ``idx-auth token`` does."""
    found = get_credential(
        service, username, dirs=vault.dirs, vault=vault, use_agent=False, now=now
    )
    if isinstance(found, Ambiguous):
        raise AmbiguousCredentialError(found)
    return found
