"""The agent's errors: setting it up, or talking to it. Subclasses of the store's tree."""

from __future__ import annotations

from store.errors import AgentUnavailableError, StoreError


class AgentSetupError(StoreError):
    """The agent cannot start: unsafe runtime directory, socket in use, bad activation fds."""


class AgentLockedError(AgentUnavailableError):
    """The agent answers but its store is locked."""


__all__ = ["AgentLockedError", "AgentSetupError", "AgentUnavailableError"]
