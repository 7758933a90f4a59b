"""The agent's errors: setting it up. A subclass of the store's tree."""

from __future__ import annotations

from store.errors import StoreError


class AgentSetupError(StoreError):
    """The agent cannot start: unsafe runtime directory, socket in use, bad activation fds."""


__all__ = ["AgentSetupError"]
