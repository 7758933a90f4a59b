"""The agent's ``get`` answer as a pair, so tests compare it with a literal."""

from __future__ import annotations

from store.agent import client
from store.model import Ambiguous, Credential


def get_pair(
    service: str,
    username: str | None = None,
    timeout: float = client.DEFAULT_TIMEOUT,
    *,
    path: str,
) -> tuple[str | None, str | None] | Ambiguous | client.Agent | None:
    """:func:`store.agent.client.get`, a credential shown as ``(username, secret)``."""
    got = client.get(service, username, timeout, path=path)
    if isinstance(got, Credential):
        return (got.username, got.secret)
    return got
