"""The store's exception tree. Pure: exception classes only.

Every message says what failed, on what, and how to fix it; none carries a secret. ``exit_code``
is the ``idx-auth`` exit status the CLI maps the error to (see docs/store.md, "Exit codes").
"""

from __future__ import annotations

from store.credential import Ambiguous


class StoreError(Exception):
    """Base of every error the store raises."""

    exit_code = 2


class InvalidServiceError(StoreError):
    """A service string that is not a usable index URL."""


class AmbiguousCredentialError(StoreError):
    """Raised by a command that must answer with one credential and got an :class:`Ambiguous`
    lookup (lookups themselves return the value, they do not raise)."""

    def __init__(self, ambiguous: Ambiguous) -> None:
        self.ambiguous = ambiguous
        super().__init__(ambiguous.message)


class InvalidInputError(StoreError):
    """A value given to be stored cannot be (not UTF-8 text, too large)."""


class StoreFileError(StoreError):
    """The store file cannot be read, parsed, decrypted or authenticated."""


class RollbackError(StoreFileError):
    """The store file is older than one this machine already wrote: an old copy put back."""


class KeyUnavailableError(StoreError):
    """The key that unlocks the store cannot be obtained (missing file, wrong passphrase)."""


class NotFoundError(StoreError):
    """Nothing matched; the CLI exits 1."""

    exit_code = 1


class AgentLockedError(StoreError):
    """The agent answers but holds its store locked; ``idx-auth unlock`` opens it."""

    exit_code = 3
