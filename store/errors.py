"""The store's exception tree.

Every message says what failed, on what, and how to fix it; none carries a secret. ``exit_code``
is the ``idx-auth`` exit status the CLI maps the error to (see docs/store.md, "Exit codes").
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises."""

    exit_code = 2


class InvalidServiceError(StoreError):
    """A service string that is not a usable index URL."""


class AmbiguousCredentialError(StoreError):
    """Two or more usernames match a lookup equally well."""

    def __init__(self, url: str, usernames: tuple[str, ...]) -> None:
        self.url = url
        self.usernames = usernames
        names = ", ".join(usernames)
        super().__init__(
            f"Multiple credentials found for URL {url} (usernames: {names}), "
            "specify which username to use"
        )


class StoreFileError(StoreError):
    """The store file cannot be read, parsed, decrypted or authenticated."""


class KeyUnavailableError(StoreError):
    """The key that unlocks the store cannot be obtained (missing file, wrong passphrase)."""


class NotFoundError(StoreError):
    """Nothing matched; the CLI exits 1."""

    exit_code = 1


class AgentUnavailableError(StoreError):
    """The agent is required but not running, unreachable or locked."""

    exit_code = 3
